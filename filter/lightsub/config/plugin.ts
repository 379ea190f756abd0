// Plugin configuration v1 (docs/design.md): parse and validate into typed
// classes. The first problem found is reported as one message naming the
// field by its path, e.g. "destinations[0].endpoints[1].weight must be a
// positive integer". Unknown keys are ignored (forward compatibility).
// Paths are passed as (parent, key) and joined only when a message is built,
// so valid configurations build no path strings for their fields.
import { JsonKind, JsonValue, parseJson } from "./json";
import { AdmissionConfig, readAdmission } from "./admission";

export const MAX_CONFIG_BYTES: i32 = 1 << 20;
export const MAX_DESTINATIONS: i32 = 64;
export const MAX_ENDPOINTS: i32 = 256;
export const MAX_WEIGHT: i32 = 10000;
export const MAX_DURATION_MS: i32 = 86400000;
export const MAX_MIN_REQUESTS: i32 = 1000000;

export enum StrategyKind { RoundRobin, Random, Weighted, LeastLoad, LeastLatency, Availability, ConsistentHash }

const STRATEGY_NAMES: string[] = [
  "round_robin", "random", "weighted", "least_load", "least_latency", "availability", "consistent_hash",
];
/** STRATEGY_NAMES joined (a literal: Array#join would add its code for one error message). */
const STRATEGY_LIST = "round_robin, random, weighted, least_load, least_latency, availability, consistent_hash";

export enum HashSource { None, Header, Cookie, Path }

export class EndpointConfig {
  cluster: string = "";
  stat: string = "";
  weight: i32 = 1;
}

export class DestinationConfig {
  service: string = "";
  cluster: string = "";
  strategy: StrategyKind = StrategyKind.RoundRobin;
  decayMs: i32 = 10000;
  windowMs: i32 = 10000;
  errorThreshold: f64 = 0.2;
  minRequests: i32 = 5;
  probeIntervalMs: i32 = 1000;
  hashSource: HashSource = HashSource.None;
  /** Header or cookie name for consistent_hash (headers lowercased). */
  hashName: string = "";
  endpoints: EndpointConfig[] = [];
  /** Task admission (issue 8); null: no limit, no queue. */
  admission: AdmissionConfig | null = null;
  /** Endpoint clusters back each endpoint up with others (docs/design.md "Failover"): read which host served. */
  failover: bool = false;
}

export class PluginConfig {
  service: string = "";
  header: string = "x-lightsub-endpoint";
  failClosed: bool = false;
  destinations: DestinationConfig[] = [];
}

export class ConfigResult {
  constructor(public config: PluginConfig | null, public error: string) {}
}

// Character classes of the names we accept.
const SERVICE_CHARS = 1;   // [A-Za-z0-9_-]
const CLUSTER_CHARS = 2;   // [A-Za-z0-9_.:-]
const STAT_CHARS = 3;      // [A-Za-z0-9_-]
export const TOKEN_CHARS = 4;     // HTTP token: [A-Za-z0-9!#$%&'*+.^_`|~-]
/** A header name: HTTP token characters after an optional leading ':' (a pseudo-header). */
export const HEADER_CHARS = 5;

/** ASCII lowercase (names here are ASCII; String#toLowerCase would pull in Unicode tables). */
export function asciiLower(s: string): string {
  let out = s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      out = "";
      for (let j = 0; j < s.length; j++) {
        const d = s.charCodeAt(j);
        out += String.fromCharCode(d >= 0x41 && d <= 0x5a ? d + 0x20 : d);
      }
      break;
    }
  }
  return out;
}

