/**
 * The two ways the e2e check touches the machine before it starts anything:
 * finding a program and running one to completion. Both are injected
 * everywhere (detect.ts, the runtimes, compile-mesh.ts) so tests can fake them.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join } from "node:path";

export interface ExecResult {
  /** Exit code; -1 when the program could not be started or was killed. */
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws. */
export type Exec = (command: string, args: readonly string[], options?: { timeoutMs?: number }) => Promise<ExecResult>;

/** The absolute path of an executable, or null. */
export type Which = (name: string) => Promise<string | null>;

export const execProcess: Exec = (command, args, options = {}) =>
  new Promise((resolve) => {
    execFile(
      command,
      [...args],
      { timeout: options.timeoutMs ?? 120_000, maxBuffer: 32 * 1024 * 1024, encoding: "utf8" },
      (error, stdout, stderr) => {
        if (!error) return resolve({ code: 0, stdout, stderr });
        const code = typeof error.code === "number" ? error.code : -1;
        resolve({ code, stdout: stdout ?? "", stderr: stderr || error.message });
      },
    );
  });

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Looks `name` up on PATH like a shell does (an absolute or relative path is checked as is). */
export function whichOnPath(path = process.env.PATH ?? ""): Which {
  return async (name) => {
    if (name.includes("/")) return isExecutableFile(name) ? (isAbsolute(name) ? name : join(process.cwd(), name)) : null;
    for (const dir of path.split(delimiter)) {
      if (dir === "") continue;
      const candidate = join(dir, name);
      if (isExecutableFile(candidate)) return candidate;
    }
    return null;
  };
}

/** First non-empty line of a program's output, for one-line messages. */
export function firstLine(result: ExecResult): string {
  return (result.stderr + "\n" + result.stdout).split("\n").map((l) => l.trim()).find((l) => l !== "") ?? `exit code ${result.code}`;
}
