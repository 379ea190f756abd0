// Plugin configuration v1 (docs/design.md): parse and validate into typed
// classes. The first problem found is reported as one message naming the
// field by its path, e.g. "destinations[0].endpoints[1].weight must be a
// positive integer" (reader.ts). Unknown keys are ignored (forward compatibility).
//
// `scope` says how a request's destination is found. "route" (the default, and
// the only way before it existed): the route's cluster (xds.cluster_name) names
// it, so one configuration may list several destinations. "listener": the
// configuration belongs to one outbound listener, whose every request goes to
// its one destination (the compiler writes it so: compiler/envoy/plugin-config.ts);
// the filter then reads no property per request.
import {
  SCHEDULING_HEADER, STRATEGY_AVAILABILITY, STRATEGY_CONSISTENT_HASH, STRATEGY_LEAST_LATENCY, STRATEGY_LEAST_LOAD,
  STRATEGY_RANDOM, STRATEGY_ROUND_ROBIN, STRATEGY_WEIGHTED,
} from "../base/wire";
import { AdmissionConfig, readAdmission } from "./admission";
import { JsonKind, JsonValue, parseJson } from "./json";
import { CLUSTER_CHARS, Reader, SERVICE_CHARS, STAT_CHARS, TOKEN_CHARS, asciiLower, elementPath } from "./reader";

const MAX_CONFIG_BYTES: i32 = 1 << 20;
export const MAX_DESTINATIONS: i32 = 64;
export const MAX_ENDPOINTS: i32 = 256;
export const MAX_WEIGHT: i32 = 10000;
const MAX_DURATION_MS: i32 = 86400000;
const MAX_MIN_REQUESTS: i32 = 1000000;
const MAX_EJECT_AFTER: i32 = 1000000;

export enum StrategyKind { RoundRobin, Random, Weighted, LeastLoad, LeastLatency, Availability, ConsistentHash }

/** Strategy names by StrategyKind. */
const STRATEGY_NAMES: string[] = [
  STRATEGY_ROUND_ROBIN, STRATEGY_RANDOM, STRATEGY_WEIGHTED, STRATEGY_LEAST_LOAD, STRATEGY_LEAST_LATENCY,
  STRATEGY_AVAILABILITY, STRATEGY_CONSISTENT_HASH,
];
/** STRATEGY_NAMES joined (concatenated: Array#join would add its code for one error message). */
const STRATEGY_LIST = STRATEGY_ROUND_ROBIN + ", " + STRATEGY_RANDOM + ", " + STRATEGY_WEIGHTED + ", " + STRATEGY_LEAST_LOAD +
  ", " + STRATEGY_LEAST_LATENCY + ", " + STRATEGY_AVAILABILITY + ", " + STRATEGY_CONSISTENT_HASH;

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
  /** Ejection (records/shared.ts Ejection): failures in a row, and the base ejection time. */
  ejectAfter: i32 = 5;
  ejectionMs: i32 = 1000;
  hashSource: HashSource = HashSource.None;
  /** Header or cookie name for consistent_hash (headers lowercased). */
  hashName: string = "";
  endpoints: EndpointConfig[] = [];
  /** Task admission (issue 8); null: no limit, no queue. */
  admission: AdmissionConfig | null = null;
  /** Endpoint clusters back each endpoint up with others (docs/design.md "Failover"): read which host served. */
  failover: bool = false;
}

/** `scope` values (docs/design.md "Plugin configuration"). */
const SCOPE_ROUTE = "route";
const SCOPE_LISTENER = "listener";

export class PluginConfig {
  service: string = "";
  header: string = SCHEDULING_HEADER;
  failClosed: bool = false;
  /** `scope: "listener"`: every request through this configuration's filter is its one destination's. */
  listenerScoped: bool = false;
  destinations: DestinationConfig[] = [];
}

export class ConfigResult {
  constructor(public config: PluginConfig | null, public error: string) {}
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
  d.ejectAfter = r.integer(obj.get("ejectAfter"), path, "ejectAfter", 1, MAX_EJECT_AFTER, d.ejectAfter);
  d.ejectionMs = r.integer(obj.get("ejectionMs"), path, "ejectionMs", 1, MAX_DURATION_MS, d.ejectionMs);
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
  const scope = root.get("scope");
  if (scope != null) {
    if (scope.kind == JsonKind.String && scope.str == SCOPE_LISTENER) config.listenerScoped = true;
    else if (scope.kind != JsonKind.String || scope.str != SCOPE_ROUTE) {
      r.fail("scope must be \"" + SCOPE_ROUTE + "\" or \"" + SCOPE_LISTENER + "\"");
    }
  }
  const destinations = r.array(r.field(root, "", "destinations", true), "", "destinations", MAX_DESTINATIONS, true);
  if (destinations != null) {
    for (let i = 0; i < destinations.length && !r.failed; i++) {
      config.destinations.push(readDestination(r, destinations.at(i), elementPath("destinations", i)));
    }
    // A listener's requests all go to one destination: with none or several, which one is unknowable.
    if (!r.failed && config.listenerScoped && config.destinations.length != 1) {
      r.fail("scope \"" + SCOPE_LISTENER + "\" needs exactly one destination, not " + config.destinations.length.toString());
    }
  }
  if (!r.failed) checkClustersUnique(r, config);
  if (r.failed) return new ConfigResult(null, r.error);
  return new ConfigResult(config, "");
}