function isAlnum(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** One of the token symbols !#$%&'*+.^`|~ ('-' and '_' are allowed by every class). */
function isTokenSymbol(c: i32): bool {
  // Bit (c - 0x20) of 0x4cfa is set for ! # $ % & ' * + . (the symbols below 0x40).
  if (c >= 0x20 && c < 0x40) return ((0x4cfa >> (c - 0x20)) & 1) != 0;
  return c == 0x5e || c == 0x60 || c == 0x7c || c == 0x7e;
}

function charAllowed(c: i32, charset: i32): bool {
  if (isAlnum(c) || c == 0x2d || c == 0x5f) return true; // alnum - _
  if (charset == CLUSTER_CHARS) return c == 0x2e || c == 0x3a;
  if (charset >= TOKEN_CHARS) return isTokenSymbol(c);
  return false;
}

function describeCharset(charset: i32): string {
  if (charset == CLUSTER_CHARS) return "[A-Za-z0-9_.:-]";
  if (charset == TOKEN_CHARS) return "HTTP token characters";
  if (charset == HEADER_CHARS) return "HTTP token characters (after an optional leading ':')";
  return "[A-Za-z0-9_-]";
}

/** "<parent>.<key>", or whichever of the two is not empty. */
function joinPath(parent: string, key: string): string {
  if (parent.length == 0) return key;
  if (key.length == 0) return parent;
  return parent + "." + key;
}

/**
 * Field readers. Each takes the field's value (null: absent) and its path as
 * (parent, key); a value read from an array element passes its whole path as
 * parent and key "". Only the first problem is kept.
 */
export class Reader {
  error: string = "";

  get failed(): bool { return this.error.length > 0; }

  fail(message: string): void {
    if (this.error.length == 0) this.error = message;
  }

  /** Reports "<parent.key><problem>", e.g. problem " must be a string". */
  failAt(parent: string, key: string, problem: string): void {
    if (this.error.length == 0) this.error = joinPath(parent, key) + problem;
  }

  /** Member `key` of an object; reports "<path> is required" when it is missing and required. */
  field(obj: JsonValue, parent: string, key: string, required: bool): JsonValue | null {
    const v = obj.get(key);
    if (v == null && required) this.failAt(parent, key, " is required");
    return v;
  }

  name(v: JsonValue | null, parent: string, key: string, charset: i32, maxLength: i32): string {
    if (v == null) return "";
    if (v.kind != JsonKind.String) {
      this.failAt(parent, key, " must be a string");
      return "";
    }
    const s = v.str;
    const start = charset == HEADER_CHARS && s.length > 0 && s.charCodeAt(0) == 0x3a ? 1 : 0;
    if (s.length - start < 1 || s.length > maxLength) {
      this.failAt(parent, key, " must be 1 to " + maxLength.toString() + " characters long");
      return "";
    }
    for (let i = start; i < s.length; i++) {
      if (!charAllowed(s.charCodeAt(i), charset)) {
        this.failAt(parent, key, " must contain only " + describeCharset(charset));
        return "";
      }
    }
    return s;
  }

  /** An integer in [min, max] (min is 0 or 1); `fallback` when absent or invalid. */
  integer(v: JsonValue | null, parent: string, key: string, min: i32, max: i32, fallback: i32): i32 {
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number || !isFinite(v.num) || v.num != Math.floor(v.num) || v.num < <f64>min) {
      this.failAt(parent, key, min > 0 ? " must be a positive integer" : " must be a non-negative integer");
      return fallback;
    }
    if (v.num > <f64>max) {
      this.failAt(parent, key, " must be at most " + max.toString());
      return fallback;
    }
    return <i32>v.num;
  }

  fraction(v: JsonValue | null, parent: string, key: string, fallback: f64): f64 {
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number || !(v.num >= 0 && v.num <= 1)) {
      this.failAt(parent, key, " must be a number between 0 and 1");
      return fallback;
    }
    return v.num;
  }

  array(v: JsonValue | null, parent: string, key: string, max: i32, allowEmpty: bool): JsonValue | null {
    if (v == null) return null;
    if (v.kind != JsonKind.Array || (!allowEmpty && v.length == 0)) {
      this.failAt(parent, key, allowEmpty ? " must be an array" : " must be a non-empty array");
      return null;
    }
    if (v.length > max) {
      this.failAt(parent, key, " must have at most " + max.toString() + " entries");
      return null;
    }
    return v;
  }

  object(v: JsonValue | null, parent: string, key: string): JsonValue | null {
    if (v == null) return null;
    if (v.kind != JsonKind.Object) {
      this.failAt(parent, key, " must be an object");
      return null;
    }
    return v;
  }
}

