/**
 * The lightsub command line. Exit codes (a contract users script against):
 * 0 ok, 1 policy errors, 2 usage errors, 3 internal errors (a lightsub bug).
 */
import { readFileSync } from "node:fs";
import { relative, resolve as resolvePath } from "node:path";
import { formatDiagnostic, type Diagnostic } from "../compiler/diagnostics.js";
import { parseCommandLine, UsageError, usageErrorText } from "./args.js";
import { CompileAbortedError, compileToDirectory, DEFAULT_WASM, hasErrors, InternalCompilerError, validatePolicy } from "../compiler/compile.js";
import { FilterFileError, readFilterFile } from "../compiler/filter-file.js";
import { checkOutputDir, OutputDirError, resolveOutputDir } from "../compiler/output/write.js";
import { readPolicyFile, readPolicyStdin, STDIN_FILE_NAME } from "../compiler/policy/load.js";
import { certsCommand, CERTS_USAGE } from "./certs.js";

export const EXIT = { ok: 0, policyErrors: 1, usage: 2, internal: 3 } as const;

const USAGE = `usage:
  lightsub compile <policy> --out <dir>   write <dir>/<service>/envoy.yaml, <dir>/docker-compose.yaml, <dir>/lightsub.wasm
  lightsub validate <policy>              check the policy and the Envoy config it compiles to; write nothing
  lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html]
                                          run the real filter against a simulated destination and compare strategies
  lightsub certs <policy> --out <dir>     mutual TLS: the mesh CA and a certificate per service (--rotate reissues them)
  lightsub <command> --help               the command's options
  lightsub --help | --version

<policy> may be - to read the policy from standard input.
exit codes: 0 ok, 1 policy errors, 2 usage errors, 3 internal error (a bug: please report it)`;

const policyOptions = (effect: string) => `    <policy>              the policy file (YAML or JSON); - reads it from standard input
    --warnings-as-errors  treat every warning as an error (exit 1${effect}); for CI`;

export const COMPILE_USAGE = `usage: lightsub compile <policy> --out <dir> [--wasm <file>] [--certs <dir>] [--warnings-as-errors]
  checks the policy and writes <dir>/<service>/envoy.yaml for every service, <dir>/docker-compose.yaml
  and <dir>/lightsub.wasm, atomically: on any error or Ctrl-C nothing in <dir> changes
${policyOptions(", nothing written")}
    -o, --out <dir>       the output directory: new, empty, or written by lightsub before (it is replaced);
                          a symbolic link is followed; a read-only directory is refused
    --wasm <file>         the filter to ship as lightsub.wasm (default: build/lightsub.wasm, from npm run build);
                          it must be a proxy-wasm module (ABI 0.2.1) importing only what Envoy provides
    --certs <dir>         mTLS (spec.security): the directory of lightsub certs that docker compose mounts
                          (default: <mesh name>-certs beside <dir>)
exit codes: 0 ok, 1 policy errors, 2 usage errors (also: unusable --out or --wasm), 3 internal error`;

export const VALIDATE_USAGE = `usage: lightsub validate <policy> [--wasm <file>] [--warnings-as-errors]
  checks the policy and every sidecar config it compiles to against Envoy's API; writes nothing
${policyOptions("")}
    --wasm <file>         also check that this filter is a proxy-wasm module Envoy can load
exit codes: 0 ok, 1 policy errors, 2 usage errors, 3 internal error`;

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text + "\n"),
  err: (text) => process.stderr.write(text + "\n"),
};

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

async function compileCommand(args: string[], io: Io, write: boolean): Promise<number> {
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

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "compile":
        return await compileCommand(rest, io, true);
      case "validate":
        return await compileCommand(rest, io, false);
      case "certs":
        return await certsCommand(rest, io);
      case "simulate":
        // Loaded only when asked for: compile and validate start ~0.1 s sooner without the simulator and the host.
        return await (await import("./simulate.js")).simulateCommand(rest, io);
      case "--version":
      case "-v":
        io.out(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
        return EXIT.ok;
      case "--help":
      case "-h":
      case "help":
        return helpCommand(rest, io);
      case undefined:
        throw new UsageError("no command given (commands: compile, validate, simulate, certs)");
      default:
        throw new UsageError(`unknown command "${command}" (commands: compile, validate, simulate, certs)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(usageErrorText(error));
      return EXIT.usage;
    }
    if (error instanceof OutputDirError || error instanceof FilterFileError) {
      io.err(`lightsub${command === "compile" || command === "validate" ? ` ${command}` : ""}: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof InternalCompilerError) {
      io.err(`lightsub: internal error: ${error.message}`);
      return EXIT.internal;
    }
    io.err(`lightsub: internal error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.internal;
  }
}

/** `lightsub help [command]`. */
async function helpCommand(args: string[], io: Io): Promise<number> {
  switch (args[0]) {
    case undefined:
      io.out(USAGE);
      return EXIT.ok;
    case "compile":
      io.out(COMPILE_USAGE);
      return EXIT.ok;
    case "validate":
      io.out(VALIDATE_USAGE);
      return EXIT.ok;
    case "simulate":
      io.out((await import("./simulate.js")).SIMULATE_USAGE);
      return EXIT.ok;
    case "certs":
      io.out(CERTS_USAGE);
      return EXIT.ok;
    default:
      throw new UsageError(`no help for "${args[0]}" (commands: compile, validate, simulate, certs)`);
  }
}
