// When an endpoint is ejected (records/shared.ts noteOutcome applies it). Its own
// file so that the pending outcomes of a worker (pending.ts) can carry it.

/**
 * When an endpoint is ejected (set aside by every strategy, on every worker):
 * after `after` failures in a row (5xx, reset, timeout, served elsewhere), for
 * baseMs x the number of ejections in a row (at most maxMs); then one probe
 * request (claimed with CAS: one across all workers) per that time, until one
 * succeeds. The defaults are Envoy's outlier detection's consecutive_5xx (5)
 * and, as the base, the probe interval of availability (1 s; the compiler
 * passes the service's outlierDetection values when it has one, so filter and
 * Envoy agree); the cap is Envoy's max_ejection_time (300 s).
 */
export class Ejection {
  constructor(public after: u32 = 5, public baseMs: u64 = 1000, public maxMs: u64 = 300000) {}

  /** The ejection time after `ejections` ejections in a row. */
  timeMs(ejections: u32): u64 {
    const t = this.baseMs * <u64>(ejections > 0 ? ejections : 1);
    const cap = this.maxMs > this.baseMs ? this.maxMs : this.baseMs;
    return t < cap ? t : cap;
  }
}
