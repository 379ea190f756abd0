// THE metric table of the filter (docs/design.md, "Metrics"): every metric it
// defines, its kind and where it is defined. A new
// metric is one `Metric` member plus one row here (and its name in
// ../base/wire.ts, the contract). Rows are in `Metric` order.
import { MetricType } from "../../proxy-wasm/index";
import {
  METRIC_ADMISSION_ADMITTED, METRIC_ADMISSION_DELAYED, METRIC_ADMISSION_LIMIT, METRIC_ADMISSION_QUEUED,
  METRIC_ADMISSION_REJECTED_QUEUE_FULL, METRIC_ADMISSION_REJECTED_QUEUE_TIMEOUT, METRIC_ADMISSION_WAIT_MS,
  METRIC_CAS_EXHAUSTED, METRIC_LATENCY_EWMA_US, METRIC_RQ_5XX, METRIC_RQ_ACTIVE, METRIC_RQ_ERROR, METRIC_RQ_FAILOVER,
  METRIC_RQ_LATENCY_MS, METRIC_RQ_RESET, METRIC_RQ_TIMEOUT, METRIC_RQ_TOTAL, METRIC_RQ_UNSCHEDULED,
} from "../base/wire";

/** Index of a metric in METRICS and in the id arrays. Endpoint metrics come first (ENDPOINT_METRICS of them). */
export enum Metric {
  RqTotal, RqError, Rq5xx, RqReset, RqTimeout, RqActive, RqLatencyMs, LatencyEwmaUs, RqFailover,
  RqUnscheduled, CasExhausted,
  AdmissionQueued, AdmissionWaitMs, AdmissionAdmitted, AdmissionDelayed,
  AdmissionRejectedQueueFull, AdmissionRejectedQueueTimeout, AdmissionLimit,
}
export const ENDPOINT_METRICS: i32 = Metric.RqFailover + 1;
export const METRIC_COUNT: i32 = Metric.AdmissionLimit + 1;

/** Where a metric is defined. */
export enum Scope {
  /** Per endpoint: lightsub.service.<service>.endpoint.<stat>.<name>. */
  Endpoint,
  /** Per endpoint of a destination with failover. */
  Failover,
  /** Per destination: lightsub.service.<service>.<name>. */
  Destination,
  /** Per destination with admission. */
  Admission,
}

export class MetricRow {
  constructor(public name: string, public type: MetricType, public scope: Scope) {}
}

export const METRICS: StaticArray<MetricRow> = [
  new MetricRow(METRIC_RQ_TOTAL, MetricType.Counter, Scope.Endpoint),
  new MetricRow(METRIC_RQ_ERROR, MetricType.Counter, Scope.Endpoint),
  new MetricRow(METRIC_RQ_5XX, MetricType.Counter, Scope.Endpoint),
  new MetricRow(METRIC_RQ_RESET, MetricType.Counter, Scope.Endpoint),
  new MetricRow(METRIC_RQ_TIMEOUT, MetricType.Counter, Scope.Endpoint),
  new MetricRow(METRIC_RQ_ACTIVE, MetricType.Gauge, Scope.Endpoint),
  new MetricRow(METRIC_RQ_LATENCY_MS, MetricType.Histogram, Scope.Endpoint),
  new MetricRow(METRIC_LATENCY_EWMA_US, MetricType.Gauge, Scope.Endpoint),
  new MetricRow(METRIC_RQ_FAILOVER, MetricType.Counter, Scope.Failover),
  new MetricRow(METRIC_RQ_UNSCHEDULED, MetricType.Counter, Scope.Destination),
  // Not in the design's table: how often shared-state updates gave up after MAX_CAS_ATTEMPTS.
  new MetricRow(METRIC_CAS_EXHAUSTED, MetricType.Counter, Scope.Destination),
  new MetricRow(METRIC_ADMISSION_QUEUED, MetricType.Gauge, Scope.Admission),
  new MetricRow(METRIC_ADMISSION_WAIT_MS, MetricType.Histogram, Scope.Admission),
  new MetricRow(METRIC_ADMISSION_ADMITTED, MetricType.Counter, Scope.Admission),
  new MetricRow(METRIC_ADMISSION_DELAYED, MetricType.Counter, Scope.Admission),
  new MetricRow(METRIC_ADMISSION_REJECTED_QUEUE_FULL, MetricType.Counter, Scope.Admission),
  new MetricRow(METRIC_ADMISSION_REJECTED_QUEUE_TIMEOUT, MetricType.Counter, Scope.Admission),
  new MetricRow(METRIC_ADMISSION_LIMIT, MetricType.Gauge, Scope.Admission),
];
