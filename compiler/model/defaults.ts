/**
 * Policy defaults and facts about strategies that are not in compiler/model.ts.
 * schemas/policy.schema.json repeats the defaults as `default` annotations for
 * editors; test/policy-schema.test.ts keeps the two in agreement.
 */
import type { FailMode, HealthCheckModel, Protocol, RetryOn, Strategy } from "./mesh.js";
import type { MtlsMode } from "../policy/types.js";

export const DEFAULT_STRATEGY: Strategy = "round_robin";
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

/**
 * Strategies whose endpoint choice follows the weights (LS031 warns about
 * weights under the others): one list with the clusters, whose native fallback
 * honours the weights for the same strategies.
 */
export { WEIGHTED_STRATEGIES as WEIGHT_AWARE_STRATEGIES } from "../envoy/clusters.js";

/** Scheduler parameters and the one strategy that reads each. */
export const PARAMETER_STRATEGY = {
  decay: "least_latency",
  window: "availability",
  errorThreshold: "availability",
  minRequests: "availability",
  probeInterval: "availability",
} as const satisfies Record<string, Strategy>;

/** Retry conditions that Envoy evaluates on gRPC status codes only. */
export const GRPC_ONLY_RETRY_ON: ReadonlySet<RetryOn> = new Set<RetryOn>([
  "unavailable",
  "cancelled",
  "deadline-exceeded",
  "resource-exhausted",
  "internal",
]);
