/**
 * The resolved workload: what the engine runs. Durations in milliseconds,
 * defaults applied, endpoints in the destination's policy order.
 */
import type { StrategyName } from "../../schemas/wire.js";

export type LatencySpec =
  | { distribution: "constant"; valueMs: number }
  | { distribution: "exponential"; meanMs: number }
  | { distribution: "lognormal"; medianMs: number; sigma: number }
  | { distribution: "bimodal"; fast: LatencySpec; slow: LatencySpec; slowFraction: number };

export type OutageKind = "refused" | "reset" | "blackhole" | "503";

/** What an endpoint is like during one stretch of time. */
export interface EndpointState {
  /** Service times are multiplied by this. */
  slowdown: number;
  outage?: OutageKind;
  errorRate: number;
}

/** From `atMs` on the endpoint is in `state` (until the next change). */
export interface StateChange {
  atMs: number;
  state: EndpointState;
}

export interface EndpointBehaviour {
  latency: LatencySpec;
  /** Requests served at once; more wait in the queue. */
  concurrency: number;
  /** Waiting requests allowed; Infinity when unbounded. */
  queueLimit: number;
  errorRate: number;
  errorStatus: number;
  /** Sorted by time; the first entry is at 0 (the baseline). */
  timeline: StateChange[];
}

export type ArrivalProcess = "poisson" | "constant";

/** The rate inside `[atMs, untilMs)` replaces the base rate (bursts do not overlap). */
export interface BurstModel {
  atMs: number;
  untilMs: number;
  ratePerSec: number;
}

export interface ArrivalsModel {
  process: ArrivalProcess;
  /** The base rate, requests per second. */
  ratePerSec: number;
  requests: number;
  /** Windows with another rate, sorted by time; absent when there are none. */
  bursts?: BurstModel[];
  /**
   * Closed loop: this many clients, each sending its next request the moment
   * its previous one is answered (`ratePerSec` then only lays out the time
   * series). Absent: open loop.
   */
  clients?: number;
}

export interface OverheadModel {
  requestLeg?: LatencySpec;
  responseLeg?: LatencySpec;
}

export type RunName =
  /** lightsub with this strategy (compiler/model/strategies.ts). */
  | StrategyName
  | "envoy:ROUND_ROBIN"
  | "envoy:RANDOM"
  | "envoy:LEAST_REQUEST"
  /** Power of two choices on peak-EWMA latency × (pending + 1), as tower and Linkerd balance (simulate/peer-lb.ts). */
  | "peer:P2C_PEAK_EWMA"
  /** Every request to the endpoint with the lowest peak-EWMA latency × (pending + 1): full scoring, no sampling. */
  | "peer:FASTEST"
  | "oracle"
  /** The policy's strategy with the destination's admission removed (no limit, no queue). */
  | "no_admission"
  /** The policy's strategy without admission, Envoy's circuit breaker (max_requests = the admission limit) on each endpoint cluster: immediate 503. */
  | "circuit_breaker";

/** A request header whose value is drawn per request (e.g. the admission priority). */
export interface RequestMix {
  /** Lowercase header name. */
  header: string;
  /** The values, in the workload's order. */
  values: string[];
  /** Cumulative shares (the last is 1): value i when a uniform draw is below cumulative[i]. */
  cumulative: number[];
}

export interface WorkloadModel {
  from: string;
  to: string;
  seed?: number;
  workers: number;
  /** Caller sidecars sending the workload, each with its own filter state and balancers (default 1). */
  callers?: number;
  arrivals: ArrivalsModel;
  request: { method: string; path: string; headers: [string, string][]; hashKeys: number; mix?: RequestMix };
  endpoints: EndpointBehaviour[];
  /**
   * Time per try outside the endpoint's service time (proxy, network, the
   * server's own handling): `requestLeg` from the balancer's pick until the
   * endpoint has the request, `responseLeg` from its answer until the sidecar
   * has it. The try is in flight during both (Envoy's LEAST_REQUEST and the
   * filter's in-flight counts see it) and both are part of the latency the
   * filter measures. Absent: none (every try reaches its endpoint at once).
   */
  overhead?: OverheadModel;
  /** Explicit list of runs, or undefined for the default set. */
  compare?: RunName[];
}

export const WORKLOAD_DEFAULTS = {
  workers: 4,
  callers: 1,
  /** Closed-loop workloads without a rate: the rate assumed only to lay out time series. */
  closedLoopRate: 1000,
  latency: { distribution: "constant", valueMs: 10 } as LatencySpec,
  concurrency: 100,
  queueLimit: Infinity,
  errorRate: 0,
  errorStatus: 503,
  method: "GET",
  path: "/",
  hashKeys: 1000,
  process: "poisson" as ArrivalProcess,
};

export const MAX_REQUESTS = 10_000_000;
