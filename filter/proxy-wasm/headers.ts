// Header maps (request/response headers and trailers, callout headers).
//
// Names are case-insensitive for Envoy (it lowercases them); pass lowercase.
// The *Bytes variants take pre-encoded UTF-8 so hot paths need not encode.
import {
  proxy_add_header_map_value, proxy_get_header_map_pairs, proxy_get_header_map_size,
  proxy_get_header_map_value, proxy_remove_header_map_value, proxy_replace_header_map_value,
  proxy_set_header_map_pairs,
} from "./imports";
import { HeaderMapType, WasmResult } from "./enums";
import {
  RETURN_PTR_SLOT, RETURN_SIZE_SLOT, RETURN_VALUE_SLOT, releaseReturned, resetReturnSlots,
  returnedPtr, returnedSize, takeReturnedString,
} from "./memory";

export class HeaderPair {
  constructor(public name: string, public value: string) {}
}

/**
 * Serializes pairs the ABI way: u32 count, then (u32 name size, u32 value size)
 * per pair, then each name and value followed by a NUL byte (little-endian).
 */
export function serializeHeaderPairs(pairs: HeaderPair[]): ArrayBuffer {
  const names = new Array<ArrayBuffer>(pairs.length);
  const values = new Array<ArrayBuffer>(pairs.length);
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    names[i] = String.UTF8.encode(pairs[i].name);
    values[i] = String.UTF8.encode(pairs[i].value);
    size += names[i].byteLength + values[i].byteLength + 2;
  }
  const out = new ArrayBuffer(size);
  const base = changetype<usize>(out);
  store<u32>(base, pairs.length);
  let sizes = base + 4;
  let data = base + 4 + <usize>pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    const n = names[i];
    const v = values[i];
    store<u32>(sizes, n.byteLength);
    store<u32>(sizes + 4, v.byteLength);
    sizes += 8;
    memory.copy(data, changetype<usize>(n), n.byteLength);
    data += n.byteLength;
    store<u8>(data++, 0);
    memory.copy(data, changetype<usize>(v), v.byteLength);
    data += v.byteLength;
    store<u8>(data++, 0);
  }
  return out;
}

/**
 * Parses serialized pairs at ptr/size. Malformed input (sizes running past the
 * end) yields the pairs decoded so far; it never reads outside the buffer.
 */
export function deserializeHeaderPairs(ptr: usize, size: usize): HeaderPair[] {
  const pairs = new Array<HeaderPair>();
  if (ptr == 0 || size < 4) return pairs;
  const count = <usize>load<u32>(ptr);
  if (count > (size - 4) / 8) return pairs;
  const end = ptr + size;
  let sizes = ptr + 4;
  let data = sizes + count * 8;
  for (let i: usize = 0; i < count; i++) {
    const nameSize = <usize>load<u32>(sizes);
    const valueSize = <usize>load<u32>(sizes + 4);
    sizes += 8;
    if (nameSize > end - data || end - data - nameSize < 1) break;
    const name = String.UTF8.decodeUnsafe(data, nameSize);
    data += nameSize + 1;
    if (valueSize > end - data || end - data - valueSize < 1) break;
    const value = String.UTF8.decodeUnsafe(data, valueSize);
    data += valueSize + 1;
    pairs.push(new HeaderPair(name, value));
  }
  return pairs;
}

/**
 * Looks a header up and leaves its value in the return slots (see memory.ts):
 * on Ok read returnedPtr()/returnedSize(), then releaseReturned().
 */
export function getHeaderRaw(map: HeaderMapType, name: ArrayBuffer): WasmResult {
  resetReturnSlots();
  return proxy_get_header_map_value(map, changetype<usize>(name), <usize>name.byteLength, RETURN_PTR_SLOT, RETURN_SIZE_SLOT);
}

/** First value of a header, or null when absent. */
export function getHeader(map: HeaderMapType, name: string): string | null {
  if (getHeaderRaw(map, String.UTF8.encode(name)) != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  return takeReturnedString();
}

/** Sets a header to one value, replacing the existing value. */
export function replaceHeaderBytes(map: HeaderMapType, name: ArrayBuffer, value: ArrayBuffer): WasmResult {
  return proxy_replace_header_map_value(map, changetype<usize>(name), <usize>name.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

export function replaceHeader(map: HeaderMapType, name: string, value: string): WasmResult {
  return replaceHeaderBytes(map, String.UTF8.encode(name), String.UTF8.encode(value));
}

/** Appends a value (another header line with the same name). */
export function addHeaderBytes(map: HeaderMapType, name: ArrayBuffer, value: ArrayBuffer): WasmResult {
  return proxy_add_header_map_value(map, changetype<usize>(name), <usize>name.byteLength, changetype<usize>(value), <usize>value.byteLength);
}

export function addHeader(map: HeaderMapType, name: string, value: string): WasmResult {
  return addHeaderBytes(map, String.UTF8.encode(name), String.UTF8.encode(value));
}

/** Removes every value of a header. */
export function removeHeaderBytes(map: HeaderMapType, name: ArrayBuffer): WasmResult {
  return proxy_remove_header_map_value(map, changetype<usize>(name), <usize>name.byteLength);
}

export function removeHeader(map: HeaderMapType, name: string): WasmResult {
  return removeHeaderBytes(map, String.UTF8.encode(name));
}

/** All header pairs of a map, in order (empty when the map is unavailable). */
export function getHeaderPairs(map: HeaderMapType): HeaderPair[] {
  resetReturnSlots();
  if (proxy_get_header_map_pairs(map, RETURN_PTR_SLOT, RETURN_SIZE_SLOT) != WasmResult.Ok) {
    releaseReturned();
    return new Array<HeaderPair>();
  }
  const pairs = deserializeHeaderPairs(returnedPtr(), returnedSize());
  releaseReturned();
  return pairs;
}

/** Replaces the whole map with `pairs`. */
export function setHeaderPairs(map: HeaderMapType, pairs: HeaderPair[]): WasmResult {
  const bytes = serializeHeaderPairs(pairs);
  return proxy_set_header_map_pairs(map, changetype<usize>(bytes), <usize>bytes.byteLength);
}

/** Serialized size of the map in bytes as the host reports it (0 when unavailable). */
export function getHeaderMapSize(map: HeaderMapType): u32 {
  store<u32>(RETURN_VALUE_SLOT, 0);
  if (proxy_get_header_map_size(map, RETURN_VALUE_SLOT) != WasmResult.Ok) return 0;
  return load<u32>(RETURN_VALUE_SLOT);
}
