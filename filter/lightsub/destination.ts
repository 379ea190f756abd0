// Runtime objects built from the configuration at configure time: a
// destination and its endpoints, with everything the per-request path needs
// precomputed (encoded names, shared-data keys, metric ids), so a request
// allocates nothing but its context. Strategies and admission work on these;
// the plugin (plugin.ts) pairs each destination with its strategy and admission.
import { incrementMetric } from "../proxy-wasm/index";
import { DestinationConfig, HashSource, StrategyKind } from "./config/plugin";
import { storeTracked } from "./records/local";
import { EndpointRecord } from "./records/record";
import { Ejection, Update } from "./records/shared";
import { WINDOW_BUCKETS } from "./records/state";
import { EndpointTally, noteEwma, tallyFor } from "./telemetry/batch";
import { defineMetrics, destinationMetricPrefix, endpointMetricPrefix } from "./telemetry/metrics";
import { ENDPOINT_METRICS, METRIC_COUNT, Metric, Scope } from "./telemetry/table";

/** An endpoint of a destination: its shared record (records/record.ts), its weight and its metrics. */
export class Endpoint extends EndpointRecord {
  /** UTF-8 cluster name: the value of the scheduling header. */
  clusterBytes: ArrayBuffer;
  /** Metric ids by Metric (telemetry/table.ts; set by defineMetrics). */
  metrics: StaticArray<u32> = new StaticArray<u32>(ENDPOINT_METRICS);
  /** This worker's unpublished counts of the endpoint's metrics (telemetry/batch.ts; set by defineMetrics). */
  tally: EndpointTally | null = null;
  /** Its destination's metric ids (cas_exhausted of a store on the tick: storeWorkerLocal). */
  destinationMetrics: StaticArray<u32> = new StaticArray<u32>(0);

  constructor(public index: i32, cluster: string, stat: string, public weight: i32) {
    super(cluster, stat);
    this.clusterBytes = String.UTF8.encode(cluster);
  }

  /** Defines the endpoint's metrics (failover: also rq_failover) and finds its tally. */
  defineMetrics(service: string, failover: bool): void {
    const prefix = endpointMetricPrefix(service, this.stat);
    defineMetrics(this.metrics, prefix, Scope.Endpoint);
    if (failover) defineMetrics(this.metrics, prefix, Scope.Failover);
    this.tally = tallyFor(this.metrics);
  }
}

export class Destination {
  service: string;
  clusterBytes: ArrayBuffer;
  kind: StrategyKind;
  decayNs: f64;
  windowBucketMs: u64;
  errorThreshold: f64;
  minRequests: u32;
  probeIntervalMs: u64;
  hashSource: HashSource;
  /** Header to read the hash key from ("cookie" for cookies, ":path" for the path). */
  hashHeaderBytes: ArrayBuffer;
  /** Cookie name for HashSource.Cookie. */
  hashCookieBytes: ArrayBuffer;
  endpoints: Endpoint[] = [];
  /** Destination and admission metric ids by Metric (telemetry/table.ts). */
  metrics: StaticArray<u32> = new StaticArray<u32>(METRIC_COUNT);
  /** Envoy may serve a request scheduled onto an endpoint from another one (failover): read which host served. */
  failover: bool;
  /** When its endpoints are ejected (records/shared.ts). */
  ejection: Ejection;
  /**
   * Claims and releases stay in the worker until the root's tick
   * (records/local.ts): the strategy reads no other worker's load
   * (round_robin, random, weighted, consistent_hash) and there is no admission
   * (its limit counts the shared in-flight).
   */
  workerLocal: bool;
  /** The current pick's time, ms (strategies/strategy.ts). */
  nowMs: u64 = 0;
  /** The current pick claimed an ejected endpoint's probe (strategies/claim.ts). */
  probeClaimed: bool = false;
  /** The current pick passes over nothing: every endpoint was ejected (strategies/strategy.ts). */
  ignoreEjection: bool = false;

  constructor(config: DestinationConfig) {
    this.service = config.service;
    this.clusterBytes = String.UTF8.encode(config.cluster);
    this.kind = config.strategy;
    this.decayNs = <f64>config.decayMs * 1e6;
    const bucket = (config.windowMs + WINDOW_BUCKETS - 1) / WINDOW_BUCKETS;
    this.windowBucketMs = <u64>(bucket > 0 ? bucket : 1);
    this.errorThreshold = config.errorThreshold;
    this.minRequests = <u32>config.minRequests;
    this.probeIntervalMs = <u64>config.probeIntervalMs;
    this.failover = config.failover;
    this.ejection = new Ejection(<u32>config.ejectAfter, <u64>config.ejectionMs);
    const kind = config.strategy;
    this.workerLocal = config.admission == null &&
      (kind == StrategyKind.RoundRobin || kind == StrategyKind.Random || kind == StrategyKind.Weighted || kind == StrategyKind.ConsistentHash);
    this.hashSource = config.hashSource;
    let header = config.hashName;
    if (config.hashSource == HashSource.Cookie) header = "cookie";
    else if (config.hashSource == HashSource.Path) header = ":path";
    this.hashHeaderBytes = String.UTF8.encode(header);
    this.hashCookieBytes = String.UTF8.encode(config.hashSource == HashSource.Cookie ? config.hashName : "");
    for (let i = 0; i < config.endpoints.length; i++) {
      const e = config.endpoints[i];
      this.endpoints.push(new Endpoint(i, e.cluster, e.stat, e.weight));
    }
  }

  /** Defines the destination's metrics, then every endpoint's. */
  defineMetrics(): void {
    defineMetrics(this.metrics, destinationMetricPrefix(this.service), Scope.Destination);
    for (let i = 0; i < this.endpoints.length; i++) {
      this.endpoints[i].defineMetrics(this.service, this.failover);
      this.endpoints[i].destinationMetrics = this.metrics;
    }
  }

  /** Defines the admission metrics (only for a destination with admission). */
  defineAdmissionMetrics(): void {
    defineMetrics(this.metrics, destinationMetricPrefix(this.service), Scope.Admission);
  }

  /** Adds one to a destination metric (rq_unscheduled, cas_exhausted, admission counters and gauges). */
  count(metric: Metric, delta: i64 = 1): void {
    incrementMetric(this.metrics[metric], delta);
  }
}

/**
 * A record the tick stored: its endpoint's latency_ewma_us gauge takes the
 * stored EWMA (as a release that stores does: stream.ts); a store that gave up
 * after MAX_CAS_ATTEMPTS counts in its destination's cas_exhausted.
 */
function noteStored(record: EndpointRecord, result: Update): void {
  if (!(record instanceof Endpoint)) return;
  const ep = <Endpoint>record;
  if (result == Update.CasExhausted) incrementMetric(ep.destinationMetrics[Metric.CasExhausted], 1);
  if (result != Update.Ok) return;
  const tally = ep.tally;
  if (tally != null) noteEwma(tally, <u64>(ep.state.ewmaUs + 0.5));
}

/** The root's tick: stores what worker-local destinations kept in this worker (records/local.ts). */
export function storeWorkerLocal(): void {
  storeTracked(noteStored);
}
