// least_load: power of two choices on the shared in-flight counts per unit of
// weight (weight-sampler.ts). Reads only the two candidates' records and claims
// the less loaded one with the CAS of that read (no re-read); an ejected one
// only if both are (then the next attempt draws a new pair: strategy.ts).
//
// Issue 16: with k of n endpoints piling up requests (hung, or far slower under
// load), plain P2C must often send the request to one of them. So from 4
// endpoints on (with fewer, no pair can consist of bad ones only while
// k <= n/2), each worker screens (screening.ts): an endpoint with more than
// 3 x the lower median's in-flight per unit of weight plus 4 requests is set
// aside (the slack keeps the shares of idle or lightly loaded endpoints
// exactly as before). Set-aside endpoints need no probe: their count falls as
// their requests end, and the next screening sees it.
import { Pick } from "../base/pick";
import { randomBelow } from "../base/random";
import { Destination } from "../destination";
import { readState } from "../records/shared";
import { claim, claimEither } from "./claim";
import { Screening } from "./screening";
import { WeightSampler, lessLoaded } from "./weight-sampler";

const LOAD_FACTOR: f64 = 3;
const LOAD_SLACK: f64 = 4;
const MIN_ENDPOINTS_TO_SCREEN: i32 = 4;
/** Weighted draws that land on a set-aside endpoint are redrawn this often, then drawn uniformly from the rest. */
const REDRAWS: i32 = 8;

/** Weighted P2C over all endpoints of the destination. */
export function pickLeastLoaded(destination: Destination, sampler: WeightSampler): i32 {
  const endpoints = destination.endpoints;
  const n = endpoints.length;
  if (n == 1) return claim(destination, 0, false);
  const a = sampler.first();
  const b = sampler.other(a);
  if (!readState(endpoints[a]) || !readState(endpoints[b])) return Pick.SharedDataFailed;
  return lessLoaded(endpoints[b], endpoints[a]) ? claimEither(destination, b, a) : claimEither(destination, a, b);
}

export class LeastLoad extends Screening {
  sampler: WeightSampler;
  /** In-flight per unit of weight of each endpoint at the last screening. */
  load: StaticArray<f64>;

  constructor(destination: Destination) {
    super(destination);
    this.sampler = new WeightSampler(destination);
    this.load = new StaticArray<f64>(destination.endpoints.length);
  }

  /** Reads every record and recomputes which endpoints are set aside; false when shared data failed. */
  screen(destination: Destination): bool {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const load = this.load;
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i];
      if (!readState(ep)) return false;
      const inFlight = ep.state.inFlight > 0 ? ep.state.inFlight : 0;
      const l = <f64>inFlight / <f64>ep.weight;
      unchecked((load[i] = l));
      this.insertSorted(i, l);
    }
    const median = this.lowerMedian(n);
    for (let i = 0; i < n; i++) {
      // In requests: more than LOAD_FACTOR x the median's share at this endpoint's weight, plus the slack.
      const w = <f64>endpoints[i].weight;
      unchecked((this.aside[i] = unchecked(load[i]) * w > LOAD_FACTOR * median * w + LOAD_SLACK));
    }
    this.partition(n);
    return true;
  }

  /** A weighted draw among the endpoints not set aside (≠ `other` when other ≥ 0). */
  drawOne(other: i32): i32 {
    const sampler = this.sampler;
    for (let k = 0; k < REDRAWS; k++) {
      const i = other < 0 ? sampler.first() : sampler.other(other);
      if (!unchecked(this.aside[i])) return i;
    }
    // Rare (the weight is mostly set aside): uniformly among the rest, skipping `other`.
    const count = this.drawCount;
    let at = -1;
    for (let k = 0; k < count; k++) if (unchecked(this.draw[k]) == other) at = k;
    if (at < 0) return unchecked(this.draw[randomBelow(count)]);
    let r = randomBelow(count - 1);
    if (r >= at) r++;
    return unchecked(this.draw[r]);
  }

  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    if (n < MIN_ENDPOINTS_TO_SCREEN) return pickLeastLoaded(destination, this.sampler);
    if (this.screenDue(nowNs) && !this.screen(destination)) return Pick.SharedDataFailed;
    if (this.drawCount == n) return pickLeastLoaded(destination, this.sampler);
    const a = this.drawOne(-1);
    const b = this.drawOne(a);
    if (!readState(endpoints[a]) || !readState(endpoints[b])) return Pick.SharedDataFailed;
    return lessLoaded(endpoints[b], endpoints[a]) ? claimEither(destination, b, a) : claimEither(destination, a, b);
  }
}
