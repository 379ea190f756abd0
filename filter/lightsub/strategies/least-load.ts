// least_load: power of two choices on the shared in-flight counts per unit of
// weight (weightSampler.ts). Reads only the two candidates' records and claims
// the less loaded one with the CAS of that read (no re-read).
//
// Issue 16: with k of n endpoints piling up requests (hung, or far slower under
// load), plain P2C draws two of them with probability k(k-1) / (n(n-1)) and
// must send the request to one. So from 4 endpoints on (with fewer, no pair
// can consist of bad ones only while k <= n/2), each worker screens every
// 20 ms (2 ms per endpoint beyond 10), as least_latency does: it reads every
// record and sets aside an endpoint with more than 3 x the lower median's
// in-flight per unit of weight plus 4 requests (the slack keeps the shares
// of idle or lightly loaded endpoints exactly as before). At most half can be
// above the median. Set-aside endpoints need no probe: their count falls as
// their requests end, and the next screening sees it.
import { Destination, PICK_SHARED_DATA_FAILED, Strategy } from "../destination";
import { randomBelow } from "../base/random";
import { readState } from "../records/shared";
import { claim } from "./claim";
import { WeightSampler, lessLoaded } from "./weight-sampler";

const LOAD_FACTOR: f64 = 3;
const LOAD_SLACK: f64 = 4;
const MIN_ENDPOINTS_TO_SCREEN: i32 = 4;
const SCREEN_INTERVAL_NS: u64 = 20_000_000;
const SCREEN_INTERVAL_PER_ENDPOINT_NS: u64 = 2_000_000;
/** Weighted draws that land on a set-aside endpoint are redrawn this often, then drawn uniformly from the rest. */
const REDRAWS: i32 = 8;

/** Weighted P2C over all endpoints of the destination. */
export function pickLeastLoaded(destination: Destination, sampler: WeightSampler): i32 {
  const endpoints = destination.endpoints;
  const n = endpoints.length;
  if (n == 1) return claim(destination, 0, false);
  const a = sampler.first();
  const b = sampler.other(a);
  if (!readState(endpoints[a]) || !readState(endpoints[b])) return PICK_SHARED_DATA_FAILED;
  const chosen = lessLoaded(endpoints[b], endpoints[a]) ? b : a;
  return claim(destination, chosen, true);
}

export class LeastLoad extends Strategy {
  sampler: WeightSampler;
  /** Endpoint i is set aside until the next screening. */
  aside: StaticArray<bool>;
  /** Indexes of the endpoints not set aside (the first `drawCount`). */
  draw: StaticArray<i32>;
  drawCount: i32;
  load: StaticArray<f64>;
  sorted: StaticArray<f64>;
  nextScreenNs: u64 = 0;
  screened: bool = false;
  screenIntervalNs: u64;

  constructor(destination: Destination) {
    super();
    this.sampler = new WeightSampler(destination);
    const n = destination.endpoints.length;
    this.aside = new StaticArray<bool>(n);
    this.draw = new StaticArray<i32>(n);
    this.load = new StaticArray<f64>(n);
    this.sorted = new StaticArray<f64>(n);
    for (let i = 0; i < n; i++) this.draw[i] = i;
    this.drawCount = n;
    const perEndpoint = <u64>n * SCREEN_INTERVAL_PER_ENDPOINT_NS;
    this.screenIntervalNs = perEndpoint > SCREEN_INTERVAL_NS ? perEndpoint : SCREEN_INTERVAL_NS;
  }

  /** Reads every record and recomputes which endpoints are set aside; false when shared data failed. */
  screen(destination: Destination): bool {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const load = this.load;
    const sorted = this.sorted;
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i];
      if (!readState(ep)) return false;
      const inFlight = ep.state.inFlight > 0 ? ep.state.inFlight : 0;
      const l = <f64>inFlight / <f64>ep.weight;
      unchecked((load[i] = l));
      // Insertion into the sorted prefix (n is small; once per interval).
      let j = i - 1;
      while (j >= 0 && unchecked(sorted[j]) > l) {
        unchecked((sorted[j + 1] = sorted[j]));
        j--;
      }
      unchecked((sorted[j + 1] = l));
    }
    const median = unchecked(sorted[(n - 1) >> 1]);
    let count = 0;
    for (let i = 0; i < n; i++) {
      // In requests: more than LOAD_FACTOR x the median's share at this endpoint's weight, plus the slack.
      const out = unchecked(load[i]) * <f64>endpoints[i].weight > LOAD_FACTOR * median * <f64>endpoints[i].weight + LOAD_SLACK;
      unchecked((this.aside[i] = out));
      if (!out) unchecked((this.draw[count++] = i));
    }
    this.drawCount = count;
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

  override pick(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    if (n < MIN_ENDPOINTS_TO_SCREEN) return pickLeastLoaded(destination, this.sampler);
    if (!this.screened || nowNs >= this.nextScreenNs) {
      this.screened = true;
      this.nextScreenNs = nowNs + this.screenIntervalNs;
      if (!this.screen(destination)) return PICK_SHARED_DATA_FAILED;
    }
    if (this.drawCount == n) return pickLeastLoaded(destination, this.sampler);
    const a = this.drawOne(-1);
    const b = this.drawOne(a);
    if (!readState(endpoints[a]) || !readState(endpoints[b])) return PICK_SHARED_DATA_FAILED;
    const chosen = lessLoaded(endpoints[b], endpoints[a]) ? b : a;
    return claim(destination, chosen, true);
  }
}
