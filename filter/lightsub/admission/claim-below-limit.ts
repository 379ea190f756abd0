// Claiming an endpoint under the admission limit. The in-flight count is the
// shared one (all workers), changed only with compare-and-swap: a claim that
// would take an endpoint past the limit is never stored, so two workers cannot
// both take its last slot.
import { WasmResult } from "../../proxy-wasm/index";
import { Outcome } from "../base/outcome";
import { Pick } from "../base/pick";
import { Destination, Endpoint } from "../destination";
import { MAX_CAS_ATTEMPTS, Update, readState, release, settledInFlight, writeState } from "../records/shared";
import { Metric } from "../telemetry/table";

/**
 * Claims the least loaded endpoint whose in-flight is below `limit` (ties: the
 * first after a rotating start, so ties spread). Returns its index, Pick.Full,
 * Pick.SharedDataFailed or Pick.CasExhausted. Reads every endpoint's record: only admission's slow
 * path (all of the strategy's choice was full, or a waiting task) comes here.
 */
export function claimBelowLimit(destination: Destination, limit: i32, start: i32): i32 {
  const endpoints = destination.endpoints;
  const n = endpoints.length;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    let best = -1;
    let bestLoad = 0;
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      const ep = endpoints[i];
      if (!readState(ep)) return Pick.SharedDataFailed;
      const l = settledInFlight(ep, 0); // counting this worker's unstored changes
      if (l < limit && (best < 0 || l < bestLoad)) {
        best = i;
        bestLoad = l;
      }
    }
    if (best < 0) return Pick.Full;
    const ep = endpoints[best];
    ep.state.inFlight = bestLoad + 1; // ep.state still holds the record (and CAS) read in the scan
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      ep.pendingInFlight = 0;
      return best;
    }
    if (result != WasmResult.CasMismatch) return Pick.SharedDataFailed;
  }
  destination.count(Metric.CasExhausted);
  return Pick.CasExhausted;
}

/**
 * Gives back a claim the strategy made past the limit: records/shared.ts release with
 * no response (in-flight − 1, nothing recorded in the endpoint's history; if it
 * cannot be stored the decrement waits in pendingInFlight for the next write).
 */
export function undoClaim(destination: Destination, ep: Endpoint): void {
  if (release(ep, Outcome.NoResponse, 0, 0, 0, 1) == Update.CasExhausted) destination.count(Metric.CasExhausted);
}
