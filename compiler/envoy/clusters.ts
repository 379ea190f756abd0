/**
 * Clusters of one sidecar: `local_app` (inbound side) and, for each called
 * service C, the aggregate cluster `C` (all endpoints, Envoy's native LB: the
 * fail-open path) plus one cluster `C_ep<i>` per endpoint (the targets the
 * filter schedules onto through its scheduling header): the endpoint, and
 * where the connector can use them its failover endpoints at priority 1
 * (failover.ts).
 */
import {
  LOCAL_APP_CLUSTER,
  type CircuitBreakerModel,
  type ConnectorModel,
  type EndpointModel,
  type HealthCheckModel,
  type OutlierDetectionModel,
  type Protocol,
  type SecurityModel,
  type ServiceModel,
} from "../model/mesh.js";
import { isWeightAware, STRATEGY_TABLE } from "../model/strategies.js";
import { upstreamTransportSocket } from "./tls.js";
import { isIpLiteral, socketAddress } from "./address.js";
import { duration } from "./duration.js";
import { deepFreeze } from "./freeze.js";
import { put, type JsonObject } from "./json.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";
import { failoverIndexes, hasFailover } from "./failover.js";
import { METADATA_ENDPOINT_KEY, METADATA_NAMESPACE } from "../../schemas/wire.js";

/**
 * The clusters for calls to `callee`: aggregate first, then endpoint clusters
 * in endpoint order. The endpoint clusters share one copy of their identical
 * parts (health check, breakers, outlier detection): fewer objects to build
 * and to check in a mesh of thousands of services.
 */
export function calleeClusters(callee: ServiceModel, security?: SecurityModel): JsonObject[] {
  const shared = resilience(callee.connector, callee.protocol, true);
  const clusters = [aggregateCluster(callee)];
  if (hasFailover(callee)) {
    const backups = failoverHosts(callee);
    callee.endpoints.forEach((ep, k) => clusters.push(failoverEndpointCluster(callee, ep, k, backups, shared)));
  } else {
    for (const ep of callee.endpoints) clusters.push(endpointCluster(callee, ep, shared));
  }
  // mTLS (tls.ts): every cluster towards the callee presents this sidecar's identity and checks the callee's.
  if (security !== undefined) {
    const socket = upstreamTransportSocket(security, callee.name, callee.protocol);
    for (const cluster of clusters) cluster.transport_socket = socket;
  }
  return clusters;
}

function aggregateCluster(callee: ServiceModel): JsonObject {
  // The native fallback honours the weights where the strategy follows them (model/strategies.ts).
  const withWeights = isWeightAware(callee.scheduler.strategy);
  const lbEndpoints = callee.endpoints.map((ep) => {
    const lbEndpoint: JsonObject = { endpoint: { address: socketAddress(ep.address, ep.port) } };
    if (withWeights) lbEndpoint.load_balancing_weight = ep.weight;
    return lbEndpoint;
  });
  const cluster: JsonObject = { name: callee.name };
  putDiscovery(cluster, callee.endpoints.every((ep) => isIpLiteral(ep.address)));
  cluster.connect_timeout = duration(callee.connector.connectTimeoutMs);
  cluster.lb_policy = STRATEGY_TABLE[callee.scheduler.strategy].nativeLb;
  cluster.load_assignment = { cluster_name: callee.name, endpoints: [{ lb_endpoints: lbEndpoints }] };
  Object.assign(cluster, resilience(callee.connector, callee.protocol, false));
  putUpstreamProtocol(cluster, callee.protocol);
  return cluster;
}

/**
 * One host. Outlier detection may eject that only host (`always_eject_one_host`)
 * and the panic threshold is 0, so an ejected or health-check-failed endpoint
 * answers 503 at once instead of Envoy's panic mode sending to it anyway; the
 * filter sees those 503s in its error statistics. `resilienceParts` comes
 * from resilience(..., singleHost = true).
 */
