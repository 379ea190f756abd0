/**
 * Arrival rates over time: the workload's base rate, replaced by a burst's
 * rate inside each burst window `[atMs, untilMs)`. Poisson arrivals with a
 * piecewise-constant rate are drawn exactly: an exponential gap at the current
 * rate, and when it crosses the next rate change, a fresh gap from there
 * (the process is memoryless, so this is the same distribution).
 */
import type { Random } from "./random.js";
import type { ArrivalsModel } from "./workload/model.js";

/** Requests per second at time `ms`. */
export function rateAt(arrivals: ArrivalsModel, ms: number): number {
  for (const burst of arrivals.bursts ?? []) if (burst.atMs <= ms && ms < burst.untilMs) return burst.ratePerSec;
  return arrivals.ratePerSec;
}

/** The first time after `ms` at which the rate changes (Infinity when it never does). */
function nextRateChange(arrivals: ArrivalsModel, ms: number): number {
  let next = Infinity;
  for (const burst of arrivals.bursts ?? []) {
    if (burst.atMs > ms && burst.atMs < next) next = burst.atMs;
    if (burst.untilMs > ms && burst.untilMs < next) next = burst.untilMs;
  }
  return next;
}

/** Arrivals expected in `[0, ms)`. */
export function expectedArrivals(arrivals: ArrivalsModel, ms: number): number {
  let total = 0;
  let t = 0;
  while (t < ms) {
    const end = Math.min(ms, nextRateChange(arrivals, t));
    total += ((end - t) / 1000) * rateAt(arrivals, t);
    t = end;
  }
  return total;
}

/** When the expected number of arrivals reaches `requests` (the span a workload of that many requests covers). */
export function expectedSpanMs(arrivals: ArrivalsModel, requests: number): number {
  let left = requests;
  let t = 0;
  for (;;) {
    const rate = rateAt(arrivals, t);
    const change = nextRateChange(arrivals, t);
    const needMs = (left / rate) * 1000;
    if (t + needMs <= change) return t + needMs;
    left -= ((change - t) / 1000) * rate;
    t = change;
  }
}

/** The arrival after one at `nowMs` (the `index`-th arrival is being scheduled; constant spacing uses it). */
export function nextArrivalMs(arrivals: ArrivalsModel, nowMs: number, index: number, rng: Random): number {
  if (arrivals.bursts === undefined || arrivals.bursts.length === 0) {
    // Without bursts exactly as before (the same numbers for existing workloads).
    const gap = 1000 / arrivals.ratePerSec;
    return arrivals.process === "constant" ? index * gap : nowMs + rng.exponential(gap);
  }
  if (arrivals.process === "constant") return nowMs + 1000 / rateAt(arrivals, nowMs);
  let t = nowMs;
  for (;;) {
    const candidate = t + rng.exponential(1000 / rateAt(arrivals, t));
    const change = nextRateChange(arrivals, t);
    if (candidate < change) return candidate;
    t = change;
  }
}
