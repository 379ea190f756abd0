/**
 * Atomic output: a compile either replaces the whole output directory or
 * leaves it exactly as it was. Files are written into a fresh sibling
 * directory first, then swapped in with renames (same file system).
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** Marks a directory as lightsub output, so a later compile may replace it. */
export const OUTPUT_MARKER = ".lightsub-output";

export class OutputDirError extends Error {}

export type OutputFiles = Map<string, string | Uint8Array>;

/**
 * Refuses to replace a non-empty directory that lightsub did not write:
 * `--out .` must never delete someone's project.
 */
export function checkOutputDir(dir: string): void {
  const target = resolve(dir);
  if (!existsSync(target)) return;
  const entries = readdirSync(target);
  if (entries.length > 0 && !entries.includes(OUTPUT_MARKER)) {
    throw new OutputDirError(
      `${dir}: directory exists, is not empty and was not written by lightsub; choose another --out or empty it`,
    );
  }
}

export function writeOutputAtomically(dir: string, files: OutputFiles): void {
  const target = resolve(dir);
  checkOutputDir(target);
  const parent = dirname(target);
  mkdirSync(parent, { recursive: true });
  const staging = join(parent, `.${basename(target)}.lightsub-new-${process.pid}`);
  const previous = join(parent, `.${basename(target)}.lightsub-old-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  try {
    mkdirSync(staging);
    for (const [relative, content] of [...files, [OUTPUT_MARKER, "written by lightsub compile\n"] as const]) {
      const path = join(staging, relative);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, content);
    }
    const hadPrevious = existsSync(target);
    if (hadPrevious) renameSync(target, previous);
    try {
      renameSync(staging, target);
    } catch (error) {
      if (hadPrevious) renameSync(previous, target);
      throw error;
    }
    if (hadPrevious) rmSync(previous, { recursive: true, force: true });
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}
