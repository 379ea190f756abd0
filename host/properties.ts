/**
 * proxy_get_property as Envoy answers it (source/extensions/common/wasm/context.cc
 * getProperty + source/extensions/filters/common/expr/context.cc): the path is
 * NUL-separated segments; strings come back as their bytes, integers, durations
 * and timestamps as 8-byte little-endian int64; anything missing is NotFound.
 *
 * Sources, in order: values the driver gave (stream, then VM), the computed
 * request.* / response.* / plugin_* values, then what the plugin stored with
 * proxy_set_property (Envoy's filter state "wasm.<name>", looked up by the
 * first segment).
 */
import { WasmResult, type WasmResultCode } from "./abi.js";
import type { HeaderMap } from "./header-map.js";
import { encodePairs } from "./pairs.js";
import { msToNs } from "./time.js";
import { encodeUtf8 } from "./utf8.js";

export type PropertyValue = string | number | bigint | boolean | Uint8Array;
export type PropertyValues = Readonly<Record<string, PropertyValue>>;

/** The per-request facts Envoy keeps in StreamInfo that properties expose. */
export interface StreamInfo {
  startTimeMs: number;
  completeTimeMs?: number;
  responseCode?: number;
  responseFlags: number;
  responseCodeDetails?: string;
  protocol?: string;
  bytesReceived: number;
  bytesSent: number;
}

export interface PropertyContext {
  /** Driver-given value by NUL-joined key. */
  driverProperty(key: string): Uint8Array | undefined;
  pluginName(): string | undefined;
  rootId(): string;
  vmId(): string;
  /** Null outside a stream (root context). */
  streamInfo(): StreamInfo | null;
  /** The headers CEL sees now (request headers while available, else the access-log copy in onLog). */
  celRequestHeaders(): HeaderMap | null;
  celResponseHeaders(): HeaderMap | null;
  celResponseTrailers(): HeaderMap | null;
  filterState(name: string): Uint8Array | undefined;
}

export function int64Bytes(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  if (typeof n === "number" && n >= 0 && n <= Number.MAX_SAFE_INTEGER) {
    // Fast path for the common case (codes, flags, sizes): no BigInt.
    const v = Math.trunc(n);
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296);
    out[0] = lo & 0xff;
    out[1] = (lo >>> 8) & 0xff;
    out[2] = (lo >>> 16) & 0xff;
    out[3] = lo >>> 24;
    out[4] = hi & 0xff;
    out[5] = (hi >>> 8) & 0xff;
    out[6] = (hi >>> 16) & 0xff;
    out[7] = hi >>> 24;
    return out;
  }
  new DataView(out.buffer).setBigInt64(0, BigInt.asIntN(64, typeof n === "bigint" ? n : BigInt(Math.trunc(n))), true);
  return out;
}

/** Encodings of small non-negative integers (status codes, flags, sizes), shared: never mutate. */
const SMALL_INT_CACHE_MAX = 1024;
const smallInts: Uint8Array[] = [];

/** int64Bytes for lookups, reusing one encoding per small value (the caller only copies it). */
function int64Shared(n: number): Uint8Array {
  if (Number.isInteger(n) && n >= 0 && n < SMALL_INT_CACHE_MAX) {
    let b = smallInts[n];
    if (b === undefined) smallInts[n] = b = int64Bytes(n);
    return b;
  }
  return int64Bytes(n);
}

/** Grpc::Utility::httpToGrpcStatus: the gRPC status Envoy derives from an HTTP status. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** Encoded driver strings, reused across streams (values are never mutated). */
const stringCache = new Map<string, Uint8Array>();
const STRING_CACHE_MAX = 4096;

function cachedUtf8(s: string): Uint8Array {
  let b = stringCache.get(s);
  if (b === undefined) {
    b = encodeUtf8(s);
    if (stringCache.size >= STRING_CACHE_MAX) stringCache.clear();
    stringCache.set(s, b);
  }
  return b;
}

/** Driver values: strings → UTF-8, numbers/bigints → int64 LE, booleans → 1 byte, bytes as is. */
export function encodePropertyValue(v: PropertyValue): Uint8Array {
  if (typeof v === "string") return cachedUtf8(v);
  if (typeof v === "boolean") return new Uint8Array([v ? 1 : 0]);
  if (typeof v === "number" || typeof v === "bigint") return int64Bytes(v);
  return v;
}

const keyCache = new Map<string, string>();

/** "a.b.c" → "a\0b\0c" (how the module spells the path). */
export function propertyKey(dotted: string): string {
  let k = keyCache.get(dotted);
  if (k === undefined) {
    k = dotted.split(".").join("\0");
    if (keyCache.size >= STRING_CACHE_MAX) keyCache.clear();
    keyCache.set(dotted, k);
  }
  return k;
}

export function encodeProperties(values: PropertyValues | undefined, into: Map<string, Uint8Array>): void {
  if (!values) return;
  for (const k in values) into.set(propertyKey(k), encodePropertyValue(values[k]!));
}

type Lookup = Uint8Array | WasmResultCode;
const NOT_FOUND = WasmResult.NotFound;

function str(s: string | undefined): Lookup {
  return s === undefined ? NOT_FOUND : encodeUtf8(s);
}

function header(h: HeaderMap | null, name: string | undefined): Lookup {
  if (!h) return NOT_FOUND;
  if (name === undefined) return encodePairs(h.pairs());
  return str(h.get(name));
}


