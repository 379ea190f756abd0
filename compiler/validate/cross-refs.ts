/**
 * Checks across resources of a static bootstrap that the protos cannot
 * express: unique cluster and listener names, listeners on distinct
 * addresses, every listener with a filter chain, IP addresses wherever Envoy
 * resolves no names (listeners, admin, endpoints of clusters that are not
 * DNS clusters), every HTTP connection manager with an inline route_config (a
 * static bootstrap has no RDS) and the router as its last HTTP filter, each
 * domain in one virtual host of a route config, and every cluster a route
 * names — `cluster`, `weighted_clusters`, and for `cluster_header` routes the
 * names their header match allows — defined.
 */
import { isIP } from "node:net";
import { fieldPath, indexPath, isPlainObject, type ValidationError } from "./errors.js";

const HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";
/** `^(?:a|b|c)$` or `^a$` with plain names: a header match that allows exactly these values. */
const NAME_ALTERNATION = /^\^(?:\(\?:)?([A-Za-z0-9_.\-|]+?)\)?\$$/;
const WILDCARDS = new Set(["0.0.0.0", "::", "[::]"]);
/** Cluster types whose endpoint addresses are host names Envoy resolves with DNS. */
const DNS_CLUSTER_TYPES = new Set(["STRICT_DNS", "LOGICAL_DNS", 1, 2]);

type Obj = Record<string, unknown>;

/** A cluster name a route config refers to, at a path relative to the route config. */
interface ClusterRef {
  name: string;
  path: string;
  /** The name is one value a cluster_header match allows (rather than a route's target). */
  viaHeader?: string;
}

/** Route configs compiler/envoy shares (frozen) are scanned once. */
const refsOfFrozen = new WeakMap<object, ClusterRef[]>();

export function crossReferenceErrors(bootstrap: unknown): ValidationError[] {
  const out: ValidationError[] = [];
  if (!isPlainObject(bootstrap)) return out;
  const resources = bootstrap.static_resources;
  if (!isPlainObject(resources)) return out;
  const clustersPath = "static_resources.clusters";
  const listenersPath = "static_resources.listeners";
  const clusters = Array.isArray(resources.clusters) ? resources.clusters : [];
  const listeners = Array.isArray(resources.listeners) ? resources.listeners : [];

  const clusterNames = uniqueNames(clusters, clustersPath, "cluster", out);
  uniqueNames(listeners, listenersPath, "listener", out);
  distinctAddresses(listeners, listenersPath, bootstrap, out);
  const admin = bootstrap.admin;
  if (isPlainObject(admin)) ipAddress(admin.address, fieldPath("admin", "address"), out);
  for (let i = 0; i < listeners.length; i++) {
    const listener = listeners[i];
    if (isPlainObject(listener)) checkListener(listener, indexPath(listenersPath, i), clusterNames, out);
  }
  for (let i = 0; i < clusters.length; i++) {
    const cluster = clusters[i];
    if (isPlainObject(cluster)) staticEndpointAddresses(cluster, indexPath(clustersPath, i), out);
  }
  return out;
}

/**
 * Without a `resolver_name`, Envoy reads a socket address as an IP literal
 * ("malformed IP address: localhost"); only DNS clusters resolve their
 * endpoints' names.
 */
function ipAddress(address: unknown, path: string, out: ValidationError[]): void {
  if (!isPlainObject(address)) return;
  const sa = address.socket_address;
  if (!isPlainObject(sa) || typeof sa.address !== "string" || sa.address === "") return;
  if (typeof sa.resolver_name === "string" && sa.resolver_name !== "") return;
  const host = sa.address.startsWith("[") && sa.address.endsWith("]") ? sa.address.slice(1, -1) : sa.address;
  if (!isIpLiteral(host)) {
    out.push({ path: fieldPath(fieldPath(path, "socket_address"), "address"), message: `"${sa.address}" is not an IP address (Envoy resolves names only for the endpoints of STRICT_DNS and LOGICAL_DNS clusters)` });
  }
}

/** isIP(host) !== 0, remembered for the few addresses every sidecar repeats (its listeners', the admin's). */
const ipLiterals = new Map<string, boolean>();

function isIpLiteral(host: string): boolean {
  let literal = ipLiterals.get(host);
  if (literal === undefined) {
    literal = isIP(host) !== 0;
    if (ipLiterals.size < 1024) ipLiterals.set(host, literal);
  }
  return literal;
}

function staticEndpointAddresses(cluster: Obj, path: string, out: ValidationError[]): void {
  if (cluster.cluster_type !== undefined || DNS_CLUSTER_TYPES.has(cluster.type as string | number)) return;
  const assignment = cluster.load_assignment;
  if (!isPlainObject(assignment) || !Array.isArray(assignment.endpoints)) return;
  const base = fieldPath(path, "load_assignment");
  assignment.endpoints.forEach((locality: unknown, l: number) => {
    if (!isPlainObject(locality) || !Array.isArray(locality.lb_endpoints)) return;
    locality.lb_endpoints.forEach((lb: unknown, e: number) => {
      const endpoint = isPlainObject(lb) ? lb.endpoint : undefined;
      if (!isPlainObject(endpoint)) return;
      ipAddress(endpoint.address, `${base}.endpoints[${l}].lb_endpoints[${e}].endpoint.address`, out);
    });
  });
}

