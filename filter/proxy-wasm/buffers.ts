// Buffers: bodies, plugin/VM configuration, foreign-call arguments.
import { proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes } from "./imports";
import { BufferType, WasmResult } from "./enums";
import { RETURN_PTR_SLOT, RETURN_SIZE_SLOT, RETURN_VALUE_SLOT, releaseReturned, resetReturnSlots, takeReturnedBytes } from "./memory";

/**
 * Bytes [start, start+length) of a buffer, or null when the host has none.
 * The host clips the range to what it holds.
 */
export function getBufferBytes(buffer: BufferType, start: u32, length: u32): ArrayBuffer | null {
  resetReturnSlots();
  const result = proxy_get_buffer_bytes(buffer, start, length, RETURN_PTR_SLOT, RETURN_SIZE_SLOT);
  if (result != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  return takeReturnedBytes();
}

/** The plugin configuration (the `configuration` of the Envoy filter), or null. */
export function getPluginConfiguration(size: usize): ArrayBuffer | null {
  if (size == 0) return new ArrayBuffer(0);
  return getBufferBytes(BufferType.PluginConfiguration, 0, <u32>size);
}

/** The VM configuration, or null. */
export function getVmConfiguration(size: usize): ArrayBuffer | null {
  if (size == 0) return new ArrayBuffer(0);
  return getBufferBytes(BufferType.VmConfiguration, 0, <u32>size);
}

/** Length of a buffer in bytes, or -1 when the host has no such buffer. */
export function getBufferLength(buffer: BufferType): i64 {
  store<u32>(RETURN_VALUE_SLOT, 0);
  store<u32>(RETURN_VALUE_SLOT + 4, 0);
  if (proxy_get_buffer_status(buffer, RETURN_VALUE_SLOT, RETURN_VALUE_SLOT + 4) != WasmResult.Ok) return -1;
  return <i64>load<u32>(RETURN_VALUE_SLOT);
}

/** Replaces bytes [start, start+length) of a buffer with `data`. */
export function setBufferBytes(buffer: BufferType, start: u32, length: u32, data: ArrayBuffer): WasmResult {
  return proxy_set_buffer_bytes(buffer, start, length, changetype<usize>(data), <usize>data.byteLength);
}
