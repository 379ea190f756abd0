/**
 * MeshModel builders for the compiler back-end tests (compiler/envoy,
 * compiler/validate, compiler/compose). Models are built directly, the
 * way compiler/policy or the builder API would produce them.
 */
import {
  CONNECT_TIMEOUT_DEFAULT_MS,
  MESH_PORT_DEFAULT,
  SCHEDULER_DEFAULTS,
  SIDECAR_DEFAULTS,
  endpointCluster,
  endpointStat,
  type CallModel,
  type ConnectorModel,
  type EndpointModel,
  type MeshModel,
  type SchedulerModel,
  type ServiceModel,
} from "../../compiler/model/mesh.js";

export interface EndpointSpec {
  address: string;
  port: number;
  weight?: number;
}

export interface ServiceSpec {
  name: string;
  port: number;
  endpoints: EndpointSpec[];
  calls?: Array<string | CallModel>;
  meshPort?: number;
  protocol?: ServiceModel["protocol"];
  scheduler?: Partial<SchedulerModel>;
  connector?: Partial<ConnectorModel>;
  failMode?: ServiceModel["failMode"];
  image?: string;
}

/** A resolved service: defaults applied, endpoint clusters and stats named. */
function service(spec: ServiceSpec, portOf: (name: string) => number = () => 80): ServiceModel {
  const endpoints: EndpointModel[] = spec.endpoints.map((ep, i) => ({
    address: ep.address,
    port: ep.port,
    weight: ep.weight ?? 1,
    cluster: endpointCluster(spec.name, i),
    stat: endpointStat(ep.address, ep.port),
  }));
  return {
    name: spec.name,
    port: spec.port,
    meshPort: spec.meshPort ?? MESH_PORT_DEFAULT,
    protocol: spec.protocol ?? "http",
    endpoints,
    calls: (spec.calls ?? []).map((c) => (typeof c === "string" ? { service: c, port: portOf(c) } : c)),
    scheduler: { strategy: "round_robin", ...SCHEDULER_DEFAULTS, ...spec.scheduler },
    connector: { connectTimeoutMs: CONNECT_TIMEOUT_DEFAULT_MS, ...spec.connector },
    failMode: spec.failMode ?? "open",
    ...(spec.image === undefined ? {} : { image: spec.image }),
  };
}

/** A mesh from service specs; a call by name listens on the called service's app port. */
export function mesh(name: string, specs: ServiceSpec[], sidecar: Partial<MeshModel["sidecar"]> = {}): MeshModel {
  const ports = new Map(specs.map((s) => [s.name, s.port]));
  const portOf = (n: string) => ports.get(n) ?? 80;
  return { name, services: specs.map((s) => service(s, portOf)), sidecar: { ...SIDECAR_DEFAULTS, ...sidecar } };
}

/**
 * Two services calling each other: catalog (least_latency, hostnames, every
 * connector option) and frontend (round_robin, an IP literal, defaults only).
 */
export function twoServiceModel(): MeshModel {
  return mesh("shop", [
    {
      name: "frontend",
      port: 8080,
      endpoints: [{ address: "10.0.0.10", port: 15006 }],
      calls: ["catalog"],
      image: "ghcr.io/example/frontend:1.0",
    },
    {
      name: "catalog",
      port: 9090,
      endpoints: [
        { address: "catalog-1", port: 15006, weight: 2 },
        { address: "catalog-2", port: 15006, weight: 1 },
      ],
      calls: [{ service: "frontend", port: 7001 }],
      scheduler: { strategy: "least_latency", decayMs: 5_000 },
      connector: {
        timeoutMs: 2_000,
        connectTimeoutMs: 250,
        retries: { attempts: 2, on: ["5xx", "reset", "connect-failure"], perTryTimeoutMs: 500 },
        circuitBreaker: { maxConnections: 100, maxPendingRequests: 50, maxRequests: 200, maxRetries: 3 },
        outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
        healthCheck: { path: "/healthz", intervalMs: 5_000, timeoutMs: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 },
      },
      image: "ghcr.io/example/catalog:1.0",
    },
  ]);
}

/**
 * Five services, one strategy each for the callees (random, weighted,
 * least_load, availability, consistent_hash), http/http2/grpc, mixed fail
 * modes, IP and hostname endpoints, a custom admin port, a custom mesh port,
 * services with and without an app image.
 */
