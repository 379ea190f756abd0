// The filter's side of the wire contract: every name that crosses between the
// filter and Envoy, the compiler or users, in ONE file. schemas/wire.ts is the
// TypeScript side (the filter cannot import TypeScript); a test parses this
// file and checks that both agree, so keep it one `export const NAME: type = value;`
// per line. Bottom layer: imports nothing.

// Headers.
/** Request header the filter sets to the endpoint cluster it scheduled (plugin configuration `header` overrides it). */
export const SCHEDULING_HEADER: string = "x-lightsub-endpoint";
/** Response header of the filter's own 503 local replies: why it answered. */
export const REASON_HEADER: string = "x-lightsub-reason";

// Local replies: REASON_HEADER values (kebab-case) and response code details (snake_case, as Envoy's own).
export const REASON_SHARED_DATA_UNAVAILABLE: string = "shared-data-unavailable";
export const REASON_SHARED_DATA_CONTENTION: string = "shared-data-contention";
export const REASON_QUEUE_FULL: string = "queue-full";
export const REASON_QUEUE_TIMEOUT: string = "queue-timeout";
export const DETAILS_UNSCHEDULED: string = "lightsub_unscheduled";
export const DETAILS_QUEUE_FULL: string = "lightsub_queue_full";
export const DETAILS_QUEUE_TIMEOUT: string = "lightsub_queue_timeout";

// Strategy names (plugin configuration `strategy`), in StrategyKind order (config/plugin.ts).
export const STRATEGY_ROUND_ROBIN: string = "round_robin";
export const STRATEGY_RANDOM: string = "random";
export const STRATEGY_WEIGHTED: string = "weighted";
export const STRATEGY_LEAST_LOAD: string = "least_load";
export const STRATEGY_LEAST_LATENCY: string = "least_latency";
export const STRATEGY_AVAILABILITY: string = "availability";
export const STRATEGY_CONSISTENT_HASH: string = "consistent_hash";

// Envoy's response.flags bits the filter reads: StreamInfo::legacyResponseFlags(),
// bit (1 << CoreResponseFlag) per flag set (envoy/stream_info/stream_info.h, enum order).
export const FLAG_UPSTREAM_REQUEST_TIMEOUT: u64 = 0x4;
export const FLAG_LOCAL_RESET: u64 = 0x8;
export const FLAG_UPSTREAM_REMOTE_RESET: u64 = 0x10;
export const FLAG_UPSTREAM_CONNECTION_FAILURE: u64 = 0x20;
export const FLAG_UPSTREAM_CONNECTION_TERMINATION: u64 = 0x40;
export const FLAG_STREAM_IDLE_TIMEOUT: u64 = 0x10000;
export const FLAG_UPSTREAM_MAX_STREAM_DURATION_REACHED: u64 = 0x80000;
export const FLAG_DURATION_TIMEOUT: u64 = 0x400000;
export const FLAG_UPSTREAM_PROTOCOL_ERROR: u64 = 0x800000;

// Metric names: lightsub.service.<service>.<metric> (destination) and
// lightsub.service.<service>.endpoint.<stat>.<metric> (endpoint); kinds and scopes in telemetry/table.ts.
export const METRIC_ROOT: string = "lightsub";
export const METRIC_SERVICE_SEGMENT: string = "service";
export const METRIC_ENDPOINT_SEGMENT: string = "endpoint";
export const METRIC_RQ_TOTAL: string = "rq_total";
export const METRIC_RQ_ERROR: string = "rq_error";
export const METRIC_RQ_5XX: string = "rq_5xx";
export const METRIC_RQ_RESET: string = "rq_reset";
export const METRIC_RQ_TIMEOUT: string = "rq_timeout";
export const METRIC_RQ_ACTIVE: string = "rq_active";
export const METRIC_RQ_LATENCY_MS: string = "rq_latency_ms";
export const METRIC_LATENCY_EWMA_US: string = "latency_ewma_us";
export const METRIC_RQ_FAILOVER: string = "rq_failover";
export const METRIC_RQ_UNSCHEDULED: string = "rq_unscheduled";
export const METRIC_CAS_EXHAUSTED: string = "cas_exhausted";
export const METRIC_ADMISSION_QUEUED: string = "admission_queued";
export const METRIC_ADMISSION_WAIT_MS: string = "admission_wait_ms";
export const METRIC_ADMISSION_ADMITTED: string = "admission_admitted";
export const METRIC_ADMISSION_DELAYED: string = "admission_delayed";
export const METRIC_ADMISSION_REJECTED_QUEUE_FULL: string = "admission_rejected_queue_full";
export const METRIC_ADMISSION_REJECTED_QUEUE_TIMEOUT: string = "admission_rejected_queue_timeout";
export const METRIC_ADMISSION_LIMIT: string = "admission_limit";

// Shared data and host metadata.
/** Shared-data key of an endpoint's record: this prefix + the endpoint cluster name (records/record.ts). */
export const SHARED_KEY_PREFIX: string = "lightsub/v1/";
/** Filter metadata namespace and key of a failover host naming its endpoint cluster (compiler/envoy/failover.ts). */
export const METADATA_NAMESPACE: string = "lightsub";
export const METADATA_ENDPOINT_KEY: string = "endpoint";
