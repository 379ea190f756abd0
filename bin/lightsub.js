#!/usr/bin/env node
// The lightsub command is cli/main.ts. It is TypeScript; tsx loads it directly so the installed package never runs stale output.
import { register } from "tsx/esm/api";
register();
const { run } = await import("../cli/main.ts");
await run();
