/**
 * The complete Envoy bootstrap of one service's sidecar (every instance of the
 * service runs the same one).
 */
import { spiffeId, type MeshModel, type ServiceModel } from "../model/mesh.js";
import { admin } from "./admin.js";
import { calleeClusters, localAppCluster } from "./clusters.js";
import { deepFreeze } from "./freeze.js";
import type { JsonObject } from "./json.js";
import { inboundListener, outboundAddress, outboundHttpFilters, outboundListener, secureInboundListener } from "./listeners.js";
import { MeshIndex } from "./mesh-index.js";
import { sidecarNodeId } from "./names.js";
import { listenerPluginJson } from "./plugin-config.js";
import { outboundRouteConfig } from "./routes.js";
import { statsConfig, statsConfigWithCaller } from "./stats.js";
import { wasmFilter, wasmVmConfig } from "./wasm.js";

const STATS_CONFIG = deepFreeze(statsConfig());

/**
 * `service` is a ServiceModel of `model` or its name. Pass one `index` to build
 * many sidecars of the same model: what several bootstraps contain identically
 * (the clusters and route config of a called service, ...) is built once and
 * shared, deep-frozen, between them (mesh-index.ts).
 */
export function sidecarBootstrap(model: MeshModel, service: ServiceModel | string, index = new MeshIndex(model)): JsonObject {
  const self = typeof service === "string" ? index.service(service) : service;
  const callees = self.calls.map((call) => index.service(call.service));

  const outbound = self.calls.map((call, i) => {
    const callee = callees[i]!;
    return outboundListener(
      call,
      index.perCallee("routes", callee.name, outboundRouteConfig),
      outboundHttpFilters(lightsubFilter(index, self, callee)),
      index.shared("outbound-address", call.port, () => outboundAddress(call.port)),
    );
  });
  // local_app depends only on these three, so services that agree on them share one (frozen) cluster.
  const localApp = `${self.port}/${self.protocol}/${self.connector.connectTimeoutMs}`;
  const clusters = [index.shared("local-app", localApp, () => localAppCluster(self))];
  for (const callee of callees) clusters.push(...index.perCallee("clusters", callee.name, (c) => calleeClusters(c, model.security)));

  return {
    node: { id: sidecarNodeId(model.name, self.name), cluster: self.name },
    admin: index.shared("admin", model.sidecar.adminPort, () => admin(model.sidecar.adminPort)),
    stats_config: model.security ? statsConfigWithCaller(spiffeId(model.security.trustDomain, self.name)) : STATS_CONFIG,
    static_resources: { listeners: [model.security ? secureInboundListener(model, self) : inboundListener(self), ...outbound], clusters },
  };
}

/** The lightsub filter of `self`'s outbound listener towards `callee` (its own plugin JSON: one destination). */
function lightsubFilter(index: MeshIndex, self: ServiceModel, callee: ServiceModel): JsonObject {
  const wasmPath = index.model.sidecar.wasmPath;
  return wasmFilter({
    wasmPath,
    pluginJson: listenerPluginJson(index, self, callee),
    failMode: callee.failMode,
    vmConfig: index.shared("wasm-vm-config", wasmPath, () => wasmVmConfig(wasmPath)),
  });
}
