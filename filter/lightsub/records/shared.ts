// Reading and updating endpoint records in shared data with compare-and-swap.
// Every update retries at most MAX_CAS_ATTEMPTS times: under heavy contention
// we give up (and count it) rather than spin.
//
// What a worker writes when: a claim of a destination whose strategy reads
// other workers' load (least_load, least_latency, availability) or that has
// admission writes the in-flight + 1 at once, and its release the outcome. A
// worker-local destination (local.ts) keeps both in the worker (the slot's
// pendingInFlight and pending outcomes) and `store` writes them on the root's
// tick, or at once for a failure. Either way `store` applies the pending
// outcomes in the order the requests ended, so the record reads as if each had
// been written when it ended.
import { WasmResult, getSharedDataRaw, releaseReturned, returnedPtr, returnedSize, setSharedDataRaw, sharedDataCas } from "../../proxy-wasm/index";
import { Outcome, isEndpointFailure } from "../base/outcome";
import { Ejection } from "./ejection";
import { PENDING_FAILED, PENDING_PROBE, PendingOutcomes } from "./pending";
import { EndpointRecord } from "./record";
import { EndpointState, RECORD_SIZE } from "./state";

export { Ejection } from "./ejection";

export const MAX_CAS_ATTEMPTS: i32 = 8;

/**
 * Result of acquire/release/store. Ejected: acquire found the endpoint ejected
 * (not claimed). Deferred: a worker-local release kept the outcome for the
 * next store (local.ts).
 */
export enum Update { Ok, HostFailure, CasExhausted, Ejected, Deferred }

/** This worker's view of the record, from ep.state as just read or written: its ejection, and whether it is clean. */
function see(ep: EndpointRecord): void {
  const slot = ep.slot;
  const until = ep.state.ejectedUntilMs;
  slot.outUntilMs = until;
  slot.clean = until == 0 && ep.state.consecutiveFailures == 0;
}

/** Loads the endpoint's record into ep.state (missing key: empty record, CAS 0). */
export function readState(ep: EndpointRecord): bool {
  const result = getSharedDataRaw(ep.sharedKey);
  if (result == WasmResult.Ok) {
    ep.state.decode(returnedPtr(), returnedSize());
    ep.state.cas = sharedDataCas();
    see(ep);
    releaseReturned();
    return true;
  }
  releaseReturned();
  if (result == WasmResult.NotFound) {
    ep.state.clear();
    ep.state.cas = 0;
    see(ep);
    return true;
  }
  return false;
}

/** Stores ep.state if nobody wrote the key since it was read. */
export function writeState(ep: EndpointRecord): WasmResult {
  return setSharedDataRaw(ep.sharedKey, ep.state.ptr, <usize>RECORD_SIZE, ep.state.cas);
}

/**
 * Creates the record if it does not exist yet (configure time). A failure
 * marks the slot storeFailed: worker-local claims then go through shared data
 * (local.ts) and fail open or closed like any claim.
 */
export function ensureState(ep: EndpointRecord): bool {
  const result = getSharedDataRaw(ep.sharedKey);
  releaseReturned();
  let ok = result == WasmResult.Ok;
  if (result == WasmResult.NotFound) {
    ep.state.clear();
    ep.state.cas = 0;
    ok = writeState(ep) == WasmResult.Ok;
  }
  ep.slot.storeFailed = !ok;
  return ok;
}

/** ep.state was just written: this worker's changes are in, and its view follows the written record. */
function stored(ep: EndpointRecord): void {
  ep.pendingInFlight = 0;
  ep.slot.storeFailed = false;
  see(ep);
}

/** ep.state's in-flight count with this worker's unstored changes and `delta` applied (never below 0). */
export function settledInFlight(ep: EndpointRecord, delta: i32): i32 {
  const value = ep.state.inFlight + ep.pendingInFlight + delta;
  return value > 0 ? value : 0;
}

/**
 * Claims the endpoint for a new request (a claim: in-flight + 1), and when probeAtMs > 0
 * also marks the probe as taken. `fresh`: ep.state was just read (its CAS is
 * current), so the first attempt needs no read. A probe makes a single attempt:
 * losing the race means another worker probes.
 */