export function fiveServiceModel(): MeshModel {
  return mesh(
    "bookstore",
    [
      {
        name: "gateway",
        port: 8000,
        endpoints: [{ address: "gateway-1", port: 15006 }],
        calls: ["users", "search", "cart"],
        scheduler: { strategy: "random" },
        connector: { timeoutMs: 30_000 },
        image: "ghcr.io/example/gateway:2.1",
      },
      {
        name: "users",
        port: 50051,
        protocol: "grpc",
        endpoints: [
          { address: "172.20.0.11", port: 15006, weight: 3 },
          { address: "172.20.0.12", port: 15006, weight: 1 },
        ],
        scheduler: { strategy: "weighted" },
        connector: {
          timeoutMs: 1_500,
          connectTimeoutMs: 200,
          retries: { attempts: 3, on: ["unavailable", "cancelled", "deadline-exceeded", "resource-exhausted", "internal"] },
          healthCheck: { path: "/grpc.health.v1.Health/Check", intervalMs: 2_000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 },
        },
      },
      {
        name: "search",
        port: 9200,
        protocol: "http2",
        meshPort: 15010,
        endpoints: [
          { address: "search-a", port: 15010 },
          { address: "search-b", port: 15010 },
          { address: "search-c", port: 15010 },
        ],
        scheduler: { strategy: "least_load" },
        connector: {
          timeoutMs: 800,
          healthCheck: { path: "/ready", intervalMs: 3_000, timeoutMs: 250, unhealthyThreshold: 3, healthyThreshold: 2 },
          circuitBreaker: { maxRequests: 1_000 },
        },
        image: "ghcr.io/example/search:7.3",
      },
      {
        name: "cart",
        port: 8081,
        endpoints: [
          { address: "cart-1", port: 15006 },
          { address: "cart-2", port: 15006 },
        ],
        calls: ["orders"],
        scheduler: { strategy: "availability", windowMs: 20_000, errorThreshold: 0.3, minRequests: 10, probeIntervalMs: 2_500 },
        connector: {
          retries: { attempts: 1, on: ["gateway-error", "refused-stream", "retriable-4xx"] },
          outlierDetection: { consecutive5xx: 3 },
        },
        failMode: "closed",
        image: "ghcr.io/example/cart:0.9",
      },
      {
        name: "orders",
        port: 8082,
        endpoints: [
          { address: "orders-1", port: 15006, weight: 1 },
          { address: "orders-2", port: 15006, weight: 1 },
          { address: "orders-3", port: 15006, weight: 2 },
        ],
        calls: [{ service: "gateway", port: 7100 }],
        scheduler: { strategy: "consistent_hash", hashOn: { kind: "header", name: "x-user-id" } },
        connector: { connectTimeoutMs: 1_500, timeoutMs: 5_000 },
      },
    ],
    { adminPort: 9902 },
  );
}

/**
 * A client calling one service per strategy (consistent_hash three times: by
 * header, cookie and path), every callee on hostnames except `rr` (IP
 * literals) and `mixed` (one of each).
 */
export function strategyZooModel(): MeshModel {
  const callee = (name: string, port: number, scheduler: Partial<SchedulerModel>, endpoints?: EndpointSpec[]): ServiceSpec => ({
    name,
    port,
    endpoints: endpoints ?? [
      { address: `${name}-1`, port: 15006, weight: 2 },
      { address: `${name}-2`, port: 15006, weight: 5 },
    ],
    scheduler,
  });
  const callees: ServiceSpec[] = [
    callee("rr", 9001, { strategy: "round_robin" }, [
      { address: "192.168.7.1", port: 15006 },
      { address: "192.168.7.2", port: 15006 },
    ]),
    callee("rnd", 9002, { strategy: "random" }),
    callee("wrr", 9003, { strategy: "weighted" }),
    callee("ll", 9004, { strategy: "least_load" }),
    callee("lat", 9005, { strategy: "least_latency", decayMs: 2_500 }),
    callee("avail", 9006, { strategy: "availability", windowMs: 5_000, errorThreshold: 0.5, minRequests: 3, probeIntervalMs: 750 }),
    callee("chh", 9007, { strategy: "consistent_hash", hashOn: { kind: "header", name: "x-tenant" } }),
    callee("chc", 9008, { strategy: "consistent_hash", hashOn: { kind: "cookie", name: "session" } }),
    callee("chp", 9009, { strategy: "consistent_hash", hashOn: { kind: "path" } }),
    callee("mixed", 9010, { strategy: "round_robin" }, [
      { address: "192.168.7.3", port: 15006 },
      { address: "mixed-2", port: 15006 },
    ]),
  ];
  return mesh("zoo", [
    { name: "client", port: 8000, endpoints: [{ address: "client-1", port: 15006 }], calls: callees.map((c) => c.name) },
    ...callees,
  ]);
}
