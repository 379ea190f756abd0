// Reading and updating endpoint records in shared data with compare-and-swap.
// Every update retries at most MAX_CAS_ATTEMPTS times: under heavy contention
// we give up (and count it) rather than spin.
import { WasmResult, getSharedDataRaw, releaseReturned, returnedPtr, returnedSize, setSharedDataRaw, sharedDataCas } from "../../proxy-wasm/index";
import { Outcome, isEndpointFailure } from "../base/outcome";
import { EndpointRecord } from "./record";
import { EndpointState, RECORD_SIZE } from "./state";

export const MAX_CAS_ATTEMPTS: i32 = 8;

/** Result of acquire/release. Ejected: acquire found the endpoint ejected (not claimed). */
export enum Update { Ok, HostFailure, CasExhausted, Ejected }

/**
 * When an endpoint is ejected (set aside by every strategy, on every worker):
 * after `after` failures in a row (5xx, reset, timeout, served elsewhere), for
 * baseMs x the number of ejections in a row (at most maxMs); then one probe
 * request (claimed with CAS: one across all workers) per that time, until one
 * succeeds. The defaults are Envoy's outlier detection's consecutive_5xx (5)
 * and, as the base, the probe interval of availability (1 s; the compiler
 * passes the service's outlierDetection values when it has one, so filter and
 * Envoy agree); the cap is Envoy's max_ejection_time (300 s).
 */
export class Ejection {
  constructor(public after: u32 = 5, public baseMs: u64 = 1000, public maxMs: u64 = 300000) {}

  /** The ejection time after `ejections` ejections in a row. */
  timeMs(ejections: u32): u64 {
    const t = this.baseMs * <u64>(ejections > 0 ? ejections : 1);
    const cap = this.maxMs > this.baseMs ? this.maxMs : this.baseMs;
    return t < cap ? t : cap;
  }
}

/** Loads the endpoint's record into ep.state (missing key: empty record, CAS 0). */
export function readState(ep: EndpointRecord): bool {
  const result = getSharedDataRaw(ep.sharedKey);
  if (result == WasmResult.Ok) {
    ep.state.decode(returnedPtr(), returnedSize());
    ep.state.cas = sharedDataCas();
    ep.outUntilMs = ep.state.ejectedUntilMs;
    releaseReturned();
    return true;
  }
  releaseReturned();
  if (result == WasmResult.NotFound) {
    ep.state.clear();
    ep.state.cas = 0;
    ep.outUntilMs = 0;
    return true;
  }
  return false;
}

/** Stores ep.state if nobody wrote the key since it was read. */
export function writeState(ep: EndpointRecord): WasmResult {
  return setSharedDataRaw(ep.sharedKey, ep.state.ptr, <usize>RECORD_SIZE, ep.state.cas);
}

/** Creates the record if it does not exist yet (configure time). */
export function ensureState(ep: EndpointRecord): bool {
  const result = getSharedDataRaw(ep.sharedKey);
  releaseReturned();
  if (result == WasmResult.Ok) return true;
  if (result != WasmResult.NotFound) return false;
  ep.state.clear();
  ep.state.cas = 0;
  return writeState(ep) == WasmResult.Ok;
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
    if (!fresh && !readState(ep)) return Update.HostFailure;
    fresh = false;
    ep.state.inFlight = settledInFlight(ep, 1);
    if (probeAtMs > 0) ep.state.lastProbeMs = probeAtMs;
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      ep.pendingInFlight = 0;
      return Update.Ok;
    }
    if (result != WasmResult.CasMismatch) return Update.HostFailure;
  }
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
  if (!fresh && !readState(ep)) return Update.HostFailure;
  const state = ep.state;
  const until = state.ejectedUntilMs;
  acquiredProbe = false;
  if (until == 0) return acquire(ep, true);
  if (nowMs < until) return Update.Ejected;
  state.inFlight = settledInFlight(ep, 1);
  state.ejectedUntilMs = nowMs + ejection.timeMs(state.ejections);
  const result = writeState(ep);
  if (result == WasmResult.Ok) {
    ep.pendingInFlight = 0;
    ep.outUntilMs = state.ejectedUntilMs;
    acquiredProbe = true;
    return Update.Ok;
  }
  if (result != WasmResult.CasMismatch) return Update.HostFailure;
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
 * Accounts a finished request: in-flight - 1, latency into the EWMA, outcome
 * into the error window. If the record cannot be written, the decrement is kept
 * in ep.pendingInFlight for the next write. A successful `probe` (a request to
 * an endpoint its strategy had set aside) faster than the EWMA halves it (not
 * below the probe's latency): the old estimate is what set the endpoint aside,
 * and only fresh evidence can bring it back, within a few probes instead of
 * the tens of seconds the time decay alone would take.
 */
export function release(ep: EndpointRecord, outcome: Outcome, latencyNs: u64, nowNs: u64, decayNs: f64, bucketMs: u64, probe: bool = false, ejection: Ejection | null = null): Update {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (!readState(ep)) {
      ep.pendingInFlight -= 1;
      return Update.HostFailure;
    }
    const state = ep.state;
    state.inFlight = settledInFlight(ep, -1);
    // A retired or re-addressed endpoint's history was reset: late outcomes stay out of it.
    if (outcome != Outcome.NoResponse && ep.recordsHistory) {
      let sampleUs = <f64>latencyNs / 1000;
      // A failure never makes an endpoint look faster than it is, and doubles its cost (failureSampleUs).
      if (isEndpointFailure(outcome)) sampleUs = failureSampleUs(sampleUs, state.ewmaUs);
      if (probe && outcome == Outcome.Ok && sampleUs < state.ewmaUs) {
        // A fast probe halves the estimate at once (at least to its own latency): a few
        // fast probes in a row bring the endpoint back; one lucky sample does not.
        const halved = state.ewmaUs * 0.5;
        state.ewmaUs = sampleUs > halved ? sampleUs : halved;
        if (nowNs > state.ewmaStampNs) state.ewmaStampNs = nowNs;
      } else state.observeLatency(sampleUs, nowNs, decayNs);
      state.recordInWindow(<u32>(nowNs / 1000000 / bucketMs), isEndpointFailure(outcome));
      if (ejection != null) noteOutcome(state, isEndpointFailure(outcome), probe, nowNs / 1000000, ejection);
    }
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      ep.pendingInFlight = 0;
      ep.outUntilMs = state.ejectedUntilMs;
      return Update.Ok;
    }
    if (result != WasmResult.CasMismatch) {
      ep.pendingInFlight -= 1;
      return Update.HostFailure;
    }
  }
  ep.pendingInFlight -= 1;
  return Update.CasExhausted;
}
