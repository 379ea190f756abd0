/**
 * What the end-to-end check needs to know about one compiled sidecar, read
 * from its Envoy bootstrap (the parsed envoy.yaml) rather than from the policy:
 * so the check drives exactly the ports, endpoints and plugin JSON that Envoy
 * runs. Names follow docs/design.md (listeners `outbound_<C>`, clusters
 * `<C>_ep<i>`, the lightsub Wasm filter's StringValue configuration).
 */

export interface EndpointView {
  /** Envoy cluster of this one endpoint: `<service>_ep<index>`. */
  cluster: string;
  /** The `endpoint` label of its metrics. */
  stat: string;
  address: string;
  port: number;
}

export interface DestinationView {
  service: string;
  strategy: string;
  /** Port of the caller's outbound listener for this service (on 127.0.0.1). */
  listenerPort: number;
  /** In the plugin's order: index i is cluster `<service>_ep<i>`. */
  endpoints: EndpointView[];
}

export interface StatsTagView {
  tag_name: string;
  regex: string;
}

export interface SidecarView {
  service: string;
  adminPort: number;
  /**
   * The plugin JSON of the whole sidecar: the first outbound listener's, with
   * the destinations of every outbound listener (each carries only its own)
   * and without its `scope` (route-scoped: one filter for all destinations).
   */
  pluginJson: string;
  statsTags: StatsTagView[];
  destinations: DestinationView[];
}

type Json = Record<string, unknown>;

function obj(value: unknown, what: string): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`sidecar config: ${what} is not an object`);
  return value as Json;
}

function arr(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`sidecar config: ${what} is not a list`);
  return value;
}

function socketAddress(address: unknown, what: string): { address: string; port: number } {
  const sa = obj(obj(address, what).socket_address, `${what}.socket_address`);
  if (typeof sa.address !== "string" || typeof sa.port_value !== "number") {
    throw new Error(`sidecar config: ${what} has no address/port_value`);
  }
  return { address: sa.address, port: sa.port_value };
}

/** The configuration string of the first lightsub Wasm filter found anywhere in the bootstrap. */
function findPluginJson(node: unknown): string | undefined {
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = findPluginJson(item);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (typeof node !== "object" || node === null) return undefined;
  const record = node as Json;
  if (record.name === "envoy.filters.http.wasm") {
    const value = ((record.typed_config as Json | undefined)?.config as Json | undefined)?.configuration as Json | undefined;
    if (typeof value?.value === "string") return value.value;
  }
  for (const child of Object.values(record)) {
    const found = findPluginJson(child);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * Reads a caller's sidecar bootstrap (parsed YAML). Throws naming the part
 * that is missing. The sidecar of a service that calls nobody (inbound only)
 * has no destinations and an empty `pluginJson`.
 */
export function readSidecarView(bootstrap: unknown): SidecarView {
  const root = obj(bootstrap, "the bootstrap");
  const service = obj(root.node, "node").cluster;
  if (typeof service !== "string") throw new Error("sidecar config: node.cluster (the service name) is missing");
  const adminPort = socketAddress(obj(root.admin, "admin").address, "admin.address").port;
  const statsTags = arr(obj(root.stats_config, "stats_config").stats_tags, "stats_config.stats_tags").map((t, i) => {
    const tag = obj(t, `stats_tags[${i}]`);
    return { tag_name: String(tag.tag_name), regex: String(tag.regex) };
  });

  const resources = obj(root.static_resources, "static_resources");
  const listenerPorts = new Map<string, number>();
  for (const [i, l] of arr(resources.listeners, "listeners").entries()) {
    const listener = obj(l, `listeners[${i}]`);
    if (typeof listener.name === "string" && listener.name.startsWith("outbound_")) {
      listenerPorts.set(listener.name.slice("outbound_".length), socketAddress(listener.address, `listener ${listener.name}`).port);
    }
  }
  const clusterAddresses = new Map<string, { address: string; port: number }>();
  for (const [i, c] of arr(resources.clusters, "clusters").entries()) {
    const cluster = obj(c, `clusters[${i}]`);
    const endpoints = arr(obj(cluster.load_assignment, `cluster ${cluster.name}.load_assignment`).endpoints, "endpoints");
    const lb = arr(obj(endpoints[0], `cluster ${cluster.name} endpoints[0]`).lb_endpoints, "lb_endpoints");
    if (lb.length === 1) {
      const endpoint = obj(obj(lb[0], "lb_endpoints[0]").endpoint, "endpoint");
      clusterAddresses.set(String(cluster.name), socketAddress(endpoint.address, `cluster ${cluster.name} endpoint`));
    }
  }

  // Each outbound listener's filter carries only its own destination (docs/design.md):
  // the sidecar's destinations are those of all its listeners, in listener order.
  const listenerPlugins = arr(resources.listeners, "listeners")
    .map((l) => findPluginJson(l))
    .filter((json): json is string => json !== undefined)
    .map((json) => obj(JSON.parse(json), "plugin JSON"));
  if (listenerPlugins.length === 0) {
    // A service that calls nobody has only its inbound listener and no filter: nothing to drive on it.
    if (listenerPorts.size === 0) return { service, adminPort, pluginJson: "", statsTags, destinations: [] };
    throw new Error(`sidecar config of "${service}": no lightsub Wasm filter`);
  }
  const allDestinations = listenerPlugins.flatMap((p) => arr(p.destinations, "plugin destinations"));
  // One config with every destination, for a check that runs one filter for the whole sidecar:
  // not a listener's own (no `scope: "listener"`), so the filter finds each request's destination by its route.
  const shared: Json = { ...listenerPlugins[0]! };
  delete shared.scope;
  const pluginJson = JSON.stringify({ ...shared, destinations: allDestinations });
  const destinations = allDestinations.map((d, i): DestinationView => {
    const dest = obj(d, `destinations[${i}]`);
    const name = String(dest.service);
    const listenerPort = listenerPorts.get(name);
    if (listenerPort === undefined) throw new Error(`sidecar config: no listener outbound_${name}`);
    const endpoints = arr(dest.endpoints, `destination ${name} endpoints`).map((e, k) => {
      const ep = obj(e, `destination ${name} endpoints[${k}]`);
      const cluster = String(ep.cluster);
      const at = clusterAddresses.get(cluster);
      if (!at) throw new Error(`sidecar config: no single-host cluster ${cluster}`);
      return { cluster, stat: String(ep.stat), ...at };
    });
    return { service: name, strategy: String(dest.strategy), listenerPort, endpoints };
  });
  return { service, adminPort, pluginJson, statsTags, destinations };
}
