/**
 * The lightsub plugin configuration (JSON, version 1) of one outbound listener,
 * exactly as docs/design.md fixes it; filter/lightsub/config/plugin.ts reads it.
 *
 * Each outbound listener carries only its own destination (the service it
 * calls), marked `"scope": "listener"`: every request through that listener
 * is that destination's, so the filter takes the destination from the
 * configuration and reads no property per request (no `xds.cluster_name`).
 * The top-level `failMode` is that destination's. Distinct configurations
 * give each outbound listener its own plugin (root context) in the one VM of
 * a worker (same vm_id and code). Key order is
 * fixed (the order written here) so the output is deterministic. Strategy
 * parameters are written only for the strategy that reads them; `admission`
 * only for a destination that has it.
 */
import type { AdmissionModel, FailMode, HashOn, MeshModel, ServiceModel } from "../model/mesh.js";
import { SCHEDULER_PARAMETERS, STRATEGY_TABLE } from "../model/strategies.js";
import { SCHEDULING_HEADER } from "../../schemas/wire.js";
import type { JsonObject } from "./json.js";
import { hasFailover } from "./failover.js";
import { MeshIndex } from "./mesh-index.js";

const PLUGIN_CONFIG_VERSION = 1;
/** `scope` of a listener's own configuration (docs/design.md; filter/lightsub/config/plugin.ts reads it). */
const LISTENER_SCOPE = "listener";

/**
 * How the filter finds a request's destination: "listener" (exactly one destination, every
 * request's) or "route" (by the route's cluster; the filter's default, written as no key).
 */
export type PluginScope = "listener" | "route";

/** Envoy's outlier detection defaults (consecutive_5xx, base_ejection_time), for a policy that leaves them out. */
const ENVOY_CONSECUTIVE_5XX_DEFAULT = 5;
const ENVOY_BASE_EJECTION_TIME_DEFAULT_MS = 30_000;

/**
 * The plugin JSON object of `service`'s filter towards `callees`; `failMode` is the top-level mode.
 * `scope` "listener" (one outbound listener's, exactly one callee) or "route" (default: no `scope` key).
 */
export function pluginConfig(service: ServiceModel, callees: readonly ServiceModel[], failMode: FailMode, scope: PluginScope = "route"): JsonObject {
  checkScope(scope, callees.length);
  return {
    version: PLUGIN_CONFIG_VERSION,
    service: service.name,
    header: SCHEDULING_HEADER,
    failMode,
    ...(scope === LISTENER_SCOPE ? { scope } : {}),
    destinations: callees.map(destination),
  };
}

/** A listener's configuration names its one destination (the filter refuses any other count). */
function checkScope(scope: PluginScope, destinations: number): void {
  if (scope === LISTENER_SCOPE && destinations !== 1) throw new Error(`a listener-scoped plugin configuration needs exactly one destination, not ${destinations}`);
}

/**
 * `JSON.stringify(pluginConfig(service, callees, failMode))`, assembled from
 * each destination's JSON text, which is built once per called service and
 * shared by all callers.
 */
export function pluginConfigJson(
  index: MeshIndex,
  service: ServiceModel,
  callees: readonly ServiceModel[],
  failMode: FailMode,
  scope: PluginScope = "route",
): string {
  checkScope(scope, callees.length);
  const destinations = callees.map((callee) =>
    index.perCallee("plugin-destination", callee.name, (c) => JSON.stringify(destination(c))),
  );
  return (
    `{"version":${PLUGIN_CONFIG_VERSION},"service":${JSON.stringify(service.name)},` +
    `"header":${JSON.stringify(SCHEDULING_HEADER)},"failMode":${JSON.stringify(failMode)},` +
    (scope === LISTENER_SCOPE ? `"scope":${JSON.stringify(scope)},` : "") +
    `"destinations":[${destinations.join(",")}]}`
  );
}

