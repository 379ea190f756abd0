/**
 * The upstream clusters of a compiled sidecar, as far as the simulator needs
 * them: hosts (address, port, weight, priority, the endpoint cluster named in
 * their `lightsub` metadata), Envoy's native LB policy, connect timeout and circuit breaker thresholds (Envoy's defaults where unset:
 * 1024 connections, pending and requests, 3 concurrent retries).
 */
import { METADATA_ENDPOINT_KEY, METADATA_NAMESPACE } from "../schemas/wire.js";
import { arrayField, durationMs, field, numberField, stringField, type Json } from "./envoy-json.js";

export type LbPolicy = "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST" | "RING_HASH" | "MAGLEV";

export interface ClusterHost {
  address: string;
  port: number;
  weight: number;
  /** The priority of the host's locality group (0 = highest). */
  priority: number;
  /** `filter_metadata.lightsub.endpoint` of the host: set on failover hosts (docs/design.md "Failover"). */
  servedBy?: string;
}

export interface ClusterInfo {
  name: string;
  hosts: ClusterHost[];
  lbPolicy: LbPolicy;
  connectTimeoutMs: number;
  maxRequests: number;
  maxPendingRequests: number;
  maxRetries: number;
}

const ENVOY_DEFAULTS = { connectTimeoutMs: 5_000, maxRequests: 1024, maxPendingRequests: 1024, maxRetries: 3 } as const;
const LB_POLICIES: readonly LbPolicy[] = ["ROUND_ROBIN", "RANDOM", "LEAST_REQUEST", "RING_HASH", "MAGLEV"];

export function readClusters(bootstrap: Json): Map<string, ClusterInfo> {
  const out = new Map<string, ClusterInfo>();
  for (const raw of arrayField(field(bootstrap, "static_resources"), "clusters")) {
    const name = stringField(raw, "name");
    if (name === undefined) continue;
    const policy = stringField(raw, "lb_policy") ?? "ROUND_ROBIN";
    const thresholds = arrayField(field(raw, "circuit_breakers"), "thresholds").find(
      (t) => (stringField(t, "priority") ?? "DEFAULT") === "DEFAULT",
    );
    out.set(name, {
      name,
      hosts: readHosts(raw),
      lbPolicy: (LB_POLICIES as readonly string[]).includes(policy) ? (policy as LbPolicy) : "ROUND_ROBIN",
      connectTimeoutMs: durationMs(field(raw, "connect_timeout")) ?? ENVOY_DEFAULTS.connectTimeoutMs,
      maxRequests: numberField(thresholds, "max_requests") ?? ENVOY_DEFAULTS.maxRequests,
      maxPendingRequests: numberField(thresholds, "max_pending_requests") ?? ENVOY_DEFAULTS.maxPendingRequests,
      maxRetries: numberField(thresholds, "max_retries") ?? ENVOY_DEFAULTS.maxRetries,
    });
  }
  return out;
}

function readHosts(cluster: Json): ClusterHost[] {
  const hosts: ClusterHost[] = [];
  for (const locality of arrayField(field(cluster, "load_assignment"), "endpoints")) {
    const priority = numberField(locality, "priority") ?? 0;
    for (const lbEndpoint of arrayField(locality, "lb_endpoints")) {
      const socket = field(field(field(lbEndpoint, "endpoint"), "address"), "socket_address");
      const servedBy = stringField(field(field(field(lbEndpoint, "metadata"), "filter_metadata"), METADATA_NAMESPACE), METADATA_ENDPOINT_KEY);
      hosts.push({
        address: stringField(socket, "address") ?? "",
        port: numberField(socket, "port_value") ?? 0,
        weight: numberField(lbEndpoint, "load_balancing_weight") ?? 1,
        priority,
        ...(servedBy !== undefined ? { servedBy } : {}),
      });
    }
  }
  return hosts;
}
