// Runtime objects built from the configuration at configure time: everything
// the per-request path needs is precomputed here (encoded names, shared-data
// keys, metric ids), so a request allocates nothing but its context.
import { Admission } from "./admission/admission";
import { DestinationConfig, HashSource, StrategyKind } from "./config/plugin";
import { EndpointTally } from "./telemetry/batch";
import { EndpointSlot, slotFor } from "./records/slots";
import { EndpointState, WINDOW_BUCKETS } from "./records/state";

export class EndpointMetrics {
  total: u32 = 0;
  error: u32 = 0;
  serverError: u32 = 0;
  reset: u32 = 0;
  timeout: u32 = 0;
  active: u32 = 0;
  latencyMs: u32 = 0;
  ewmaUs: u32 = 0;
  /** rq_failover: defined only for destinations with failover. */
  failover: u32 = 0;
}

export class Endpoint {
  /** UTF-8 cluster name: the value of the scheduling header. */
  clusterBytes: ArrayBuffer;
  /** Shared-data key "lightsub/v1/<cluster>". */
  sharedKey: ArrayBuffer;
  /** Last state read from (or written to) shared data by this worker. */
  state: EndpointState = new EndpointState();
  metrics: EndpointMetrics = new EndpointMetrics();
  /** This worker's unpublished counts of the endpoint's metrics (metric-batch.ts; set with the metric ids, telemetry.ts). */
  tally: EndpointTally | null = null;
  /** VM-wide state of this endpoint cluster, shared with other configurations' Endpoint objects. */
  slot: EndpointSlot;
  /** The slot's generation when this configuration claimed it (slots.ts, retire.ts). */
  generation: u32 = 0;

  constructor(public index: i32, public cluster: string, public stat: string, public weight: i32) {
    this.clusterBytes = String.UTF8.encode(cluster);
    this.sharedKey = String.UTF8.encode("lightsub/v1/" + cluster);
    this.slot = slotFor(cluster);
  }

  /**
   * In-flight decrements this worker could not store (CAS retries exhausted);
   * folded into the next successful write so the shared count never leaks.
   * Kept per cluster, not per configuration: a request scheduled before a
   * reconfiguration may end after it.
   */
  get pendingInFlight(): i32 { return this.slot.pendingInFlight; }
  set pendingInFlight(v: i32) { this.slot.pendingInFlight = v; }

  /**
   * Whether this object's outcomes still belong in the shared history: not
   * after the endpoint was removed from every configuration of this VM or
   * re-configured with another address (its history was reset then).
   */
  get recordsHistory(): bool { return this.slot.users > 0 && this.slot.generation == this.generation; }
}

/** Negative results of Strategy.pick: why no endpoint could be chosen. */
export const PICK_SHARED_DATA_FAILED: i32 = -1;
export const PICK_CAS_EXHAUSTED: i32 = -2;

/** Chooses an endpoint for a request and claims it (shared in-flight + 1). */
export class Strategy {
  /** Set by pick: the endpoint it returned was claimed as a probe (its latency resets the EWMA, shared.ts release). */
  probed: bool = false;
  /** Index of the chosen endpoint, in-flight already incremented; or a PICK_* code. */
  pick(destination: Destination, nowNs: u64): i32 {
    return PICK_SHARED_DATA_FAILED;
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
  strategy: Strategy = new Strategy();
  unscheduledMetric: u32 = 0;
  casExhaustedMetric: u32 = 0;
  /** Scratch list of candidate endpoint indexes (availability). */
  candidates: StaticArray<i32>;
  /** Task admission (admission/); null: no limit, no queue, no extra host call. */
  admission: Admission | null = null;
  /** Envoy may serve a request scheduled onto an endpoint from another one (failover): read which host served. */
  failover: bool;

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
    this.hashSource = config.hashSource;
    let header = config.hashName;
    if (config.hashSource == HashSource.Cookie) header = "cookie";
    else if (config.hashSource == HashSource.Path) header = ":path";
    this.hashHeaderBytes = String.UTF8.encode(header);
    this.hashCookieBytes = String.UTF8.encode(config.hashSource == HashSource.Cookie ? config.hashName : "");
    this.candidates = new StaticArray<i32>(config.endpoints.length);
    for (let i = 0; i < config.endpoints.length; i++) {
      const e = config.endpoints[i];
      this.endpoints.push(new Endpoint(i, e.cluster, e.stat, e.weight));
    }
  }
}