/** The names of `items` (each first seen at its index), reporting duplicates. */
function uniqueNames(items: unknown[], path: string, kind: string, out: ValidationError[]): ReadonlyMap<string, number> {
  const first = new Map<string, number>();
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const name = isPlainObject(item) ? item.name : undefined;
    if (typeof name !== "string") continue;
    const seen = first.get(name);
    if (seen !== undefined) {
      out.push({ path: fieldPath(indexPath(path, i), "name"), message: `duplicate ${kind} name "${name}" (also ${indexPath(path, seen)})` });
    } else first.set(name, i);
  }
  return first;
}

interface Socket {
  host: string;
  port: number;
}

function socketOf(address: unknown): Socket | undefined {
  if (!isPlainObject(address)) return undefined;
  const sa = address.socket_address;
  if (!isPlainObject(sa)) return undefined;
  const port = Number(sa.port_value);
  if (typeof sa.address !== "string" || !Number.isInteger(port) || port === 0) return undefined;
  return { host: sa.address, port };
}

/** Two TCP sockets clash on the same port when the hosts are equal or one is a wildcard. */
function clash(a: Socket, b: Socket): boolean {
  return a.port === b.port && (a.host === b.host || WILDCARDS.has(a.host) || WILDCARDS.has(b.host));
}

function distinctAddresses(listeners: unknown[], path: string, bootstrap: Obj, out: ValidationError[]): void {
  const taken: Array<{ socket: Socket; path: string }> = [];
  const admin = bootstrap.admin;
  const adminSocket = isPlainObject(admin) ? socketOf(admin.address) : undefined;
  if (adminSocket) taken.push({ socket: adminSocket, path: "admin.address" });
  for (let i = 0; i < listeners.length; i++) {
    const listener = listeners[i];
    const socket = isPlainObject(listener) ? socketOf(listener.address) : undefined;
    if (!socket) continue;
    const at = fieldPath(indexPath(path, i), "address");
    const other = taken.find((t) => clash(t.socket, socket));
    if (other) out.push({ path: at, message: `${socket.host}:${socket.port} is already used by ${other.path}` });
    taken.push({ socket, path: at });
  }
}

const TYPED_STRUCTS = new Set(["xds.type.v3.TypedStruct", "udpa.type.v1.TypedStruct"]);

/** The message type of a typed_config (looking through a TypedStruct). */
function typeOf(typedConfig: unknown): string | undefined {
  if (!isPlainObject(typedConfig) || typeof typedConfig["@type"] !== "string") return undefined;
  const name = typeNameOf(typedConfig["@type"]);
  if (TYPED_STRUCTS.has(name) && typeof typedConfig.type_url === "string") return typeNameOf(typedConfig.type_url);
  return name;
}

/**
 * `type.googleapis.com/a.b.C` → `a.b.C`, remembered: every sidecar repeats the
 * same few type URLs, and slicing each anew was a tenth of this check's time.
 */
const typeNames = new Map<string, string>();

function typeNameOf(url: string): string {
  let name = typeNames.get(url);
  if (name === undefined) {
    name = url.slice(url.lastIndexOf("/") + 1);
    if (typeNames.size < 1024) typeNames.set(url, name);
  }
  return name;
}

function checkListener(listener: Obj, path: string, clusters: ReadonlyMap<string, number>, out: ValidationError[]): void {
  ipAddress(listener.address, fieldPath(path, "address"), out);
  const chains = Array.isArray(listener.filter_chains) ? listener.filter_chains : [];
  if (chains.length === 0 && listener.default_filter_chain == null && listener.api_listener == null) {
    out.push({ path: fieldPath(path, "filter_chains"), message: "a listener needs a filter chain (filter_chains or default_filter_chain)" });
  }
  for (let i = 0; i < chains.length; i++) checkFilterChain(chains[i], indexPath(fieldPath(path, "filter_chains"), i), clusters, out);
  if (listener.default_filter_chain !== undefined) {
    checkFilterChain(listener.default_filter_chain, fieldPath(path, "default_filter_chain"), clusters, out);
  }
}

function checkFilterChain(chain: unknown, path: string, clusters: ReadonlyMap<string, number>, out: ValidationError[]): void {
  if (!isPlainObject(chain) || !Array.isArray(chain.filters)) return;
  for (let i = 0; i < chain.filters.length; i++) {
    const filter: unknown = chain.filters[i];
    if (!isPlainObject(filter) || typeOf(filter.typed_config) !== HCM_TYPE) continue;
    const hcmPath = fieldPath(indexPath(fieldPath(path, "filters"), i), "typed_config");
    checkHttpConnectionManager(filter.typed_config as Obj, hcmPath, clusters, out);
  }
}

