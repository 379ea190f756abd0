/**
 * The lightsub command line. Exit codes (a contract users script against):
 * 0 ok, 1 policy errors, 2 usage errors, 3 internal errors (a lightsub bug).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatDiagnostic, type Diagnostic } from "./diagnostics.js";
import { compileToDirectory, hasErrors, InternalCompilerError, validatePolicy } from "./compile.js";
import { OutputDirError } from "./output/write.js";
import { readPolicyFile } from "./policy/load.js";

export const EXIT = { ok: 0, policyErrors: 1, usage: 2, internal: 3 } as const;

const USAGE = `usage:
  lightsub compile <policy> --out <dir>   write <dir>/<service>/envoy.yaml, <dir>/docker-compose.yaml, <dir>/lightsub.wasm
  lightsub validate <policy>              check the policy and the Envoy config it compiles to; write nothing
  lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html]
                                          run the real filter against a simulated destination and compare strategies
  lightsub --help | --version

exit codes: 0 ok, 1 policy errors, 2 usage errors, 3 internal error (a bug: please report it)`;

class UsageError extends Error {}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

const processIo: Io = {
  out: (text) => process.stdout.write(text + "\n"),
  err: (text) => process.stderr.write(text + "\n"),
};

/** The policy's text, or LS001 diagnostics (missing, not a file, too large, not UTF-8). */
async function readPolicy(path: string): Promise<string | Diagnostic[]> {
  const read = await readPolicyFile(path);
  if (read.text !== undefined) return read.text;
  return read.problems.map((p) => ({ file: path, line: 1, column: 1, severity: p.severity, code: p.code, message: p.message }));
}

function report(diagnostics: readonly Diagnostic[], io: Io): void {
  for (const d of diagnostics) io.err(formatDiagnostic(d));
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  if (diagnostics.length > 0) io.err(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
}

async function compileCommand(args: string[], io: Io, write: boolean): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: { out: { type: "string", short: "o" }, wasm: { type: "string" } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`expected one policy file, got ${positionals.length}`);
  if (write && !values.out) throw new UsageError("compile needs --out <dir>");
  if (!write && values.out) throw new UsageError("validate writes nothing; use compile --out");
  const file = positionals[0]!;
  const text = await readPolicy(file);
  if (typeof text !== "string") {
    report(text, io);
    return EXIT.policyErrors;
  }
  if (write) {
    const result = await compileToDirectory(text, file, values.out!, { wasmPath: values.wasm });
    report(result.diagnostics, io);
    if (hasErrors(result.diagnostics) || !result.written) return EXIT.policyErrors;
    const { sidecars, others } = result.written;
    io.out(`${file}: wrote ${sidecars} sidecar config${sidecars === 1 ? "" : "s"}${others.map((name) => `, ${name}`).join("")} to ${values.out}`);
  } else {
    const result = await validatePolicy(text, file);
    report(result.diagnostics, io);
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
      case "simulate":
        // Loaded only when asked for: compile and validate start ~0.1 s sooner without the simulator and the host.
        return await (await import("../simulate/index.js")).simulateCommand(rest, io);
      case "--version":
      case "-v":
        io.out(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
        return EXIT.ok;
      case "--help":
      case "-h":
      case "help":
        io.out(USAGE);
        return EXIT.ok;
      case undefined:
        throw new UsageError("no command given");
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError || error instanceof OutputDirError || (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      io.err(`lightsub: ${(error as Error).message}\n${USAGE}`);
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
