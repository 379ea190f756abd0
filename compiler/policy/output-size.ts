/**
 * How big the generated Envoy configs would be, estimated from the raw policy
 * before any other check: a sidecar too big for one Envoy (MAX_SIDECAR_CLUSTERS,
 * one finding per such sidecar, at its calls), or a small file that asks for
 * gigabytes of output (MAX_MESH_CLUSTERS), gets an LS011 instead of a compile.
 *
 * The input is unchecked: anything that is not a service with a name,
 * endpoints or calls simply counts as nothing. Calls to unknown services and
 * repeated calls are left to the semantic checks.
 */
import { describeValue } from "./describe.js";
import { Diag } from "../diagnostics/index.js";
import { finding, type Finding } from "./findings.js";
import { MAX_MESH_CLUSTERS, MAX_SIDECAR_CLUSTERS } from "./limits.js";

interface SidecarSize {
  index: number;
  name: string;
  /** Clusters the calls add to this sidecar: per called service, its endpoints + 1. */
  clusters: number;
}

const count = (n: number): string => n.toLocaleString("en-US");

/** Bytes of generated YAML per cluster, measured on the benchmark's meshes (cluster, listener and plugin JSON share); for messages only. */
const APPROX_BYTES_PER_CLUSTER = 1_630;

function calledName(call: unknown): string | undefined {
  if (typeof call === "string") return call;
  const service = (call as { service?: unknown } | null)?.service;
  return typeof service === "string" ? service : undefined;
}

function sidecarSizes(services: unknown[]): SidecarSize[] {
  const endpointsOf = new Map<string, number>();
  for (const s of services) {
    const { name, endpoints } = (s ?? {}) as { name?: unknown; endpoints?: unknown };
    if (typeof name === "string" && !endpointsOf.has(name)) endpointsOf.set(name, Array.isArray(endpoints) ? endpoints.length : 0);
  }
  const sizes: SidecarSize[] = [];
  services.forEach((s, index) => {
    const { name, calls } = (s ?? {}) as { name?: unknown; calls?: unknown };
    if (!Array.isArray(calls)) return;
    const size: SidecarSize = { index, name: typeof name === "string" ? name : `#${index}`, clusters: 0 };
    const seen = new Set<string>();
    for (const call of calls) {
      const callee = calledName(call);
      if (callee === undefined || seen.has(callee)) continue;
      seen.add(callee);
      const endpoints = endpointsOf.get(callee);
      if (endpoints === undefined) continue;
      size.clusters += endpoints + 1;
    }
    sizes.push(size);
  });
  return sizes;
}

function largest(sizes: SidecarSize[]): SidecarSize {
  return sizes.reduce((best, s) => (s.clusters > best.clusters ? s : best));
}

/** LS011 findings when a sidecar would hold more than MAX_SIDECAR_CLUSTERS clusters, or the whole mesh more than MAX_MESH_CLUSTERS. */
export function outputSizeFindings(services: unknown[]): Finding[] {
  const sizes = sidecarSizes(services);
  const perSidecar = sizes
    .filter((s) => s.clusters > MAX_SIDECAR_CLUSTERS)
    .map((s) =>
      finding(Diag.SidecarTooLarge, ["spec", "services", s.index, "calls"], {
        name: describeValue(s.name),
        clusters: count(s.clusters),
        limit: count(MAX_SIDECAR_CLUSTERS),
      }),
    );
  if (perSidecar.length > 0) return perSidecar;
  const clusters = sizes.reduce((sum, s) => sum + s.clusters, 0);
  if (clusters <= MAX_MESH_CLUSTERS) return [];
  const top = largest(sizes);
  return [
    finding(Diag.MeshTooLarge, ["spec", "services", top.index, "calls"], {
      clusters: count(clusters),
      megabytes: count(Math.round((clusters * APPROX_BYTES_PER_CLUSTER) / 1e6)),
      name: describeValue(top.name),
      largest: count(top.clusters),
      limit: count(MAX_MESH_CLUSTERS),
    }),
  ];
}
