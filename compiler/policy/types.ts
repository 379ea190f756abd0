/**
 * The policy document as written (`apiVersion: lightsub/v1`, `kind: Mesh`):
 * the shape schemas/policy.schema.json accepts, as TypeScript types. The
 * builder (compiler/api.ts) produces it; to-model.ts reads it once checked.
 */
import type { FailMode, MtlsMode, Protocol, RetryOn } from "../model/mesh.js";
import type { StrategyName } from "../model/strategies.js";


/** `250ms`, `2s`, `1.5s`, `1m`, `1h`, `1m30s`: whole milliseconds, at most 24h. */
export type Duration = string;

export type HashOnSpec = { header: string } | { cookie: string } | { path: true };

export interface SchedulerSpec {
  strategy?: StrategyName;
  hashOn?: HashOnSpec;
  decay?: Duration;
  window?: Duration;
  errorThreshold?: number;
  minRequests?: number;
  probeInterval?: Duration;
}

export interface EndpointSpec {
  address: string;
  port: number;
  weight?: number;
}

export type CallSpec = string | { service: string; port?: number };

export interface RetriesSpec {
  attempts?: number;
  on?: RetryOn[];
  perTryTimeout?: Duration;
  /** With the condition retriable-status-codes: the HTTP status codes to retry. */
  statusCodes?: number[];
}

export interface CircuitBreakerSpec {
  maxConnections?: number;
  maxPendingRequests?: number;
  maxRequests?: number;
  maxRetries?: number;
}

export interface OutlierDetectionSpec {
  consecutive5xx?: number;
  interval?: Duration;
  baseEjectionTime?: Duration;
  maxEjectionPercent?: number;
}

export interface HealthCheckSpec {
  /** Required for http and http2; grpc services use the gRPC health protocol. */
  path?: string;
  interval?: Duration;
  timeout?: Duration;
  unhealthyThreshold?: number;
  healthyThreshold?: number;
}

export interface ConnectorSpec {
  timeout?: Duration;
  connectTimeout?: Duration;
  retries?: RetriesSpec;
  circuitBreaker?: CircuitBreakerSpec;
  outlierDetection?: OutlierDetectionSpec;
  healthCheck?: HealthCheckSpec;
}

/** Task admission for calls to a service (see AdmissionModel in compiler/model/mesh.ts). */
export interface AdmissionSpec {
  maxInFlightPerEndpoint: number;
  maxQueue?: number;
  queueTimeout?: Duration;
  tick?: Duration;
  priorityFrom?: { header: string };
  levels?: string[];
  defaultLevel?: string;
  adaptive?: { minLimit: number; maxLimit: number; window?: Duration };
}

export interface ServiceSpec {
  name: string;
  port: number;
  meshPort?: number;
  protocol?: Protocol;
  endpoints: EndpointSpec[];
  calls?: CallSpec[];
  scheduler?: SchedulerSpec;
  connector?: ConnectorSpec;
  admission?: AdmissionSpec;
  failMode?: FailMode;
  image?: string;
  /** Callers accepted besides those that list this service in `calls` (spec.security). */
  allow?: AllowSpec[];
  /** An edge service: also accepts plaintext and any caller on its inbound listener. */
  public?: boolean;
}

/** A mesh service by name, or a SPIFFE ID outside the policy. */
export type AllowSpec = string | { principal: string };

export interface SecuritySpec {
  mtls?: MtlsMode;
  trustDomain?: string;
}

export interface SidecarSpec {
  adminPort?: number;
  image?: string;
}

export interface PolicySpec {
  scheduler?: SchedulerSpec;
  failMode?: FailMode;
  sidecar?: SidecarSpec;
  security?: SecuritySpec;
  services: ServiceSpec[];
}

export interface PolicyDocument {
  apiVersion: "lightsub/v1";
  kind: "Mesh";
  metadata: { name: string };
  spec: PolicySpec;
}

export const API_VERSION = "lightsub/v1";
export const KIND = "Mesh";