function endpointCluster(callee: ServiceModel, ep: EndpointModel, resilienceParts: JsonObject): JsonObject {
  const cluster: JsonObject = { name: ep.cluster };
  putDiscovery(cluster, isIpLiteral(ep.address));
  cluster.connect_timeout = duration(callee.connector.connectTimeoutMs);
  cluster.load_assignment = singleHostAssignment(ep.cluster, ep.address, ep.port);
  Object.assign(cluster, resilienceParts);
  putUpstreamProtocol(cluster, callee.protocol);
  return cluster;
}

/**
 * Endpoint k at priority 0, its failover endpoints (failover.ts) at priority 1,
 * each with metadata naming its own endpoint cluster. Outlier detection may
 * eject endpoint k alone (`always_eject_one_host`); with the panic threshold
 * at 0 an unhealthy k moves all of the cluster's load to priority 1 instead
 * of Envoy's panic mode sending to k anyway. Priority-1 hosts are not actively
 * health-checked here (`disable_active_health_check`): each endpoint is
 * checked once per caller, by its own cluster; outlier detection still ejects
 * a failing priority-1 host.
 */
function failoverEndpointCluster(callee: ServiceModel, ep: EndpointModel, k: number, backups: JsonObject[], resilienceParts: JsonObject): JsonObject {
  const cluster: JsonObject = { name: ep.cluster };
  putDiscovery(cluster, callee.endpoints.every((e) => isIpLiteral(e.address)));
  cluster.connect_timeout = duration(callee.connector.connectTimeoutMs);
  const policy = STRATEGY_TABLE[callee.scheduler.strategy].nativeLb;
  // The route to an endpoint cluster carries no hash policy: a ring would pick at random.
  if (policy !== "ROUND_ROBIN" && policy !== "RING_HASH") cluster.lb_policy = policy;
  const priority1 = failoverIndexes(callee.endpoints.length, k).map((j) => backups[j]!);
  cluster.load_assignment = {
    cluster_name: ep.cluster,
    endpoints: [
      { lb_endpoints: [{ endpoint: { address: socketAddress(ep.address, ep.port) } }] },
      { priority: 1, lb_endpoints: priority1 },
    ],
  };
  Object.assign(cluster, resilienceParts);
  putUpstreamProtocol(cluster, callee.protocol);
  return cluster;
}

/** Each endpoint as a priority-1 host of the others' clusters (built once, shared). */
function failoverHosts(callee: ServiceModel): JsonObject[] {
  const withWeights = isWeightAware(callee.scheduler.strategy);
  const checked = callee.connector.healthCheck !== undefined;
  return callee.endpoints.map((ep) => {
    const endpoint: JsonObject = { address: socketAddress(ep.address, ep.port) };
    if (checked) endpoint.health_check_config = { disable_active_health_check: true };
    const host: JsonObject = {
      endpoint,
      metadata: { filter_metadata: { [METADATA_NAMESPACE]: { [METADATA_ENDPOINT_KEY]: ep.cluster } } },
    };
    if (withWeights) host.load_balancing_weight = ep.weight;
    return deepFreeze(host);
  });
}

/** The app next to this sidecar, reached over loopback in the shared network namespace. */
export function localAppCluster(service: ServiceModel): JsonObject {
  const cluster: JsonObject = {
    name: LOCAL_APP_CLUSTER,
    type: "STATIC",
    connect_timeout: duration(service.connector.connectTimeoutMs),
    load_assignment: singleHostAssignment(LOCAL_APP_CLUSTER, "127.0.0.1", service.port),
  };
  putUpstreamProtocol(cluster, service.protocol);
  return cluster;
}

function singleHostAssignment(clusterName: string, address: string, port: number): JsonObject {
  return { cluster_name: clusterName, endpoints: [{ lb_endpoints: [{ endpoint: { address: socketAddress(address, port) } }] }] };
}

