// Properties (request/connection/node attributes of the host).
//
// A property path is a list of segments joined with NUL bytes, e.g.
// "xds" NUL "cluster_name". Precompute paths with propertyPath() and reuse them.
import { proxy_get_property, proxy_set_property } from "./imports";
import { WasmResult } from "./enums";
import {
  RETURN_PTR_SLOT, RETURN_SIZE_SLOT, releaseReturned, resetReturnSlots,
  takeReturnedBytes, takeReturnedString, takeReturnedU64,
} from "./memory";

/** Encodes path segments as the ABI expects: UTF-8, joined with NUL. */
export function propertyPath(segments: string[]): ArrayBuffer {
  return String.UTF8.encode(segments.join("\0"));
}

/** Same as propertyPath, from a dotted name ("response.code"); no segment may contain a dot. */
export function dottedPropertyPath(dotted: string): ArrayBuffer {
  return propertyPath(dotted.split("."));
}

/**
 * Fetches a property and leaves its bytes in the return slots (see memory.ts):
 * on Ok read them with returnedPtr()/returnedSize()/returnedEquals() and then call
 * releaseReturned(). For callers that want no copy on the hot path.
 */
export function getPropertyRaw(path: ArrayBuffer): WasmResult {
  resetReturnSlots();
  return proxy_get_property(changetype<usize>(path), <usize>path.byteLength, RETURN_PTR_SLOT, RETURN_SIZE_SLOT);
}

/** The property's bytes, or null when the host has no value for it. */
export function getProperty(path: ArrayBuffer): ArrayBuffer | null {
  if (getPropertyRaw(path) != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  return takeReturnedBytes();
}

/** The property as a UTF-8 string, or null when absent. */
export function getPropertyString(path: ArrayBuffer): string | null {
  if (getPropertyRaw(path) != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  return takeReturnedString();
}

/**
 * An integer property (Envoy encodes int/uint properties as 8 little-endian bytes).
 * Returns `fallback` when absent or not an integer encoding.
 */
export function getPropertyU64(path: ArrayBuffer, fallback: u64): u64 {
  if (getPropertyRaw(path) != WasmResult.Ok) {
    releaseReturned();
    return fallback;
  }
  return takeReturnedU64(fallback);
}

export function setProperty(path: ArrayBuffer, value: ArrayBuffer): WasmResult {
  return proxy_set_property(changetype<usize>(path), <usize>path.byteLength, changetype<usize>(value), <usize>value.byteLength);
}