function checkHttpConnectionManager(hcm: Obj, path: string, clusters: ReadonlyMap<string, number>, out: ValidationError[]): void {
  const routeConfig = hcm.route_config;
  const routeConfigPath = fieldPath(path, "route_config");
  if (!isPlainObject(routeConfig)) {
    out.push({ path: routeConfigPath, message: "a static bootstrap needs an inline route_config in every HTTP connection manager" });
  } else {
    uniqueDomains(routeConfig, routeConfigPath, out);
    for (const ref of clusterRefs(routeConfig)) {
      if (clusters.has(ref.name)) continue;
      const message = ref.viaHeader
        ? `header "${ref.viaHeader}" may select undefined cluster "${ref.name}"`
        : `route to undefined cluster "${ref.name}"`;
      out.push({ path: routeConfigPath + ref.path, message });
    }
  }
  const filters = Array.isArray(hcm.http_filters) ? hcm.http_filters : [];
  const last: unknown = filters[filters.length - 1];
  if (!isPlainObject(last) || typeOf(last.typed_config) !== ROUTER_TYPE) {
    out.push({ path: fieldPath(path, "http_filters"), message: "the last HTTP filter must be the router (envoy.filters.http.router)" });
  }
}

/** Envoy gives each domain (case-insensitively) to one virtual host of a route config; "*" included. */
function uniqueDomains(routeConfig: Obj, path: string, out: ValidationError[]): void {
  const vhosts = Array.isArray(routeConfig.virtual_hosts) ? routeConfig.virtual_hosts : [];
  const first = new Map<string, string>();
  vhosts.forEach((vh: unknown, v: number) => {
    if (!isPlainObject(vh) || !Array.isArray(vh.domains)) return;
    vh.domains.forEach((domain: unknown, d: number) => {
      if (typeof domain !== "string") return;
      const at = `${path}.virtual_hosts[${v}].domains[${d}]`;
      const key = domain.toLowerCase();
      const earlier = first.get(key);
      if (earlier !== undefined) out.push({ path: at, message: `domain "${domain}" is already in ${earlier} (each domain may be in one virtual host)` });
      else first.set(key, at);
    });
  });
}

function clusterRefs(routeConfig: Obj): ClusterRef[] {
  if (!Object.isFrozen(routeConfig)) return scanRouteConfig(routeConfig);
  let refs = refsOfFrozen.get(routeConfig);
  if (!refs) {
    refs = scanRouteConfig(routeConfig);
    refsOfFrozen.set(routeConfig, refs);
  }
  return refs;
}

/** Every cluster name a route config can send to; paths start with "." (relative to the route config). */
function scanRouteConfig(routeConfig: Obj): ClusterRef[] {
  const refs: ClusterRef[] = [];
  const vhosts = Array.isArray(routeConfig.virtual_hosts) ? routeConfig.virtual_hosts : [];
  for (let v = 0; v < vhosts.length; v++) {
    const vh: unknown = vhosts[v];
    if (!isPlainObject(vh) || !Array.isArray(vh.routes)) continue;
    for (let r = 0; r < vh.routes.length; r++) {
      const route: unknown = vh.routes[r];
      if (!isPlainObject(route) || !isPlainObject(route.route)) continue;
      const routePath = `.virtual_hosts[${v}].routes[${r}]`;
      const action = route.route;
      if (typeof action.cluster === "string") refs.push({ name: action.cluster, path: `${routePath}.route.cluster` });
      const weighted = action.weighted_clusters;
      if (isPlainObject(weighted) && Array.isArray(weighted.clusters)) {
        weighted.clusters.forEach((wc: unknown, i: number) => {
          if (isPlainObject(wc) && typeof wc.name === "string") {
            refs.push({ name: wc.name, path: `${routePath}.route.weighted_clusters.clusters[${i}].name` });
          }
        });
      }
      if (typeof action.cluster_header === "string") headerSelectedClusters(action.cluster_header, route.match, `${routePath}.match`, refs);
    }
  }
  return refs;
}

/** The names a `cluster_header` route can select, when its match pins the header to a list of names. */
function headerSelectedClusters(header: string, match: unknown, matchPath: string, refs: ClusterRef[]): void {
  if (!isPlainObject(match) || !Array.isArray(match.headers)) return;
  match.headers.forEach((hm: unknown, i: number) => {
    if (!isPlainObject(hm) || typeof hm.name !== "string" || hm.name.toLowerCase() !== header.toLowerCase()) return;
    const sm = hm.string_match;
    if (!isPlainObject(sm)) return;
    const smPath = `${matchPath}.headers[${i}].string_match`;
    if (typeof sm.exact === "string") {
      refs.push({ name: sm.exact, path: `${smPath}.exact`, viaHeader: header });
    } else if (isPlainObject(sm.safe_regex) && typeof sm.safe_regex.regex === "string") {
      const m = NAME_ALTERNATION.exec(sm.safe_regex.regex);
      if (!m) return;
      for (const name of m[1]!.split("|")) refs.push({ name, path: `${smPath}.safe_regex.regex`, viaHeader: header });
    }
  });
}
