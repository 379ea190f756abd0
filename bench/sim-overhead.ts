/**
 * Figure 3's per-request overhead (issue 18): what a real request spends
 * outside the endpoint's service time, measured on the bench machine and
 * handed to the simulator as the workload's `overhead` (schemas/workload.schema.json).
 *
 * Two parts, measured per scenario:
 * - the round trip through fortio, Envoy, loopback and the Node upstream's
 *   own handling: fortio's latency with every upstream answering at once
 *   (service time 0), at the scenario's request rate and connections, under
 *   native ROUND_ROBIN, in every repetition right after its run (medians of
 *   the repetitions' p50 and p99);
 * - how late the upstreams' timers answered (actual minus drawn service time
 *   per request, over every run of the scenario): Node fires timers in whole
 *   milliseconds on a loaded event loop.
 * The request leg is half the round trip; the response leg the other half
 * plus the timer lateness (the server answers late, so the try stays in
 * flight longer). Each leg is a lognormal fitted to its median and 99th
 * percentile, as the workloads write service times.
 */
import { Random } from "../simulate/random.js";
import type { LatencySpec } from "../simulate/workload/model.js";

/** z of the standard normal's 99th percentile. */
const Z99 = 2.3263478740408408;
/** The smallest leg median the fit gives (a leg must be a positive duration). */
const MIN_MEDIAN_MS = 0.001;

export interface OverheadLegs {
  request: LatencySpec;
  response: LatencySpec;
  /** Where the values come from (for the figure notes). */
  source: string;
}

/** A lognormal through a median and a 99th percentile (p99 at least 1.01 × the median). */
export function lognormalThrough(medianMs: number, p99Ms: number): LatencySpec {
  const median = Math.max(MIN_MEDIAN_MS, medianMs);
  const p99 = Math.max(p99Ms, median * 1.01);
  return { distribution: "lognormal", medianMs: median, sigma: Math.log(p99 / median) / Z99 };
}

/** The value at quantile q (0..1) of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/**
 * The legs from a measured round trip (median, p99 in ms, service time 0) and
 * the upstreams' timer lateness per request (ms, may be negative: a timer
 * started on the loop's cached clock fires up to 1 ms early). The response leg
 * is fitted to half the round trip plus a lateness drawn from the samples
 * (Monte Carlo with a fixed seed, so the same measurements give the same legs).
 */
export function fitOverhead(roundTrip: { p50: number; p99: number }, lateness: readonly number[], source: string): OverheadLegs {
  const half = lognormalThrough(roundTrip.p50 / 2, roundTrip.p99 / 2);
  if (lateness.length === 0) return { request: half, response: half, source };
  const rng = new Random(18, 3);
  const mu = Math.log((half as { medianMs: number }).medianMs);
  const sigma = (half as { sigma: number }).sigma;
  const draws = 20_000;
  const sums = new Float64Array(draws);
  for (let i = 0; i < draws; i++) sums[i] = Math.exp(mu + sigma * rng.normal()) + lateness[rng.int(lateness.length)]!;
  const sorted = Array.from(sums).sort((a, b) => a - b);
  return { request: half, response: lognormalThrough(quantile(sorted, 0.5), quantile(sorted, 0.99)), source };
}

/** A leg as the workload writes it. */
export function legYaml(spec: LatencySpec): string {
  if (spec.distribution !== "lognormal") throw new RangeError(`legYaml: ${spec.distribution}`);
  // Whole microseconds: the workload's durations go no finer.
  const d = (v: number) => `${Math.max(1, Math.round(v * 1000))}us`;
  return `{ distribution: lognormal, median: ${d(spec.medianMs)}, p99: ${d(spec.medianMs * Math.exp(Z99 * spec.sigma))} }`;
}

/** A leg's median and p99, ms. */
export function legPercentiles(spec: LatencySpec): { p50: number; p99: number } {
  if (spec.distribution !== "lognormal") throw new RangeError(`legPercentiles: ${spec.distribution}`);
  return { p50: spec.medianMs, p99: spec.medianMs * Math.exp(Z99 * spec.sigma) };
}

/**
 * Used when a run's calibration fails: a round trip of p50 0.33 ms and p99
 * 0.8 ms, halved per leg. From README "Performance", the quiet run of
 * 2026-12-06 10:49 UTC (load average ~1.5): brpc-one-slow under native
 * ROUND_ROBIN answered at a p50 of 0.35 ms while its upstreams answered their
 * sub-millisecond requests at once (about 0.02 ms), and least_latency's p99
 * was 1.12 ms against a service-time p99 of 0.4 ms.
 */
export const DEFAULT_OVERHEAD: OverheadLegs = {
  request: lognormalThrough(0.165, 0.4),
  response: lognormalThrough(0.165, 0.4),
  source: "the default (bench/sim-overhead.ts DEFAULT_OVERHEAD, from a quiet run's brpc-one-slow), the calibration having failed",
};
