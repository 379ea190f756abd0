/**
 * `lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html [--force]] [--wasm <file>] [--progress]`
 *
 * Exit codes as the other commands: 0 ok, 1 policy or workload errors
 * (printed as file:line:col: error CODE: message), 2 usage errors. Anything
 * else thrown is a lightsub bug; the CLI reports it (exit 3).
 */
import { parseCommandLine, UsageError, usageErrorText } from "./args.js";
import { EXIT } from "./exit-codes.js";
import { SIMULATE_USAGE } from "./help.js";
import type { Io } from "./io.js";
import { formatDiagnostic, workloadCodeOf, type Diagnostic } from "../compiler/diagnostics/index.js";
import { FilterFileError, readFilterFile } from "../compiler/filter-file.js";
import { readPolicyFile, readPolicyStdin, STDIN_FILE_NAME, type SourceKind } from "../compiler/policy/load.js";
import { checkReportPath, ReportPathError, writeReportAtomically } from "../simulate/output/report-file.js";
import { resultTable } from "../simulate/output/table.js";
import { htmlReport } from "../simulate/output/html.js";
import { terminalProgress, type Progress } from "../simulate/progress.js";
import { resultJson } from "../simulate/result.js";
import { MissingFilterError, runSimulation } from "../simulate/simulation.js";

export interface SimulateIo extends Io {
  /** Defaults to a bar on process.stderr when it is a terminal. */
  progress?: Progress;
}


/** A usage error: one line and a hint to --help. */
function usage(io: SimulateIo, message: string): number {
  io.err(usageErrorText(new UsageError(message, "simulate")));
  return EXIT.usage;
}

export async function simulateCommand(args: string[], io: SimulateIo): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine("simulate", args, {
      workload: { type: "string", short: "w" },
      seed: { type: "string" },
      json: { type: "boolean" },
      report: { type: "string" },
      force: { type: "boolean" },
      wasm: { type: "string" },
      progress: { type: "boolean" },
    });
  } catch (error) {
    if (error instanceof UsageError) return usage(io, error.message);
    throw error;
  }
  const { positionals, help } = parsed;
  const values = parsed.values as { workload?: string; seed?: string; json?: boolean; report?: string; force?: boolean; wasm?: string; progress?: boolean };
  if (help) {
    io.out(SIMULATE_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) return usage(io, `expected one policy file, got ${positionals.length}`);
  let seed: number | undefined;
  if (values.seed !== undefined) {
    if (!/^[0-9]+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed))) return usage(io, `--seed must be a whole number ≥ 0, got "${values.seed}"`);
    seed = Number(values.seed);
  }
  if (values.force && values.report === undefined) return usage(io, "--force only applies to --report");

  // Paths first: a mistake in --report or --wasm is reported before the simulation runs.
  const file = positionals[0] === "-" ? STDIN_FILE_NAME : positionals[0]!;
  let reportTarget: string | undefined;
  let wasm: Uint8Array | undefined;
  try {
    if (values.report !== undefined) {
      const inputs = [
        ...(positionals[0] === "-" ? [] : [{ what: "the policy", path: file }]),
        ...(values.workload === undefined ? [] : [{ what: "the workload", path: values.workload }]),
        ...(values.wasm === undefined ? [] : [{ what: "the filter", path: values.wasm }]),
      ];
      reportTarget = checkReportPath(values.report, inputs, values.force === true);
    }
    if (values.wasm !== undefined) wasm = readFilterFile(values.wasm, false);
  } catch (error) {
    if (error instanceof ReportPathError || error instanceof FilterFileError) {
      io.err(`lightsub simulate: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  }

  const policy = positionals[0] === "-" ? await readStdin() : await readText(file, "policy");
  if (typeof policy !== "string") return report(Array.isArray(policy) ? policy : [policy], io);
  let workload: { text: string; file: string } | undefined;
  if (values.workload !== undefined) {
    const text = await readText(values.workload, "workload");
    if (typeof text !== "string") return report(text, io);
    workload = { text, file: values.workload };
  }

  const progress = io.progress ?? terminalProgress(process.stderr, { always: values.progress === true });
  let result;
  try {
    result = await runSimulation(policy, file, {
      workload,
      seed,
      wasm,
      onProgress: (run, index, runs, done, total) => progress.update(run, index, runs, done, total),
    });
  } catch (error) {
    if (error instanceof MissingFilterError) {
      io.err(`lightsub simulate: ${error.message}`);
      return EXIT.usage;
    }
    throw error;
  } finally {
    progress.clear();
  }
  if ("diagnostics" in result) return report(result.diagnostics, io);
  if (values.json) io.out(resultJson(result));
  else io.out(resultTable(result));
  if (reportTarget !== undefined) {
    try {
      writeReportAtomically(reportTarget, htmlReport(result));
    } catch (error) {
      if (!(error instanceof ReportPathError)) throw error;
      io.err(`lightsub simulate: ${error.message}`);
      return EXIT.usage;
    }
    io.err(`wrote ${values.report}`);
  }
  return EXIT.ok;
}

/** The file's text, read as the compiler reads policies (regular file, size limit, UTF-8), or why not. */
async function readText(path: string, kind: SourceKind): Promise<string | Diagnostic[]> {
  const read = await readPolicyFile(path, kind);
  if (read.text !== undefined) return read.text;
  const code = (c: string) => (kind === "workload" ? workloadCodeOf(c) : c);
  return read.problems.map((p) => ({ file: path, line: 1, column: 1, severity: p.severity, code: code(p.code), message: p.message }));
}

async function readStdin(): Promise<string | Diagnostic> {
  const read = await readPolicyStdin();
  if (read.text !== undefined) return read.text;
  const p = read.problems[0]!;
  return { file: STDIN_FILE_NAME, line: 1, column: 1, severity: p.severity, code: p.code, message: p.message };
}

function report(diagnostics: readonly Diagnostic[], io: SimulateIo): number {
  for (const d of diagnostics) io.err(formatDiagnostic(d));
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  io.err(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
  return errors > 0 ? EXIT.policyErrors : EXIT.ok;
}
