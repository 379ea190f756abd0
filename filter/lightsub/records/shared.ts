// Reading and updating endpoint records in shared data with compare-and-swap.
// Every update retries at most MAX_CAS_ATTEMPTS times: under heavy contention
// we give up (and count it) rather than spin.
import { WasmResult, getSharedDataRaw, releaseReturned, returnedPtr, returnedSize, setSharedDataRaw, sharedDataCas } from "../../proxy-wasm/index";
import { Outcome, isEndpointFailure } from "../base/outcome";
import { EndpointRecord } from "./record";
import { RECORD_SIZE } from "./state";

export const MAX_CAS_ATTEMPTS: i32 = 8;

/** Result of acquire/release. */
export enum Update { Ok, HostFailure, CasExhausted }

/** Loads the endpoint's record into ep.state (missing key: empty record, CAS 0). */
export function readState(ep: EndpointRecord): bool {
  const result = getSharedDataRaw(ep.sharedKey);
  if (result == WasmResult.Ok) {
    ep.state.decode(returnedPtr(), returnedSize());
    ep.state.cas = sharedDataCas();
    releaseReturned();
    return true;
  }
  releaseReturned();
  if (result == WasmResult.NotFound) {
    ep.state.clear();
    ep.state.cas = 0;
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
export function release(ep: EndpointRecord, outcome: Outcome, latencyNs: u64, nowNs: u64, decayNs: f64, bucketMs: u64, probe: bool = false): Update {
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
    }
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      ep.pendingInFlight = 0;
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