function requestValue(ctx: PropertyContext, info: StreamInfo, field: string | undefined, sub: string | undefined): Lookup {
  const h = ctx.celRequestHeaders();
  switch (field) {
    case "headers":
      return header(h, sub);
    case "time":
      return int64Bytes(msToNs(info.startTimeMs));
    case "duration":
      return info.completeTimeMs === undefined ? NOT_FOUND : int64Bytes(msToNs(info.completeTimeMs - info.startTimeMs));
    case "protocol":
      return str(info.protocol);
    case "size": {
      const cl = h?.get("content-length");
      if (cl !== undefined) return /^\d+$/.test(cl) ? int64Bytes(BigInt(cl)) : NOT_FOUND;
      return int64Bytes(info.bytesReceived);
    }
    case "total_size":
      return int64Bytes(info.bytesReceived + (h ? h.byteSize() : 0));
  }
  if (!h) return NOT_FOUND;
  switch (field) {
    case "path":
      return str(h.get(":path"));
    case "url_path": {
      const p = h.get(":path");
      if (p === undefined) return NOT_FOUND;
      const q = p.indexOf("?");
      return str(q < 0 ? p : p.slice(0, q));
    }
    case "query": {
      const p = h.get(":path");
      if (p === undefined) return NOT_FOUND;
      const q = p.indexOf("?");
      if (q < 0) return str("");
      const rest = p.slice(q + 1);
      const f = rest.indexOf("#");
      return str(f < 0 ? rest : rest.slice(0, f));
    }
    case "host":
      return str(h.get(":authority"));
    case "scheme":
      return str(h.get(":scheme"));
    case "method":
      return str(h.get(":method"));
    case "referer":
      return str(h.get("referer"));
    case "id":
      return str(h.get("x-request-id"));
    case "useragent":
      return str(h.get("user-agent"));
  }
  return NOT_FOUND;
}

function responseValue(ctx: PropertyContext, info: StreamInfo, field: string | undefined, sub: string | undefined): Lookup {
  switch (field) {
    case "code":
      return info.responseCode === undefined ? NOT_FOUND : int64Shared(info.responseCode);
    case "code_details":
      return str(info.responseCodeDetails);
    case "flags":
      return int64Shared(info.responseFlags);
    case "headers":
      return header(ctx.celResponseHeaders(), sub);
    case "trailers":
      return header(ctx.celResponseTrailers(), sub);
    case "size":
      return int64Bytes(info.bytesSent);
    case "total_size":
      return int64Bytes(info.bytesSent + (ctx.celResponseHeaders()?.byteSize() ?? 0) + (ctx.celResponseTrailers()?.byteSize() ?? 0));
    case "grpc_status": {
      // Grpc::Common::getGrpcStatus: trailers, then headers, then derived from the HTTP status.
      const g = ctx.celResponseTrailers()?.get("grpc-status") ?? ctx.celResponseHeaders()?.get("grpc-status");
      if (g !== undefined) return /^\d+$/.test(g) ? int64Bytes(Number(g)) : NOT_FOUND;
      return info.responseCode === undefined ? NOT_FOUND : int64Shared(httpToGrpcStatus(info.responseCode));
    }
  }
  return NOT_FOUND;
}

/** Split paths, cached: a plugin asks for the same few paths on every request. */
const segmentCache = new Map<string, readonly string[]>();

function pathSegments(path: string): readonly string[] {
  let segments = segmentCache.get(path);
  if (segments === undefined) {
    const split = path.split("\0");
    if (split[split.length - 1] === "") split.pop();
    segments = split;
    if (segmentCache.size >= STRING_CACHE_MAX) segmentCache.clear();
    segmentCache.set(path, segments);
  }
  return segments;
}

/** Resolves a NUL-separated property path. */
export function resolveProperty(path: string, ctx: PropertyContext): Lookup {
  if (path.length === 0) return WasmResult.SerializationFailure;
  const driven = ctx.driverProperty(path);
  if (driven) return driven;
  const segments = pathSegments(path);
  const top = segments[0];
  const field = segments[1];
  const sub = segments[2];
  const extra = segments[3];
  const info = ctx.streamInfo();
  switch (top) {
    case "request":
      if (!info || extra !== undefined || (sub !== undefined && field !== "headers")) return NOT_FOUND;
      if (field === undefined) return WasmResult.SerializationFailure;
      return requestValue(ctx, info, field, sub);
    case "response":
      if (!info || extra !== undefined || (sub !== undefined && field !== "headers" && field !== "trailers")) return NOT_FOUND;
      if (field === undefined) return WasmResult.SerializationFailure;
      return responseValue(ctx, info, field, sub);
    case "xds":
      // Envoy's xds attributes are a message: the bare "xds" does not serialise.
      if (field === undefined && info) return WasmResult.SerializationFailure;
      break;
    case "plugin_name":
      return field === undefined ? str(ctx.pluginName()) : NOT_FOUND;
    case "plugin_root_id":
      return field === undefined ? str(ctx.rootId()) : NOT_FOUND;
    case "plugin_vm_id":
      return field === undefined ? str(ctx.vmId()) : NOT_FOUND;
  }
  if (top === undefined) return NOT_FOUND;
  const state = ctx.filterState(top);
  // A stored value is bytes: it has no fields to descend into.
  if (state === undefined || field !== undefined) return NOT_FOUND;
  return state;
}
