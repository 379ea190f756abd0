/**
 * What a whole-mesh test compares: the apps' own counts (the ground truth),
 * every caller sidecar's lightsub metrics from /stats/prometheus and Envoy's
 * own cluster stats, taken as snapshots so that each test phase checks only
 * its own traffic (deltas).
 */
import { LIGHTSUB_METRIC_PREFIX, type PromSample } from "../assertions.js";
import type { Mesh, MeshInstance } from "./mesh.js";
import type { AppCounts } from "./protocol.js";
import { METRICS, metricsOf, prometheusMetricName as P, type MetricName, type MetricScope } from "../../schemas/wire.js";

/** The filter's metrics, from the wire contract's table (schemas/wire.ts METRICS, docs/design.md "Metrics"). */
const scalars = (scope: MetricScope) => metricsOf(scope).filter((m) => METRICS[m].kind !== "histogram");
const ENDPOINT_COUNTERS = metricsOf("endpoint", "counter");
const ENDPOINT_SCALARS = scalars("endpoint");
const ENDPOINT_HISTOGRAMS = metricsOf("endpoint", "histogram");
/** Per destination service. */
const DESTINATION_SCALARS = scalars("destination");
/** Per destination service with admission. */
const ADMISSION_SCALARS = scalars("admission");
const ADMISSION_HISTOGRAMS = metricsOf("admission", "histogram");

export interface Snapshot {
  apps: Map<string, AppCounts>;
  /** caller instance → its parsed /stats/prometheus. */
  prometheus: Map<string, PromSample[]>;
  /** caller instance → Envoy's counters (`cluster.<name>.upstream_rq_total`, …). */
  stats: Map<string, Map<string, number>>;
}

/** The instances whose sidecar calls other services. */
function callers(mesh: Mesh): MeshInstance[] {
  return mesh.instances.filter((i) => i.view !== undefined);
}

export async function snapshot(mesh: Mesh): Promise<Snapshot> {
  const apps = new Map<string, AppCounts>();
  const prometheus = new Map<string, PromSample[]>();
  const stats = new Map<string, Map<string, number>>();
  await Promise.all(mesh.instances.map(async (i) => apps.set(i.name, await mesh.counts(i.name))));
  await Promise.all(
    callers(mesh).map(async (i) => {
      prometheus.set(i.name, await mesh.prometheus(i.name));
      stats.set(i.name, await mesh.stats(i.name, "^cluster\\.[^.]+\\.upstream_rq_"));
    }),
  );
  return { apps, prometheus, stats };
}

/** The one sample with exactly these labels, or undefined. */
function sample(samples: readonly PromSample[], name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels);
  return samples.find((s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v))?.value;
}

export function appDelta(before: Snapshot, after: Snapshot, instance: string, field: "requests" | "injectedFailures" | "schedulingHeaderSeen" | "spoofSent" | "healthChecks"): number {
  return (after.apps.get(instance)?.[field] ?? 0) - (before.apps.get(instance)?.[field] ?? 0);
}

interface Destination {
  service: string;
  admission: boolean;
  endpoints: Array<{ cluster: string; stat: string; address: string }>;
}

/** The destinations a caller sidecar runs (from its bootstrap's plugin JSON). */
function destinationsOf(caller: MeshInstance): Destination[] {
  const plugin = JSON.parse(caller.view!.pluginJson) as { destinations: Array<{ service: string; admission?: unknown }> };
  return caller.view!.destinations.map((d) => ({
    service: d.service,
    admission: plugin.destinations.some((p) => p.service === d.service && p.admission !== undefined),
    endpoints: d.endpoints.map((e) => ({ cluster: e.cluster, stat: e.stat, address: e.address })),
  }));
}

/**
 * Every lightsub metric each caller sidecar must show, with its labels: per
 * endpoint (service + endpoint), per destination (service). Returns what is
 * missing or labelled otherwise.
 */
export function checkMetricsPresent(mesh: Mesh, snap: Snapshot): string[] {
  const problems: string[] = [];
  for (const caller of callers(mesh)) {
    const samples = snap.prometheus.get(caller.name) ?? [];
    const need = (metric: string, labels: Record<string, string>) => {
      if (sample(samples, LIGHTSUB_METRIC_PREFIX + metric, labels) === undefined) {
        problems.push(`${caller.name}: ${LIGHTSUB_METRIC_PREFIX}${metric}${JSON.stringify(labels)} is missing`);
      }
    };
    const needHistogram = (metric: MetricName, labels: Record<string, string>) => {
      need(`${metric}_count`, labels);
      need(`${metric}_sum`, labels);
      if (!samples.some((s) => s.name === `${LIGHTSUB_METRIC_PREFIX}${metric}_bucket` && s.labels.le !== undefined && Object.entries(labels).every(([k, v]) => s.labels[k] === v))) {
        problems.push(`${caller.name}: ${LIGHTSUB_METRIC_PREFIX}${metric}_bucket${JSON.stringify(labels)} is missing`);
      }
    };
    for (const d of destinationsOf(caller)) {
      for (const m of DESTINATION_SCALARS) need(m, { service: d.service });
      if (d.admission) {
        for (const m of ADMISSION_SCALARS) need(m, { service: d.service });
        for (const m of ADMISSION_HISTOGRAMS) needHistogram(m, { service: d.service });
      }
      for (const e of d.endpoints) {
        const labels = { service: d.service, endpoint: e.stat };
        for (const m of ENDPOINT_SCALARS) need(m, labels);
        for (const m of ENDPOINT_HISTOGRAMS) needHistogram(m, labels);
      }
    }
    // Nothing of lightsub's may appear without its service label.
    for (const s of samples) {
      if (s.name.startsWith(LIGHTSUB_METRIC_PREFIX) && s.labels.service === undefined) problems.push(`${caller.name}: ${s.name} has no service label`);
    }
  }
  return problems;
}

