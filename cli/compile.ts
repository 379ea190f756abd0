/**
 * `lightsub compile <policy> --out <dir>` and `lightsub validate <policy>`:
 * arguments, paths checked before any work, the policy read, the compiler run
 * (compiler/compile.ts), diagnostics and the one-line summary printed. Ctrl-C
 * during a compile leaves --out unchanged.
 */
import { relative, resolve as resolvePath } from "node:path";
import { formatDiagnostic, type Diagnostic } from "../compiler/diagnostics/index.js";
import { CompileAbortedError, compileToDirectory, DEFAULT_WASM, hasErrors, validatePolicy } from "../compiler/compile.js";
import { readFilterFile } from "../compiler/filter-file.js";
import { checkOutputDir, OutputDirError, resolveOutputDir } from "../compiler/write/write.js";
import { readPolicyFile, readPolicyStdin, STDIN_FILE_NAME } from "../compiler/policy/load.js";
import { parseCommandLine, UsageError } from "./args.js";
import { EXIT } from "./exit-codes.js";
import { COMPILE_USAGE, VALIDATE_USAGE } from "./help.js";
import type { Io } from "./io.js";

/** The policy's text, or LS001 diagnostics (missing, not a file, too large, not UTF-8). `-` is standard input. */
async function readPolicy(path: string): Promise<{ text: string; file: string } | Diagnostic[]> {
  const file = path === "-" ? STDIN_FILE_NAME : path;
  const read = path === "-" ? await readPolicyStdin() : await readPolicyFile(path);
  if (read.text !== undefined) return { text: read.text, file };
  return read.problems.map((p) => ({ file, line: 1, column: 1, severity: p.severity, code: p.code, message: p.message }));
}

function report(diagnostics: readonly Diagnostic[], io: Io, warningsAsErrors = false): void {
  for (const d of diagnostics) io.err(formatDiagnostic(d));
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  const note = warningsAsErrors && errors > 0 ? " (--warnings-as-errors: warnings count as errors)" : "";
  if (diagnostics.length > 0) io.err(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}${note}`);
}

const SIGNALS = ["SIGINT", "SIGTERM"] as const;

/**
 * Runs `work` with Ctrl-C (SIGINT) and SIGTERM turned into an abort: the
 * compile removes its staging directory and stops. The signal is then raised
 * again with the default action, so the caller sees the process end by it.
 */
async function withInterruptCleanup<T>(
  work: (signal: AbortSignal) => Promise<T>,
  onInterrupted: () => void,
  onInterruptedAfterWrite: () => void,
): Promise<T> {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (signal: NodeJS.Signals) => {
    received ??= signal;
    controller.abort();
  };
  const raiseAgain = async (): Promise<never> => {
    for (const s of SIGNALS) process.off(s, handler);
    process.kill(process.pid, received ?? "SIGINT");
    // Only reached where the default action does not end the process.
    return await new Promise<never>(() => {});
  };
  for (const s of SIGNALS) process.on(s, handler);
  try {
    const result = await work(controller.signal);
    // The signal came while the last step (the swap) ran: the new output is complete and in place.
    if (received !== undefined) {
      onInterruptedAfterWrite();
      await raiseAgain();
    }
    return result;
  } catch (error) {
    if (error instanceof CompileAbortedError) {
      onInterrupted();
      await raiseAgain();
    }
    throw error;
  } finally {
    for (const s of SIGNALS) process.off(s, handler);
  }
}

/** Where `--out` writes (a symbolic link resolved); OutputDirError when it cannot be used. */
function usableOutputDir(out: string): string {
  try {
    const target = resolveOutputDir(out);
    checkOutputDir(target);
    return target;
  } catch (error) {
    if (error instanceof OutputDirError) throw error;
    throw new OutputDirError(`cannot use ${out}: ${(error as Error).message}`);
  }
}

/** --certs is a path from here; compose wants it relative to the output directory. */
function certsOption(certs: string | undefined, outDir: string): { certsDir?: string } {
  if (certs === undefined) return {};
  return { certsDir: relative(outDir, resolvePath(certs)) || "." };
}

export async function compileCommand(args: string[], io: Io, write: boolean): Promise<number> {
  const command = write ? "compile" : "validate";
  const { values, positionals, help } = parseCommandLine(command, args, {
    out: { type: "string", short: "o" },
    wasm: { type: "string" },
    "warnings-as-errors": { type: "boolean" },
    ...(write ? { certs: { type: "string" as const } } : {}),
  });
  if (help) {
    io.out(write ? COMPILE_USAGE : VALIDATE_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) throw new UsageError(`expected one policy file, got ${positionals.length}`, command);
  const out = values["out"] as string | undefined;
  const wasmPath = values["wasm"] as string | undefined;
  const warningsAsErrors = values["warnings-as-errors"] === true;
  if (write && !out) throw new UsageError("compile needs --out <dir>", command);
  if (!write && out) throw new UsageError("validate writes nothing; use compile --out", command);
  // Paths first: a mistake in --out or --wasm is reported before any work is done.
  let outDir: string | undefined;
  if (write) outDir = usableOutputDir(out!);
  const wasm = write || wasmPath !== undefined ? readFilterFile(wasmPath ?? DEFAULT_WASM, wasmPath === undefined) : undefined;
  const policy = await readPolicy(positionals[0]!);
  if (Array.isArray(policy)) {
    report(policy, io);
    return EXIT.policyErrors;
  }
  const { text, file } = policy;
  if (write) {
    const result = await withInterruptCleanup(
      (signal) => compileToDirectory(text, file, outDir!, { wasm, warningsAsErrors, signal, ...certsOption(values["certs"] as string | undefined, outDir!) }),
      () => io.err(`lightsub compile: interrupted; ${out} is unchanged`),
      () => io.err(`lightsub compile: interrupted after ${out} was written in full`),
    );
    report(result.diagnostics, io, warningsAsErrors);
    if (hasErrors(result.diagnostics) || !result.written) return EXIT.policyErrors;
    const { sidecars, others } = result.written;
    io.out(`${file}: wrote ${sidecars} sidecar config${sidecars === 1 ? "" : "s"}${others.map((name) => `, ${name}`).join("")} to ${out}`);
  } else {
    const result = await validatePolicy(text, file, { warningsAsErrors });
    report(result.diagnostics, io, warningsAsErrors);
    if (hasErrors(result.diagnostics) || !result.model) return EXIT.policyErrors;
    const services = result.model.services.length;
    io.out(`${file}: ok, ${services} service${services === 1 ? "" : "s"}; every sidecar config passes Envoy's API check`);
  }
  return EXIT.ok;
}

