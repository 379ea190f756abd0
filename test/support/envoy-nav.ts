/** Navigation helpers over generated bootstrap objects (loosely typed JSON) for tests. */
import type { JsonObject } from "../../compiler/envoy/json.js";

/** Loose view of generated JSON: tests read fields by name. */
export type Node = any;

export function listeners(b: JsonObject): Node[] {
  return (b as Node).static_resources.listeners;
}

export function clusters(b: JsonObject): Node[] {
  return (b as Node).static_resources.clusters;
}

export function cluster(b: JsonObject, name: string): Node {
  const c = clusters(b).find((x) => x.name === name);
  if (!c) throw new Error(`no cluster ${name}`);
  return c;
}

export function listener(b: JsonObject, name: string): Node {
  const l = listeners(b).find((x) => x.name === name);
  if (!l) throw new Error(`no listener ${name}`);
  return l;
}

/** The HTTP connection manager typed_config of a listener (its only network filter). */
export function hcm(l: Node): Node {
  const filters = l.filter_chains.flatMap((fc: Node) => fc.filters);
  const found = filters.filter((f: Node) => f.name === "envoy.filters.network.http_connection_manager");
  if (found.length !== 1) throw new Error(`listener ${l.name}: ${found.length} HTTP connection managers`);
  return found[0].typed_config;
}

export function routeConfig(l: Node): Node {
  return hcm(l).route_config;
}

export function wasmConfig(l: Node): Node {
  const f = hcm(l).http_filters.find((x: Node) => x.name === "envoy.filters.http.wasm");
  return f?.typed_config.config;
}