/** "<parent>[<index>]" */
export function elementPath(parent: string, index: i32): string {
  return parent + "[" + index.toString() + "]";
}

function readEndpoint(r: Reader, v: JsonValue, path: string): EndpointConfig {
  const e = new EndpointConfig();
  const obj = r.object(v, path, "");
  if (obj == null) return e;
  e.cluster = r.name(r.field(obj, path, "cluster", true), path, "cluster", CLUSTER_CHARS, 255);
  e.stat = r.name(r.field(obj, path, "stat", true), path, "stat", STAT_CHARS, 128);
  e.weight = r.integer(obj.get("weight"), path, "weight", 1, MAX_WEIGHT, 1);
  return e;
}

function readHashOn(r: Reader, d: DestinationConfig, v: JsonValue | null, parent: string): void {
  if (v == null) {
    if (d.strategy == StrategyKind.ConsistentHash) r.failAt(parent, "hashOn", " is required for consistent_hash");
    return;
  }
  const obj = r.object(v, parent, "hashOn");
  if (obj == null) return;
  const path = parent + ".hashOn";
  const header = obj.get("header");
  const cookie = obj.get("cookie");
  const byPath = obj.get("path");
  const count = (header != null ? 1 : 0) + (cookie != null ? 1 : 0) + (byPath != null ? 1 : 0);
  if (count != 1) {
    r.failAt(path, "", " must have exactly one of header, cookie, path");
    return;
  }
  if (header != null) {
    d.hashSource = HashSource.Header;
    d.hashName = asciiLower(r.name(header, path, "header", TOKEN_CHARS, 128));
  } else if (cookie != null) {
    d.hashSource = HashSource.Cookie;
    d.hashName = r.name(cookie, path, "cookie", TOKEN_CHARS, 128);
  } else if (byPath != null) {
    if (byPath.kind != JsonKind.Bool || !byPath.bool) {
      r.failAt(path, "path", " must be true");
      return;
    }
    d.hashSource = HashSource.Path;
  }
}

function readDestination(r: Reader, v: JsonValue, path: string): DestinationConfig {
  const d = new DestinationConfig();
  const obj = r.object(v, path, "");
  if (obj == null) return d;
  d.service = r.name(r.field(obj, path, "service", true), path, "service", SERVICE_CHARS, 63);
  d.cluster = r.name(r.field(obj, path, "cluster", true), path, "cluster", CLUSTER_CHARS, 255);
  const strategy = r.field(obj, path, "strategy", true);
  if (strategy != null) {
    const index = strategy.kind == JsonKind.String ? STRATEGY_NAMES.indexOf(strategy.str) : -1;
    if (index < 0) r.failAt(path, "strategy", " must be one of " + STRATEGY_LIST);
    else d.strategy = index;
  }
  d.decayMs = r.integer(obj.get("decayMs"), path, "decayMs", 1, MAX_DURATION_MS, d.decayMs);
  d.windowMs = r.integer(obj.get("windowMs"), path, "windowMs", 1, MAX_DURATION_MS, d.windowMs);
  d.errorThreshold = r.fraction(obj.get("errorThreshold"), path, "errorThreshold", d.errorThreshold);
  d.minRequests = r.integer(obj.get("minRequests"), path, "minRequests", 1, MAX_MIN_REQUESTS, d.minRequests);
  d.probeIntervalMs = r.integer(obj.get("probeIntervalMs"), path, "probeIntervalMs", 1, MAX_DURATION_MS, d.probeIntervalMs);
  const failover = obj.get("failover");
  if (failover != null) {
    if (failover.kind != JsonKind.Bool) r.failAt(path, "failover", " must be a boolean");
    else d.failover = failover.bool;
  }
  if (r.failed) return d;
  d.admission = readAdmission(r, obj.get("admission"), path);
  if (r.failed) return d;
  readHashOn(r, d, obj.get("hashOn"), path);
  const endpoints = r.array(r.field(obj, path, "endpoints", true), path, "endpoints", MAX_ENDPOINTS, false);
  if (endpoints == null) return d;
  const endpointsPath = path + ".endpoints";
  for (let i = 0; i < endpoints.length && !r.failed; i++) {
    const epPath = elementPath(endpointsPath, i);
    const ep = readEndpoint(r, endpoints.at(i), epPath);
    for (let j = 0; j < d.endpoints.length && !r.failed; j++) {
      if (d.endpoints[j].stat == ep.stat) r.failAt(epPath, "stat", " duplicates " + elementPath("endpoints", j) + ".stat");
    }
    d.endpoints.push(ep);
  }
  return d;
}

