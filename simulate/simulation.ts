/**
 * runSimulation: policy text (+ workload) → every run's metrics, or the
 * diagnostics that stop it. Checks the policy with the compiler's own front
 * end, so a policy that simulates also compiles.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hasErrors, sortDiagnostics, type Diagnostic } from "../compiler/diagnostics/index.js";
import { checkPolicy } from "../compiler/check-policy.js";
import { defaultThreads, executeRuns, worthThreads } from "./run-pool.js";
import { planRuns } from "./runs.js";
import { RESULT_VERSION, type SimulationResult } from "./result.js";
import { scenarioInfo } from "./scenario.js";
import { checkWorkload, locateWorkload, splitPolicy, type WorkloadText } from "./workload/index.js";

export const DEFAULT_WASM_PATH = fileURLToPath(new URL("../build/lightsub.wasm", import.meta.url));

export interface SimulationOptions {
  /** A separate workload (takes precedence over the policy's simulation: section). */
  workload?: WorkloadText;
  /** Overrides the workload's seed (default 1). */
  seed?: number;
  /** The built filter: bytes or a path; default build/lightsub.wasm. */
  wasm?: Uint8Array | string;
  /** Threads to spread the runs over (default: the cores, at most 4, for large simulations); results do not depend on it. */
  threads?: number;
  /** Progress of each run (every ~1% of its requests); runs may progress at the same time. */
  onProgress?: (run: string, runIndex: number, runs: number, done: number, total: number) => void;
}

export class MissingFilterError extends Error {}

export async function runSimulation(
  policyText: string,
  file: string,
  options: SimulationOptions = {},
): Promise<SimulationResult | { diagnostics: Diagnostic[] }> {
  const split = splitPolicy(policyText, file);
  const { model, diagnostics: policyDiagnostics } = checkPolicy(split.policyText, file);
  const located = locateWorkload(file, split, options.workload);
  const diagnostics = [...policyDiagnostics, ...located.diagnostics];
  if (!model || !located.workload || hasErrors(diagnostics)) return { diagnostics: sortDiagnostics(diagnostics) };
  const checked = checkWorkload(located.workload, model);
  if (!checked.workload || hasErrors(checked.diagnostics)) return { diagnostics: sortDiagnostics([...diagnostics, ...checked.diagnostics]) };
  const workload = checked.workload;
  const seed = options.seed ?? workload.seed ?? 1;

  const callee = model.services.find((s) => s.name === workload.to)!;
  const { runs, skipped } = planRuns(callee, workload.compare);
  const needsFilter = runs.some((r) => r.kind === "lightsub");
  const wasm = needsFilter ? readWasm(options.wasm) : undefined;
  const outputs = await executeRuns(
    runs,
    { model, workload, seed },
    wasm,
    options.threads ?? (worthThreads(runs, workload.arrivals.requests) ? defaultThreads() : 1),
    options.onProgress && ((index, done, total) => options.onProgress!(runs[index]!.name, index, runs.length, done, total)),
  );
  const metrics = outputs.map((output, i) => ({ run: runs[i]!, metrics: output.metrics, filter: output.filter }));

  const oracle = metrics.find((m) => m.run.kind === "oracle")?.metrics.latencyMs;
  return {
    version: RESULT_VERSION,
    policy: file,
    workload: options.workload?.file ?? file,
    seed,
    scenario: scenarioInfo(model, workload),
    skipped,
    runs: metrics.map(({ run, metrics: m, filter }) => ({
      name: run.name,
      kind: run.kind,
      isPolicy: run.isPolicy,
      ...m,
      endpoints: m.endpoints.map((usage, i) => ({ cluster: callee.endpoints[i]!.cluster, ...usage })),
      ratioToOracle: oracle
        ? { p50: m.latencyMs.p50 / oracle.p50, p90: m.latencyMs.p90 / oracle.p90, p99: m.latencyMs.p99 / oracle.p99, p999: m.latencyMs.p999 / oracle.p999 }
        : null,
      filter,
    })),
  };
}

function readWasm(wasm: Uint8Array | string | undefined): Uint8Array {
  if (wasm instanceof Uint8Array) return wasm;
  const path = wasm ?? DEFAULT_WASM_PATH;
  try {
    return readFileSync(path);
  } catch {
    throw new MissingFilterError(`the filter ${path} is not built: run "npm run build" first`);
  }
}