/** The plugin JSON on `service`'s outbound listener towards `callee`: that one destination, listener-scoped, with its failMode. */
export function listenerPluginJson(index: MeshIndex, service: ServiceModel, callee: ServiceModel): string {
  return pluginConfigJson(index, service, [callee], callee.failMode, LISTENER_SCOPE);
}

/**
 * The plugin JSON of `service`'s sidecar, for tools that drive the filter
 * without Envoy (tests, the simulator). With `destination`, exactly what the
 * outbound listener towards that called service carries (listener-scoped).
 * Without it, one config with all destinations of the sidecar (for a tool that
 * runs one filter for the whole sidecar: route-scoped, the filter finds each
 * request's destination by its route's cluster); its `failMode` is the one all
 * called services share, and it throws when they differ.
 */
export function sidecarPluginJson(model: MeshModel, service: string, destination?: string): string {
  const index = new MeshIndex(model);
  const self = index.service(service);
  if (destination !== undefined) {
    if (!self.calls.some((c) => c.service === destination)) throw new Error(`service "${service}" does not call "${destination}"`);
    return listenerPluginJson(index, self, index.service(destination));
  }
  const callees = self.calls.map((c) => index.service(c.service));
  const modes = new Set(callees.map((c) => c.failMode));
  if (modes.size > 1) throw new Error(`service "${service}": its destinations differ in failMode; name the destination wanted`);
  return pluginConfigJson(index, self, callees, modes.values().next().value ?? "open");
}

function destination(callee: ServiceModel): JsonObject {
  const s = callee.scheduler;
  const dest: JsonObject = { service: callee.name, cluster: callee.name, strategy: s.strategy };
  const facts = STRATEGY_TABLE[s.strategy];
  for (const parameter of facts.parameters) {
    const field = SCHEDULER_PARAMETERS[parameter];
    dest[field] = s[field];
  }
  if (facts.hashKey) {
    if (!s.hashOn) throw new Error(`service "${callee.name}": ${s.strategy} without hashOn`);
    dest.hashOn = hashOnJson(s.hashOn);
  }
  // With outlier detection, the filter ejects after the same failures in a row and for the
  // same base time as Envoy (Envoy's defaults where the policy leaves them out: 5, 30 s);
  // without, the filter's own defaults (filter/lightsub/records/shared.ts Ejection) and no keys.
  const od = callee.connector.outlierDetection;
  if (od !== undefined) {
    dest.ejectAfter = od.consecutive5xx ?? ENVOY_CONSECUTIVE_5XX_DEFAULT;
    dest.ejectionMs = od.baseEjectionTimeMs ?? ENVOY_BASE_EJECTION_TIME_DEFAULT_MS;
  }
  // Only services with admission get the key: byte-identical output for the others.
  if (callee.admission) dest.admission = admissionJson(callee.admission);
  // Endpoint clusters with failover endpoints (failover.ts): the filter reads which host served.
  if (hasFailover(callee)) dest.failover = true;
  dest.endpoints = callee.endpoints.map((ep) => ({ cluster: ep.cluster, stat: ep.stat, weight: ep.weight }));
  return dest;
}

/** The destination's `admission` object, keys in docs/design.md's order. */
function admissionJson(admission: AdmissionModel): JsonObject {
  const out: JsonObject = {
    maxInFlight: admission.maxInFlightPerEndpoint,
    maxQueue: admission.maxQueue,
    queueTimeoutMs: admission.queueTimeoutMs,
    tickMs: admission.tickMs,
  };
  if (admission.priorityHeader !== undefined) out.priorityHeader = admission.priorityHeader;
  out.levels = [...admission.levels];
  out.defaultLevel = admission.defaultLevel;
  if (admission.adaptive) {
    const { minLimit, maxLimit, windowMs } = admission.adaptive;
    out.adaptive = { minLimit, maxLimit, windowMs };
  }
  return out;
}

function hashOnJson(hashOn: HashOn): JsonObject {
  switch (hashOn.kind) {
    case "header":
      return { header: hashOn.name };
    case "cookie":
      return { cookie: hashOn.name };
    case "path":
      return { path: true };
  }
}
