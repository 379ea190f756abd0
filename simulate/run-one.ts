/** One run from its plan to its metrics (in this thread; run-pool.ts spreads runs over threads). */
import type { MeshModel } from "../compiler/model/mesh.js";
import type { CompiledModule } from "../host/index.js";
import { destinationMetricName } from "../schemas/wire.js";
import { runEngine } from "./engine.js";
import type { RunMetrics } from "./metrics.js";
import type { RunResult } from "./result.js";
import { setupRun, type PlannedRun } from "./runs.js";
import type { SidecarFilter } from "./sidecar-filter.js";
import type { WorkloadModel } from "./workload/model.js";

/** What every run of one simulation shares (plain data: it crosses to worker threads). */
export interface RunInputs {
  model: MeshModel;
  workload: WorkloadModel;
  seed: number;
}

export interface RunOutput {
  metrics: RunMetrics;
  filter: RunResult["filter"];
}

export function executeRun(
  run: PlannedRun,
  inputs: RunInputs & { module: CompiledModule | undefined },
  onProgress?: (done: number, total: number) => void,
): RunOutput {
  const setup = setupRun(run, inputs);
  setup.onProgress = onProgress;
  const metrics = runEngine(setup);
  return { metrics, filter: setup.filter ? filterReport(setup.filter, inputs.workload.to) : null };
}

function filterReport(filter: SidecarFilter, destination: string): NonNullable<RunResult["filter"]> {
  const unscheduled = filter.envoy.stats.get(destinationMetricName(destination, "rq_unscheduled"));
  return {
    unscheduled: Number(unscheduled ?? 0),
    errorLogs: filter.envoy.logs.filter((l) => l.level === "error" || l.level === "critical").length,
    failed: filter.failed,
  };
}
