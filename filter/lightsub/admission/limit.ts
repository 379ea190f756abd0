// The adaptive per-endpoint limit (admission.adaptive): a latency gradient in
// the spirit of Envoy's adaptive concurrency filter. Per window, the sampled
// RTT is the mean latency of this worker's successful requests of the
// destination that ended in it; minRTT is the lowest sampled RTT, forgotten
// slowly (it drifts MIN_RTT_FORGET of the way toward each larger sample) so it
// can rise when the service became slower for good. Then
//   gradient = clamp(minRTT / sampled, 0.5, 2)
//   limit    = clamp(limit × gradient + √limit, minLimit, maxLimit)
// √limit is the headroom: at a steady latency the limit keeps probing upward.
// The limit is per worker (see README.md: why).

const MIN_RTT_FORGET: f64 = 0.05;
const MIN_GRADIENT: f64 = 0.5;
const MAX_GRADIENT: f64 = 2.0;

export class AdaptiveLimit {
  limit: f64;
  minLimit: f64;
  maxLimit: f64;
  windowNs: u64;
  windowStartNs: u64 = 0;
  sumUs: f64 = 0;
  count: u32 = 0;
  minRttUs: f64 = 0;

  constructor(start: i32, minLimit: i32, maxLimit: i32, windowMs: i32) {
    this.limit = <f64>start;
    this.minLimit = <f64>minLimit;
    this.maxLimit = <f64>maxLimit;
    this.windowNs = <u64>windowMs * 1000000;
  }

  get current(): i32 { return <i32>Math.floor(this.limit); }

  /** One successful request's latency. True when a window closed and the limit changed. */
  sample(latencyNs: u64, nowNs: u64): bool {
    if (this.count == 0) this.windowStartNs = nowNs;
    this.sumUs += <f64>latencyNs / 1000;
    this.count++;
    if (nowNs < this.windowStartNs + this.windowNs) return false;
    const sampled = this.sumUs / <f64>this.count;
    this.sumUs = 0;
    this.count = 0;
    if (!(sampled > 0)) return false;
    if (this.minRttUs == 0 || sampled < this.minRttUs) this.minRttUs = sampled;
    else this.minRttUs += (sampled - this.minRttUs) * MIN_RTT_FORGET;
    let gradient = this.minRttUs / sampled;
    if (gradient < MIN_GRADIENT) gradient = MIN_GRADIENT;
    if (gradient > MAX_GRADIENT) gradient = MAX_GRADIENT;
    const before = this.current;
    let next = this.limit * gradient + Math.sqrt(this.limit);
    if (next < this.minLimit) next = this.minLimit;
    if (next > this.maxLimit) next = this.maxLimit;
    this.limit = next;
    return this.current != before;
  }
}
