/**
 * The wire contract: every name that crosses between lightsub's parts, or
 * between lightsub and Envoy or its users, at run time. This module is the ONE
 * TypeScript source of them; the compiler, the host, the simulator, e2e and
 * bench import from here and spell none of them themselves.
 *
 * The filter (AssemblyScript, filter/lightsub) cannot import TypeScript: it
 * spells the same constants itself, with the same names, and
 * test/guarantees/wire-contract.test.ts checks that they equal these exactly
 * (names and values) and that no other product file spells a header or a
 * reason. Where this module has a table the filter has one constant per entry:
 * RESPONSE_FLAGS.UpstreamRequestTimeout is FLAG_UPSTREAM_REQUEST_TIMEOUT,
 * METRICS.rq_total is METRIC_RQ_TOTAL, STRATEGY_NAMES' round_robin is
 * STRATEGY_ROUND_ROBIN.
 *
 * Bottom layer: imports nothing.
 */

// ---------------------------------------------------------------------------
// Headers

/** Request header the filter sets to the endpoint cluster it scheduled; routes match on it, and Envoy removes a client's before routing. */
export const SCHEDULING_HEADER = "x-lightsub-endpoint";
/** Response header of the filter's own 503 local replies: why it answered (one of LOCAL_REPLY_REASONS). */
export const REASON_HEADER = "x-lightsub-reason";
/** Every header of the contract. */
export const HEADERS = [SCHEDULING_HEADER, REASON_HEADER] as const;

// ---------------------------------------------------------------------------
// Local replies: the value of REASON_HEADER (kebab-case, as docs and the
// simulator's output show them) and Envoy's response code details
// (%RESPONSE_CODE_DETAILS%, snake_case as Envoy's own details are).

/** failMode closed: the endpoints' shared state could not be read or written. */
export const REASON_SHARED_DATA_UNAVAILABLE = "shared-data-unavailable";
/** failMode closed: the shared state stayed contended past the filter's CAS attempts. */
export const REASON_SHARED_DATA_CONTENTION = "shared-data-contention";
/** admission: the worker's queue was full. */
export const REASON_QUEUE_FULL = "queue-full";
/** admission: the request waited queueTimeout without a slot. */
export const REASON_QUEUE_TIMEOUT = "queue-timeout";

/** The values of REASON_HEADER by meaning. */
export const REASONS = {
  sharedDataUnavailable: REASON_SHARED_DATA_UNAVAILABLE,
  sharedDataContention: REASON_SHARED_DATA_CONTENTION,
  queueFull: REASON_QUEUE_FULL,
  queueTimeout: REASON_QUEUE_TIMEOUT,
} as const;
export type LocalReplyReason = (typeof REASONS)[keyof typeof REASONS];
export const LOCAL_REPLY_REASONS: readonly LocalReplyReason[] = Object.values(REASONS);

/** Response code details of a failMode-closed 503 (the filter could not decide). */
export const DETAILS_UNSCHEDULED = "lightsub_unscheduled";
/** Response code details of a queue-full 503. */
export const DETAILS_QUEUE_FULL = "lightsub_queue_full";
/** Response code details of a queue-timeout 503. */
export const DETAILS_QUEUE_TIMEOUT = "lightsub_queue_timeout";
export const LOCAL_REPLY_DETAILS = [DETAILS_UNSCHEDULED, DETAILS_QUEUE_FULL, DETAILS_QUEUE_TIMEOUT] as const;

// ---------------------------------------------------------------------------
// Failover (docs/design.md "Failover"): the compiler marks each failover host
// with the endpoint cluster it backs up, in the host's metadata; the filter
// reads it through this property path and so learns that another endpoint
// than the scheduled one answered.

/** The host metadata namespace (filter_metadata key) of a failover host's mark. */
export const METADATA_NAMESPACE = "lightsub";
/** The key, within that namespace, whose value is the endpoint cluster the host backs up. */
export const METADATA_ENDPOINT_KEY = "endpoint";
/** The Envoy property path the filter reads the mark from. */
export const SERVED_BY_PROPERTY_PATH = ["xds", "upstream_host_metadata", "filter_metadata", METADATA_NAMESPACE, METADATA_ENDPOINT_KEY] as const;

