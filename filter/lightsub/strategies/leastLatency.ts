// least_latency: power of two choices on peak-EWMA latency x (in flight + 1),
// the cost Finagle's "peak EWMA" balancer uses. An endpoint without a latency
// sample yet costs nothing while idle (so it gets measured) and a large penalty
// while it has requests in flight (so it is not flooded before the first answer).
import { Destination, Endpoint, PICK_SHARED_DATA_FAILED, Strategy } from "../model";
import { randomBelow, randomOtherThan } from "../random";
import { readState } from "../shared";
import { claim } from "./claim";

const UNMEASURED_PENALTY_US: f64 = 1e12;

function cost(ep: Endpoint, nowNs: u64, decayNs: f64): f64 {
  const state = ep.state;
  const inFlight = <f64>(state.inFlight > 0 ? state.inFlight : 0);
  const ewma = state.ewmaAt(nowNs, decayNs);
  if (ewma == 0) return inFlight == 0 ? 0 : UNMEASURED_PENALTY_US + inFlight;
  return ewma * (inFlight + 1);
}

export class LeastLatency extends Strategy {
  override pick(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    if (n == 1) return claim(destination, 0, false);
    const a = randomBelow(n);
    const b = randomOtherThan(a, n);
    if (!readState(endpoints[a]) || !readState(endpoints[b])) return PICK_SHARED_DATA_FAILED;
    const chosen = cost(endpoints[b], nowNs, destination.decayNs) < cost(endpoints[a], nowNs, destination.decayNs) ? b : a;
    return claim(destination, chosen, true);
  }
}