export function acquire(ep: EndpointRecord, fresh: bool, probeAtMs: u64 = 0): Update {
  const attempts = probeAtMs > 0 ? 1 : MAX_CAS_ATTEMPTS;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (!fresh && !readState(ep)) {
      ep.slot.storeFailed = true;
      return Update.HostFailure;
    }
    fresh = false;
    ep.state.inFlight = settledInFlight(ep, 1);
    if (probeAtMs > 0) ep.state.lastProbeMs = probeAtMs;
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      stored(ep);
      return Update.Ok;
    }
    if (result != WasmResult.CasMismatch) {
      ep.slot.storeFailed = true;
      return Update.HostFailure;
    }
  }
  if (attempts == MAX_CAS_ATTEMPTS) ep.slot.storeFailed = true; // (a probe's single attempt lost a race: no failure)
  return Update.CasExhausted;
}

/**
 * acquire, unless the endpoint is ejected (Update.Ejected, nothing written).
 * An ejected endpoint whose probe is due (ejectedUntilMs reached) is claimed
 * as its probe instead, with a single CAS attempt that also moves
 * ejectedUntilMs one ejection time ahead (so no other worker probes it
 * meanwhile, and a probe that never ends is followed by the next one); losing
 * that race reads as Ejected. `probe` (out) tells which one happened.
 */
export function acquireUnlessEjected(ep: EndpointRecord, fresh: bool, nowMs: u64, ejection: Ejection): Update {
  if (!fresh && !readState(ep)) {
    ep.slot.storeFailed = true;
    return Update.HostFailure;
  }
  const state = ep.state;
  const until = state.ejectedUntilMs;
  acquiredProbe = false;
  if (until == 0) return acquire(ep, true);
  if (nowMs < until) return Update.Ejected;
  state.inFlight = settledInFlight(ep, 1);
  state.ejectedUntilMs = nowMs + ejection.timeMs(state.ejections);
  const result = writeState(ep);
  if (result == WasmResult.Ok) {
    stored(ep);
    acquiredProbe = true;
    return Update.Ok;
  }
  if (result != WasmResult.CasMismatch) {
    ep.slot.storeFailed = true;
    return Update.HostFailure;
  }
  ep.outUntilMs = nowMs + 1; // another worker probes it: passed over for the rest of this millisecond
  return Update.Ejected;
}

/** Set by acquireUnlessEjected: its claim was an ejected endpoint's probe. */
export let acquiredProbe: bool = false;

/**
 * The ejection bookkeeping of a finished request (release, on the record just read).
 * A failure counts one more in a row; reaching `after` ejects the endpoint; a
 * failed probe ejects it again, for longer. A success ends the run of failures;
 * a successful probe (or any success once the ejection time is over) returns the endpoint; other successes while not ejected
 * reset the ejection count (healthy again, the next ejection is short).
 * Failures of requests that were in flight when it was ejected only count.
 */
function noteOutcome(state: EndpointState, failed: bool, probe: bool, nowMs: u64, ejection: Ejection): void {
  const until = state.ejectedUntilMs;
  if (failed) {
    const run = state.consecutiveFailures;
    if (run < u32.MAX_VALUE) state.consecutiveFailures = run + 1;
    if ((until == 0 && run + 1 >= ejection.after) || (until != 0 && probe)) {
      const ejections = state.ejections < 1000000 ? state.ejections + 1 : state.ejections;
      state.ejections = ejections;
      state.ejectedUntilMs = nowMs + ejection.timeMs(ejections);
    }
    return;
  }
  state.consecutiveFailures = 0;
  if (until == 0) state.ejections = 0;
  else if (probe || nowMs >= until) state.ejectedUntilMs = 0; // a probe, or a request sent while everything was ejected
}

/** Floor of a failure's latency sample: the first failure of an unmeasured endpoint already costs this much. */
const FAILURE_MIN_US: f64 = 10000;
/** Ceiling of any failure's sample (a minute): the EWMA stays finite and decays back. */
const FAILURE_MAX_US: f64 = 60e6;

/**
 * The latency sample of a failed request: never faster than the endpoint
 * looked, and at least twice its current EWMA (and FAILURE_MIN_US), so every
 * failure in a row doubles its cost. An endpoint that fails fast (connection
 * refused, 503 from an ejected host, failed over) never attracts
 * least_latency; once it is left alone the EWMA decays and it is tried again.
 */
function failureSampleUs(sampleUs: f64, ewmaUs: f64): f64 {
  let s = sampleUs;
  if (s < ewmaUs * 2) s = ewmaUs * 2;
  if (s < FAILURE_MIN_US) s = FAILURE_MIN_US;
  return s > FAILURE_MAX_US ? FAILURE_MAX_US : s;
}

