#!/usr/bin/env node
// The CLI is TypeScript; tsx loads it directly so the installed package never runs stale output.
import { register } from "tsx/esm/api";
register();
const { main } = await import("../compiler/cli.ts");
process.exitCode = await main(process.argv.slice(2));
