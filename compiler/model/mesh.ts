/**
 * The typed model (IR) between a checked policy and Envoy resources.
 *
 * Everything here is resolved: defaults applied, durations in milliseconds,
 * the scheduler of each service chosen (its own or the mesh default), names of
 * the Envoy clusters fixed. The Envoy generators (compiler/envoy/*) read only
 * this model, never the raw policy, so the policy loader and the builder API
 * (compiler/api.ts) both feed the same pipeline.
 */

import type { StrategyName } from "./strategies.js";

export const PROTOCOLS = ["http", "http2", "grpc"] as const;
export type Protocol = (typeof PROTOCOLS)[number];

export type FailMode = "open" | "closed";

/** Where consistent_hash takes its key from: exactly one source. */
export type HashOn =
  | { kind: "header"; name: string }
  | { kind: "cookie"; name: string }
  | { kind: "path" };

export interface SchedulerModel {
  strategy: StrategyName;
  /** consistent_hash only (required there). */
  hashOn?: HashOn;
  /** least_latency: EWMA decay time constant. */
  decayMs: number;
  /** availability: sliding error window length. */
  windowMs: number;
  /** availability: error rate above which an endpoint is avoided (0..1). */
  errorThreshold: number;
  /** availability: requests in the window before its error rate counts. */
  minRequests: number;
  /** availability: how often an avoided endpoint gets one probe request. */
  probeIntervalMs: number;
}

export const SCHEDULER_DEFAULTS: Omit<SchedulerModel, "strategy" | "hashOn"> = {
  decayMs: 10_000,
  windowMs: 10_000,
  errorThreshold: 0.2,
  minRequests: 5,
  probeIntervalMs: 1_000,
};

/** Retry conditions of the policy, as Envoy spells them in `retry_on`. */
export const RETRY_ON = [
  "5xx",
  "gateway-error",
  "reset",
  "connect-failure",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "unavailable",
  "cancelled",
  "deadline-exceeded",
  "resource-exhausted",
  "internal",
] as const;
export type RetryOn = (typeof RETRY_ON)[number];

export interface RetriesModel {
  attempts: number;
  on: RetryOn[];
  perTryTimeoutMs?: number;
  /** Envoy's retriable_status_codes (with the condition retriable-status-codes). */
  statusCodes?: number[];
}

