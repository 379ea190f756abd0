/**
 * What one run measured: per-request latency and outcome, tries per endpoint,
 * and time series, summarised into RunMetrics (percentiles by nearest rank
 * over every answered request, errors included).
 */
import { expectedSpanMs as expectedArrivalSpanMs } from "./arrivals.js";
import type { WorkloadModel } from "./workload/model.js";

export const Outcome = {
  ok: 0,
  http5xx: 1,
  http4xx: 2,
  reset: 3,
  connectFailure: 4,
  timeout: 5,
  overflow: 6,
  localReply: 7,
  noRoute: 8,
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

export const OUTCOME_NAMES = ["ok", "http5xx", "http4xx", "reset", "connectFailure", "timeout", "overflow", "localReply", "noRoute"] as const;
export type OutcomeName = (typeof OUTCOME_NAMES)[number];

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  mean: number;
  min: number;
  max: number;
}

export interface EndpointUsage {
  /** Tries sent to the endpoint (first tries and retries). */
  tries: number;
  /** Share of all tries. */
  share: number;
  /** Tries that did not end in a 200. */
  failedTries: number;
}

export interface TimeSeries {
  bucketMs: number;
  /** Requests by arrival time. */
  requests: number[];
  /** Requests that ended in an error, by arrival time. */
  errors: number[];
  /** Tries per endpoint by start time: [endpoint][bucket]. */
  tries: number[][];
}

export interface RunMetrics {
  requests: number;
  /** Answered with a 2xx/3xx status. */
  ok: number;
  /** Everything else: 4xx/5xx, resets, timeouts, overflow, local replies, unanswered. */
  errors: number;
  errorRate: number;
  /** Requests never answered before the simulation ran out of events. */
  unanswered: number;
  outcomes: Record<OutcomeName, number>;
  /** Successful responses per second between the first arrival and the last response. */
  throughputRps: number;
  spanMs: number;
  latencyMs: LatencySummary;
  /** Successful requests only. */
  okLatencyMs: LatencySummary;
  tries: number;
  retries: number;
  endpoints: EndpointUsage[];
  series: TimeSeries;
  /** [latency ms, fraction of requests answered within it], for plotting. */
  cdf: [number, number][];
  /**
   * Requests the filter held (paused) before sending them on or answering
   * them itself: with admission, those that waited in a queue; and their waits.
   */
  queued: { requests: number; waitMs: LatencySummary };
  /** The filter's local replies by their `x-lightsub-reason` (queue-full, queue-timeout, ...; "" when the reply named none). */
  localReplies: Record<string, number>;
  /** With a request mix (workload request.mix): the same numbers per header value, in the mix's order. */
  byMix?: { header: string; classes: MixClassMetrics[] };
}

export interface MixClassMetrics {
  value: string;
  requests: number;
  errors: number;
  errorRate: number;
  latencyMs: LatencySummary;
  localReplies: Record<string, number>;
}

const SERIES_BUCKETS = 60;

export class RunRecorder {
  private readonly arrival: Float64Array;
  private readonly latency: Float64Array;
  private readonly outcome: Uint8Array;
  private readonly endpointTries: Float64Array;
  private readonly endpointFailures: Float64Array;
  private readonly bucketMs: number;
  private readonly seriesRequests: Float64Array;
  private readonly seriesErrors: Float64Array;
  private readonly seriesTries: Float64Array[];
  private retries = 0;
  private tries = 0;
  private readonly queueWaits: number[] = [];
  /** Request → index of its mix value (only with a mix). */
  private readonly mixClass: Uint8Array | undefined;
  private readonly localReplyOf: (string | undefined)[] | undefined;
  private readonly localReplyReasons = new Map<string, number>();
  private lastResponse = 0;

  constructor(
    private readonly total: number,
    private readonly endpoints: number,
    private readonly workload: WorkloadModel,
  ) {
    this.arrival = new Float64Array(total);
    this.latency = new Float64Array(total).fill(NaN);
    this.outcome = new Uint8Array(total);
    this.endpointTries = new Float64Array(endpoints);
    this.endpointFailures = new Float64Array(endpoints);
    const expectedSpanMs = expectedArrivalSpanMs(workload.arrivals, total);
    this.bucketMs = niceBucket(expectedSpanMs / SERIES_BUCKETS);
    const buckets = Math.max(1, Math.ceil(expectedSpanMs / this.bucketMs));
    this.seriesRequests = new Float64Array(buckets);
    this.seriesErrors = new Float64Array(buckets);
    this.seriesTries = Array.from({ length: endpoints }, () => new Float64Array(buckets));
    if (workload.request.mix) {
      this.mixClass = new Uint8Array(total);
      this.localReplyOf = new Array(total);
    }
  }

  classify(id: number, mixValue: number): void {
    this.mixClass![id] = mixValue;
  }

  private bucket(ms: number): number {
    return Math.min(this.seriesRequests.length - 1, Math.floor(ms / this.bucketMs));
  }

  arrive(id: number, ms: number): void {
    this.arrival[id] = ms;
    this.seriesRequests[this.bucket(ms)]!++;
  }

  tryStarted(endpoint: number, ms: number, retry: boolean): void {
    this.tries++;
    if (retry) this.retries++;
    this.endpointTries[endpoint]!++;
    this.seriesTries[endpoint]![this.bucket(ms)]!++;
  }

  tryEnded(endpoint: number, failed: boolean): void {
    if (failed) this.endpointFailures[endpoint]!++;
  }

