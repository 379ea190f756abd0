/**
 * `lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html] [--wasm <file>]`
 *
 * Exit codes as the other commands: 0 ok, 1 policy or workload errors
 * (printed as file:line:col: error CODE: message), 2 usage errors. Anything
 * else thrown is a lightsub bug; the CLI reports it (exit 3).
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { formatDiagnostic, type Diagnostic } from "../compiler/diagnostics.js";
import { resultTable } from "./output/table.js";
import { htmlReport } from "./output/html.js";
import { terminalProgress, type Progress } from "./progress.js";
import { resultJson } from "./result.js";
import { MissingFilterError, runSimulation } from "./simulation.js";
import { WORKLOAD_CODES } from "./workload/codes.js";

export interface SimulateIo {
  out: (text: string) => void;
  err: (text: string) => void;
  /** Defaults to a bar on process.stderr when it is a terminal. */
  progress?: Progress;
}

export const SIMULATE_USAGE = `usage:
  lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html] [--wasm <file>]
    runs the policy's scheduling against a simulated destination, next to every other strategy,
    Envoy's native load balancers and an oracle; the workload is the policy's simulation: section
    or --workload <file> (schemas/workload.schema.json)
    --json             print the result as JSON (format: simulate/README.md)
    --report out.html  also write a self-contained HTML report with charts
    --seed N           random seed (default: the workload's seed, else 1); same seed, same result
    --wasm <file>      the built filter (default build/lightsub.wasm)`;

const EXIT = { ok: 0, errors: 1, usage: 2 } as const;

function usage(io: SimulateIo, message: string): number {
  io.err(`lightsub simulate: ${message}\n${SIMULATE_USAGE}`);
  return EXIT.usage;
}

export async function simulateCommand(args: string[], io: SimulateIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        workload: { type: "string", short: "w" },
        seed: { type: "string" },
        json: { type: "boolean" },
        report: { type: "string" },
        wasm: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    return usage(io, (error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.out(SIMULATE_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1) return usage(io, `expected one policy file, got ${positionals.length}`);
  let seed: number | undefined;
  if (values.seed !== undefined) {
    if (!/^[0-9]+$/.test(values.seed) || !Number.isSafeInteger(Number(values.seed))) return usage(io, `--seed must be a whole number ≥ 0, got "${values.seed}"`);
    seed = Number(values.seed);
  }
  if (values.report !== undefined && values.report === "") return usage(io, "--report needs a file name");

  const file = positionals[0]!;
  const policy = readText(file, "LS001", "the policy");
  if (typeof policy !== "string") return report([policy], io);
  let workload: { text: string; file: string } | undefined;
  if (values.workload !== undefined) {
    const text = readText(values.workload, WORKLOAD_CODES.unreadable, "the workload");
    if (typeof text !== "string") return report([text], io);
    workload = { text, file: values.workload };
  }

  const progress = io.progress ?? terminalProgress();
  let result;
  try {
    result = await runSimulation(policy, file, {
      workload,
      seed,
      wasm: values.wasm,
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
  if (values.report !== undefined) {
    writeFileSync(values.report, htmlReport(result));
    io.err(`wrote ${values.report}`);
  }
  return EXIT.ok;
}

function readText(path: string, code: string, what: string): string | Diagnostic {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (error as Error).message;
    return { file: path, line: 1, column: 1, severity: "error", code, message: `cannot read ${what}: ${reason}` };
  }
}

function report(diagnostics: readonly Diagnostic[], io: SimulateIo): number {
  for (const d of diagnostics) io.err(formatDiagnostic(d));
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  const warnings = diagnostics.length - errors;
  io.err(`${errors} error${errors === 1 ? "" : "s"}, ${warnings} warning${warnings === 1 ? "" : "s"}`);
  return errors > 0 ? EXIT.errors : EXIT.ok;
}
