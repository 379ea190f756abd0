// Metric definitions (docs/design.md, "Metrics"). Defined at configure time,
// once per VM: a reconfiguration reuses the ids of names defined before.
import { INVALID_METRIC, MetricType, defineMetric } from "../../proxy-wasm/index";
import { AdmissionMetrics } from "../admission/admission";
import { tallyFor } from "./batch";
import { Destination, Endpoint } from "../destination";

const definedIds = new Map<string, u32>();

function metric(type: MetricType, name: string): u32 {
  if (definedIds.has(name)) return definedIds.get(name);
  const id = defineMetric(type, name);
  if (id != INVALID_METRIC) definedIds.set(name, id);
  return id;
}

export function destinationMetricName(service: string, metricName: string): string {
  return "lightsub.service." + service + "." + metricName;
}

export function endpointMetricName(service: string, stat: string, metricName: string): string {
  return "lightsub.service." + service + ".endpoint." + stat + "." + metricName;
}

function defineEndpointMetrics(service: string, ep: Endpoint, failover: bool): void {
  const m = ep.metrics;
  m.total = metric(MetricType.Counter, endpointMetricName(service, ep.stat, "rq_total"));
  m.error = metric(MetricType.Counter, endpointMetricName(service, ep.stat, "rq_error"));
  m.serverError = metric(MetricType.Counter, endpointMetricName(service, ep.stat, "rq_5xx"));
  m.reset = metric(MetricType.Counter, endpointMetricName(service, ep.stat, "rq_reset"));
  m.timeout = metric(MetricType.Counter, endpointMetricName(service, ep.stat, "rq_timeout"));
  m.active = metric(MetricType.Gauge, endpointMetricName(service, ep.stat, "rq_active"));
  m.latencyMs = metric(MetricType.Histogram, endpointMetricName(service, ep.stat, "rq_latency_ms"));
  m.ewmaUs = metric(MetricType.Gauge, endpointMetricName(service, ep.stat, "latency_ewma_us"));
  if (failover) m.failover = metric(MetricType.Counter, endpointMetricName(service, ep.stat, "rq_failover"));
  ep.tally = tallyFor(m);
}

export function defineDestinationMetrics(destination: Destination): void {
  destination.unscheduledMetric = metric(MetricType.Counter, destinationMetricName(destination.service, "rq_unscheduled"));
  // Not in the design's table: how often shared-state updates gave up after MAX_CAS_ATTEMPTS.
  destination.casExhaustedMetric = metric(MetricType.Counter, destinationMetricName(destination.service, "cas_exhausted"));
  for (let i = 0; i < destination.endpoints.length; i++) defineEndpointMetrics(destination.service, destination.endpoints[i], destination.failover);
}

/** The destination-level admission metrics (only for destinations with admission). */
export function defineAdmissionMetrics(service: string, m: AdmissionMetrics): void {
  m.queued = metric(MetricType.Gauge, destinationMetricName(service, "admission_queued"));
  m.waitMs = metric(MetricType.Histogram, destinationMetricName(service, "admission_wait_ms"));
  m.admitted = metric(MetricType.Counter, destinationMetricName(service, "admission_admitted"));
  m.delayed = metric(MetricType.Counter, destinationMetricName(service, "admission_delayed"));
  m.rejectedQueueFull = metric(MetricType.Counter, destinationMetricName(service, "admission_rejected_queue_full"));
  m.rejectedQueueTimeout = metric(MetricType.Counter, destinationMetricName(service, "admission_rejected_queue_timeout"));
  m.limit = metric(MetricType.Gauge, destinationMetricName(service, "admission_limit"));
}