/**
 * Keeps a finished request's outcome for the next store (in-flight - 1 at once
 * in pendingInFlight; the outcome unless it had no response or the endpoint's
 * history was reset since it was scheduled). An outcome that finds the pending
 * list full is dropped (the list only fills while writes keep failing); the
 * in-flight decrement never is.
 */
export function pend(ep: EndpointRecord, outcome: Outcome, latencyNs: u64, nowNs: u64, decayNs: f64, bucketMs: u64, probe: bool, ejection: Ejection | null): void {
  ep.pendingInFlight -= 1;
  // A retired or re-addressed endpoint's history was reset: late outcomes stay out of it.
  if (outcome == Outcome.NoResponse || !ep.recordsHistory) return;
  let flags: u8 = 0;
  if (isEndpointFailure(outcome)) flags |= PENDING_FAILED;
  if (probe) flags |= PENDING_PROBE;
  ep.slot.pending.add(nowNs, <f64>latencyNs / 1000, <u32>(nowNs / 1000000 / bucketMs), flags, decayNs, ejection);
}

/**
 * The pending outcomes, in order, into the record just read: latency into the
 * EWMA, outcome into the error window and the ejection state. A successful
 * probe (a request to an endpoint its strategy had set aside) faster than the
 * EWMA halves it (not below the probe's latency): the old estimate is what set
 * the endpoint aside, and only fresh evidence can bring it back, within a few
 * probes instead of the tens of seconds the time decay alone would take.
 */
function applyPending(state: EndpointState, pending: PendingOutcomes): void {
  const decayNs = pending.decayNs;
  const ejection = pending.ejection;
  for (let i = 0; i < pending.count; i++) {
    const nowNs = unchecked(pending.atNs[i]);
    const flags = unchecked(pending.flags[i]);
    const failed = (flags & PENDING_FAILED) != 0;
    const probe = (flags & PENDING_PROBE) != 0;
    let sampleUs = unchecked(pending.latencyUs[i]);
    // A failure never makes an endpoint look faster than it is, and doubles its cost (failureSampleUs).
    if (failed) sampleUs = failureSampleUs(sampleUs, state.ewmaUs);
    if (probe && !failed && sampleUs < state.ewmaUs) {
      // A fast probe halves the estimate at once (at least to its own latency): a few
      // fast probes in a row bring the endpoint back; one lucky sample does not.
      const halved = state.ewmaUs * 0.5;
      state.ewmaUs = sampleUs > halved ? sampleUs : halved;
      if (nowNs > state.ewmaStampNs) state.ewmaStampNs = nowNs;
    } else state.observeLatency(sampleUs, nowNs, decayNs);
    state.recordInWindow(unchecked(pending.bucket[i]), failed);
    if (ejection != null) noteOutcome(state, failed, probe, nowNs / 1000000, ejection);
  }
}

/**
 * Writes this worker's pending changes (in-flight, outcomes) into the record:
 * read, apply, CAS write, at most MAX_CAS_ATTEMPTS times. Kept pending when
 * the write fails (the slot is marked storeFailed until a write succeeds).
 */
export function store(ep: EndpointRecord): Update {
  const slot = ep.slot;
  const pending = slot.pending;
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (!readState(ep)) {
      slot.storeFailed = true;
      return Update.HostFailure;
    }
    const state = ep.state;
    state.inFlight = settledInFlight(ep, 0);
    applyPending(state, pending);
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      pending.clear();
      stored(ep);
      return Update.Ok;
    }
    if (result != WasmResult.CasMismatch) {
      slot.storeFailed = true;
      return Update.HostFailure;
    }
  }
  slot.storeFailed = true;
  return Update.CasExhausted;
}

/**
 * Accounts a finished request at once (destinations that are not
 * worker-local): in-flight - 1, and its outcome with any earlier pending ones
 * (pend, store). If the record cannot be written, both stay pending for the
 * next write.
 */
export function release(ep: EndpointRecord, outcome: Outcome, latencyNs: u64, nowNs: u64, decayNs: f64, bucketMs: u64, probe: bool = false, ejection: Ejection | null = null): Update {
  pend(ep, outcome, latencyNs, nowNs, decayNs, bucketMs, probe, ejection);
  return store(ep);
}
