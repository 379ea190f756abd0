// least_load: power of two choices on the shared in-flight counts. Reads only
// the two candidates' records and claims the less loaded one with the CAS of
// that read.
import { Destination, PICK_SHARED_DATA_FAILED, Strategy } from "../model";
import { randomBelow, randomOtherThan } from "../random";
import { readState } from "../shared";
import { claim } from "./claim";

/** P2C over all endpoints of the destination. */
export function pickLeastLoaded(destination: Destination): i32 {
  const endpoints = destination.endpoints;
  const n = endpoints.length;
  if (n == 1) return claim(destination, 0, false);
  const a = randomBelow(n);
  const b = randomOtherThan(a, n);
  if (!readState(endpoints[a]) || !readState(endpoints[b])) return PICK_SHARED_DATA_FAILED;
  const chosen = endpoints[b].state.inFlight < endpoints[a].state.inFlight ? b : a;
  return claim(destination, chosen, true);
}

export class LeastLoad extends Strategy {
  override pick(destination: Destination, nowNs: u64): i32 {
    return pickLeastLoaded(destination);
  }
}