  /** A request the filter held for `waitMs` was let go (sent on, or answered by the filter). */
  queuedFor(waitMs: number): void {
    this.queueWaits.push(waitMs);
  }

  localReply(reason: string, id: number): void {
    if (this.localReplyOf) this.localReplyOf[id] = reason;
    this.localReplyReasons.set(reason, (this.localReplyReasons.get(reason) ?? 0) + 1);
  }

  respond(id: number, ms: number, code: number, outcome: Outcome): void {
    const arrival = this.arrival[id]!;
    this.latency[id] = ms - arrival;
    this.outcome[id] = code >= 400 || code === 0 ? (outcome === Outcome.ok ? Outcome.http4xx : outcome) : Outcome.ok;
    if (this.outcome[id] !== Outcome.ok) this.seriesErrors[this.bucket(arrival)]!++;
    if (ms > this.lastResponse) this.lastResponse = ms;
  }

  finish(): RunMetrics {
    const outcomes = Object.fromEntries(OUTCOME_NAMES.map((n) => [n, 0])) as Record<OutcomeName, number>;
    const answered: number[] = [];
    const okLatencies: number[] = [];
    let unanswered = 0;
    for (let i = 0; i < this.total; i++) {
      const latency = this.latency[i]!;
      if (Number.isNaN(latency)) {
        unanswered++;
        continue;
      }
      answered.push(latency);
      const outcome = this.outcome[i]!;
      outcomes[OUTCOME_NAMES[outcome]!]++;
      if (outcome === Outcome.ok) okLatencies.push(latency);
    }
    const sorted = Float64Array.from(answered).sort();
    const okSorted = Float64Array.from(okLatencies).sort();
    const ok = outcomes.ok;
    const errors = this.total - ok;
    const firstArrival = this.total > 0 ? this.arrival[0]! : 0;
    const spanMs = Math.max(0, this.lastResponse - firstArrival);
    const totalTries = this.tries;
    const metrics: RunMetrics = {
      requests: this.total,
      ok,
      errors,
      errorRate: this.total === 0 ? 0 : errors / this.total,
      unanswered,
      outcomes,
      throughputRps: spanMs > 0 ? ok / (spanMs / 1000) : 0,
      spanMs,
      latencyMs: summarize(sorted),
      okLatencyMs: summarize(okSorted),
      tries: totalTries,
      retries: this.retries,
      endpoints: Array.from({ length: this.endpoints }, (_, e) => ({
        tries: this.endpointTries[e]!,
        share: totalTries === 0 ? 0 : this.endpointTries[e]! / totalTries,
        failedTries: this.endpointFailures[e]!,
      })),
      series: {
        bucketMs: this.bucketMs,
        requests: Array.from(this.seriesRequests),
        errors: Array.from(this.seriesErrors),
        tries: this.seriesTries.map((s) => Array.from(s)),
      },
      cdf: cdfPoints(sorted),
      queued: { requests: this.queueWaits.length, waitMs: summarize(Float64Array.from(this.queueWaits).sort()) },
      localReplies: sortedRecord(this.localReplyReasons),
    };
    const mix = this.workload.request.mix;
    if (mix) metrics.byMix = { header: mix.header, classes: mix.values.map((value, k) => this.classMetrics(value, k)) };
    return metrics;
  }

  private classMetrics(value: string, k: number): MixClassMetrics {
    const latencies: number[] = [];
    const reasons = new Map<string, number>();
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < this.total; i++) {
      if (this.mixClass![i] !== k) continue;
      requests++;
      const latency = this.latency[i]!;
      if (Number.isNaN(latency)) {
        errors++;
        continue;
      }
      latencies.push(latency);
      if (this.outcome[i] !== Outcome.ok) errors++;
      const reason = this.localReplyOf![i];
      if (reason !== undefined) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
    }
    return {
      value,
      requests,
      errors,
      errorRate: requests === 0 ? 0 : errors / requests,
      latencyMs: summarize(Float64Array.from(latencies).sort()),
      localReplies: sortedRecord(reasons),
    };
  }
}

function sortedRecord(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Nearest-rank percentile of sorted values: the smallest value with at least q of all at or below it. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil(q * sorted.length - 1e-9));
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

function summarize(sorted: Float64Array): LatencySummary {
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    p999: percentile(sorted, 0.999),
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
    min: sorted.length === 0 ? NaN : sorted[0]!,
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
  };
}

/** Quantiles every 1% up to 99%, then finer into the tail (99.1…99.9, 99.91…99.99), then the maximum. */
function cdfPoints(sorted: Float64Array): [number, number][] {
  if (sorted.length === 0) return [];
  const qs: number[] = [];
  for (let i = 0; i <= 99; i++) qs.push(i / 100);
  for (let i = 1; i <= 9; i++) qs.push(0.99 + i / 1000);
  for (let i = 1; i <= 9; i++) qs.push(0.999 + i / 10000);
  qs.push(1);
  return qs.map((q) => [round(q === 0 ? sorted[0]! : percentile(sorted, q)), q]);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** A bucket width of 1, 2 or 5 × 10^k ms at least `ms`. */
function niceBucket(ms: number): number {
  if (!(ms > 0)) return 1;
  const power = 10 ** Math.floor(Math.log10(ms));
  for (const m of [1, 2, 5, 10]) if (m * power >= ms) return m * power;
  return 10 * power;
}
