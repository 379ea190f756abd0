// Per-worker batching of the per-endpoint counters and gauges (docs/design.md,
// "Metrics"). A request adds to tallies in Wasm memory; the host sees them when
// this worker flushes: at a request's end once FLUSH_INTERVAL_MS passed since
// the worker's last flush, and on every root tick (so an idle worker still
// publishes its last counts). Readers of the stats see values at most one
// interval old. The latency histogram is not batched: every sample is recorded.
//
// Tallies are keyed by the endpoint's rq_total metric id, which is per stat
// name and per VM (metrics.ts reuses ids across configurations): two
// configurations naming the same endpoint share one tally, and a request that
// ends after a reconfiguration still lands in it.
import { incrementMetric, recordMetric } from "../../proxy-wasm/index";
import { Outcome } from "../base/outcome";
import { ENDPOINT_METRICS, Metric } from "./table";

/** How often a busy worker publishes its tallies; the root's tick without admission. */
export const FLUSH_INTERVAL_MS: u32 = 1000;
const FLUSH_INTERVAL_NS: u64 = <u64>FLUSH_INTERVAL_MS * 1000000;

/** Unpublished changes to one endpoint's counters and gauges. */
export class EndpointTally {
  /** Sums to add at the next flush, by Metric (counters, and the rq_active gauge: +1 per schedule, -1 per end). */
  sums: StaticArray<i64> = new StaticArray<i64>(ENDPOINT_METRICS);
  /** Latest latency_ewma_us value (when ewmaPending), and the last one published. */
  ewmaUs: u64 = 0;
  ewmaPending: bool = false;
  publishedEwmaUs: u64 = u64.MAX_VALUE;
  /** Whether this tally is on the dirty list. */
  listed: bool = false;

  /** ids: the endpoint's metric ids, by Metric (metrics.ts). */
  constructor(public ids: StaticArray<u32>) {}

  publish(): void {
    const ids = this.ids;
    const sums = this.sums;
    for (let m = 0; m < ENDPOINT_METRICS; m++) {
      const v = unchecked(sums[m]);
      if (v != 0) {
        incrementMetric(unchecked(ids[m]), v);
        unchecked((sums[m] = 0));
      }
    }
    if (this.ewmaPending && this.ewmaUs != this.publishedEwmaUs) {
      recordMetric(unchecked(ids[Metric.LatencyEwmaUs]), this.ewmaUs);
      this.publishedEwmaUs = this.ewmaUs;
    }
    this.ewmaPending = false;
    this.listed = false;
  }
}

const tallies = new Map<u32, EndpointTally>();
/** Tallies changed since the last flush. */
const dirty = new Array<EndpointTally>();
let lastFlushNs: u64 = 0;

/** The tally of an endpoint's metrics (created on first use); ids by Metric. */
export function tallyFor(ids: StaticArray<u32>): EndpointTally {
  const key = ids[Metric.RqTotal];
  if (tallies.has(key)) {
    const t = tallies.get(key);
    t.ids = ids; // same names, same ids: keep the newest array
    return t;
  }
  const t = new EndpointTally(ids);
  tallies.set(key, t);
  return t;
}

function touch(t: EndpointTally): void {
  if (t.listed) return;
  t.listed = true;
  dirty.push(t);
}

/** A request was scheduled onto the endpoint. */
export function countScheduled(t: EndpointTally): void {
  unchecked((t.sums[Metric.RqActive] += 1));
  touch(t);
}

/** A scheduled request ended with `outcome`. */
export function countEnded(t: EndpointTally, outcome: Outcome): void {
  const sums = t.sums;
  unchecked((sums[Metric.RqActive] -= 1));
  unchecked((sums[Metric.RqTotal] += 1));
  if (outcome == Outcome.FailedOver) {
    unchecked((sums[Metric.RqFailover] += 1)); // the client got its answer: not an error
  } else if (outcome != Outcome.Ok) {
    unchecked((sums[Metric.RqError] += 1));
    if (outcome == Outcome.ServerError) unchecked((sums[Metric.Rq5xx] += 1));
    else if (outcome == Outcome.Reset) unchecked((sums[Metric.RqReset] += 1));
    else if (outcome == Outcome.Timeout) unchecked((sums[Metric.RqTimeout] += 1));
  }
  touch(t);
}

/** The endpoint's shared EWMA after this worker's update (latency_ewma_us). */
export function noteEwma(t: EndpointTally, ewmaUs: u64): void {
  t.ewmaUs = ewmaUs;
  t.ewmaPending = true;
  touch(t);
}

/** Publishes every tally now. */
export function flushMetrics(nowNs: u64): void {
  lastFlushNs = nowNs;
  for (let i = 0; i < dirty.length; i++) unchecked(dirty[i]).publish();
  dirty.length = 0;
}

/** Publishes if FLUSH_INTERVAL_MS passed since this worker's last flush (or the clock stepped back). */
export function flushIfDue(nowNs: u64): void {
  if (nowNs - lastFlushNs >= FLUSH_INTERVAL_NS || nowNs < lastFlushNs) flushMetrics(nowNs);
}
