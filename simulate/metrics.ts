/**
 * What one run measured: per-request latency and outcome, tries per endpoint,
 * and time series, summarised into RunMetrics (percentiles by nearest rank
 * over every answered request, errors included, from histograms of bounded
 * relative error: see LatencyHistogram).
 */
import { expectedSpanMs as expectedArrivalSpanMs } from "./arrivals.js";
import type { WorkloadModel } from "./workload/model.js";
import { build as buildHistogram, type Histogram } from "hdr-histogram-js";

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

const OUTCOME_NAMES = ["ok", "http5xx", "http4xx", "reset", "connectFailure", "timeout", "overflow", "localReply", "noRoute"] as const;
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
  /** The filter's local replies by their REASON_HEADER (schemas/wire.ts LOCAL_REPLY_REASONS; "" when the reply named none). */
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

/**
 * Latencies of one group of requests, in a histogram of bounded relative error
 * (HDR: hdr-histogram-js) so a run's memory does not grow with its request
 * count. Values are kept in whole microseconds with 3 significant digits: a
 * percentile is the nearest-rank value rounded up to its bucket's top, at
 * most 0.1% above the exact one, and never outside the exact min and max
 * (tracked beside the histogram, with the exact sum for the mean).
 */
/** How far above the exact nearest-rank value a reported percentile can be (relative; plus half a microsecond of rounding). */
export const LATENCY_RELATIVE_ERROR = 1 / 1024;

