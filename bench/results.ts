/** bench/results.json: the documented shape (bench/README.md) and its writer. */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Figure, Missing } from "./figures.js";
import type { Machine } from "./machine.js";

export const RESULTS_VERSION = 1;

export interface BenchResults {
  version: typeof RESULTS_VERSION;
  /** The command that produced the file, e.g. "npm run bench" or "npm run bench -- --quick". */
  command: string;
  /** A --quick run: fewer, shorter repetitions (checks the harness, not the numbers). */
  quick: boolean;
  startedAt: string;
  durationMs: number;
  machine: Machine;
  figures: Figure[];
  /** Figures that could not be measured, and why. */
  missing: Missing[];
}

/** Writes the file atomically (a reader never sees half of it). */
export function writeResults(path: string, results: BenchResults): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(results, null, 2)}\n`);
  renameSync(tmp, path);
}
