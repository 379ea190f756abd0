/**
 * docker compose file for a mesh: per service instance, the app (when the
 * service has an `image`) and its Envoy sidecar from the official, pinned
 * `envoyproxy/envoy` image, with the generated config and the filter mounted
 * read-only. No custom image.
 *
 * Topology (docs/design.md): an instance is one endpoint of the service; its
 * endpoint hostname names the container that owns the instance's network
 * namespace, so callers reach `<hostname>:<meshPort>`, i.e. the sidecar's
 * inbound listener. With an image, the app owns the namespace and the sidecar
 * joins it (`network_mode: service:<app>`); without one, the sidecar owns it
 * under the hostname and an app can join it later the same way (see the
 * `lightsub.app` label and envoy/README.md). `extra_hosts` maps every called
 * service's name to 127.0.0.1 so the app's `http://<service>:<port>` reaches
 * its sidecar's outbound listener.
 *
 * Endpoints with an IPv4 literal get that address on the mesh network (with a
 * subnet that covers them); IPv6 literals are not supported here.
 */
import { isIP } from "node:net";
import type { MeshModel, ServiceModel } from "../model.js";

export interface ComposeOptions {
  /** Path of a service's Envoy config relative to the compose file. Default `./<service>/envoy.yaml`. */
  configPath?: (service: string) => string;
  /** Path of the filter relative to the compose file. Default `./lightsub.wasm`. */
  wasmPath?: string;
  /** Name of the compose network all instances join. Default `mesh`. */
  network?: string;
}

type Json = string | number | boolean | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };

/** Where Envoy's official image reads its config (its default command is `envoy -c /etc/envoy/envoy.yaml`). */
export const ENVOY_CONFIG_IN_CONTAINER = "/etc/envoy/envoy.yaml";

interface Instance {
  service: ServiceModel;
  /** Compose service name of the container that owns the network namespace (the endpoint hostname). */
  name: string;
  ipv4?: string;
}

export class ComposeConflictError extends Error {}

/** The compose file as an object (key order fixed: deterministic YAML). Throws ComposeConflictError, see composeConflicts. */
export function composeFile(model: MeshModel, opts: ComposeOptions = {}): JsonMap {
  const conflicts = composeConflicts(model);
  if (conflicts.length > 0) throw new ComposeConflictError(`cannot write docker compose for mesh "${model.name}":\n  ${conflicts.join("\n  ")}`);
  const network = opts.network ?? "mesh";
  const configPath = opts.configPath ?? ((s: string) => `./${s}/envoy.yaml`);
  const wasmPath = opts.wasmPath ?? "./lightsub.wasm";

  const instances = model.services.flatMap(instancesOf);
  const services: JsonMap = {};
  for (const inst of instances) {
    const s = inst.service;
    const labels = instanceLabels(model, s);
    const networks: JsonMap = { [network]: inst.ipv4 ? { ipv4_address: inst.ipv4 } : {} };
    const extraHosts = s.calls.map((c) => `${c.service}:127.0.0.1`);
    const sidecar: JsonMap = {
      image: model.sidecar.image,
      volumes: [`${configPath(s.name)}:${ENVOY_CONFIG_IN_CONTAINER}:ro`, `${wasmPath}:${model.sidecar.wasmPath}:ro`],
      restart: "unless-stopped",
    };
    if (s.image) {
      // The app owns the network namespace; the sidecar joins it.
      const app: JsonMap = { image: s.image, hostname: inst.name, networks };
      if (extraHosts.length > 0) app.extra_hosts = extraHosts;
      app.labels = { ...labels, "lightsub.role": "app" };
      app.restart = "unless-stopped";
      services[inst.name] = app;
      services[`${inst.name}-sidecar`] = {
        ...sidecar,
        network_mode: `service:${inst.name}`,
        depends_on: [inst.name],
        labels: { ...labels, "lightsub.role": "sidecar" },
      };
    } else {
      // No app image: the sidecar owns the namespace; run the app with network_mode: service:<name>.
      const own: JsonMap = { ...sidecar, hostname: inst.name, networks };
      if (extraHosts.length > 0) own.extra_hosts = extraHosts;
      own.labels = { ...labels, "lightsub.role": "sidecar", "lightsub.app": `run the app with network_mode: service:${inst.name}` };
      services[inst.name] = own;
    }
  }

  const networkDef: JsonMap = { driver: "bridge" };
  const subnet = ipv4Subnet(instances.flatMap((i) => (i.ipv4 ? [i.ipv4] : [])));
  if (subnet) networkDef.ipam = { config: [{ subnet }] };
  return { name: model.name, services, networks: { [network]: networkDef } };
}

