// Worker-local claims and releases. round_robin, random, weighted and
// consistent_hash never read another worker's in-flight count or latency to
// choose (like Envoy's own round robin, which keeps its state per worker):
// what they need from shared data is only the ejection state. For their
// destinations (without admission, whose limit needs the shared in-flight
// count: destination.ts workerLocal) a claim adds 1 to the slot's
// pendingInFlight and a release keeps its outcome pending (shared.ts pend):
// no host call per request. The root's tick (every STORE_INTERVAL_MS) stores
// what is pending, one read and one CAS write per endpoint; a failure is
// stored at once, after the successes pending before it, so ejection after N
// failures in a row reacts as fast as when every request wrote the record.
//
// A claim is local only while this worker's view of the record is fresh and
// clean: the endpoint was read or written since the last tick (tracked), is
// not ejected, has no failure in a row, and the worker's last write succeeded.
// Otherwise the claim goes through shared data like any other (it reads the
// record, so it sees an ejection, claims a due probe with CAS: one probe
// across all workers, and fails open or closed when shared data is
// unavailable or contended) and tracks the endpoint again.
import { Outcome, isEndpointFailure } from "../base/outcome";
import { Ejection } from "./ejection";
import { EndpointRecord } from "./record";
import { Update, pend, store } from "./shared";

/**
 * How often the root's tick stores the pending claims and outcomes of
 * worker-local destinations (root.ts). 100 ms: another worker learns of a
 * healthy endpoint's in-flight count, EWMA and error window at most this late
 * (nobody picks by them for these strategies; they feed the latency_ewma_us
 * gauge, which is published on the same tick, and other configurations of the
 * same endpoint); ejections are stored at once, and a worker's own view of
 * another worker's ejection is at most this old. It costs one read and one
 * write per busy endpoint per worker per tick.
 */
export const STORE_INTERVAL_MS: u32 = 100;

/** Records with pending changes or a view to keep fresh: stored on every tick. */
const tracked = new Array<EndpointRecord>();

/** Puts `ep` on the list the tick stores (once per slot). */
export function track(ep: EndpointRecord): void {
  const slot = ep.slot;
  if (slot.tracked) return;
  slot.tracked = true;
  tracked.push(ep);
}

/**
 * Claims `ep` without a host call (pendingInFlight + 1) when this worker's
 * view allows it (see the top of this file); false: claim it through shared
 * data instead (shared.ts acquireUnlessEjected or acquire), then track it.
 */
export function claimLocally(ep: EndpointRecord): bool {
  const slot = ep.slot;
  if (!slot.tracked || !slot.clean || slot.storeFailed) return false;
  slot.pendingInFlight += 1;
  return true;
}

/**
 * Releases a request of a worker-local destination: kept pending
 * (Update.Deferred) unless it failed or was a probe (those decide ejection:
 * stored at once, after the outcomes pending before them), or the worker's
 * view of the record is not clean (a success then ends the run of failures at
 * once, so this worker's claims stay local after an occasional failure), or
 * the pending list is full.
 */
export function releaseLocally(ep: EndpointRecord, outcome: Outcome, latencyNs: u64, nowNs: u64, decayNs: f64, bucketMs: u64, probe: bool, ejection: Ejection | null): Update {
  pend(ep, outcome, latencyNs, nowNs, decayNs, bucketMs, probe, ejection);
  track(ep);
  const slot = ep.slot;
  if (probe || isEndpointFailure(outcome) || !slot.clean || slot.pending.full) return store(ep);
  return Update.Deferred;
}

/**
 * The root's tick: stores every tracked record with pending changes (the view
 * of each is refreshed by that read and write) and calls `stored` with each
 * one's result (Update.Ok, HostFailure, CasExhausted); a record with nothing
 * pending leaves the list (its next claim reads it again). A failed store
 * stays on the list and is retried next tick.
 */
export function storeTracked(stored: (ep: EndpointRecord, result: Update) => void): void {
  let kept = 0;
  for (let i = 0; i < tracked.length; i++) {
    const ep = unchecked(tracked[i]);
    const slot = ep.slot;
    if (slot.pendingInFlight == 0 && slot.pending.count == 0) {
      slot.tracked = false;
      continue;
    }
    stored(ep, store(ep));
    unchecked((tracked[kept++] = ep));
  }
  tracked.length = kept;
}
