// Drawing endpoints in proportion to their weights, and the weight-aware load
// comparison least_load and availability share.
//
// Like Envoy's LEAST_REQUEST with unequal weights (effective weight
// weight / (active + 1)^bias), load is measured per unit of weight; unlike it,
// the two candidates of the P2C are drawn in proportion to weight and a tie goes
// to the first, so at zero load traffic follows the weights exactly instead of
// always going to the heaviest endpoint. With equal weights this is the plain
// P2C on in-flight counts (a uniform pair, fewer in flight wins).
import { Destination, Endpoint } from "../destination";
import { randomBelow, randomOtherThan } from "../base/random";
import { settledInFlight } from "../records/shared";

export class WeightSampler {
  /** cumulative[i] = weight of endpoints 0..i (at most MAX_ENDPOINTS × MAX_WEIGHT, config/plugin.ts: fits i32). */
  cumulative: StaticArray<i32>;
  total: i32 = 0;
  /** All weights equal: uniform draws, no search. */
  uniform: bool = true;

  constructor(destination: Destination) {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    this.cumulative = new StaticArray<i32>(n);
    let sum: i32 = 0;
    for (let i = 0; i < n; i++) {
      const w = endpoints[i].weight;
      if (w != endpoints[0].weight) this.uniform = false;
      sum += w; // ≥ 1 (config/plugin.ts)
      this.cumulative[i] = sum;
    }
    this.total = sum;
  }

  /** Index of the endpoint whose weight range holds `r` (0 ≤ r < total). */
  private find(r: i32): i32 {
    const cumulative = this.cumulative;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (unchecked(cumulative[mid]) > r) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  /** An endpoint index drawn with probability weight / total. */
  first(): i32 {
    const n = this.cumulative.length;
    if (this.uniform) return randomBelow(n);
    return this.find(randomBelow(this.total));
  }

  /** Another index (≠ `first`), drawn in proportion to weight among the rest; needs ≥ 2 endpoints. */
  other(first: i32): i32 {
    const n = this.cumulative.length;
    if (this.uniform) return randomOtherThan(first, n);
    const end = this.cumulative[first];
    const weight = end - (first > 0 ? this.cumulative[first - 1] : 0);
    let r = randomBelow(this.total - weight);
    if (r >= end - weight) r += weight; // skip over `first`'s range
    return this.find(r);
  }
}

/**
 * Whether `b` is less loaded than `a` per unit of weight: inFlight_b / w_b <
 * inFlight_a / w_a, each the record as just read plus this worker's changes
 * not stored yet (records/shared.ts settledInFlight: a worker-local
 * destination's, e.g. consistent_hash's requests without a key, see their
 * own worker's load at once and other workers' as of their last tick).
 */
export function lessLoaded(b: Endpoint, a: Endpoint): bool {
  const inFlightA = <i64>settledInFlight(a, 0);
  const inFlightB = <i64>settledInFlight(b, 0);
  return inFlightB * <i64>a.weight < inFlightA * <i64>b.weight;
}
