/** The scenario part of a result: what was simulated, as the policy compiled it. */
import { sidecarBootstrap } from "../compiler/envoy/index.js";
import type { MeshModel } from "../compiler/model/mesh.js";
import { meanOf } from "./distributions.js";
import { formatDuration } from "../compiler/policy/duration.js";
import { findListener } from "../envoy-model/envoy-json.js";
import type { EndpointInfo, ScenarioInfo } from "./result.js";
import { RouteTable } from "../envoy-model/route-table.js";
import type { LatencySpec, WorkloadModel } from "./workload/model.js";

export function scenarioInfo(model: MeshModel, workload: WorkloadModel): ScenarioInfo {
  const callee = model.services.find((s) => s.name === workload.to)!;
  const route = RouteTable.fromListener(findListener(sidecarBootstrap(model, workload.from), `outbound_${workload.to}`)).select([
    [":authority", workload.to],
    [":path", workload.request.path],
  ]);
  const retry = route.kind === "cluster" ? route.retry : undefined;
  const info: ScenarioInfo = {
    from: workload.from,
    to: workload.to,
    policyStrategy: callee.scheduler.strategy,
    workers: workload.workers,
    arrivals: { ...workload.arrivals },
    timeoutMs: route.kind === "cluster" ? route.timeoutMs : 0,
    retries: retry ? { numRetries: retry.numRetries, retryOn: [...retry.retryOn], perTryTimeoutMs: retry.perTryTimeoutMs ?? null } : null,
    endpoints: callee.endpoints.map((ep, i): EndpointInfo => {
      const behaviour = workload.endpoints[i]!;
      return {
        cluster: ep.cluster,
        address: ep.address,
        port: ep.port,
        weight: ep.weight,
        latency: describeLatency(behaviour.latency),
        meanServiceMs: meanOf(behaviour.latency),
        concurrency: behaviour.concurrency,
        queueLimit: Number.isFinite(behaviour.queueLimit) ? behaviour.queueLimit : null,
        errorRate: behaviour.errorRate,
        events: behaviour.timeline.slice(1).map((c) => ({
          atMs: c.atMs,
          slowdown: c.state.slowdown,
          outage: c.state.outage ?? null,
          errorRate: c.state.errorRate,
        })),
      };
    }),
  };
  const overhead = workload.overhead;
  if (overhead) {
    info.overhead = {
      request: overhead.requestLeg ? describeLatency(overhead.requestLeg) : null,
      response: overhead.responseLeg ? describeLatency(overhead.responseLeg) : null,
      meanMs: (overhead.requestLeg ? meanOf(overhead.requestLeg) : 0) + (overhead.responseLeg ? meanOf(overhead.responseLeg) : 0),
    };
  }
  const admission = callee.admission;
  if (admission) {
    info.admission = {
      maxInFlight: admission.maxInFlightPerEndpoint,
      maxQueue: admission.maxQueue,
      queueTimeoutMs: admission.queueTimeoutMs,
      tickMs: admission.tickMs,
      priorityHeader: admission.priorityHeader ?? null,
      levels: [...admission.levels],
      defaultLevel: admission.defaultLevel,
      adaptive: admission.adaptive ? { ...admission.adaptive } : null,
    };
  }
  return info;
}


function describeLatency(spec: LatencySpec): string {
  switch (spec.distribution) {
    case "constant":
      return `constant ${formatDuration(spec.valueMs)}`;
    case "exponential":
      return `exponential mean ${formatDuration(spec.meanMs)}`;
    case "lognormal":
      return `lognormal median ${formatDuration(spec.medianMs)} sigma ${Number(spec.sigma.toFixed(3))}`;
    case "bimodal":
      return `bimodal ${Math.round(spec.slowFraction * 1000) / 10}% slow: ${describeLatency(spec.slow)} / ${describeLatency(spec.fast)}`;
  }
}
