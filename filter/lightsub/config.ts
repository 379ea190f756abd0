// Plugin configuration v1 (docs/design.md): parse and validate into typed
// classes. The first problem found is reported as one message naming the
// field by its path, e.g. "destinations[0].endpoints[1].weight must be a
// positive integer". Unknown keys are ignored (forward compatibility).
import { JsonKind, JsonValue, parseJson } from "./json";
import { AdmissionConfig, readAdmission } from "./admission/config";

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

function charAllowed(c: i32, charset: i32): bool {
  if (isAlnum(c) || c == 0x2d || c == 0x5f) return true; // alnum - _
  if (charset == CLUSTER_CHARS) return c == 0x2e || c == 0x3a;
  if (charset == TOKEN_CHARS) return "!#$%&'*+.^`|~".indexOf(String.fromCharCode(c)) >= 0;
  return false;
}

function describeCharset(charset: i32): string {
  if (charset == CLUSTER_CHARS) return "[A-Za-z0-9_.:-]";
  if (charset == TOKEN_CHARS) return "HTTP token characters";
  return "[A-Za-z0-9_-]";
}

export class Reader {
  error: string = "";

  get failed(): bool { return this.error.length > 0; }

  fail(message: string): void {
    if (this.error.length == 0) this.error = message;
  }

  /** A required member; reports "<path> is required" when missing. */
  member(obj: JsonValue, key: string, path: string): JsonValue | null {
    const v = obj.get(key);
    if (v == null) this.fail(path + " is required");
    return v;
  }

  name(v: JsonValue | null, path: string, charset: i32, maxLength: i32): string {
    if (v == null) return "";
    if (v.kind != JsonKind.String) {
      this.fail(path + " must be a string");
      return "";
    }
    const s = v.str;
    if (s.length == 0 || s.length > maxLength) {
      this.fail(path + " must be 1 to " + maxLength.toString() + " characters long");
      return "";
    }
    for (let i = 0; i < s.length; i++) {
      if (!charAllowed(s.charCodeAt(i), charset)) {
        this.fail(path + " must contain only " + describeCharset(charset));
        return "";
      }
    }
    return s;
  }

  positiveInteger(v: JsonValue | null, path: string, max: i32, fallback: i32): i32 {
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number || !isFinite(v.num) || v.num != Math.floor(v.num) || v.num < 1) {
      this.fail(path + " must be a positive integer");
      return fallback;
    }
    if (v.num > <f64>max) {
      this.fail(path + " must be at most " + max.toString());
      return fallback;
    }
    return <i32>v.num;
  }

  fraction(v: JsonValue | null, path: string, fallback: f64): f64 {
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number || !(v.num >= 0 && v.num <= 1)) {
      this.fail(path + " must be a number between 0 and 1");
      return fallback;
    }
    return v.num;
  }

  array(v: JsonValue | null, path: string, max: i32, allowEmpty: bool): JsonValue | null {
    if (v == null) return null;
    if (v.kind != JsonKind.Array || (!allowEmpty && v.length == 0)) {
      this.fail(path + (allowEmpty ? " must be an array" : " must be a non-empty array"));
      return null;
    }
    if (v.length > max) {
      this.fail(path + " must have at most " + max.toString() + " entries");
      return null;
    }
    return v;
  }

  object(v: JsonValue | null, path: string): JsonValue | null {
    if (v == null) return null;
    if (v.kind != JsonKind.Object) {
      this.fail(path + " must be an object");
      return null;
    }
    return v;
  }
}

function readEndpoint(r: Reader, v: JsonValue, path: string): EndpointConfig {
  const e = new EndpointConfig();
  const obj = r.object(v, path);
  if (obj == null) return e;
  e.cluster = r.name(r.member(obj, "cluster", path + ".cluster"), path + ".cluster", CLUSTER_CHARS, 255);
  e.stat = r.name(r.member(obj, "stat", path + ".stat"), path + ".stat", STAT_CHARS, 128);
  e.weight = r.positiveInteger(obj.get("weight"), path + ".weight", MAX_WEIGHT, 1);
  return e;
}

function readHashOn(r: Reader, d: DestinationConfig, v: JsonValue | null, path: string): void {
  if (v == null) {
    if (d.strategy == StrategyKind.ConsistentHash) r.fail(path + " is required for consistent_hash");
    return;
  }
  const obj = r.object(v, path);
  if (obj == null) return;
  const header = obj.get("header");
  const cookie = obj.get("cookie");
  const byPath = obj.get("path");
  const count = (header != null ? 1 : 0) + (cookie != null ? 1 : 0) + (byPath != null ? 1 : 0);
  if (count != 1) {
    r.fail(path + " must have exactly one of header, cookie, path");
    return;
  }
  if (header != null) {
    d.hashSource = HashSource.Header;
    d.hashName = asciiLower(r.name(header, path + ".header", TOKEN_CHARS, 128));
  } else if (cookie != null) {
    d.hashSource = HashSource.Cookie;
    d.hashName = r.name(cookie, path + ".cookie", TOKEN_CHARS, 128);
  } else if (byPath != null) {
    if (byPath.kind != JsonKind.Bool || !byPath.bool) {
      r.fail(path + ".path must be true");
      return;
    }
    d.hashSource = HashSource.Path;
  }
}

