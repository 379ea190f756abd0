// The base class of every strategy (one per file in this folder).
import { Destination } from "../destination";

/** Chooses an endpoint for a request and claims it (a claim: shared in-flight + 1). */
export abstract class Strategy {
  /** Set by pick: the endpoint it returned was claimed as a probe (its latency resets the EWMA, records/shared.ts release). */
  probed: bool = false;
  /** Index of the chosen endpoint, in-flight already incremented; or Pick.SharedDataFailed / Pick.CasExhausted. */
  abstract pick(destination: Destination, nowNs: u64): i32;
}
