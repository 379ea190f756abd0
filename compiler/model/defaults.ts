/**
 * Policy defaults that are not in compiler/model/mesh.ts (strategies: compiler/model/strategies.ts).
 * schemas/policy.schema.json repeats the defaults as `default` annotations for
 * editors; test/compiler/policy-schema.test.ts keeps the two in agreement.
 */
import type { FailMode, HealthCheckModel, MtlsMode, Protocol, RetryOn } from "./mesh.js";

export const DEFAULT_PROTOCOL: Protocol = "http";
export const DEFAULT_FAIL_MODE: FailMode = "open";
export const DEFAULT_WEIGHT = 1;
/** `mtls` when a policy has a `security` section without it (a policy without `security` stays plaintext). */
export const DEFAULT_MTLS: MtlsMode = "strict";

export const RETRY_DEFAULTS: { attempts: number; on: readonly RetryOn[] } = {
  attempts: 1,
  on: ["gateway-error", "connect-failure", "refused-stream", "reset"],
};

export const HEALTH_CHECK_DEFAULTS: Omit<HealthCheckModel, "path"> = {
  intervalMs: 5_000,
  timeoutMs: 1_000,
  unhealthyThreshold: 3,
  healthyThreshold: 2,
};

/** Retry conditions that Envoy evaluates on gRPC status codes only. */
export const GRPC_ONLY_RETRY_ON: ReadonlySet<RetryOn> = new Set<RetryOn>([
  "unavailable",
  "cancelled",
  "deadline-exceeded",
  "resource-exhausted",
  "internal",
]);