function readDestination(r: Reader, v: JsonValue, path: string): DestinationConfig {
  const d = new DestinationConfig();
  const obj = r.object(v, path);
  if (obj == null) return d;
  d.service = r.name(r.member(obj, "service", path + ".service"), path + ".service", SERVICE_CHARS, 63);
  d.cluster = r.name(r.member(obj, "cluster", path + ".cluster"), path + ".cluster", CLUSTER_CHARS, 255);
  const strategy = r.member(obj, "strategy", path + ".strategy");
  if (strategy != null) {
    const index = strategy.kind == JsonKind.String ? STRATEGY_NAMES.indexOf(strategy.str) : -1;
    if (index < 0) r.fail(path + ".strategy must be one of " + STRATEGY_NAMES.join(", "));
    else d.strategy = index;
  }
  d.decayMs = r.positiveInteger(obj.get("decayMs"), path + ".decayMs", MAX_DURATION_MS, d.decayMs);
  d.windowMs = r.positiveInteger(obj.get("windowMs"), path + ".windowMs", MAX_DURATION_MS, d.windowMs);
  d.errorThreshold = r.fraction(obj.get("errorThreshold"), path + ".errorThreshold", d.errorThreshold);
  d.minRequests = r.positiveInteger(obj.get("minRequests"), path + ".minRequests", MAX_MIN_REQUESTS, d.minRequests);
  d.probeIntervalMs = r.positiveInteger(obj.get("probeIntervalMs"), path + ".probeIntervalMs", MAX_DURATION_MS, d.probeIntervalMs);
  if (r.failed) return d;
  d.admission = readAdmission(r, obj.get("admission"), path + ".admission");
  if (r.failed) return d;
  readHashOn(r, d, obj.get("hashOn"), path + ".hashOn");
  const endpoints = r.array(r.member(obj, "endpoints", path + ".endpoints"), path + ".endpoints", MAX_ENDPOINTS, false);
  if (endpoints == null) return d;
  for (let i = 0; i < endpoints.length && !r.failed; i++) {
    const ep = readEndpoint(r, endpoints.at(i), path + ".endpoints[" + i.toString() + "]");
    for (let j = 0; j < d.endpoints.length && !r.failed; j++) {
      if (d.endpoints[j].stat == ep.stat) {
        r.fail(path + ".endpoints[" + i.toString() + "].stat duplicates endpoints[" + j.toString() + "].stat");
      }
    }
    d.endpoints.push(ep);
  }
  return d;
}

/** Checks that every Envoy cluster name appears once in the whole configuration. */
function checkClustersUnique(r: Reader, config: PluginConfig): void {
  const seen = new Map<string, string>();
  for (let i = 0; i < config.destinations.length; i++) {
    const d = config.destinations[i];
    const dPath = "destinations[" + i.toString() + "]";
    const names = [d.cluster];
    const paths = [dPath + ".cluster"];
    for (let j = 0; j < d.endpoints.length; j++) {
      names.push(d.endpoints[j].cluster);
      paths.push(dPath + ".endpoints[" + j.toString() + "].cluster");
    }
    for (let k = 0; k < names.length; k++) {
      if (seen.has(names[k])) {
        r.fail(paths[k] + " duplicates " + seen.get(names[k]) + " (\"" + names[k] + "\")");
        return;
      }
      seen.set(names[k], paths[k]);
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
  const version = r.member(root, "version", "version");
  if (version != null && (version.kind != JsonKind.Number || version.num != 1)) r.fail("version must be 1");
  config.service = r.name(r.member(root, "service", "service"), "service", SERVICE_CHARS, 63);
  const header = root.get("header");
  if (header != null) config.header = asciiLower(r.name(header, "header", TOKEN_CHARS, 128));
  const failMode = root.get("failMode");
  if (failMode != null) {
    if (failMode.kind == JsonKind.String && failMode.str == "closed") config.failClosed = true;
    else if (failMode.kind != JsonKind.String || failMode.str != "open") r.fail("failMode must be \"open\" or \"closed\"");
  }
  const destinations = r.array(r.member(root, "destinations", "destinations"), "destinations", MAX_DESTINATIONS, true);
  if (destinations != null) {
    for (let i = 0; i < destinations.length && !r.failed; i++) {
      config.destinations.push(readDestination(r, destinations.at(i), "destinations[" + i.toString() + "]"));
    }
  }
  if (!r.failed) checkClustersUnique(r, config);
  if (r.failed) return new ConfigResult(null, r.error);
  return new ConfigResult(config, "");
}