export class LatencyHistogram {
  private readonly hdr: Histogram = buildHistogram({
    bitBucketSize: 64,
    autoResize: true,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 2,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
  count = 0;
  private sum = 0;
  private min = Infinity;
  private max = -Infinity;

  record(ms: number): void {
    this.count++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
    this.hdr.recordValue(Math.max(0, Math.round(ms * 1000)));
  }

  /** Memory the counts take (grows with the range of values seen, never with their number). */
  get footprintBytes(): number {
    return this.hdr.estimatedFootprintInBytes;
  }

  /** Nearest-rank percentile (q in 0..1), within the bounds above. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.min;
    if (q >= 1) return this.max;
    const value = this.hdr.getValueAtPercentile(q * 100) / 1000;
    return Math.min(this.max, Math.max(this.min, value));
  }

  summary(): LatencySummary {
    return {
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      mean: this.count === 0 ? NaN : this.sum / this.count,
      min: this.count === 0 ? NaN : this.min,
      max: this.count === 0 ? NaN : this.max,
    };
  }

  /** Quantiles every 1% up to 99%, then finer into the tail (99.1…99.9, 99.91…99.99), then the maximum. */
  cdf(): [number, number][] {
    if (this.count === 0) return [];
    const qs: number[] = [];
    for (let i = 0; i <= 99; i++) qs.push(i / 100);
    for (let i = 1; i <= 9; i++) qs.push(0.99 + i / 1000);
    for (let i = 1; i <= 9; i++) qs.push(0.999 + i / 10000);
    qs.push(1);
    return qs.map((q) => [round(this.quantile(q)), q]);
  }
}

/** What a request carries to its response for the recorder (the recorder keeps nothing per request). */
export interface RecordedRequest {
  readonly arrivalMs: number;
  /** Index of its request.mix value (-1: no mix). */
  mixClass: number;
  /** The filter's local-reply reason, when it answered the request itself. */
  localReplyReason: string | undefined;
}

interface MixClassRecord {
  requests: number;
  answered: number;
  failed: number;
  latency: LatencyHistogram;
  reasons: Map<string, number>;
}

/**
 * Counts, histograms and time series of one run, updated as requests arrive
 * and are answered: memory is independent of the number of requests.
 */
export class RunRecorder {
  private readonly endpointTries: Float64Array;
  private readonly endpointFailures: Float64Array;
  private readonly bucketMs: number;
  private readonly seriesRequests: Float64Array;
  private readonly seriesErrors: Float64Array;
  private readonly seriesTries: Float64Array[];
  private readonly outcomeCounts = new Float64Array(OUTCOME_NAMES.length);
  readonly latency = new LatencyHistogram();
  private readonly okLatency = new LatencyHistogram();
  private readonly queueWaits = new LatencyHistogram();
  private retries = 0;
  private tries = 0;
  private answered = 0;
  private firstArrival = NaN;
  private readonly mixClasses: MixClassRecord[] | undefined;
  private readonly localReplyReasons = new Map<string, number>();
  private lastResponse = 0;

  constructor(
    private readonly total: number,
    private readonly endpoints: number,
    private readonly workload: WorkloadModel,
  ) {
    this.endpointTries = new Float64Array(endpoints);
    this.endpointFailures = new Float64Array(endpoints);
    const expectedSpanMs = expectedArrivalSpanMs(workload.arrivals, total);
    this.bucketMs = niceBucket(expectedSpanMs / SERIES_BUCKETS);
    const buckets = Math.max(1, Math.ceil(expectedSpanMs / this.bucketMs));
    this.seriesRequests = new Float64Array(buckets);
    this.seriesErrors = new Float64Array(buckets);
    this.seriesTries = Array.from({ length: endpoints }, () => new Float64Array(buckets));
    const mix = workload.request.mix;
    if (mix) this.mixClasses = mix.values.map(() => ({ requests: 0, answered: 0, failed: 0, latency: new LatencyHistogram(), reasons: new Map() }));
  }

  /** The request drew mix value `mixValue` (call once per request, with a mix). */
  classify(request: RecordedRequest, mixValue: number): void {
    request.mixClass = mixValue;
    this.mixClasses![mixValue]!.requests++;
  }

  private bucket(ms: number): number {
    return Math.min(this.seriesRequests.length - 1, Math.floor(ms / this.bucketMs));
  }

  arrive(ms: number): void {
    if (Number.isNaN(this.firstArrival)) this.firstArrival = ms;
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
    this.queueWaits.record(waitMs);
  }

  localReply(reason: string, request: RecordedRequest): void {
    request.localReplyReason = reason;
    this.localReplyReasons.set(reason, (this.localReplyReasons.get(reason) ?? 0) + 1);
  }

  respond(request: RecordedRequest, ms: number, code: number, outcome: Outcome): void {
    const latency = ms - request.arrivalMs;
    const final = code >= 400 || code === 0 ? (outcome === Outcome.ok ? Outcome.http4xx : outcome) : Outcome.ok;
    this.answered++;
    this.outcomeCounts[final]!++;
    this.latency.record(latency);
    if (final === Outcome.ok) this.okLatency.record(latency);
    else this.seriesErrors[this.bucket(request.arrivalMs)]!++;
    if (ms > this.lastResponse) this.lastResponse = ms;
    if (this.mixClasses && request.mixClass >= 0) {
      const c = this.mixClasses[request.mixClass]!;
      c.answered++;
      c.latency.record(latency);
      if (final !== Outcome.ok) c.failed++;
      const reason = request.localReplyReason;
      if (reason !== undefined) c.reasons.set(reason, (c.reasons.get(reason) ?? 0) + 1);
    }
  }

  finish(): RunMetrics {
    const outcomes = Object.fromEntries(OUTCOME_NAMES.map((n, i) => [n, this.outcomeCounts[i]!])) as Record<OutcomeName, number>;
    const unanswered = this.total - this.answered;
    const ok = outcomes.ok;
    const errors = this.total - ok;
    const firstArrival = this.total > 0 && !Number.isNaN(this.firstArrival) ? this.firstArrival : 0;
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
      latencyMs: this.latency.summary(),
      okLatencyMs: this.okLatency.summary(),
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
      cdf: this.latency.cdf(),
      queued: { requests: this.queueWaits.count, waitMs: this.queueWaits.summary() },
      localReplies: sortedRecord(this.localReplyReasons),
    };
    const mix = this.workload.request.mix;
    if (mix) metrics.byMix = { header: mix.header, classes: mix.values.map((value, k) => this.classMetrics(value, k)) };
    return metrics;
  }

  private classMetrics(value: string, k: number): MixClassMetrics {
    const c = this.mixClasses![k]!;
    // Unanswered requests count as errors, as in the run's own totals.
    const errors = c.failed + (c.requests - c.answered);
    return {
      value,
      requests: c.requests,
      errors,
      errorRate: c.requests === 0 ? 0 : errors / c.requests,
      latencyMs: c.latency.summary(),
      localReplies: sortedRecord(c.reasons),
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
