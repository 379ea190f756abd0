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
import { CERTS_DIR_IN_CONTAINER, type MeshModel, type ServiceModel } from "../model/mesh.js";

export interface ComposeOptions {
  /** Path of a service's Envoy config relative to the compose file. Default `./<service>/envoy.yaml`. */
  configPath?: (service: string) => string;
  /** Path of the filter relative to the compose file. Default `./lightsub.wasm`. */
  wasmPath?: string;
  /** Name of the compose network all instances join. Default `mesh`. */
  network?: string;
  /**
   * With mTLS (model.security): the directory `lightsub certs` wrote, relative
   * to the compose file; each sidecar mounts `<certsDir>/<service>` read-only.
   * Default `../<mesh name>-certs` (defaultCertsDir). The CA key
   * (`<certsDir>/ca/`) is never mounted.
   */
  certsDir?: string;
}

/** Where compose looks for a mesh's certificates unless told: beside the compile output, named after the mesh. */
function defaultCertsDir(meshName: string): string {
  return `../${meshName}-certs`;
}

type Json = string | number | boolean | Json[] | { [key: string]: Json };
export type JsonMap = { [key: string]: Json };

/** Where Envoy's official image reads its config (its default command is `envoy -c /etc/envoy/envoy.yaml`). */
export const ENVOY_CONFIG_IN_CONTAINER = "/etc/envoy/envoy.yaml";

export interface ComposeInstance {
  service: ServiceModel;
  /** Compose service name of the container that owns the network namespace (the endpoint hostname). */
  name: string;
  ipv4?: string;
  /** Index of the endpoint this instance serves; undefined for the one instance of a service without endpoints. */
  endpoint?: number;
}

export class ComposeConflictError extends Error {}

/** The compose file as an object (key order fixed: deterministic YAML). Throws ComposeConflictError, see composeConflicts. */
export function composeFile(model: MeshModel, opts: ComposeOptions = {}): JsonMap {
  const conflicts = composeConflicts(model);
  if (conflicts.length > 0) {
    throw new ComposeConflictError(`cannot write docker compose for mesh "${model.name}":\n  ${conflicts.map((c) => c.message).join("\n  ")}`);
  }
  return composeFileOfCheckedModel(model, opts);
}

/**
 * composeFile for a model whose composeConflicts are known to be empty (compile:
 * the policy check has just computed them); a 10,000-service mesh need not pay twice.
 */
export function composeFileOfCheckedModel(model: MeshModel, opts: ComposeOptions = {}): JsonMap {
  const services: JsonMap = {};
  const instances: ComposeInstance[] = [];
  for (const [name, service] of composeServices(model, opts, instances)) services[name] = service;
  return { name: model.name, services, networks: composeNetworks(instances, opts) };
}

/** Compose services (name, definition) in file order; every instance is also pushed to `instances`. */
export function* composeServices(model: MeshModel, opts: ComposeOptions, instances: ComposeInstance[]): Generator<[string, JsonMap]> {
  const network = opts.network ?? "mesh";
  const configPath = opts.configPath ?? ((s: string) => `./${s}/envoy.yaml`);
  const wasmPath = opts.wasmPath ?? "./lightsub.wasm";
  // What is the same for every instance of a service is built once per service
  // (10,000 services: the spreads and joins per instance were most of the time).
  for (const s of model.services) {
    const labels = instanceLabels(model, s);
    const extraHosts = s.calls.map((c) => `${c.service}:127.0.0.1`);
    const volumes = [`${configPath(s.name)}:${ENVOY_CONFIG_IN_CONTAINER}:ro`, `${wasmPath}:${model.sidecar.wasmPath}:ro`];
    if (model.security) volumes.push(`${opts.certsDir ?? defaultCertsDir(model.name)}/${s.name}:${CERTS_DIR_IN_CONTAINER}:ro`);
    const appLabels = s.image ? { ...labels, "lightsub.role": "app" } : undefined;
    const sidecarLabels = s.image ? { ...labels, "lightsub.role": "sidecar" } : undefined;
    for (const inst of instancesOf(s)) {
      instances.push(inst);
      const networks: JsonMap = {};
      networks[network] = inst.ipv4 ? { ipv4_address: inst.ipv4 } : {};
      if (s.image) {
        // The app owns the network namespace; the sidecar joins it.
        const app: JsonMap = { image: s.image, hostname: inst.name, networks };
        if (extraHosts.length > 0) app.extra_hosts = [...extraHosts];
        app.labels = { ...appLabels! };
        app.restart = "unless-stopped";
        yield [inst.name, app];
        yield [
          `${inst.name}-sidecar`,
          {
            image: model.sidecar.image,
            volumes: [...volumes],
            restart: "unless-stopped",
            network_mode: `service:${inst.name}`,
            depends_on: [inst.name],
            labels: { ...sidecarLabels! },
          },
        ];
      } else {
        // No app image: the sidecar owns the namespace; run the app with network_mode: service:<name>.
        const own: JsonMap = { image: model.sidecar.image, volumes: [...volumes], restart: "unless-stopped", hostname: inst.name, networks };
        if (extraHosts.length > 0) own.extra_hosts = [...extraHosts];
        const ownLabels: JsonMap = { ...labels };
        ownLabels["lightsub.role"] = "sidecar";
        ownLabels["lightsub.app"] = `run the app with network_mode: service:${inst.name}`;
        own.labels = ownLabels;
        yield [inst.name, own];
      }
    }
  }
}

