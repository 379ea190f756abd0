// availability: avoid endpoints whose error rate over the sliding window is
// above errorThreshold (once they have at least minRequests in the window).
// An avoided endpoint gets one probe request per probeIntervalMs; the probe is
// claimed with CAS on its record, so across all workers only one request probes.
// Among the endpoints not avoided: least load (P2C); if all are avoided, least
// load over all of them.
//
// Records are read in random order until two endpoints that are not avoided
// turn up (then P2C between them: a uniformly random pair of healthy
// endpoints), so a request reads two records when all is well and all of them
// only when nearly everything is avoided. An avoided endpoint is probed when a
// request comes across it with its probe due.
import { Destination, Endpoint, PICK_SHARED_DATA_FAILED, Strategy } from "../model";
import { randomBelow, randomOtherThan } from "../random";
import { Update, acquire, readState } from "../shared";
import { claim } from "./claim";

function isAvoided(ep: Endpoint, destination: Destination): bool {
  const state = ep.state;
  return state.windowRequests >= destination.minRequests &&
    <f64>state.windowErrors > destination.errorThreshold * <f64>state.windowRequests;
}

export class Availability extends Strategy {
  /** A permutation of the endpoint indexes; each request shuffles a prefix of it (partial Fisher–Yates). */
  order: StaticArray<i32> = new StaticArray<i32>(0);

  override pick(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    if (this.order.length != n) {
      this.order = new StaticArray<i32>(n);
      for (let i = 0; i < n; i++) this.order[i] = i;
    }
    const order = this.order;
    const nowMs = nowNs / 1000000;
    const slot = <u32>(nowMs / destination.windowBucketMs);
    let first = -1;
    let second = -1;
    let staleIndex = -1; // record modified by a lost probe race: must be re-read before a claim
    for (let k = 0; k < n && second < 0; k++) {
      // The k-th distinct endpoint in random order.
      const j = k + randomBelow(n - k);
      const i = order[j];
      order[j] = order[k];
      order[k] = i;
      const ep = endpoints[i];
      if (!readState(ep)) return PICK_SHARED_DATA_FAILED;
      ep.state.countWindow(slot);
      if (!isAvoided(ep, destination)) {
        if (first < 0) first = i;
        else second = i;
        continue;
      }
      if (staleIndex < 0 && nowMs >= ep.state.lastProbeMs + destination.probeIntervalMs) {
        const result = acquire(ep, true, nowMs > 0 ? nowMs : 1);
        if (result == Update.Ok) return i;
        if (result == Update.HostFailure) return PICK_SHARED_DATA_FAILED;
        staleIndex = i;
      }
    }
    let a = first;
    let b = second;
    if (first < 0) {
      // Everything is avoided (every record was read): least load over all of them.
      if (n == 1) return claim(destination, 0, staleIndex != 0);
      a = randomBelow(n);
      b = randomOtherThan(a, n);
    } else if (second < 0) {
      return claim(destination, first, first != staleIndex);
    }
    const chosen = endpoints[b].state.inFlight < endpoints[a].state.inFlight ? b : a;
    return claim(destination, chosen, chosen != staleIndex);
  }
}
