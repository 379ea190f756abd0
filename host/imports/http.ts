/**
 * env.proxy_* host functions for HTTP streams: header maps, buffers, continue,
 * close and local replies. They act on the effective context; a root context
 * has no maps (BadArgument), as in Envoy.
 */
import {
  BUFFER_TYPE_MAX,
  HEADER_MAP_TYPE_MAX,
  STREAM_TYPE_MAX,
  WasmResult,
} from "../abi.js";
import { pairLengths, pairsByteLength, readPairs, writePairs } from "../pairs.js";
import type { Vm } from "../vm.js";

export function httpImports(vm: Vm): Record<string, (...args: never[]) => number> {
  const mem = vm.mem;
  const enter = (name: string): void => vm.enterHostCall(name);

  /** add (another value) or set (replace every value) of a header, as Envoy's add/replace calls do. */
  function writeHeader(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number, op: "add" | "set"): number {
    if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
    const key = mem.string(keyPtr, keySize);
    const value = mem.string(valuePtr, valueSize);
    if (key === null || value === null) return WasmResult.InvalidMemoryAccess;
    const ctx = vm.ctx();
    const map = ctx.mutableMap(type >>> 0);
    if (!map) return WasmResult.BadArgument;
    map[op](key, value);
    ctx.headersModified(type >>> 0);
    return WasmResult.Ok;
  }

  return {
    proxy_get_header_map_value(type: number, keyPtr: number, keySize: number, valuePtrPtr: number, valueSizePtr: number) {
      enter("env.proxy_get_header_map_value");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = mem.string(keyPtr, keySize);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.ctx();
      const map = ctx.constMap(type >>> 0);
      if (!map) return ctx.missingMapResult();
      const value = map.get(key);
      if (value === undefined) return WasmResult.NotFound;
      return vm.copyOutString(value, valuePtrPtr, valueSizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_add_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) {
      enter("env.proxy_add_header_map_value");
      return writeHeader(type, keyPtr, keySize, valuePtr, valueSize, "add");
    },

    proxy_replace_header_map_value(type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) {
      enter("env.proxy_replace_header_map_value");
      return writeHeader(type, keyPtr, keySize, valuePtr, valueSize, "set");
    },

    proxy_remove_header_map_value(type: number, keyPtr: number, keySize: number) {
      enter("env.proxy_remove_header_map_value");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = mem.string(keyPtr, keySize);
      if (key === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.ctx();
      const map = ctx.mutableMap(type >>> 0);
      if (!map) return WasmResult.BadArgument;
      map.remove(key);
      ctx.headersModified(type >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_header_map_pairs(type: number, ptrPtr: number, sizePtr: number) {
      enter("env.proxy_get_header_map_pairs");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const pairs = vm.ctx().constMap(type >>> 0)?.pairs() ?? [];
      if (pairs.length === 0) {
        return mem.writeU32(ptrPtr, 0) && mem.writeU32(sizePtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
      }
      const lengths = pairLengths(pairs);
      const size = pairsByteLength(lengths);
      const ptr = vm.alloc(size);
      if (ptr === 0 || !mem.inRange(ptr, size)) return WasmResult.InvalidMemoryAccess;
      writePairs(pairs, lengths, mem.bytes(), ptr);
      return mem.writeU32(ptrPtr, ptr) && mem.writeU32(sizePtr, size) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_header_map_pairs(type: number, ptr: number, size: number) {
      enter("env.proxy_set_header_map_pairs");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const data = mem.slice(ptr, size);
      if (data === null) return WasmResult.InvalidMemoryAccess;
      const ctx = vm.ctx();
      const map = ctx.mutableMap(type >>> 0);
      if (!map) return WasmResult.BadArgument;
      map.replaceAll(readPairs(data, 0, data.byteLength) ?? []);
      ctx.headersModified(type >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_header_map_size(type: number, resultPtr: number) {
      enter("env.proxy_get_header_map_size");
      if (type >>> 0 > HEADER_MAP_TYPE_MAX) return WasmResult.BadArgument;
      const map = vm.ctx().mutableMap(type >>> 0);
      if (!map) return WasmResult.BadArgument;
      // Envoy answers the map's byte size, not its number of entries.
      return mem.writeU32(resultPtr, map.byteSize()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_buffer_bytes(type: number, start: number, length: number, ptrPtr: number, sizePtr: number) {
      enter("env.proxy_get_buffer_bytes");
      if (type >>> 0 > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = vm.ctx().getBuffer(type >>> 0);
      if (!buffer) return WasmResult.NotFound;
      const bytes = buffer.bytes();
      const s = start >>> 0;
      let n = length >>> 0;
      if (s > bytes.byteLength) n = 0;
      else if (s + n > bytes.byteLength) n = bytes.byteLength - s;
      if (n === 0) {
        return mem.writeU32(ptrPtr, 0) && mem.writeU32(sizePtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
      }
      return vm.copyOut(bytes.subarray(s, s + n), ptrPtr, sizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_buffer_status(type: number, lengthPtr: number, flagsPtr: number) {
      enter("env.proxy_get_buffer_status");
      if (type >>> 0 > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = vm.ctx().getBuffer(type >>> 0);
      if (!buffer) return WasmResult.NotFound;
      if (!mem.writeU32(lengthPtr, buffer.bytes().byteLength)) return WasmResult.InvalidMemoryAccess;
      // Envoy never sets a flag (not even EndOfStream).
      return mem.writeU32(flagsPtr, 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_buffer_bytes(type: number, start: number, length: number, dataPtr: number, dataSize: number) {
      enter("env.proxy_set_buffer_bytes");
      if (type >>> 0 > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buffer = vm.ctx().getBuffer(type >>> 0);
      if (!buffer) return WasmResult.NotFound;
      const data = mem.copy(dataPtr, dataSize);
      if (data === null) return WasmResult.InvalidMemoryAccess;
      return buffer.copyFrom(start >>> 0, length >>> 0, data);
    },

    proxy_continue_stream(type: number) {
      enter("env.proxy_continue_stream");
      if (type >>> 0 > STREAM_TYPE_MAX) return WasmResult.BadArgument;
      return vm.ctx().continueStream(type >>> 0);
    },

    proxy_close_stream(type: number) {
      enter("env.proxy_close_stream");
      if (type >>> 0 > STREAM_TYPE_MAX) return WasmResult.BadArgument;
      return vm.ctx().closeStream(type >>> 0);
    },

    proxy_send_local_response(
      status: number,
      detailsPtr: number,
      detailsSize: number,
      bodyPtr: number,
      bodySize: number,
      headersPtr: number,
      headersSize: number,
      grpcStatus: number,
    ) {
      enter("env.proxy_send_local_response");
      const details = mem.string(detailsPtr, detailsSize);
      const body = mem.copy(bodyPtr, bodySize);
      const headerBytes = mem.slice(headersPtr, headersSize);
      if (details === null || body === null || headerBytes === null) return WasmResult.InvalidMemoryAccess;
      const headers = readPairs(headerBytes, 0, headerBytes.byteLength) ?? [];
      vm.ctx().sendLocalResponse(status >>> 0, details, body, headers, grpcStatus >>> 0);
      vm.stopIteration = true;
      return WasmResult.Ok;
    },
  };
}
