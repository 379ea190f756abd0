/**
 * Child process of test/guarantees/hardening-output-atomic.test.ts: writes an output
 * directory with compiler/write/write.ts and dies (SIGKILL, no cleanup of
 * any kind) at file-system operation number CRASH_AT, the way a machine loses
 * power or the OOM killer strikes. Run with `node --import tsx`.
 *
 * argv: <output dir> <files JSON: { relative path: content }> <crash at (0-based), -1: never>
 */
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";

const [out, filesJson, crashAtText] = process.argv.slice(2);
const crashAt = Number(crashAtText);
const OPERATIONS = ["mkdirSync", "writeFileSync", "renameSync", "rmSync", "readdirSync", "statSync"] as const;

let count = 0;
const mutable = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of OPERATIONS) {
  const original = mutable[name]!;
  mutable[name] = (...args: unknown[]) => {
    if (count++ === crashAt) process.kill(process.pid, "SIGKILL");
    return original(...args);
  };
}
// ESM named imports of node:fs (as write.ts has them) see the patched functions from now on.
syncBuiltinESMExports();

const { writeOutputAtomically } = await import("../../compiler/write/write.js");
writeOutputAtomically(out!, new Map(Object.entries(JSON.parse(filesJson!) as Record<string, string>)));
process.stdout.write(`operations ${count}\n`);