/** STATIC when every address is an IP literal, else STRICT_DNS (re-resolved; IPv4 first for compose networks). */
function putDiscovery(cluster: JsonObject, allIpLiterals: boolean): void {
  if (allIpLiterals) {
    cluster.type = "STATIC";
  } else {
    cluster.type = "STRICT_DNS";
    cluster.dns_lookup_family = "V4_PREFERRED";
  }
}

/** circuit_breakers, outlier_detection, health_checks, common_lb_config (those that apply), in that order. */
function resilience(connector: ConnectorModel, protocol: Protocol, singleHost: boolean): JsonObject {
  const { circuitBreaker, outlierDetection: od, healthCheck: hc } = connector;
  const parts: JsonObject = {};
  if (circuitBreaker) parts.circuit_breakers = circuitBreakers(circuitBreaker);
  if (od) parts.outlier_detection = outlierDetection(od, singleHost);
  if (hc) parts.health_checks = [healthCheck(hc, protocol)];
  if (singleHost && (od || hc)) parts.common_lb_config = { healthy_panic_threshold: { value: 0 } };
  return parts;
}

function circuitBreakers(cb: CircuitBreakerModel): JsonObject {
  const thresholds: JsonObject = { priority: "DEFAULT" };
  put(thresholds, "max_connections", cb.maxConnections);
  put(thresholds, "max_pending_requests", cb.maxPendingRequests);
  put(thresholds, "max_requests", cb.maxRequests);
  put(thresholds, "max_retries", cb.maxRetries);
  return { thresholds: [thresholds] };
}

function outlierDetection(od: OutlierDetectionModel, singleHost: boolean): JsonObject {
  const out: JsonObject = {};
  put(out, "consecutive_5xx", od.consecutive5xx);
  if (od.intervalMs !== undefined) out.interval = duration(od.intervalMs);
  if (od.baseEjectionTimeMs !== undefined) out.base_ejection_time = duration(od.baseEjectionTimeMs);
  put(out, "max_ejection_percent", od.maxEjectionPercent);
  if (singleHost) out.always_eject_one_host = true;
  return out;
}

/**
 * HTTP check on the path for http and http2 (HTTP/2 codec for http2); for grpc
 * the standard grpc.health.v1 check of the whole server, since a gRPC server
 * answers any path with :status 200 and a plain HTTP check would always pass.
 * `no_traffic_interval` is the policy's interval too: Envoy otherwise checks a
 * cluster that has carried no traffic only every 60 s, and an endpoint
 * cluster whose host failed a check gets no traffic (no healthy upstream), so
 * it would stay down a minute whatever `interval` says (measured on Envoy 1.40,
 * test/e2e/protocols.test.ts).
 */
function healthCheck(hc: HealthCheckModel, protocol: Protocol): JsonObject {
  const check: JsonObject = {
    timeout: duration(hc.timeoutMs),
    interval: duration(hc.intervalMs),
    no_traffic_interval: duration(hc.intervalMs),
    unhealthy_threshold: hc.unhealthyThreshold,
    healthy_threshold: hc.healthyThreshold,
  };
  if (protocol === "grpc") {
    check.grpc_health_check = {};
  } else {
    // The policy check makes path required for http and http2 (LS005).
    if (hc.path === undefined) throw new Error("an http health check without a path passed the policy check");
    const http: JsonObject = { path: hc.path };
    if (protocol === "http2") http.codec_client_type = "HTTP2";
    check.http_health_check = http;
  }
  return check;
}

/** HTTP/2 to upstreams that speak it (prior knowledge, no TLS inside the mesh). */
function putUpstreamProtocol(cluster: JsonObject, protocol: Protocol): void {
  if (protocol !== "http") cluster.typed_extension_protocol_options = HTTP2_UPSTREAM;
}

const HTTP2_UPSTREAM: JsonObject = deepFreeze({
  [EXTENSION_NAME.upstreamHttpProtocolOptions]: {
    "@type": TYPE_URL.upstreamHttpProtocolOptions,
    explicit_http_config: { http2_protocol_options: {} },
  },
});
