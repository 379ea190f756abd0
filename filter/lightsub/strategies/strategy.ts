// The base class of every strategy (one per file in this folder).
//
// Ejection (issue: every strategy leaves a dead endpoint): an endpoint whose
// requests keep failing is ejected in its shared record (records/shared.ts
// Ejection), for all workers. A strategy's choice that turns out ejected
// (claim.ts returns Pick.SetAside) is replaced by the strategy's next choice
// (`choose` with attempt > 0: round_robin the next endpoint, random/weighted a
// new draw among the rest, least_load/least_latency the next best pair,
// consistent_hash the next endpoint on the ring). If every choice is set
// aside, the request is picked as if nothing were ejected: ejection never
// refuses a request.
import { Pick } from "../base/pick";
import { Destination } from "../destination";

/** Chooses an endpoint for a request and claims it (a claim: shared in-flight + 1). */
export abstract class Strategy {
  /** Set by pick: the endpoint it returned was claimed as a probe (its latency resets the EWMA, records/shared.ts release). */
  probed: bool = false;

  /**
   * Index of the chosen endpoint, in-flight already incremented; or
   * Pick.SharedDataFailed / Pick.CasExhausted.
   */
  pick(destination: Destination, nowNs: u64): i32 {
    this.probed = false;
    destination.nowMs = nowNs / 1000000;
    destination.probeClaimed = false;
    destination.ignoreEjection = false;
    const n = destination.endpoints.length;
    // Each Pick.SetAside left its endpoint's ejection in this worker's view (claim.ts isOut),
    // so later choices pass it over without a host call; 2n + 2 attempts cover every endpoint.
    const attempts = 2 * n + 2;
    let index = this.choose(destination, nowNs, 0);
    for (let attempt = 1; index == Pick.SetAside && attempt < attempts; attempt++) index = this.choose(destination, nowNs, attempt);
    if (index == Pick.SetAside) {
      destination.ignoreEjection = true;
      index = this.choose(destination, nowNs, 0);
      destination.ignoreEjection = false;
    }
    if (destination.probeClaimed) this.probed = true;
    return index;
  }

  /**
   * The strategy's choice, claimed (claim.ts): attempt 0 its first choice,
   * attempt > 0 its next one after the previous was set aside. May return
   * Pick.SetAside.
   */
  abstract choose(destination: Destination, nowNs: u64, attempt: i32): i32;
}
