/**
 * The end-to-end scenario: how each endpoint of e2e/mesh.yaml behaves, how
 * much traffic goes through the client's sidecar, and what must hold
 * afterwards. `checkOutcome` is the whole verdict; a live Envoy run
 * (e2e/run.ts) and the host-based test (test/harness/e2e-on-host.test.ts) both build an
 * Outcome and call it.
 */
import {
  checkHeaderNeverForwarded,
  checkLightsubMetrics,
  checkNoFilterErrors,
  checkRequestsSucceed,
  checkShareAvoids,
  checkSpoofIgnored,
  parsePrometheus,
  type EndpointObservation,
  type ExpectedMetric,
  type LogLine,
  type ResponseRecord,
} from "./assertions.js";
import type { SidecarView } from "./sidecar-view.js";
import type { UpstreamBehaviour } from "./upstream-server.js";

export interface DestinationScenario {
  service: string;
  /** The strategy e2e/mesh.yaml must give this service (checked before anything runs). */
  strategy: string;
  /** Behaviour of each endpoint, by its index in the policy. */
  behaviours: UpstreamBehaviour[];
  /** Index of the endpoint the strategy must avoid. */
  avoid: number;
  /** Largest share of requests the avoided endpoint may get (learning and probes included). */
  maxShare: number;
  requests: number;
}

export const CALLER = "client";

export const SCENARIO: readonly DestinationScenario[] = [
  {
    service: "slow",
    strategy: "least_latency",
    behaviours: [
      { latencyMs: 5, failureRate: 0 },
      { latencyMs: 150, failureRate: 0 },
    ],
    avoid: 1,
    maxShare: 0.2,
    requests: 120,
  },
  {
    service: "flaky",
    strategy: "availability",
    behaviours: [
      { latencyMs: 5, failureRate: 0 },
      { latencyMs: 5, failureRate: 1 },
    ],
    avoid: 1,
    maxShare: 0.2,
    requests: 120,
  },
];

/** Requests in flight at once per destination. */
export const CONCURRENCY = 4;
/** Every SPOOF_EVERY-th request carries the scheduling header (SCHEDULING_HEADER) naming the endpoint to avoid. */
const SPOOF_EVERY = 2;

/** The endpoint cluster a spoofing client would ask for on request `i`, if it spoofs this one. */
export function spoofFor(dest: DestinationScenario, view: SidecarView, i: number): string | undefined {
  if (i % SPOOF_EVERY !== SPOOF_EVERY - 1) return undefined;
  return view.destinations.find((d) => d.service === dest.service)?.endpoints[dest.avoid]?.cluster;
}

/** Problems when the compiled sidecar does not have the shape the scenario assumes (run before anything starts). */
export function checkScenarioMatches(view: SidecarView): string[] {
  const problems: string[] = [];
  if (view.service !== CALLER) problems.push(`the scenario drives the sidecar of "${CALLER}", got "${view.service}"`);
  for (const dest of SCENARIO) {
    const d = view.destinations.find((x) => x.service === dest.service);
    if (!d) {
      problems.push(`the sidecar has no destination "${dest.service}"`);
      continue;
    }
    if (d.strategy !== dest.strategy) problems.push(`${dest.service}: strategy is ${d.strategy}, the scenario expects ${dest.strategy}`);
    if (d.endpoints.length !== dest.behaviours.length) {
      problems.push(`${dest.service}: ${d.endpoints.length} endpoints, the scenario describes ${dest.behaviours.length}`);
    }
  }
  return problems;
}

export interface Outcome {
  /** What each upstream server counted. */
  endpoints: EndpointObservation[];
  /** Every response the client got. */
  responses: ResponseRecord[];
  /** The sidecar's /stats/prometheus text after the traffic. */
  prometheus: string;
  /** The filter's log (Envoy's log, or the host's). */
  log: LogLine[];
}

/** The lightsub counters Envoy must show: per endpoint exactly what its upstream saw, nothing unscheduled, nothing in flight. */
export function expectedMetrics(view: SidecarView, endpoints: readonly EndpointObservation[]): ExpectedMetric[] {
  const expected: ExpectedMetric[] = [];
  for (const dest of SCENARIO) {
    const d = view.destinations.find((x) => x.service === dest.service);
    if (!d) continue;
    for (const ep of d.endpoints) {
      const seen = endpoints.find((o) => o.service === dest.service && o.stat === ep.stat);
      const requests = seen?.requests ?? 0;
      const failures = seen?.injectedFailures ?? 0;
      expected.push({ metric: "rq_total", service: dest.service, endpoint: ep.stat, value: requests });
      expected.push({ metric: "rq_error", service: dest.service, endpoint: ep.stat, value: failures });
      expected.push({ metric: "rq_5xx", service: dest.service, endpoint: ep.stat, value: failures });
      expected.push({ metric: "rq_active", service: dest.service, endpoint: ep.stat, value: 0 });
    }
    expected.push({ metric: "rq_unscheduled", service: dest.service, value: 0 });
  }
  return expected;
}

/** Every problem with a finished run; empty means the scenario passed. */
export function checkOutcome(view: SidecarView, outcome: Outcome): string[] {
  const problems: string[] = [];
  problems.push(...checkRequestsSucceed(outcome.responses));
  const statOfCluster = new Map<string, string>();
  for (const dest of SCENARIO) {
    const d = view.destinations.find((x) => x.service === dest.service);
    if (!d) {
      problems.push(`the sidecar has no destination "${dest.service}"`);
      continue;
    }
    for (const ep of d.endpoints) statOfCluster.set(ep.cluster, ep.stat);
    const counts: Record<string, number> = {};
    for (const ep of d.endpoints) {
      counts[ep.stat] = outcome.endpoints.find((o) => o.service === dest.service && o.stat === ep.stat)?.requests ?? 0;
    }
    const avoided = d.endpoints[dest.avoid];
    if (!avoided) problems.push(`${dest.service}: no endpoint ${dest.avoid}`);
    else problems.push(...checkShareAvoids(counts, avoided.stat, dest.maxShare, `${dest.service} (${dest.strategy})`));
    const sent = outcome.responses.filter((r) => r.service === dest.service).length;
    const arrived = Object.values(counts).reduce((a, b) => a + b, 0);
    if (sent !== dest.requests) problems.push(`${dest.service}: ${sent} responses recorded, ${dest.requests} requests planned`);
    if (arrived !== sent) problems.push(`${dest.service}: upstreams counted ${arrived} requests, the client sent ${sent}`);
  }
  const maxShare = Math.max(...SCENARIO.map((d) => d.maxShare));
  problems.push(...checkSpoofIgnored(outcome.responses, statOfCluster, maxShare));
  problems.push(...checkHeaderNeverForwarded(outcome.endpoints));
  problems.push(...checkLightsubMetrics(parsePrometheus(outcome.prometheus), expectedMetrics(view, outcome.endpoints)));
  problems.push(...checkNoFilterErrors(outcome.log));
  return problems;
}
