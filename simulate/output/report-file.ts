/**
 * Where `simulate --report <file>` may write, checked before the simulation
 * runs, and the write itself (atomic: a temporary file beside the target,
 * then one rename, so a reader or a crash never sees half a report).
 *
 * Refused, touching nothing:
 * - a file this command reads (the policy, the workload, the filter), also
 *   through a symbolic or hard link; --force does not change that;
 * - a directory, a special file (a device, a pipe), a path in a directory
 *   that does not exist;
 * - an existing file that is not an earlier lightsub report, unless --force.
 * A symbolic link is followed: the report replaces the file it points to.
 */
import { closeSync, lstatSync, openSync, readSync, realpathSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

/** The report path cannot be used (exit code 2). */
export class ReportPathError extends Error {}

/** Every report htmlReport writes starts like this (its title names lightsub simulate). */
const REPORT_SIGNATURE = /^<!doctype html>\s*<html[^>]*>\s*<head>\s*<meta charset="utf-8">\s*<title>lightsub simulate: /i;

export interface ReportInput {
  /** What the command calls it: "the policy", "the workload", "the filter". */
  what: string;
  path: string;
}

/** Checks `path` may receive the report; returns the file to write (a symbolic link resolved). */
export function checkReportPath(path: string, inputs: readonly ReportInput[], force: boolean): string {
  const absolute = resolve(path);
  let target = absolute;
  let link: Stats | undefined;
  try {
    link = lstatSync(absolute);
  } catch {
    link = undefined;
  }
  if (link?.isSymbolicLink()) {
    try {
      target = realpathSync(absolute);
    } catch {
      throw new ReportPathError(`--report ${path}: is a symbolic link to a file in a directory that does not exist`);
    }
  }
  const parent = dirname(target);
  let parentInfo: Stats;
  try {
    parentInfo = statSync(parent);
  } catch {
    throw new ReportPathError(`--report ${path}: the directory ${dirname(path)} does not exist`);
  }
  if (!parentInfo.isDirectory()) throw new ReportPathError(`--report ${path}: ${dirname(path)} is not a directory`);
  let existing: Stats | undefined;
  try {
    existing = statSync(target);
  } catch {
    return target; // a new file
  }
  if (existing.isDirectory()) throw new ReportPathError(`--report ${path}: is a directory; give a file name such as ${join(path, "report.html")}`);
  if (!existing.isFile()) throw new ReportPathError(`--report ${path}: is not a regular file`);
  for (const input of inputs) {
    let info: Stats;
    try {
      info = statSync(input.path);
    } catch {
      continue;
    }
    if (info.dev === existing.dev && info.ino === existing.ino) {
      throw new ReportPathError(`--report ${path}: is ${input.what} this command reads (${input.path}); refusing to overwrite it`);
    }
  }
  if (!force && !isEarlierReport(target)) {
    throw new ReportPathError(`--report ${path}: the file exists and is not a lightsub report; give --force to replace it, or another file name`);
  }
  return target;
}

function isEarlierReport(file: string): boolean {
  const head = Buffer.alloc(512);
  let fd: number | undefined;
  try {
    fd = openSync(file, "r");
    const length = readSync(fd, head, 0, head.length, 0);
    return REPORT_SIGNATURE.test(head.subarray(0, length).toString("utf8"));
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `content` to `target` atomically; the file keeps the permissions of the one it replaces. */
export function writeReportAtomically(target: string, content: string): void {
  const temporary = join(dirname(target), `.${basename(target)}.lightsub-tmp-${process.pid}`);
  let mode = 0o666;
  try {
    mode = statSync(target).mode & 0o777;
  } catch {
    // A new file: the usual mode, less the umask.
  }
  try {
    writeFileSync(temporary, content, { mode });
    renameSync(temporary, target);
  } catch (error) {
    try {
      unlinkSync(temporary);
    } catch {
      // never created
    }
    throw new ReportPathError(`cannot write the report ${target}: ${(error as Error).message}`);
  }
}
