/**
 * The lightsub plugin configuration (JSON, version 1) of one sidecar, exactly
 * as docs/design.md fixes it; filter/lightsub/config.ts reads it.
 *
 * Key order is fixed (the order written here) so the output is deterministic.
 * Strategy parameters are written only for the strategy that reads them.
 */
import { SCHEDULING_HEADER, type FailMode, type HashOn, type MeshModel, type ServiceModel } from "../model.js";
import type { JsonObject } from "./json.js";
import { MeshIndex } from "./mesh-index.js";

export const PLUGIN_CONFIG_VERSION = 1;

/** The plugin JSON object for `service`'s sidecar; `failMode` is the top-level mode the filter applies. */
export function pluginConfig(index: MeshIndex, service: ServiceModel, failMode: FailMode): JsonObject {
  return {
    version: PLUGIN_CONFIG_VERSION,
    service: service.name,
    header: SCHEDULING_HEADER,
    failMode,
    destinations: service.calls.map((call) => destination(index.service(call.service))),
  };
}

/**
 * `JSON.stringify(pluginConfig(...))`, assembled from each destination's JSON
 * text, which is built once per called service and shared by all callers.
 */
export function pluginConfigJson(index: MeshIndex, service: ServiceModel, failMode: FailMode): string {
  const destinations = service.calls.map((call) =>
    index.perCallee("plugin-destination", call.service, (callee) => JSON.stringify(destination(callee))),
  );
  return (
    `{"version":${PLUGIN_CONFIG_VERSION},"service":${JSON.stringify(service.name)},` +
    `"header":${JSON.stringify(SCHEDULING_HEADER)},"failMode":${JSON.stringify(failMode)},` +
    `"destinations":[${destinations.join(",")}]}`
  );
}

/**
 * The plugin JSON of `service`'s sidecar, for tools that drive the filter
 * without Envoy (tests, the simulator). `failMode` defaults to the mode all
 * called services share; when they differ, each outbound listener gets its
 * own (bootstrap.ts) and the caller must say which one it wants.
 */
export function sidecarPluginJson(model: MeshModel, service: string, failMode?: FailMode): string {
  const index = new MeshIndex(model);
  const self = index.service(service);
  if (failMode === undefined) {
    const modes = new Set(self.calls.map((c) => index.service(c.service).failMode));
    if (modes.size > 1) throw new Error(`service "${service}": its destinations differ in failMode; pass the one wanted`);
    failMode = modes.values().next().value ?? "open";
  }
  return pluginConfigJson(index, self, failMode);
}

function destination(callee: ServiceModel): JsonObject {
  const s = callee.scheduler;
  const dest: JsonObject = { service: callee.name, cluster: callee.name, strategy: s.strategy };
  switch (s.strategy) {
    case "least_latency":
      dest.decayMs = s.decayMs;
      break;
    case "availability":
      dest.windowMs = s.windowMs;
      dest.errorThreshold = s.errorThreshold;
      dest.minRequests = s.minRequests;
      dest.probeIntervalMs = s.probeIntervalMs;
      break;
    case "consistent_hash":
      if (!s.hashOn) throw new Error(`service "${callee.name}": consistent_hash without hashOn`);
      dest.hashOn = hashOnJson(s.hashOn);
      break;
    default:
      break;
  }
  dest.endpoints = callee.endpoints.map((ep) => ({ cluster: ep.cluster, stat: ep.stat, weight: ep.weight }));
  return dest;
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
