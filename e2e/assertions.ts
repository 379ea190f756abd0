/**
 * The end-to-end assertions, as pure functions over what can be observed from
 * outside the filter: per-endpoint counts at the upstream servers, the
 * responses the client got, Envoy's /stats/prometheus text and Envoy's log.
 *
 * The same functions check a live Envoy (e2e/run.ts) and the Node proxy-wasm
 * host driving the same filter (test/harness/e2e-on-host.test.ts), so the host-based run
 * keeps the assertion code honest where no Envoy is available.
 *
 * Every `check*` returns a list of problems (empty = pass) so a run can report
 * all of them at once; `assertNoProblems` turns a list into a thrown error.
 */
import { METRIC_PROMETHEUS_PREFIX, SCHEDULING_HEADER, type MetricName } from "../schemas/wire.js";

export class E2eAssertionError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`${problems.length} check${problems.length === 1 ? "" : "s"} failed:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
  }
}

export function assertNoProblems(problems: readonly string[]): void {
  if (problems.length > 0) throw new E2eAssertionError(problems);
}

// ---------------------------------------------------------------- Prometheus

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function unescapeLabel(value: string): string {
  return value.replace(/\\(["\\n])/g, (_, c: string) => (c === "n" ? "\n" : c));
}

function parseValue(text: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  return Number(text);
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/gy;

/** Prometheus text exposition format (what Envoy's /stats/prometheus serves) → samples. */
export function parsePrometheus(text: string): PromSample[] {
  const samples: PromSample[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const m = SAMPLE_LINE.exec(line);
    if (!m) throw new Error(`prometheus text line ${i + 1} is not a sample: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? "";
    LABEL_PAIR.lastIndex = 0;
    let consumed = 0;
    for (let pair = LABEL_PAIR.exec(body); pair; pair = LABEL_PAIR.exec(body)) {
      labels[pair[1]!] = unescapeLabel(pair[2]!);
      consumed = LABEL_PAIR.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`prometheus text line ${i + 1} has malformed labels: ${line}`);
    samples.push({ name: m[1]!, labels, value: parseValue(m[3]!) });
  }
  return samples;
}

/**
 * Envoy strips its custom stat namespace `wasmcustom.` and adds no `envoy_`
 * prefix for plugin metrics, so `lightsub.service.S.endpoint.E.rq_total`
 * shows as `lightsub_rq_total{service="S",endpoint="E"}`.
 */
export const LIGHTSUB_METRIC_PREFIX = METRIC_PROMETHEUS_PREFIX;

/** The lightsub metric with exactly these labels (no more, no fewer), if Envoy shows it. */
export function lightsubMetric(samples: readonly PromSample[], metric: string, labels: Record<string, string>): number | undefined {
  const name = LIGHTSUB_METRIC_PREFIX + metric;
  const wanted = Object.entries(labels);
  const hit = samples.find(
    (s) => s.name === name && Object.keys(s.labels).length === wanted.length && wanted.every(([k, v]) => s.labels[k] === v),
  );
  return hit?.value;
}

export interface ExpectedMetric {
  metric: MetricName;
  service: string;
  /** Omitted for destination-level metrics. */
  endpoint?: string;
  value: number;
}

function describeMetric(e: Omit<ExpectedMetric, "value">): string {
  const labels = e.endpoint === undefined ? `service="${e.service}"` : `service="${e.service}",endpoint="${e.endpoint}"`;
  return `${LIGHTSUB_METRIC_PREFIX}${e.metric}{${labels}}`;
}

/** Each expected lightsub metric is present with the `service` (and `endpoint`) label and has exactly this value. */
export function checkLightsubMetrics(samples: readonly PromSample[], expected: readonly ExpectedMetric[]): string[] {
  const problems: string[] = [];
  for (const e of expected) {
    const labels: Record<string, string> = e.endpoint === undefined ? { service: e.service } : { service: e.service, endpoint: e.endpoint };
    const value = lightsubMetric(samples, e.metric, labels);
    if (value === undefined) problems.push(`${describeMetric(e)} is missing from /stats/prometheus`);
    else if (value !== e.value) problems.push(`${describeMetric(e)} is ${value}, expected ${e.value}`);
  }
  return problems;
}

// ---------------------------------------------------------------- shares

/** `counts[endpoint]` / total; 0 when nothing was counted. */
export function shareOf(counts: Readonly<Record<string, number>>, endpoint: string): number {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  return total === 0 ? 0 : (counts[endpoint] ?? 0) / total;
}

/** The strategy kept `endpoint` to at most `maxShare` of the requests (and some requests were counted at all). */
export function checkShareAvoids(counts: Readonly<Record<string, number>>, endpoint: string, maxShare: number, what: string): string[] {
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  if (total === 0) return [`${what}: no requests reached any endpoint`];
  const share = shareOf(counts, endpoint);
  if (share > maxShare) {
    return [`${what}: ${endpoint} got ${(share * 100).toFixed(1)}% of ${total} requests, at most ${(maxShare * 100).toFixed(1)}% allowed (counts ${JSON.stringify(counts)})`];
  }
  return [];
}

