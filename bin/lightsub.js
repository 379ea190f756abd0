#!/usr/bin/env node
// The CLI is TypeScript; tsx loads it directly so the installed package never runs stale output.
import { register } from "tsx/esm/api";
// `lightsub simulate --json | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on("error", (error) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});
register();
const { main } = await import("../cli/main.ts");
process.exitCode = await main(process.argv.slice(2));
