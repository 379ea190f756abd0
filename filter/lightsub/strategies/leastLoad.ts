// least_load: power of two choices on the shared in-flight counts per unit of
// weight (weightSampler.ts). Reads only the two candidates' records and claims
// the less loaded one with the CAS of that read (no re-read).
import { Destination, PICK_SHARED_DATA_FAILED, Strategy } from "../model";
import { readState } from "../shared";
import { claim } from "./claim";
import { WeightSampler, lessLoaded } from "./weightSampler";

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

  constructor(destination: Destination) {
    super();
    this.sampler = new WeightSampler(destination);
  }

  override pick(destination: Destination, nowNs: u64): i32 {
    return pickLeastLoaded(destination, this.sampler);
  }
}