// ---------------------------------------------------------------------------
// Shared data

/** Key of an endpoint's shared record (shared data, vm_id lightsub): this prefix + the endpoint cluster name. */
export const SHARED_KEY_PREFIX = "lightsub/v1/";

// ---------------------------------------------------------------------------
// Strategies: the names the policy (`scheduler.strategy`), the plugin
// configuration and the filter use. Facts about each strategy live in the
// compiler's strategy table, which reads these names.

export const STRATEGY_NAMES = [
  "round_robin",
  "random",
  "weighted",
  "least_load",
  "least_latency",
  "availability",
  "consistent_hash",
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

// ---------------------------------------------------------------------------
// Envoy's response flags

/**
 * Envoy's legacy response-flag bitmask, the value of property `response.flags`
 * (StreamInfo::legacyResponseFlags(): bit n set for CoreResponseFlag n).
 * Checked against Envoy's test/common/stream_info/stream_info_impl_test.cc
 * (LegacyResponseFlag enum). The filter defines the bits it reads as
 * FLAG_<NAME IN SCREAMING_SNAKE> (FLAG_UPSTREAM_REQUEST_TIMEOUT = UpstreamRequestTimeout).
 */
export const RESPONSE_FLAGS = {
  FailedLocalHealthCheck: 0x1,
  NoHealthyUpstream: 0x2,
  UpstreamRequestTimeout: 0x4,
  LocalReset: 0x8,
  UpstreamRemoteReset: 0x10,
  UpstreamConnectionFailure: 0x20,
  UpstreamConnectionTermination: 0x40,
  UpstreamOverflow: 0x80,
  NoRouteFound: 0x100,
  DelayInjected: 0x200,
  FaultInjected: 0x400,
  RateLimited: 0x800,
  UnauthorizedExternalService: 0x1000,
  RateLimitServiceError: 0x2000,
  DownstreamConnectionTermination: 0x4000,
  UpstreamRetryLimitExceeded: 0x8000,
  StreamIdleTimeout: 0x10000,
  InvalidEnvoyRequestHeaders: 0x20000,
  DownstreamProtocolError: 0x40000,
  UpstreamMaxStreamDurationReached: 0x80000,
  ResponseFromCacheFilter: 0x100000,
  NoFilterConfigFound: 0x200000,
  DurationTimeout: 0x400000,
  UpstreamProtocolError: 0x800000,
  NoClusterFound: 0x1000000,
  OverloadManager: 0x2000000,
  DnsResolutionFailed: 0x4000000,
  DropOverLoad: 0x8000000,
  DownstreamRemoteReset: 0x10000000,
} as const;
export type ResponseFlagName = keyof typeof RESPONSE_FLAGS;

// ---------------------------------------------------------------------------
// Metrics (docs/design.md "Metrics")
//
// The filter names a metric `lightsub.service.<service>.<metric>` (per
// destination) or `lightsub.service.<service>.endpoint.<stat>.<metric>` (per
// endpoint). Envoy stores it as `wasmcustom.<name>`; the stats tags below turn
// it into `lightsub_<metric>{service=…,endpoint=…}` on /stats/prometheus.

/** Envoy's stat namespace for metrics a Wasm plugin defines. */
export const WASM_CUSTOM_STAT_NAMESPACE = "wasmcustom";
/** First segment of every metric name the filter defines. */
export const METRIC_ROOT = "lightsub";
/** Segment before the destination service's name. */
export const METRIC_SERVICE_SEGMENT = "service";
/** Segment before an endpoint's stat name. */
export const METRIC_ENDPOINT_SEGMENT = "endpoint";
/** Prometheus name prefix of the filter's metrics once the tags are extracted (`lightsub_rq_total`). */
export const METRIC_PROMETHEUS_PREFIX = `${METRIC_ROOT}_`;

export type MetricKind = "counter" | "gauge" | "histogram";
/**
 * endpoint: one per endpoint of a destination; destination: one per
 * destination; admission: one per destination with admission; failover: one
 * per endpoint of a destination with failover.
 */
export type MetricScope = "endpoint" | "destination" | "admission" | "failover";

/** Every metric the filter defines: ONE table; a new metric is one line here (and one in the filter). */
export const METRICS = {
  rq_total: { kind: "counter", scope: "endpoint" },
  rq_error: { kind: "counter", scope: "endpoint" },
  rq_5xx: { kind: "counter", scope: "endpoint" },
  rq_reset: { kind: "counter", scope: "endpoint" },
  rq_timeout: { kind: "counter", scope: "endpoint" },
  rq_active: { kind: "gauge", scope: "endpoint" },
  rq_latency_ms: { kind: "histogram", scope: "endpoint" },
  latency_ewma_us: { kind: "gauge", scope: "endpoint" },
  rq_failover: { kind: "counter", scope: "failover" },
  rq_unscheduled: { kind: "counter", scope: "destination" },
  cas_exhausted: { kind: "counter", scope: "destination" },
  admission_queued: { kind: "gauge", scope: "admission" },
  admission_wait_ms: { kind: "histogram", scope: "admission" },
  admission_admitted: { kind: "counter", scope: "admission" },
  admission_delayed: { kind: "counter", scope: "admission" },
  admission_rejected_queue_full: { kind: "counter", scope: "admission" },
  admission_rejected_queue_timeout: { kind: "counter", scope: "admission" },
  admission_limit: { kind: "gauge", scope: "admission" },
} as const satisfies Record<string, { kind: MetricKind; scope: MetricScope }>;
export type MetricName = keyof typeof METRICS;
export const METRIC_NAMES = Object.keys(METRICS) as MetricName[];

/** The metrics of one scope and (optionally) kind, in table order. */
export function metricsOf(scope: MetricScope, kind?: MetricKind): MetricName[] {
  return METRIC_NAMES.filter((m) => METRICS[m].scope === scope && (kind === undefined || METRICS[m].kind === kind));
}

/** `lightsub.service.<service>.<metric>`: the filter's name of a per-destination metric. */
export function destinationMetricName(service: string, metric: MetricName): string {
  return `${METRIC_ROOT}.${METRIC_SERVICE_SEGMENT}.${service}.${metric}`;
}

/** `lightsub.service.<service>.endpoint.<stat>.<metric>`: the filter's name of a per-endpoint metric. */
export function endpointMetricName(service: string, stat: string, metric: MetricName): string {
  return `${METRIC_ROOT}.${METRIC_SERVICE_SEGMENT}.${service}.${METRIC_ENDPOINT_SEGMENT}.${stat}.${metric}`;
}

/** `lightsub_<metric>`: the metric's name on /stats/prometheus once tagged. */
export function prometheusMetricName(metric: MetricName): string {
  return METRIC_PROMETHEUS_PREFIX + metric;
}

/** Prometheus label (stats tag) of the destination service. */
export const SERVICE_TAG = "service";
/** Prometheus label (stats tag) of the endpoint. */
export const ENDPOINT_TAG = "endpoint";

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const METRIC_PREFIX_REGEX = `^${escapeRegex(WASM_CUSTOM_STAT_NAMESPACE)}\\.${escapeRegex(METRIC_ROOT)}\\.`;

/**
 * Envoy stats_tags for the filter's metrics. Envoy removes the first capture
 * group from the name and uses the second as the tag value, so
 * `wasmcustom.lightsub.service.catalog.endpoint.catalog-1_9090.rq_total` becomes
 * `wasmcustom.lightsub.rq_total{service="catalog",endpoint="catalog-1_9090"}`.
 */
export const STATS_TAGS = [
  { tag_name: SERVICE_TAG, regex: `${METRIC_PREFIX_REGEX}(${METRIC_SERVICE_SEGMENT}\\.([^.]+)\\.)` },
  { tag_name: ENDPOINT_TAG, regex: `${METRIC_PREFIX_REGEX}${METRIC_SERVICE_SEGMENT}\\.[^.]+\\.(${METRIC_ENDPOINT_SEGMENT}\\.([^.]+)\\.)` },
] as const;