export interface Agreement {
  /** App instance → requests it served in the phase (the truth). */
  served: Map<string, number>;
  problems: string[];
}

/**
 * For every endpoint of every called service, over the phase: the requests
 * the app served equal the sum over its callers' sidecars of
 * lightsub_rq_total and of Envoy's cluster.<S>_ep<i>.upstream_rq_total; the
 * failures it injected equal lightsub_rq_5xx, lightsub_rq_error and
 * upstream_rq_5xx; nothing is in flight; nothing was unscheduled; with
 * admission, every request was admitted. `extraUpstream` allows Envoy's own
 * retries (default none).
 */
export function checkMetricsAgree(mesh: Mesh, before: Snapshot, after: Snapshot): Agreement {
  const problems: string[] = [];
  const served = new Map<string, number>();
  type Sum = { lightsub: Record<string, number>; envoy: Record<string, number> };
  const sums = new Map<string, Sum>(); // endpoint instance → sums over callers
  const destinationSums = new Map<string, { unscheduled: number; admitted: number; total: number; admission: boolean }>();
  const delta = (caller: string, name: string, labels: Record<string, string>) =>
    (sample(after.prometheus.get(caller) ?? [], name, labels) ?? NaN) - (sample(before.prometheus.get(caller) ?? [], name, labels) ?? 0);
  const statDelta = (caller: string, name: string) => (after.stats.get(caller)?.get(name) ?? 0) - (before.stats.get(caller)?.get(name) ?? 0);
  for (const caller of callers(mesh)) {
    for (const d of destinationsOf(caller)) {
      const ds = destinationSums.get(d.service) ?? { unscheduled: 0, admitted: 0, total: 0, admission: d.admission };
      ds.unscheduled += delta(caller.name, P("rq_unscheduled"), { service: d.service });
      if (d.admission) ds.admitted += delta(caller.name, P("admission_admitted"), { service: d.service });
      destinationSums.set(d.service, ds);
      for (const e of d.endpoints) {
        const labels = { service: d.service, endpoint: e.stat };
        const s = sums.get(e.address) ?? { lightsub: {}, envoy: {} };
        for (const m of ENDPOINT_COUNTERS) {
          s.lightsub[m] = (s.lightsub[m] ?? 0) + delta(caller.name, P(m), labels);
        }
        ds.total += delta(caller.name, P("rq_total"), labels);
        const active = sample(after.prometheus.get(caller.name) ?? [], P("rq_active"), labels);
        if (active !== 0) problems.push(`${caller.name}: ${P("rq_active")}{service="${d.service}",endpoint="${e.stat}"} is ${active} after the traffic ended`);
        for (const m of ["upstream_rq_total", "upstream_rq_5xx"]) s.envoy[m] = (s.envoy[m] ?? 0) + statDelta(caller.name, `cluster.${e.cluster}.${m}`);
        sums.set(e.address, s);
      }
    }
  }
  for (const [instance, s] of sums) {
    const requests = appDelta(before, after, instance, "requests");
    const injected = appDelta(before, after, instance, "injectedFailures");
    served.set(instance, requests);
    const expect = (what: string, got: number, want: number) => {
      if (got !== want) problems.push(`${instance}: ${what} summed over its callers is ${got}, the app counted ${want}`);
    };
    expect(P("rq_total"), s.lightsub.rq_total!, requests);
    expect(P("rq_5xx"), s.lightsub.rq_5xx!, injected);
    expect(P("rq_error"), s.lightsub.rq_error!, injected);
    expect(P("rq_reset"), s.lightsub.rq_reset!, 0);
    expect(P("rq_timeout"), s.lightsub.rq_timeout!, 0);
    expect("Envoy's upstream_rq_total", s.envoy.upstream_rq_total!, requests);
    expect("Envoy's upstream_rq_5xx", s.envoy.upstream_rq_5xx!, injected);
  }
  for (const [service, ds] of destinationSums) {
    if (ds.unscheduled !== 0) problems.push(`${P("rq_unscheduled")}{service="${service}"} grew by ${ds.unscheduled}`);
    if (ds.admission && ds.admitted !== ds.total) problems.push(`${P("admission_admitted")}{service="${service}"} grew by ${ds.admitted}, ${P("rq_total")} by ${ds.total}`);
  }
  return { served, problems };
}

/** Polls until the metrics agree (the filter publishes its counters every second) or `timeoutMs` passes; the last snapshot and verdict either way. */
export async function settledAgreement(mesh: Mesh, before: Snapshot, timeoutMs = 15_000): Promise<{ after: Snapshot; agreement: Agreement }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const after = await snapshot(mesh);
    const agreement = checkMetricsAgree(mesh, before, after);
    if (agreement.problems.length === 0 || Date.now() >= deadline) return { after, agreement };
    await new Promise((r) => setTimeout(r, 500));
  }
}