/**
 * Reasons the mesh cannot run under compose as generated; the policy checker
 * can report them before compiling. Instance names must be unique, and a name
 * a caller maps to 127.0.0.1 must not be the hostname of an endpoint it dials
 * (the sidecar would resolve that endpoint to its own loopback).
 */
export function composeConflicts(model: MeshModel): string[] {
  const problems: string[] = [];
  const owner = new Map<string, string>();
  for (const s of model.services) {
    for (const inst of instancesOf(s)) {
      for (const name of s.image ? [inst.name, `${inst.name}-sidecar`] : [inst.name]) {
        const other = owner.get(name);
        if (other !== undefined) problems.push(`container name "${name}" is used by service "${other}" and service "${s.name}"`);
        else owner.set(name, s.name);
      }
    }
    for (const ep of s.endpoints) {
      if (isIP(ep.address) === 6) problems.push(`service "${s.name}": IPv6 endpoint ${ep.address} is not supported in docker compose`);
    }
  }
  const ipv4 = model.services.flatMap((s) => s.endpoints.filter((ep) => isIP(ep.address) === 4).map((ep) => ep.address));
  if (ipv4.length > 0 && new Set(ipv4.map((a) => a.split(".")[0])).size > 1) {
    problems.push(`IPv4 endpoints ${[...new Set(ipv4)].join(", ")} do not fit in one /8 compose network`);
  }
  const byName = new Map(model.services.map((s) => [s.name, s]));
  for (const caller of model.services) {
    const mapped = new Set(caller.calls.map((c) => c.service));
    for (const call of caller.calls) {
      for (const ep of byName.get(call.service)?.endpoints ?? []) {
        if (mapped.has(ep.address)) {
          problems.push(
            `service "${caller.name}" maps "${ep.address}" to 127.0.0.1 (a called service) but also dials endpoint ${ep.address}:${ep.port} of "${call.service}": give that endpoint another hostname`,
          );
        }
      }
    }
  }
  return problems;
}

/** One instance per endpoint; a service nobody dials (no endpoints) still runs one sidecar, named after it. */
function instancesOf(s: ServiceModel): Instance[] {
  if (s.endpoints.length === 0) return [{ service: s, name: s.name }];
  return s.endpoints.map((ep, i) =>
    isIP(ep.address) === 4 ? { service: s, name: `${s.name}-${i}`, ipv4: ep.address } : { service: s, name: ep.address },
  );
}

/** The ports of an instance, as labels (nothing is published to the host). */
function instanceLabels(model: MeshModel, s: ServiceModel): { [key: string]: string } {
  const labels: { [key: string]: string } = {
    "lightsub.mesh": model.name,
    "lightsub.service": s.name,
    "lightsub.app-port": String(s.port),
    "lightsub.mesh-port": String(s.meshPort),
    "lightsub.admin": `127.0.0.1:${model.sidecar.adminPort}`,
  };
  if (s.calls.length > 0) labels["lightsub.outbound"] = s.calls.map((c) => `${c.service}=127.0.0.1:${c.port}`).join(",");
  return labels;
}

/** The smallest subnet (at most /24, at least /8) containing every address, or undefined. */
function ipv4Subnet(addresses: string[]): string | undefined {
  if (addresses.length === 0) return undefined;
  const nums = addresses.map((a) => a.split(".").reduce((n, part) => n * 256 + Number(part), 0));
  let prefix = 24;
  const network = (n: number, p: number) => Math.floor(n / 2 ** (32 - p));
  while (prefix > 8 && !nums.every((n) => network(n, prefix) === network(nums[0]!, prefix))) prefix--;
  const base = network(nums[0]!, prefix) * 2 ** (32 - prefix);
  const octets = [24, 16, 8, 0].map((shift) => Math.floor(base / 2 ** shift) % 256);
  return `${octets.join(".")}/${prefix}`;
}
