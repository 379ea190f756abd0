// availability: avoid endpoints whose error rate over the sliding window is
// above errorThreshold (once they have at least minRequests in the window).
// An avoided endpoint gets one probe request per probeIntervalMs; the probe is
// claimed with CAS on its record, so across all workers only one request probes.
// Among the endpoints not avoided: least load per unit of weight (P2C, as
// least_load: weight-sampler.ts); if all are avoided, the same over all of them.
//
// Records are read in random order until two endpoints that are not avoided
// turn up (then P2C between them), so a request reads two records when all is
// well and all of them only when nearly everything is avoided. The first two
// of that order are drawn in proportion to weight (so at zero load traffic
// follows the weights, as with least_load), the rest uniformly. An avoided
// endpoint is probed when a request comes across it with its probe due.
// An ejected endpoint (records/shared.ts Ejection: failures in a row) is
// avoided too, on top of the error-rate threshold.
import { Pick } from "../base/pick";
import { Destination, Endpoint } from "../destination";
import { randomBelow } from "../base/random";
import { Update, acquire, readState } from "../records/shared";
import { claim } from "./claim";
import { WeightSampler, lessLoaded } from "./weight-sampler";
import { Strategy } from "./strategy";

function isAvoided(ep: Endpoint, destination: Destination): bool {
  const state = ep.state;
  // Ejected (records/shared.ts Ejection) counts as avoided: probed as the error rate's avoidance is.
  if (state.ejectedUntilMs != 0) return true;
  return state.windowRequests >= destination.minRequests &&
    <f64>state.windowErrors > destination.errorThreshold * <f64>state.windowRequests;
}

export class Availability extends Strategy {
  /** A permutation of the endpoint indexes; each request shuffles a prefix of it (partial Fisher–Yates). */
  order: StaticArray<i32>;
  /** position[i]: where endpoint i is in `order`. */
  position: StaticArray<i32>;
  sampler: WeightSampler;

  constructor(destination: Destination) {
    super();
    const n = destination.endpoints.length;
    this.order = new StaticArray<i32>(n);
    this.position = new StaticArray<i32>(n);
    this.sampler = new WeightSampler(destination);
    for (let i = 0; i < n; i++) {
      this.order[i] = i;
      this.position[i] = i;
    }
  }

  /** The k-th endpoint of this request's order: drawn by weight for k < 2, uniformly from the rest after. */
  next(k: i32, n: i32): i32 {
    const order = this.order;
    const position = this.position;
    let i: i32;
    if (k == 0) i = this.sampler.first();
    else if (k == 1) i = this.sampler.other(order[0]);
    else i = order[k + randomBelow(n - k)];
    // Swap i into place k.
    const j = position[i];
    const displaced = order[k];
    order[j] = displaced;
    position[displaced] = j;
    order[k] = i;
    position[i] = k;
    return i;
  }

  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const nowMs = nowNs / 1000000;
    const slot = <u32>(nowMs / destination.windowBucketMs);
    let first = -1;
    let second = -1;
    let staleIndex = -1; // record modified by a lost probe race: must be re-read before a claim
    for (let k = 0; k < n && second < 0; k++) {
      const i = this.next(k, n);
      const ep = endpoints[i];
      if (!readState(ep)) return Pick.SharedDataFailed;
      ep.state.countWindow(slot);
      if (!isAvoided(ep, destination)) {
        if (first < 0) first = i;
        else second = i;
        continue;
      }
      // Availability's own rhythm, ejected or not: one probe per probeIntervalMs (the policy's probeInterval).
      if (staleIndex < 0 && nowMs >= ep.state.lastProbeMs + destination.probeIntervalMs) {
        const result = acquire(ep, true, nowMs > 0 ? nowMs : 1);
        if (result == Update.Ok) {
          destination.probeClaimed = true; // its outcome ends or renews an ejection (records/shared.ts)
          return i;
        }
        if (result == Update.HostFailure) return Pick.SharedDataFailed;
        staleIndex = i;
      }
    }
    let a = first;
    let b = second;
    if (first < 0) {
      // Everything is avoided (every record was read): least load over all of them.
      if (n == 1) return claim(destination, 0, staleIndex != 0, false);
      a = this.sampler.first();
      b = this.sampler.other(a);
    } else if (second < 0) {
      return claim(destination, first, first != staleIndex, false);
    }
    const chosen = lessLoaded(endpoints[b], endpoints[a]) ? b : a;
    return claim(destination, chosen, chosen != staleIndex, false);
  }
}
