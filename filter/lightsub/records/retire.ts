// Endpoints joining and leaving configurations. Shared data cannot delete a
// key in ABI 0.2.1 (Envoy's SharedData has get and set only; keys go away
// with the last VM of the vm_id), so keys are per endpoint cluster name and a
// re-added endpoint reuses its key. What can be cleaned is the record: when
// no configuration of this VM schedules onto an endpoint any more, or the
// endpoint cluster now names another address, its history (latency EWMA,
// error window, probe time) is reset. The in-flight count is kept: requests
// still running there release into it and bring it back to 0.
import { WasmResult } from "../../proxy-wasm/index";
import { EndpointRecord } from "./record";
import { MAX_CAS_ATTEMPTS, readState, writeState } from "./shared";
import { retiredSlotsWithPending } from "./slots";

/**
 * A configuration starts scheduling onto `ep`: enlisted (the slot's user count
 * + 1; not a claim, which is a request's in-flight + 1). False when a needed
 * reset could not be stored.
 */
export function enlistEndpoint(ep: EndpointRecord): bool {
  const slot = ep.slot;
  let stored = true;
  if (slot.stat != "" && slot.stat != ep.stat) {
    // Same cluster name, another address: the old host's history says nothing about the new one.
    stored = resetHistory(ep);
    slot.generation++;
  }
  slot.stat = ep.stat;
  slot.users++;
  ep.generation = slot.generation;
  return stored;
}

/** A configuration stops scheduling onto `ep` (replaced, or its root context deleted): delisted. */
export function delistEndpoint(ep: EndpointRecord): bool {
  const slot = ep.slot;
  slot.users--;
  if (slot.users > 0) return true;
  slot.generation++;
  return resetHistory(ep);
}

/**
 * A request on a retired endpoint that ended under contention left its
 * decrement in the slot, and nothing else writes that key any more: store it
 * now (configure time). Re-adding the endpoint would fold it in as well.
 */
export function settleRetired(): void {
  const owing = retiredSlotsWithPending();
  for (let i = 0; i < owing.length; i++) {
    const slot = owing[i];
    resetHistory(new EndpointRecord(slot.cluster, slot.stat));
  }
}

/** Clears everything but the in-flight count of the endpoint's shared record (bounded CAS retries). */
function resetHistory(ep: EndpointRecord): bool {
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    if (!readState(ep)) return false;
    const state = ep.state;
    if (state.cas == 0) return true; // never stored: nothing to forget
    let inFlight = state.inFlight + ep.pendingInFlight;
    if (inFlight < 0) inFlight = 0;
    state.clear();
    state.inFlight = inFlight;
    const result = writeState(ep);
    if (result == WasmResult.Ok) {
      ep.pendingInFlight = 0;
      ep.slot.pending.clear(); // outcomes of the forgotten history
      return true;
    }
    if (result != WasmResult.CasMismatch) return false;
  }
  return false;
}