/** Path of a cluster name: destination i's own (endpoint < 0) or one of its endpoints'. */
function clusterPath(destination: i32, endpoint: i32): string {
  const d = elementPath("destinations", destination);
  return (endpoint < 0 ? d : elementPath(d + ".endpoints", endpoint)) + ".cluster";
}

/** Checks that every Envoy cluster name appears once in the whole configuration. */
function checkClustersUnique(r: Reader, config: PluginConfig): void {
  // Where each name was first seen: destination << 16 | (endpoint + 1), 0 for the destination's own.
  // (Map<string, u32> is instantiated for metric ids already; another Map type would add its code.)
  const seen = new Map<string, u32>();
  for (let i = 0; i < config.destinations.length; i++) {
    const d = config.destinations[i];
    for (let j = -1; j < d.endpoints.length; j++) {
      const name = j < 0 ? d.cluster : d.endpoints[j].cluster;
      if (seen.has(name)) {
        const first = seen.get(name);
        r.fail(clusterPath(i, j) + " duplicates " + clusterPath(<i32>(first >> 16), <i32>(first & 0xffff) - 1) + " (\"" + name + "\")");
        return;
      }
      seen.set(name, (<u32>i << 16) | <u32>(j + 1));
    }
  }
}

export function parseConfig(bytes: ArrayBuffer): ConfigResult {
  if (bytes.byteLength == 0) return new ConfigResult(null, "configuration is empty");
  if (bytes.byteLength > MAX_CONFIG_BYTES) {
    return new ConfigResult(null, "configuration is larger than " + MAX_CONFIG_BYTES.toString() + " bytes");
  }
  const parsed = parseJson(bytes);
  const root = parsed.value;
  if (root == null) {
    return new ConfigResult(null, "invalid JSON at byte " + parsed.offset.toString() + ": " + parsed.error);
  }
  if (root.kind != JsonKind.Object) return new ConfigResult(null, "configuration must be a JSON object");
  const r = new Reader();
  const config = new PluginConfig();
  const version = r.field(root, "", "version", true);
  if (version != null && (version.kind != JsonKind.Number || version.num != 1)) r.fail("version must be 1");
  config.service = r.name(r.field(root, "", "service", true), "", "service", SERVICE_CHARS, 63);
  const header = root.get("header");
  if (header != null) config.header = asciiLower(r.name(header, "", "header", TOKEN_CHARS, 128));
  const failMode = root.get("failMode");
  if (failMode != null) {
    if (failMode.kind == JsonKind.String && failMode.str == "closed") config.failClosed = true;
    else if (failMode.kind != JsonKind.String || failMode.str != "open") r.fail("failMode must be \"open\" or \"closed\"");
  }
  const destinations = r.array(r.field(root, "", "destinations", true), "", "destinations", MAX_DESTINATIONS, true);
  if (destinations != null) {
    for (let i = 0; i < destinations.length && !r.failed; i++) {
      config.destinations.push(readDestination(r, destinations.at(i), elementPath("destinations", i)));
    }
  }
  if (!r.failed) checkClustersUnique(r, config);
  if (r.failed) return new ConfigResult(null, r.error);
  return new ConfigResult(config, "");
}