export function composeNetworks(instances: readonly ComposeInstance[], opts: ComposeOptions): JsonMap {
  const networkDef: JsonMap = { driver: "bridge" };
  const subnet = ipv4Subnet(instances.flatMap((i) => (i.ipv4 ? [i.ipv4] : [])));
  if (subnet) networkDef.ipam = { config: [{ subnet }] };
  return { [opts.network ?? "mesh"]: networkDef };
}

/** What makes a mesh unrunnable under compose; `loopback` is the common, per-endpoint kind. */
export type ComposeConflictKind = "loopback" | "container-name" | "ipv6" | "ipv4-subnet";

/**
 * One reason the mesh cannot run under compose as generated, with the policy
 * node to point at: `service` indexes model.services (the policy's order), and
 * `endpoint`, when set, that service's endpoints; without it the service's name.
 */
export interface ComposeConflict {
  kind: ComposeConflictKind;
  message: string;
  service: number;
  endpoint?: number;
}

/**
 * Reasons the mesh cannot run under compose as generated; the policy checker
 * reports them (compiler/compose/findings.ts). Instance names must be
 * unique, and a name a caller maps to 127.0.0.1 must not be the hostname of an
 * endpoint it dials (the sidecar would resolve that endpoint to its own loopback).
 */
export function composeConflicts(model: MeshModel): ComposeConflict[] {
  const problems: ComposeConflict[] = [];
  const owner = new Map<string, string>();
  model.services.forEach((s, service) => {
    for (const inst of instancesOf(s)) {
      const at = inst.endpoint === undefined ? { service } : { service, endpoint: inst.endpoint };
      for (const name of s.image ? [inst.name, `${inst.name}-sidecar`] : [inst.name]) {
        const other = owner.get(name);
        if (other !== undefined) problems.push({ kind: "container-name", message: `container name "${name}" is used by service "${other}" and service "${s.name}"`, ...at });
        else owner.set(name, s.name);
      }
    }
    s.endpoints.forEach((ep, endpoint) => {
      if (isIP(ep.address) === 6) {
        problems.push({ kind: "ipv6", message: `service "${s.name}": IPv6 endpoint ${ep.address} is not supported in docker compose`, service, endpoint });
      }
    });
  });
  const ipv4 = model.services.flatMap((s, service) =>
    s.endpoints.flatMap((ep, endpoint) => (isIP(ep.address) === 4 ? [{ address: ep.address, service, endpoint }] : [])),
  );
  // Pointed at the first endpoint outside the first one's /8.
  const outside = ipv4.find((ep) => ep.address.split(".")[0] !== ipv4[0]!.address.split(".")[0]);
  if (outside !== undefined) {
    problems.push({
      kind: "ipv4-subnet",
      message: `IPv4 endpoints ${[...new Set(ipv4.map((ep) => ep.address))].join(", ")} do not fit in one /8 compose network`,
      service: outside.service,
      endpoint: outside.endpoint,
    });
  }
  problems.push(...loopbackConflicts(model));
  return problems;
}

/**
 * Endpoints whose hostname a caller maps to 127.0.0.1 because it also calls a
 * service of that name: one conflict per endpoint, naming its callers.
 */
function loopbackConflicts(model: MeshModel): ComposeConflict[] {
  const names = new Set(model.services.map((s) => s.name));
  const problems: ComposeConflict[] = [];
  // Only an endpoint whose hostname is a service's name can be mapped to 127.0.0.1 (rare):
  // the callers of its service are looked for only then.
  let callersOf: Map<string, ServiceModel[]> | undefined;
  model.services.forEach((callee, service) => {
    callee.endpoints.forEach((ep, endpoint) => {
      // Host names compare case-insensitively (service names are lowercase DNS labels).
      const hostname = ep.address.toLowerCase();
      if (!names.has(hostname)) return;
      callersOf ??= callersByService(model);
      const callers = (callersOf.get(callee.name) ?? []).filter((c) => c.calls.some((call) => call.service === hostname)).map((c) => c.name);
      if (callers.length === 0) return;
      const shown = callers.slice(0, 3).map((c) => `"${c}"`).join(", ") + (callers.length > 3 ? ` and ${callers.length - 3} more` : "");
      problems.push({
        kind: "loopback",
        message:
          `endpoint ${ep.address}:${ep.port} of service "${callee.name}" is dialed by ${shown}, which also call${callers.length === 1 ? "s" : ""} a service named "${hostname}": ` +
          `compose maps that name to 127.0.0.1 there, so the sidecar would dial itself; give the endpoint another hostname (e.g. "${ep.address}-1")`,
        service,
        endpoint,
      });
    });
  });
  return problems;
}

/** Called service name → its callers, in the model's order. */
function callersByService(model: MeshModel): Map<string, ServiceModel[]> {
  const callers = new Map<string, ServiceModel[]>();
  for (const caller of model.services) {
    for (const call of caller.calls) {
      const list = callers.get(call.service);
      if (list === undefined) callers.set(call.service, [caller]);
      else list.push(caller);
    }
  }
  return callers;
}

/** One instance per endpoint; a service nobody dials (no endpoints) still runs one sidecar, named after it. */
function instancesOf(s: ServiceModel): ComposeInstance[] {
  if (s.endpoints.length === 0) return [{ service: s, name: s.name }];
  return s.endpoints.map((ep, i) =>
    isIP(ep.address) === 4 ? { service: s, name: `${s.name}-${i}`, ipv4: ep.address, endpoint: i } : { service: s, name: ep.address, endpoint: i },
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
