/**
 * Which runs a simulation makes and how each is set up: the policy's strategy
 * and every other lightsub strategy (the destination's strategy substituted in
 * the model, compiled, and run through the real filter), Envoy's native
 * ROUND_ROBIN / RANDOM / LEAST_REQUEST on the aggregate cluster (no filter),
 * and the oracle.
 */
import { sidecarBootstrap } from "../compiler/envoy/index.js";
import type { MeshModel, ServiceModel } from "../compiler/model/mesh.js";
import { isStrategyName, STRATEGY_NAMES, STRATEGY_TABLE, type StrategyName } from "../compiler/model/strategies.js";
import { readClusters, type LbPolicy } from "../envoy-model/cluster-table.js";
import type { AggregateBalancer, EngineSetup } from "./engine.js";
import { findListener } from "../envoy-model/envoy-json.js";
import { RouteTable } from "../envoy-model/route-table.js";
import { readWasmFilterConfig } from "../envoy-model/wasm-filter.js";
import { SidecarFilter } from "./sidecar-filter.js";
import type { CompiledModule } from "../host/index.js";
import type { RunName, WorkloadModel } from "./workload/model.js";

export type RunKind = "lightsub" | "envoy" | "peer" | "oracle";

export interface PlannedRun {
  name: RunName;
  kind: RunKind;
  /** The strategy the policy itself sets. */
  isPolicy: boolean;
}

export interface SkippedRun {
  name: RunName;
  reason: string;
}

const NATIVE_RUNS: readonly RunName[] = ["envoy:ROUND_ROBIN", "envoy:RANDOM", "envoy:LEAST_REQUEST"];

/** Other balancers' algorithms (peer-lb.ts); P2C + peak EWMA runs by default, FASTEST when asked for. */
const PEER_RUNS: readonly RunName[] = ["peer:P2C_PEAK_EWMA", "peer:FASTEST"];
const DEFAULT_PEER_RUNS: readonly RunName[] = ["peer:P2C_PEAK_EWMA"];

/** Baselines for a destination with admission: the policy's strategy without it (no limit), and with Envoy's immediate rejection instead. */
const ADMISSION_BASELINES: readonly RunName[] = ["no_admission", "circuit_breaker"];

function runKind(name: RunName): RunKind {
  if (name === "oracle") return "oracle";
  if (name.startsWith("peer:")) return "peer";
  return name.startsWith("envoy:") ? "envoy" : "lightsub";
}

/** The runs in display order: the policy's strategy first, then the other strategies, Envoy's, the oracle. */
export function planRuns(callee: ServiceModel, compare: readonly RunName[] | undefined): { runs: PlannedRun[]; skipped: SkippedRun[] } {
  const policy = callee.scheduler.strategy;
  const all: RunName[] = [policy, ...ADMISSION_BASELINES, ...STRATEGY_NAMES.filter((s) => s !== policy), ...NATIVE_RUNS, ...PEER_RUNS, "oracle"];
  const wanted = compare ? all.filter((name) => compare.includes(name)) : all.filter((name) => !PEER_RUNS.includes(name) || DEFAULT_PEER_RUNS.includes(name));
  const runs: PlannedRun[] = [];
  const skipped: SkippedRun[] = [];
  for (const name of wanted) {
    if (ADMISSION_BASELINES.includes(name) && !callee.admission) {
      // Compared only against admission: not planned by default, reported when asked for.
      if (compare?.includes(name)) skipped.push({ name, reason: `the policy sets no admission for "${callee.name}"` });
      continue;
    }
    if (isStrategyName(name) && STRATEGY_TABLE[name].hashKey && !callee.scheduler.hashOn) {
      skipped.push({ name, reason: `the policy sets no hashOn for "${callee.name}", so ${name} has no key` });
      continue;
    }
    runs.push({ name, kind: runKind(name), isPolicy: name === policy });
  }
  return { runs, skipped };
}

/**
 * The model a lightsub run compiles: the destination's strategy swapped in,
 * or for the admission baselines the policy's strategy with admission removed
 * (`circuit_breaker`: and Envoy's max_requests at the admission limit instead).
 */
export function runModel(model: MeshModel, service: string, run: RunName): MeshModel {
  if (run === "no_admission") return withoutAdmission(model, service, false);
  if (run === "circuit_breaker") return withoutAdmission(model, service, true);
  return withStrategy(model, service, run as StrategyName);
}

function withoutAdmission(model: MeshModel, service: string, breaker: boolean): MeshModel {
  return {
    ...model,
    services: model.services.map((s) => {
      if (s.name !== service || !s.admission) return s;
      const { admission, ...rest } = s;
      if (!breaker) return rest;
      const current = s.connector.circuitBreaker?.maxRequests;
      const maxRequests = current === undefined ? admission.maxInFlightPerEndpoint : Math.min(current, admission.maxInFlightPerEndpoint);
      return { ...rest, connector: { ...s.connector, circuitBreaker: { ...s.connector.circuitBreaker, maxRequests } } };
    }),
  };
}

/** The model with the destination's strategy replaced (everything else as the policy says). */
function withStrategy(model: MeshModel, service: string, strategy: StrategyName): MeshModel {
  return {
    ...model,
    services: model.services.map((s) => (s.name === service ? { ...s, scheduler: { ...s.scheduler, strategy } } : s)),
  };
}

export interface RunContext {
  model: MeshModel;
  workload: WorkloadModel;
  seed: number;
  module: CompiledModule | undefined;
}

/** Everything the engine needs for one run; lightsub runs get their own host process and worker VMs. */
export function setupRun(run: PlannedRun, context: RunContext): EngineSetup {
  const { workload } = context;
  const model = run.kind === "lightsub" ? runModel(context.model, workload.to, run.name) : context.model;
  const callee = model.services.find((s) => s.name === workload.to)!;
  const bootstrap = sidecarBootstrap(model, workload.from);
  const listener = findListener(bootstrap, `outbound_${workload.to}`);
  const clusters = readClusters(bootstrap);
  const routes = RouteTable.fromListener(listener, { knownClusters: new Set(clusters.keys()) });
  let balancer: AggregateBalancer = { kind: "compiled" };
  if (run.kind === "envoy") balancer = { kind: "native", policy: run.name.slice("envoy:".length) as LbPolicy };
  if (run.kind === "oracle") balancer = { kind: "oracle" };
  if (run.kind === "peer") balancer = { kind: "peer", policy: run.name.slice("peer:".length) as "P2C_PEAK_EWMA" | "FASTEST", decayMs: callee.scheduler.decayMs };
  let filter: SidecarFilter | undefined;
  let callerFilters: SidecarFilter[] | undefined;
  if (run.kind === "lightsub") {
    if (!context.module) throw new Error("lightsub runs need the compiled filter module");
    const config = readWasmFilterConfig(listener);
    filter = new SidecarFilter(context.module, config, workload.workers, context.seed);
    // Every caller sidecar: its own Envoy (shared data, VMs, clock start, random seed).
    if ((workload.callers ?? 1) > 1) {
      callerFilters = [filter];
      for (let c = 1; c < workload.callers!; c++) callerFilters.push(new SidecarFilter(context.module, config, workload.workers, context.seed + c * 7919));
    }
  }
  return {
    workload,
    seed: context.seed,
    routes,
    clusters,
    endpoints: callee.endpoints,
    aggregateCluster: callee.name,
    aggregateBalancer: balancer,
    aggregateWeights: run.kind === "lightsub" ? undefined : callee.endpoints.map((ep) => ep.weight),
    hashOn: callee.scheduler.hashOn,
    filter,
    ...(callerFilters ? { callerFilters } : {}),
  };
}