// ---------------------------------------------------------------- responses

export interface ResponseRecord {
  /** Destination service the request was sent to. */
  service: string;
  /** HTTP status; 0 when the request got no response (reset, timeout). */
  status: number;
  /** The upstream (endpoint stat) that answered, from its `x-e2e-upstream` header. */
  upstream?: string;
  /** True when the upstream failed this request on purpose. */
  injected: boolean;
  /** Value of the spoofed scheduling header the client sent, if any. */
  spoofed?: string;
}

/** Every request got an answer from an upstream: 2xx, or a failure the upstream injected on purpose. */
export function checkRequestsSucceed(responses: readonly ResponseRecord[]): string[] {
  if (responses.length === 0) return ["no requests were sent"];
  const bad = responses.filter((r) => !((r.status >= 200 && r.status < 300) || r.injected));
  if (bad.length === 0) return [];
  const byStatus = new Map<string, number>();
  for (const r of bad) {
    const key = `${r.service} → ${r.status === 0 ? "no response" : r.status}`;
    byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
  }
  return [`${bad.length} of ${responses.length} requests failed in the mesh: ${[...byStatus].map(([k, n]) => `${n}× ${k}`).join(", ")}`];
}

/**
 * A client-set scheduling header does not steer: of the requests that asked for
 * `target` (an endpoint cluster), at most `maxShare` landed on it.
 * `statOfCluster` maps the header's cluster names to endpoint stats.
 */
export function checkSpoofIgnored(
  responses: readonly ResponseRecord[],
  statOfCluster: ReadonlyMap<string, string>,
  maxShare: number,
): string[] {
  const spoofed = responses.filter((r) => r.spoofed !== undefined);
  if (spoofed.length === 0) return ["no spoofed requests were sent"];
  const problems: string[] = [];
  const byTarget = new Map<string, ResponseRecord[]>();
  for (const r of spoofed) {
    const list = byTarget.get(r.spoofed!) ?? [];
    list.push(r);
    byTarget.set(r.spoofed!, list);
  }
  for (const [target, list] of byTarget) {
    const stat = statOfCluster.get(target);
    if (stat === undefined) {
      problems.push(`spoofed header value ${target} is not an endpoint cluster of this sidecar`);
      continue;
    }
    const landed = list.filter((r) => r.upstream === stat).length;
    if (landed / list.length > maxShare) {
      problems.push(`spoofed ${SCHEDULING_HEADER}: ${target} steered ${landed} of ${list.length} requests onto ${stat}`);
    }
  }
  return problems;
}

export interface EndpointObservation {
  service: string;
  /** Endpoint stat (metric label) of the upstream. */
  stat: string;
  requests: number;
  injectedFailures: number;
  schedulingHeaderSeen: number;
}

/** No upstream ever received the scheduling header (Envoy removes it before the request leaves). */
export function checkHeaderNeverForwarded(observations: readonly EndpointObservation[]): string[] {
  return observations
    .filter((o) => o.schedulingHeaderSeen > 0)
    .map((o) => `upstream ${o.stat} of ${o.service} received ${SCHEDULING_HEADER} on ${o.schedulingHeaderSeen} requests`);
}

// ---------------------------------------------------------------- logs

export interface LogLine {
  level: string;
  /** Envoy logger name (`wasm` for the filter's own log); undefined when not known. */
  logger?: string;
  message: string;
}

const ENVOY_LOG_LINE = /^\[[^\]]*\]\[[^\]]*\]\[(\w+)\]\[([^\]]+)\]\s?(.*)$/;

/**
 * Envoy's default log format: `[time][thread][level][logger] [file:line] message`.
 * Lines in another shape (continuations, docker output) are kept with level "unknown".
 */
export function parseEnvoyLog(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    const m = ENVOY_LOG_LINE.exec(raw);
    if (m) lines.push({ level: m[1]!, logger: m[2]!, message: m[3]! });
    else lines.push({ level: "unknown", message: raw });
  }
  return lines;
}

const ERROR_LEVELS = new Set(["error", "critical"]);

/** The filter (Envoy logger `wasm`, or any line of a host's own filter log) logged nothing at error or critical. */
export function checkNoFilterErrors(lines: readonly LogLine[]): string[] {
  const errors = lines.filter((l) => (l.logger === undefined || l.logger === "wasm") && ERROR_LEVELS.has(l.level));
  if (errors.length === 0) return [];
  const shown = errors.slice(0, 5).map((l) => `[${l.level}] ${l.message}`);
  return [`the filter logged ${errors.length} error line${errors.length === 1 ? "" : "s"}: ${shown.join(" | ")}`];
}
