// availability: avoid endpoints whose error rate over the sliding window is
// above errorThreshold (once they have at least minRequests in the window).
// An avoided endpoint gets one probe request per probeIntervalMs; the probe is
// claimed with CAS on its record, so across all workers only one request probes.
// Among the endpoints not avoided: least load (P2C); if all are avoided, least
// load over all of them.
import { incrementMetric } from "../../proxy-wasm/index";
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
  override pick(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const nowMs = nowNs / 1000000;
    const slot = <u32>(nowMs / destination.windowBucketMs);
    const candidates = destination.candidates;
    let healthy = 0;
    let staleIndex = -1; // record modified by a lost probe race: must be re-read before a claim
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i];
      if (!readState(ep)) return PICK_SHARED_DATA_FAILED;
      ep.state.countWindow(slot);
      if (!isAvoided(ep, destination)) {
        candidates[healthy++] = i;
        continue;
      }
      if (staleIndex < 0 && nowMs >= ep.state.lastProbeMs + destination.probeIntervalMs) {
        const result = acquire(ep, true, nowMs > 0 ? nowMs : 1);
        if (result == Update.Ok) return i;
        if (result == Update.HostFailure) return PICK_SHARED_DATA_FAILED;
        staleIndex = i;
      }
    }
    let a: i32;
    let b: i32;
    if (healthy == 0) {
      if (n == 1) return claim(destination, 0, staleIndex != 0);
      a = randomBelow(n);
      b = randomOtherThan(a, n);
    } else if (healthy == 1) {
      return claim(destination, candidates[0], true);
    } else {
      const ia = randomBelow(healthy);
      a = candidates[ia];
      b = candidates[randomOtherThan(ia, healthy)];
    }
    const chosen = endpoints[b].state.inFlight < endpoints[a].state.inFlight ? b : a;
    return claim(destination, chosen, chosen != staleIndex);
  }
}
