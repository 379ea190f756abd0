/**
 * Atomic output: a compile either replaces the whole output directory or
 * leaves it exactly as it was. Files are written into a fresh sibling
 * directory first, then swapped in with two renames (same file system):
 *
 *   <out> → .<out>.lightsub-old-<pid>-<n>,  .<out>.lightsub-new-<pid>-<n> → <out>
 *
 * Any failure (a file that cannot be created, a full disk, a failed rename)
 * rolls back and throws OutputDirError; <out> is then the complete old
 * directory. A process killed between the two renames leaves <out> missing
 * and the complete old directory beside it: the next write puts it back
 * before doing anything else (recoverInterruptedWrite).
 *
 * An output path that is a symbolic link is resolved: the output goes where
 * the link points and the link stays (resolveOutputDir). A directory without
 * the owner's write permission is refused and left untouched, also for root,
 * who could otherwise write anywhere: a read-only directory says "do not
 * replace this", and replacing it would also leave an old copy behind that a
 * non-root user cannot delete.
 */
import { accessSync, constants, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";

/** Marks a directory as lightsub output, so a later compile may replace it. */
export const OUTPUT_MARKER = ".lightsub-output";

/** The output directory cannot be used or written (exit code 2: not a policy problem, not a bug). */
export class OutputDirError extends Error {}

export type OutputFiles = Map<string, string | Uint8Array>;

const STAGING = "new";
const PREVIOUS = "old";

/**
 * Writes under way in this process, by sequence number. Sibling names carry
 * it besides the pid, so two writes of one process (the API allows concurrent
 * compiles) never share a staging directory, and recovery never takes a
 * running write of this process for a dead one.
 */
const writesInProgress = new Set<number>();
let writeSequence = 0;

function siblingName(target: string, kind: typeof STAGING | typeof PREVIOUS, sequence: number): string {
  return join(dirname(target), `.${basename(target)}.lightsub-${kind}-${process.pid}-${sequence}`);
}

/**
 * Refuses to replace a non-empty directory that lightsub did not write:
 * `--out .` must never delete someone's project.
 */
export function checkOutputDir(dir: string): void {
  const target = resolve(dir);
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw new OutputDirError(`${dir}: exists and is not a directory`);
  const entries = readdirSync(target);
  if (entries.length > 0 && !entries.includes(OUTPUT_MARKER)) {
    throw new OutputDirError(
      `${dir}: directory exists, is not empty and was not written by lightsub; choose another --out or empty it`,
    );
  }
}

/**
 * The directory a write to `dir` replaces: `dir` resolved, with a symbolic
 * link followed to its target (the link itself is kept). Throws
 * OutputDirError, touching nothing, for a link to nowhere, a path that is not
 * a directory, or a directory that may not be written.
 */
export function resolveOutputDir(dir: string): string {
  let target = resolve(dir);
  let link;
  try {
    link = lstatSync(target);
  } catch {
    return target; // does not exist yet: created by the write
  }
  if (link.isSymbolicLink()) {
    try {
      target = realpathSync(target);
    } catch {
      throw new OutputDirError(`${dir}: is a symbolic link to ${readlinkSync(target)}, which does not exist; create that directory or give another --out`);
    }
  }
  const info = statSync(target);
  if (!info.isDirectory()) throw new OutputDirError(`${dir}: exists and is not a directory`);
  if (!writable(target, info.mode)) {
    throw new OutputDirError(`${dir}: the directory is read-only (mode ${(info.mode & 0o777).toString(8)}); lightsub leaves it untouched. Make it writable (chmod u+w) or give another --out`);
  }
  return target;
}

/** The owner's write bit (checked also for root, who passes every access check) and the caller's own access. */
function writable(path: string, mode: number): boolean {
  if ((mode & 0o200) === 0) return false;
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** `sequence` is NaN in names older versions wrote (pid only). */
function leftBehind(pid: number, sequence: number): boolean {
  // This process's own names: a write that has ended, or one of a dead process whose pid is reused.
  if (pid === process.pid) return !writesInProgress.has(sequence);
  return !processAlive(pid);
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by someone else
  }
}

/**
 * Cleans up after a writer that died mid-way (its pid is gone): a staging
 * directory is deleted; an old directory is put back when the output
 * directory is missing (the writer died between the two renames), else deleted.
 */
export function recoverInterruptedWrite(dir: string): void {
  const target = resolve(dir);
  const parent = dirname(target);
  if (!existsSync(parent)) return;
  // `-<sequence>` is absent from names older versions wrote.
  const pattern = new RegExp(`^\\.${escapeRegExp(basename(target))}\\.lightsub-(${STAGING}|${PREVIOUS})-(\\d+)(?:-(\\d+))?$`);
  const leftovers = readdirSync(parent)
    .map((name) => ({ name, match: pattern.exec(name) }))
    .filter((l) => l.match !== null && leftBehind(Number(l.match[2]), Number(l.match[3])));
  for (const { name, match } of leftovers) {
    const path = join(parent, name);
    if (match![1] === PREVIOUS && !existsSync(target)) renameSync(path, target);
    else {
      try {
        rmSync(path, { recursive: true, force: true });
      } catch {
        // Garbage that cannot be removed (say, a read-only copy an older version left) must not block every later write.
      }
    }
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** A path inside `root` for an output file name; names never escape the output directory. */
function pathInside(root: string, relative: string): string {
  const path = resolve(root, relative);
  if (!path.startsWith(root + sep)) throw new OutputDirError(`refusing to write "${relative}" outside the output directory`);
  return path;
}

function describeFailure(dir: string, error: unknown): OutputDirError {
  if (error instanceof OutputDirError) return error;
  const reason = error instanceof Error ? error.message : String(error);
  return new OutputDirError(`cannot write ${dir}: ${reason}; ${dir} was left as it was`);
}

/** The staging directory of one write: files go in one by one. */
class StagingDirectory {
  /** `previous`: where the old output goes during the swap; `sequence`: the write's number in this process. */
  constructor(
    readonly root: string,
    readonly previous: string,
    readonly sequence: number,
  ) {}

  /** Where `relative` goes; throws OutputDirError for a name that would leave the directory. */
  pathOf(relative: string): string {
    return pathInside(this.root, relative);
  }

  write(relative: string, content: string | Uint8Array): void {
    const path = this.pathOf(relative);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
  }
}

export function writeOutputAtomically(dir: string, files: OutputFiles): void {
  const target = resolveTarget(dir);
  const staging = openStaging(dir, target);
  try {
    try {
      for (const [relative, content] of files) staging.write(relative, content);
    } catch (error) {
      abandonStaging(staging);
      throw describeFailure(dir, error);
    }
    commitStaging(dir, target, staging);
  } finally {
    writesInProgress.delete(staging.sequence);
  }
}

function resolveTarget(dir: string): string {
  try {
    return resolveOutputDir(dir);
  } catch (error) {
    throw describeFailure(dir, error);
  }
}

/**
 * The same atomic write for output produced piece by piece (compiler/compile.ts
 * streams each sidecar's config into staging instead of holding them all).
 * Errors of `produce` other than file-system ones reach the caller unchanged;
 * either way nothing is left behind. `beforeCommit` runs right before the
 * swap (nothing else can run in between); if it throws, staging is removed
 * and the output stays as it was.
 */
export async function writeOutputAtomicallyWith(
  dir: string,
  produce: (staging: StagingDirectory) => Promise<void>,
  beforeCommit: () => void = () => {},
): Promise<void> {
  const target = resolveTarget(dir);
  const staging = openStaging(dir, target);
  try {
    try {
      await produce(staging);
      beforeCommit();
    } catch (error) {
      abandonStaging(staging);
      throw isFileSystemError(error) ? describeFailure(dir, error) : error;
    }
    commitStaging(dir, target, staging);
  } finally {
    writesInProgress.delete(staging.sequence);
  }
}

function isFileSystemError(error: unknown): boolean {
  return error instanceof OutputDirError || typeof (error as NodeJS.ErrnoException | undefined)?.code === "string";
}

/** Checks the output directory may be replaced, then makes an empty staging directory beside it. */
function openStaging(dir: string, target: string): StagingDirectory {
  try {
    mkdirSync(dirname(target), { recursive: true });
    recoverInterruptedWrite(target);
    checkOutputDir(target);
  } catch (error) {
    throw describeFailure(dir, error);
  }
  const sequence = writeSequence++;
  const staging = new StagingDirectory(siblingName(target, STAGING, sequence), siblingName(target, PREVIOUS, sequence), sequence);
  writesInProgress.add(sequence);
  try {
    rmSync(staging.root, { recursive: true, force: true });
    mkdirSync(staging.root);
  } catch (error) {
    abandonStaging(staging);
    writesInProgress.delete(staging.sequence);
    throw describeFailure(dir, error);
  }
  return staging;
}

/** Marks staging complete and swaps it in for the output directory. */
function commitStaging(dir: string, target: string, staging: StagingDirectory): void {
  const previous = staging.previous;
  try {
    // The marker goes last: a staging directory without it was never complete.
    staging.write(OUTPUT_MARKER, "written by lightsub compile\n");
    swapIn(staging.root, target, previous);
  } catch (error) {
    abandonStaging(staging);
    throw describeFailure(dir, error);
  }
  abandonStaging(staging); // gone after the swap: this only catches a failed rename's leftovers
  try {
    rmSync(previous, { recursive: true, force: true });
  } catch {
    // The new output is in place; the old copy beside it is removed by the next write.
  }
}

function abandonStaging(staging: StagingDirectory): void {
  try {
    rmSync(staging.root, { recursive: true, force: true });
  } catch {
    // A staging leftover is garbage, never output: the next write removes it.
  }
}

/** The two renames; if the second fails the old directory goes back. */
function swapIn(staging: string, target: string, previous: string): void {
  const hadPrevious = existsSync(target);
  if (hadPrevious) {
    rmSync(previous, { recursive: true, force: true });
    renameSync(target, previous);
  }
  try {
    renameSync(staging, target);
  } catch (error) {
    if (hadPrevious) renameSync(previous, target);
    throw error;
  }
}