export interface CircuitBreakerModel {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface OutlierDetectionModel {
  consecutive5xx?: number;
  intervalMs?: number;
  baseEjectionTimeMs?: number;
  maxEjectionPercent?: number;
}

export interface HealthCheckModel {
  /** The HTTP check's path (http, http2); absent for grpc, which uses the gRPC health protocol. */
  path?: string;
  intervalMs: number;
  timeoutMs: number;
  unhealthyThreshold: number;
  healthyThreshold: number;
}

/** How calls TO a service are made (applies to its clusters in every caller's sidecar). */
export interface ConnectorModel {
  /** Whole-request timeout (route timeout). Undefined: Envoy's default (15 s). */
  timeoutMs?: number;
  connectTimeoutMs: number;
  retries?: RetriesModel;
  circuitBreaker?: CircuitBreakerModel;
  outlierDetection?: OutlierDetectionModel;
  healthCheck?: HealthCheckModel;
}

export const CONNECT_TIMEOUT_DEFAULT_MS = 1_000;

export interface EndpointModel {
  address: string;
  port: number;
  weight: number;
  /** Envoy cluster holding just this endpoint: `<service>_ep<index>`. */
  cluster: string;
  /** Metric label: `address_port`, characters outside [A-Za-z0-9-] as `_`, unique per service. */
  stat: string;
}

export interface CallModel {
  service: string;
  /** Local port (127.0.0.1) of the caller's outbound listener for this service. */
  port: number;
}

/** Adaptive per-endpoint limit (admission.adaptive): a latency gradient, clamped. */
export interface AdaptiveLimitModel {
  minLimit: number;
  maxLimit: number;
  /** Length of one sampling window. */
  windowMs: number;
}

/**
 * Task admission for calls TO a service (issue 8): at most
 * `maxInFlightPerEndpoint` requests in flight per endpoint across all workers;
 * beyond that a task waits in its worker's bounded priority queue.
 */
export interface AdmissionModel {
  maxInFlightPerEndpoint: number;
  /** Queue bound, per worker (Envoy worker thread = one filter VM). */
  maxQueue: number;
  queueTimeoutMs: number;
  /** How often a worker re-checks its queue for freed slots and deadlines. */
  tickMs: number;
  /** Request header whose value names the task's level; none: every task has the default level. */
  priorityHeader?: string;
  /** Level names, highest priority first (at least one). */
  levels: string[];
  /** Index into `levels` for a missing or unknown header value. */
  defaultLevel: number;
  adaptive?: AdaptiveLimitModel;
}

export const ADMISSION_DEFAULTS = {
  maxQueue: 128,
  queueTimeoutMs: 1_000,
  tickMs: 10,
  levels: ["high", "normal", "low"],
  /** `normal` when listed, else the last level. */
  defaultLevelName: "normal",
  adaptiveWindowMs: 1_000,
} as const;

export interface ServiceModel {
  name: string;
  /** Port the app listens on, in the sidecar's network namespace. */
  port: number;
  /** Port of the sidecar's inbound listener (0.0.0.0). */
  meshPort: number;
  protocol: Protocol;
  endpoints: EndpointModel[];
  calls: CallModel[];
  /** Scheduler for calls TO this service (its own override, else the mesh default). */
  scheduler: SchedulerModel;
  connector: ConnectorModel;
  /** What callers' filters do when they cannot decide for calls TO this service. */
  failMode: FailMode;
  /** Task admission for calls TO this service; absent: no limit, no queue. */
  admission?: AdmissionModel;
  /** Optional app image: docker compose then runs the app next to its sidecar. */
  image?: string;
  /** Who may call this service (only when the mesh has `security`); see SecurityModel. */
  authz?: AuthzModel;
}

/** The policy's `security.mtls`; `off` never reaches the model (no SecurityModel then). */
export type MtlsMode = "strict" | "permissive" | "off";

/**
 * Mutual TLS of a mesh (policy `spec.security`, issue 17). Absent from the
 * model when the policy has no `security` or says `mtls: off`: the sidecars
 * are then exactly as without it (plaintext, every caller accepted).
 */
export interface SecurityModel {
  /** strict: inbound only takes mTLS; permissive: inbound also takes plaintext (not authorized). */
  mtls: "strict" | "permissive";
  /** SPIFFE trust domain; identities are spiffe://<trustDomain>/svc/<service>. */
  trustDomain: string;
}

/** Inbound authorization of one service: the principals its RBAC filter allows. */
export interface AuthzModel {
  /** An edge service: any caller, plaintext too. */
  public: boolean;
  /** SPIFFE IDs allowed to call: every service that lists this one in `calls`, then `allow` extras; sorted, unique. */
  principals: string[];
}

/** `spiffe://shop/svc/catalog`. */
export function spiffeId(trustDomain: string, service: string): string {
  return `spiffe://${trustDomain}/svc/${service}`;
}

/** Where a sidecar's certificates are mounted (its key, its certificate, the mesh CA). */
export const CERTS_DIR_IN_CONTAINER = "/etc/lightsub/certs";

export interface SidecarModel {
  /** Admin port, always bound to 127.0.0.1. */
  adminPort: number;
  /** Official Envoy image, pinned. */
  image: string;
  /** Where the filter's .wasm is mounted inside the container. */
  wasmPath: string;
}

export const SIDECAR_DEFAULTS: SidecarModel = {
  adminPort: 9901,
  image: "envoyproxy/envoy:v1.40.0",
  wasmPath: "/etc/lightsub/lightsub.wasm",
};

export const MESH_PORT_DEFAULT = 15006;
export const LOCAL_APP_CLUSTER = "local_app";

export interface MeshModel {
  name: string;
  services: ServiceModel[];
  sidecar: SidecarModel;
  /** mTLS and authorization; absent: plaintext (no `security`, or `mtls: off`). */
  security?: SecurityModel;
}

/** `catalog-1:9090` → `catalog-1_9090`. */
export function endpointStat(address: string, port: number): string {
  return `${address}_${port}`.replace(/[^A-Za-z0-9-]/g, "_");
}

export function endpointCluster(service: string, index: number): string {
  return `${service}_ep${index}`;
}
