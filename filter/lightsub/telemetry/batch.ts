// Per-worker batching of the per-endpoint counters and gauges (docs/design.md,
// "Metrics"). A request adds to tallies in Wasm memory; the host sees them when
// this worker flushes: at a request's end once FLUSH_INTERVAL_MS passed since
// the worker's last flush, and on every root tick (so an idle worker still
// publishes its last counts). Readers of the stats see values at most one
// interval old. The latency histogram is not batched: every sample is recorded.
//
// Tallies are keyed by the endpoint's rq_total metric id, which is per stat
// name and per VM (telemetry.ts reuses ids across configurations): two
// configurations naming the same endpoint share one tally, and a request that
// ends after a reconfiguration still lands in it.
import { incrementMetric, recordMetric } from "../../proxy-wasm/index";
import { EndpointMetrics } from "../destination";
import { Outcome } from "../base/outcome";

/** How often a busy worker publishes its tallies; the root's tick without admission. */
export const FLUSH_INTERVAL_MS: u32 = 1000;
const FLUSH_INTERVAL_NS: u64 = <u64>FLUSH_INTERVAL_MS * 1000000;

/** Unpublished changes to one endpoint's counters and gauges. */
export class EndpointTally {
  total: i64 = 0;
  error: i64 = 0;
  serverError: i64 = 0;
  reset: i64 = 0;
  timeout: i64 = 0;
  failover: i64 = 0;
  /** Net change of the rq_active gauge (+1 per schedule, -1 per end). */
  active: i64 = 0;
  /** Latest latency_ewma_us value (when ewmaPending), and the last one published. */
  ewmaUs: u64 = 0;
  ewmaPending: bool = false;
  publishedEwmaUs: u64 = u64.MAX_VALUE;
  /** Whether this tally is on the dirty list. */
  listed: bool = false;

  constructor(public metrics: EndpointMetrics) {}

  publish(): void {
    const m = this.metrics;
    if (this.active != 0) incrementMetric(m.active, this.active);
    if (this.total != 0) incrementMetric(m.total, this.total);
    if (this.error != 0) {
      incrementMetric(m.error, this.error);
      if (this.serverError != 0) incrementMetric(m.serverError, this.serverError);
      if (this.reset != 0) incrementMetric(m.reset, this.reset);
      if (this.timeout != 0) incrementMetric(m.timeout, this.timeout);
    }
    if (this.failover != 0) incrementMetric(m.failover, this.failover);
    if (this.ewmaPending && this.ewmaUs != this.publishedEwmaUs) {
      recordMetric(m.ewmaUs, this.ewmaUs);
      this.publishedEwmaUs = this.ewmaUs;
    }
    this.ewmaPending = false;
    this.total = 0;
    this.error = 0;
    this.serverError = 0;
    this.reset = 0;
    this.timeout = 0;
    this.failover = 0;
    this.active = 0;
    this.listed = false;
  }
}

const tallies = new Map<u32, EndpointTally>();
/** Tallies changed since the last flush. */
const dirty = new Array<EndpointTally>();
let lastFlushNs: u64 = 0;

/** The tally of an endpoint's metrics (created on first use). */
export function tallyFor(metrics: EndpointMetrics): EndpointTally {
  const key = metrics.total;
  if (tallies.has(key)) {
    const t = tallies.get(key);
    t.metrics = metrics; // same names, same ids: keep the newest object
    return t;
  }
  const t = new EndpointTally(metrics);
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
  t.active += 1;
  touch(t);
}

/** A scheduled request ended with `outcome`. */
export function countEnded(t: EndpointTally, outcome: Outcome): void {
  t.active -= 1;
  t.total += 1;
  if (outcome == Outcome.FailedOver) {
    t.failover += 1; // the client got its answer: not an error
  } else if (outcome != Outcome.Ok) {
    t.error += 1;
    if (outcome == Outcome.ServerError) t.serverError += 1;
    else if (outcome == Outcome.Reset) t.reset += 1;
    else if (outcome == Outcome.Timeout) t.timeout += 1;
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
