// Shared data: a key/value store shared by all VMs with the same vm_id (in
// Envoy: all worker threads). Every value carries a CAS token; a set with a
// non-zero CAS fails with CasMismatch when someone wrote the key in between.
// A set with CAS 0, or on a missing key, always succeeds.
import { proxy_get_shared_data, proxy_set_shared_data } from "./imports";
import { WasmResult } from "./enums";
import { RETURN_PTR_SLOT, RETURN_SIZE_SLOT, RETURN_VALUE_SLOT, releaseReturned, resetReturnSlots, takeReturnedBytes } from "./memory";

/**
 * Reads a key and leaves the value in the return slots (see memory.ts): on Ok read
 * returnedPtr()/returnedSize() and sharedDataCas(), then releaseReturned().
 */
export function getSharedDataRaw(key: ArrayBuffer): WasmResult {
  resetReturnSlots();
  store<u32>(RETURN_VALUE_SLOT, 0);
  return proxy_get_shared_data(changetype<usize>(key), <usize>key.byteLength, RETURN_PTR_SLOT, RETURN_SIZE_SLOT, RETURN_VALUE_SLOT);
}

/** CAS token of the value the last getSharedDataRaw returned. */
export function sharedDataCas(): u32 {
  return load<u32>(RETURN_VALUE_SLOT);
}

export class SharedDataValue {
  constructor(public bytes: ArrayBuffer, public cas: u32) {}
}

/** The value and CAS of a key, or null when it is missing (or the host failed). */
export function getSharedData(key: ArrayBuffer): SharedDataValue | null {
  if (getSharedDataRaw(key) != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  const cas = sharedDataCas();
  return new SharedDataValue(takeReturnedBytes(), cas);
}

/** Writes size bytes at ptr under key if `cas` still matches (0: unconditionally). */
export function setSharedDataRaw(key: ArrayBuffer, ptr: usize, size: usize, cas: u32): WasmResult {
  return proxy_set_shared_data(changetype<usize>(key), <usize>key.byteLength, ptr, size, cas);
}

export function setSharedData(key: ArrayBuffer, value: ArrayBuffer, cas: u32): WasmResult {
  return setSharedDataRaw(key, changetype<usize>(value), <usize>value.byteLength, cas);
}
