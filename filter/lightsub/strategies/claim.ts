// Turning a choice into a claimed endpoint (a claim: shared in-flight + 1),
// unless the endpoint is ejected (records/shared.ts Ejection): then the
// strategy makes its next choice (strategy.ts). A worker-local destination's
// claim adds the 1 in the worker (records/local.ts) while the worker's view
// of the endpoint is fresh and clean; otherwise it claims through shared data.
import { Pick } from "../base/pick";
import { randomBelow } from "../base/random";
import { Destination } from "../destination";
import { claimLocally, track } from "../records/local";
import { Update, acquire, acquireUnlessEjected, acquiredProbe } from "../records/shared";
import { Metric } from "../telemetry/table";

/**
 * Whether this worker knows endpoint `index` to be ejected with its probe not
 * due (no host call): the strategy passes it over. False while the request
 * picks as if nothing were ejected (every endpoint was).
 */
export function isOut(destination: Destination, index: i32): bool {
  return !destination.ignoreEjection && destination.endpoints[index].outUntilMs > destination.nowMs;
}

/**
 * Claims endpoint `index`; returns it, or Pick.SetAside (ejected: choose
 * another), Pick.CasExhausted, Pick.SharedDataFailed. An ejected endpoint
 * whose probe is due is claimed as the probe (destination.probeClaimed).
 * `fresh`: the record was just read (its CAS is current). `ejection`: false
 * for a strategy that already treated ejected endpoints its own way
 * (availability).
 */
export function claim(destination: Destination, index: i32, fresh: bool, ejection: bool = true): i32 {
  const ep = destination.endpoints[index];
  const local = destination.workerLocal;
  let result: Update;
  if (ejection && !destination.ignoreEjection) {
    if (ep.outUntilMs > destination.nowMs) return Pick.SetAside;
    if (local && claimLocally(ep)) return index;
    result = acquireUnlessEjected(ep, fresh, destination.nowMs, destination.ejection);
    if (result == Update.Ejected) return Pick.SetAside;
    if (result == Update.Ok && acquiredProbe) destination.probeClaimed = true;
  } else {
    if (local && claimLocally(ep)) return index;
    result = acquire(ep, fresh);
  }
  if (result == Update.Ok) {
    if (local) track(ep); // its view is fresh now: the next claims stay in the worker
    return index;
  }
  if (result == Update.CasExhausted) {
    destination.count(Metric.CasExhausted);
    return Pick.CasExhausted;
  }
  return Pick.SharedDataFailed;
}

/**
 * Of two candidates whose records were just read, `preferred` (the strategy's
 * choice) unless it is ejected; then `other` unless that is too; then
 * Pick.SetAside. Claimed with the CAS of that read.
 */
export function claimEither(destination: Destination, preferred: i32, other: i32): i32 {
  const chosen = isOut(destination, preferred) ? other : preferred;
  return claim(destination, chosen, true);
}

/**
 * A uniformly random endpoint this worker does not know to be ejected (up to
 * REDRAWS draws, then the first after a random start), claimed; Pick.SetAside
 * when every endpoint is.
 */
export function claimAnyNotOut(destination: Destination): i32 {
  const n = destination.endpoints.length;
  for (let k = 0; k < REDRAWS; k++) {
    const i = randomBelow(n);
    if (!isOut(destination, i)) return claim(destination, i, false);
  }
  const start = randomBelow(n);
  for (let k = 0; k < n; k++) {
    const i = (start + k) % n;
    if (!isOut(destination, i)) return claim(destination, i, false);
  }
  return Pick.SetAside;
}

const REDRAWS: i32 = 8;
