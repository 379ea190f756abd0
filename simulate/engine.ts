/**
 * One simulation run: a discrete-event simulation on a virtual clock of the
 * caller's sidecar sending the workload to the destination's endpoints.
 *
 * Per request, as Envoy does it:
 *   arrival → early header mutations → route → [lightsub filter on a worker VM:
 *   it may set the scheduling header → route again] → cluster → host (the
 *   endpoint cluster's host, or the cluster's LB; failover hosts at priority 1
 *   only for a retry that leaves the tried priorities, as the simulator does
 *   not model health checks or outlier detection) → [the workload's overhead,
 *   request leg] → the backend model
 *   (queue, concurrency limit, service time, errors, outages) → the router's
 *   timeouts and retries (same route, same cluster) → [overhead, response
 *   leg] → response → filter end. The try is in flight (Envoy's active
 *   requests, the filter's record) from the pick to the end of the response
 *   leg, as the proxy, the network and the server's own handling keep it in
 *   a real mesh.
 *
 * The router's rules follow Envoy's docs: the route timeout covers all tries;
 * a per-try timeout ends one try (retried on 5xx / gateway-error); retry_on
 * conditions as RetryStateImpl applies them (reset-like failures are retried by
 * reset, 5xx and gateway-error; connect-failure only for connection failures;
 * overflow never); fully jittered exponential back-off (base 25 ms, cap 10×);
 * circuit breakers max_requests (503, UO) and max_retries (the response is
 * returned as is). Upstream failures before a response become the router's
 * 503 (UF connection failure, UR reset, UC connection termination) and
 * timeouts 504 (UT), as in Envoy's access log.
 */
import { nextArrivalMs } from "./arrivals.js";
import { samplerFor, type Sampler } from "./distributions.js";
import { Backend, TryPhase, type BackendTry } from "./backend.js";
import type { ClusterInfo } from "../envoy-model/cluster-table.js";
import { EventQueue } from "./event-queue.js";
import { RunRecorder, Outcome, type RecordedRequest, type RunMetrics } from "./metrics.js";
import { createNativeLb, type LoadBalancer } from "../envoy-model/native-lb.js";
import { OracleLb } from "./oracle.js";
import { FullScanPeakEwma, P2cPeakEwma, PeakEwmaTable, type LearningLoadBalancer } from "./peer-lb.js";
import { Random, STREAM } from "./random.js";
import type { HeaderPairs, RetryPolicy, RouteDecision, RouteTable } from "../envoy-model/route-table.js";
import type { FilterStream, SidecarFilter } from "./sidecar-filter.js";
import type { WorkloadModel } from "./workload/model.js";
import type { EndpointModel, HashOn } from "../compiler/model/mesh.js";
import { RESPONSE_FLAGS } from "../schemas/wire.js";

/** Who picks the host when a request reaches the destination's aggregate cluster. */
export type AggregateBalancer =
  | { kind: "native"; policy: ClusterInfo["lbPolicy"] }
  | { kind: "oracle" }
  | { kind: "compiled" }
  /** A peer balancer (peer-lb.ts) with the destination scheduler's EWMA decay. */
  | { kind: "peer"; policy: "P2C_PEAK_EWMA" | "FASTEST"; decayMs: number };

export interface EngineSetup {
  workload: WorkloadModel;
  seed: number;
  routes: RouteTable;
  clusters: ReadonlyMap<string, ClusterInfo>;
  /** The destination's endpoints, in workload (policy) order. */
  endpoints: readonly EndpointModel[];
  /** The destination's aggregate cluster name (= the service name). */
  aggregateCluster: string;
  aggregateBalancer: AggregateBalancer;
  /** Native runs use the policy's weights on the aggregate cluster. */
  aggregateWeights?: readonly number[];
  hashOn?: HashOn;
  filter?: SidecarFilter;
  /** With several callers (workload.callers > 1): each caller's own filter (the first is `filter`). */
  callerFilters?: SidecarFilter[];
  /** Called about every 1% of requests. */
  onProgress?: (done: number, total: number) => void;
}

const EVENT = {
  arrival: 0,
  tryStart: 1,
  tryResult: 2,
  serviceDone: 3,
  perTryTimeout: 4,
  routeTimeout: 5,
  stateChange: 6,
  tick: 7,
  /** The try's request leg (workload overhead) ended: it reaches the endpoint. */
  tryArrive: 8,
} as const;

/**
 * With requests held by the filter and nothing else to happen, keep ticking
 * this long (virtual ms) for the filter to resume or reject them, then stop:
 * their requests count as unanswered. Longer than any admission queueTimeout.
 */
const IDLE_TICKING_MS = 120_000;

/** Why a try ended, for retry decisions. */
const FAILURE = { response: 0, reset: 1, connectFailure: 2, perTryTimeout: 3 } as const;
type Failure = (typeof FAILURE)[keyof typeof FAILURE];

interface PriorityLevel {
  /** Host positions in the cluster at this priority. */
  positions: number[];
  /** One LB per worker over those hosts (returns an index into `positions`). */
  lbs: LoadBalancer[];
}

interface ClusterRuntime {
  info: ClusterInfo;
  endpointOf: number[];
  /** One LB per worker of each caller (index caller × workers + worker), like Envoy's thread-local LBs (clusters with one priority level). */
  lbs: LoadBalancer[];
  /** Balancers that learn from responses (the peers), by the same index; undefined otherwise. */
  learners: (LearningLoadBalancer | undefined)[];
  /** Clusters with several priority levels (failover): per level, lowest number first. */
  levels: PriorityLevel[] | undefined;
  active: number;
  activeRetries: number;
}

class Request implements RecordedRequest {
  stream: FilterStream | undefined;
  cluster: ClusterRuntime | undefined;
  retry: RetryPolicy | undefined;
  retriesLeft = 0;
  retriesDone = 0;
  deadlineMs = Infinity;
  current: Try | undefined;
  tried: number[] | undefined;
  /** Priority levels tried so far (retry_priority previous_priorities). */
  triedLevels: number[] | undefined;
  holdsRetrySlot = false;
  done = false;
  /** When the filter paused the request (NaN: never paused). */
  pausedAtMs = NaN;
  mixClass = -1;
  localReplyReason: string | undefined = undefined;
  constructor(
    readonly id: number,
    readonly arrivalMs: number,
    readonly worker: number,
    readonly hashKey: string | undefined,
    /** Which caller sidecar sends it (0 with one caller). */
    readonly caller = 0,
  ) {}
}

class Try implements BackendTry {
  phase: TryPhase = TryPhase.Connecting;
  failed = false;
  /** The client side is finished with this try (answered, timed out or reset). */
  settled = false;
  /** Outcome prepared for a tryResult event. */
  resultCode = 0;
  resultFlags = 0;
  resultFailure: Failure = FAILURE.response;
  constructor(
    readonly request: Request,
    readonly endpoint: number,
    readonly position: number,
    readonly startMs: number,
  ) {}
}

type Ref = Request | Try | number;

export function runEngine(setup: EngineSetup): RunMetrics {
  return new Engine(setup).run();
}

class Engine {
  private readonly queue = new EventQueue<Ref>();
  private readonly backends: Backend<Try>[];
  /** Requests in flight per endpoint, per caller sidecar (Envoy's host stats are per sidecar). */
  private readonly activeByCaller: Int32Array[];
  /** Every caller's filter (lightsub runs), index = caller. */
  private readonly filters: SidecarFilter[];
  private readonly callersRng: Random;
  private readonly clusters = new Map<string, ClusterRuntime>();
  private readonly endpointByAddress = new Map<string, number>();
  private readonly arrivalsRng: Random;
  private readonly workersRng: Random;
  private readonly keysRng: Random;
  private readonly retryRng: Random;
  /** Draws request.mix's header value (only when the workload has a mix: other workloads draw as before). */
  private readonly mixRng: Random;
  /** The workload's overhead legs (undefined: none, and the try goes straight on, drawing nothing). */
  private readonly requestLeg: Sampler | undefined;
  private readonly responseLeg: Sampler | undefined;
  private readonly overheadRng: Random;
  private readonly recorder: RunRecorder;
  /** Requests the filter holds (StopIteration, not yet continued), per worker, in pause order. */
  private readonly paused: Request[][];
  private pausedCount = 0;
  /** Workers whose VM ran a callback since their held requests were last looked at. */
  private readonly dirty: Uint8Array;
  private anyDirty = false;
  /** Time of the tick event in the queue (Infinity: none); tick events at other times are stale. */
  private tickAtMs = Infinity;
  private ticksQueued = 0;
  private lastBusyMs = 0;
  private readonly total: number;
  private readonly headerTemplate: HeaderPairs;
  private now = 0;
  private arrived = 0;
  /** Closed loop: arrivals queued so far (the clients' requests sent or about to be). */
  private issued = 0;
  private completed = 0;
  private progressStep: number;

  constructor(private readonly setup: EngineSetup) {
    const { workload, seed } = setup;
    this.total = workload.arrivals.requests;
    this.backends = workload.endpoints.map((behaviour, i) => new Backend<Try>(behaviour, seed, i));
    this.activeByCaller = Array.from({ length: workload.callers ?? 1 }, () => new Int32Array(setup.endpoints.length));
    this.filters = setup.callerFilters ?? (setup.filter ? [setup.filter] : []);
    this.callersRng = new Random(seed, STREAM.callers);
    setup.endpoints.forEach((ep, i) => this.endpointByAddress.set(`${ep.address}:${ep.port}`, i));
    this.arrivalsRng = new Random(seed, STREAM.arrivals);
    this.workersRng = new Random(seed, STREAM.workers);
    this.keysRng = new Random(seed, STREAM.keys);
    this.retryRng = new Random(seed, STREAM.retries);
    this.mixRng = new Random(seed, STREAM.mix);
    this.overheadRng = new Random(seed, STREAM.overhead);
    const overhead = workload.overhead;
    this.requestLeg = overhead?.requestLeg ? samplerFor(overhead.requestLeg) : undefined;
    this.responseLeg = overhead?.responseLeg ? samplerFor(overhead.responseLeg) : undefined;
    this.recorder = new RunRecorder(this.total, setup.endpoints.length, workload);
    this.progressStep = Math.max(1, Math.floor(this.total / 100));
    this.paused = Array.from({ length: workload.workers }, () => []);
    this.dirty = new Uint8Array(workload.workers);
    const { method, path, headers } = workload.request;
    this.headerTemplate = [[":method", method], [":scheme", "http"], [":path", path], [":authority", workload.to], ...headers];
  }

  run(): RunMetrics {
    // Closed loop: every client sends its first request at 0; open loop: the first arrival.
    const clients = this.setup.workload.arrivals.clients;
    this.issued = Math.min(clients ?? 1, this.total);
    for (let c = 0; c < this.issued; c++) this.queue.push(0, EVENT.arrival, 0);
    this.backends.forEach((b, i) => {
      b.behaviour.timeline.forEach((change, k) => {
        if (k > 0) this.queue.push(change.atMs, EVENT.stateChange, i * 65536 + k);
      });
    });
    const filter = this.setup.filter;
    while (this.queue.pop(this.dispatch)) {
      if (this.completed === this.total) break;
    }
    for (const f of this.filters) f.advanceTo(this.now);
    return this.recorder.finish();
  }

  private readonly dispatch = (time: number, kind: number, ref: Ref): void => {
    this.now = time;
    const filter = this.setup.filter;
    filter?.advanceTo(time);
    if (kind === EVENT.tick) this.ticksQueued--;
    else this.lastBusyMs = time;
    switch (kind) {
      case EVENT.arrival:
        this.onArrival();
        break;
      case EVENT.tryStart:
        this.onRetryDue(ref as Request);
        break;
      case EVENT.tryResult:
        this.onTryResult(ref as Try);
        break;
      case EVENT.serviceDone:
        this.onServiceDone(ref as Try);
        break;
      case EVENT.perTryTimeout:
        this.onPerTryTimeout(ref as Try);
        break;
      case EVENT.routeTimeout:
        this.onRouteTimeout(ref as Request);
        break;
      case EVENT.stateChange:
        this.onStateChange(ref as number);
        break;
      case EVENT.tick:
        this.onTick(time);
        break;
      case EVENT.tryArrive:
        this.onTryArrive(ref as Try);
        break;
    }
    if (this.anyDirty) this.resumeContinued();
    if (filter && this.pausedCount > 0) this.scheduleTick(filter);
  };

  // ── the filter's ticks ──────────────────────────────────────────────────

  /**
   * While the filter holds requests, its next tick is an event of its own, so
   * a request it resumes or rejects in proxy_on_tick does so at the tick's
   * time. (Without held requests, ticks fire inside advanceTo at the next
   * event, as before: nothing can be waiting for them.)
   */
  private scheduleTick(filter: SidecarFilter): void {
    const inMs = filter.nextTickInMs();
    if (inMs === undefined) return;
    const at = this.now + inMs;
    if (at >= this.tickAtMs && this.tickAtMs >= this.now) return; // already queued
    // Nothing else will happen: give the filter a bounded time to decide, then stop.
    if (this.queue.size === this.ticksQueued && at - this.lastBusyMs > IDLE_TICKING_MS) return;
    this.tickAtMs = at;
    this.ticksQueued++;
    this.queue.push(at, EVENT.tick, 0);
  }

  private onTick(time: number): void {
    if (time !== this.tickAtMs) return; // superseded
    this.tickAtMs = Infinity;
    const filter = this.setup.filter!;
    // advanceTo(time) fired the tick unless rounding put its due time a hair later.
    const left = filter.nextTickInMs();
    if (left !== undefined && left < 1e-6) filter.fireNextTick();
    this.dirty.fill(1);
    this.anyDirty = true;
  }

  // ── arrivals and routing ────────────────────────────────────────────────

  private onArrival(): void {
    const { arrivals, workers } = this.setup.workload;
    const id = this.arrived++;
    const closed = arrivals.clients !== undefined;
    if (!closed && this.arrived < this.total) this.queue.push(nextArrivalMs(arrivals, this.now, this.arrived, this.arrivalsRng), EVENT.arrival, 0);
    const callers = this.setup.workload.callers ?? 1;
    const request = new Request(id, this.now, this.workersRng.int(workers), this.drawHashKey(), callers > 1 ? this.callersRng.int(callers) : 0);
    this.recorder.arrive(this.now);
    const headers = this.requestHeaders(request.hashKey);
    const mix = this.setup.workload.request.mix;
    if (mix) {
      const draw = this.mixRng.next();
      let k = 0;
      while (k < mix.cumulative.length - 1 && draw >= mix.cumulative[k]!) k++;
      headers.push([mix.header, mix.values[k]!]);
      this.recorder.classify(request, k);
    }
    this.setup.routes.applyEarlyMutations(headers);
    const first = this.setup.routes.select(headers);
    const filter = this.filters[request.caller];
    if (!filter) {
      this.routeTo(request, first);
      return;
    }
    if (request.caller > 0) filter.advanceTo(this.now);
    const onCluster = first.kind === "cluster";
    request.stream = filter.start(request.worker, headers, onCluster ? first.cluster : undefined, first.kind === "noRoute" ? undefined : first.routeName);
    this.markDirty(request.worker);
    this.afterFilter(request);
  }

  /** After the filter's request-headers callback (or its continue): local reply, or route again on the changed headers. */
  private afterFilter(request: Request): void {
    const stream = request.stream!;
    const wasPaused = !Number.isNaN(request.pausedAtMs);
    if (stream.paused) {
      request.pausedAtMs = this.now;
      this.paused[request.worker]!.push(request);
      this.pausedCount++;
      return;
    }
    if (wasPaused) this.recorder.queuedFor(this.now - request.pausedAtMs);
    const local = stream.localReplyStatus;
    if (local !== undefined) {
      this.recorder.localReply(stream.localReplyReason ?? "", request);
      this.respond(request, local, 0, Outcome.localReply);
      return;
    }
    // Envoy (ABI 0.2.1) clears the route cache when a filter changes request headers.
    const decision = this.setup.routes.selectBy((name) => stream.header(name));
    stream.routed(decision.kind === "cluster" ? decision.cluster : undefined, decision.kind === "noRoute" ? undefined : decision.routeName);
    this.routeTo(request, decision);
  }

  private markDirty(worker: number): void {
    this.dirty[worker] = 1;
    this.anyDirty = true;
  }

  /**
   * Held requests the filter continued (or answered) during this event go on
   * now, at this event's time: the time the filter called
   * proxy_continue_stream / proxy_send_local_response. Resuming one may end
   * others (a local reply), so repeat until nothing changes.
   */
  private resumeContinued(): void {
    if (this.pausedCount === 0) {
      // Nothing held (always so without admission): nothing to look at.
      this.anyDirty = false;
      this.dirty.fill(0);
      return;
    }
    while (this.anyDirty) {
      this.anyDirty = false;
      for (let w = 0; w < this.paused.length; w++) {
        if (this.dirty[w] === 0) continue;
        this.dirty[w] = 0;
        const list = this.paused[w]!;
        if (!list.some((request) => !request.stream!.paused)) continue;
        const still: Request[] = [];
        const resumed: Request[] = [];
        for (const request of list) (request.stream!.paused ? still : resumed).push(request);
        this.paused[w] = still;
        this.pausedCount -= resumed.length;
        for (const request of resumed) this.afterFilter(request);
      }
    }
  }

  private routeTo(request: Request, decision: RouteDecision): void {
    const flags = RESPONSE_FLAGS;
    switch (decision.kind) {
      case "noRoute":
        this.respond(request, 404, flags.NoRouteFound, Outcome.noRoute);
        return;
      case "clusterNotFound":
        this.respond(request, 503, flags.NoClusterFound, Outcome.noRoute);
        return;
      case "direct":
        this.respond(request, decision.status, 0, decision.status >= 400 ? Outcome.noRoute : Outcome.ok);
        return;
      case "cluster":
        break;
    }
    const cluster = this.cluster(decision.cluster);
    if (!cluster) {
      this.respond(request, 503, flags.NoClusterFound, Outcome.noRoute);
      return;
    }
    request.cluster = cluster;
    request.retry = decision.retry;
    request.retriesLeft = decision.retry?.numRetries ?? 0;
    if (decision.timeoutMs > 0) {
      request.deadlineMs = this.now + decision.timeoutMs;
      this.queue.push(request.deadlineMs, EVENT.routeTimeout, request);
    }
    this.startTry(request);
  }

  private cluster(name: string): ClusterRuntime | undefined {
    let runtime = this.clusters.get(name);
    if (runtime) return runtime;
    const info = this.setup.clusters.get(name);
    if (!info || info.hosts.length === 0) return undefined;
    const endpointOf = info.hosts.map((h) => this.endpointByAddress.get(`${h.address}:${h.port}`) ?? -1);
    if (endpointOf.includes(-1)) return undefined; // a cluster of another service: not simulated
    const { workers } = this.setup.workload;
    const aggregate = name === this.setup.aggregateCluster;
    const balancer = aggregate ? this.setup.aggregateBalancer : ({ kind: "compiled" } as const);
    const weights = aggregate && this.setup.aggregateWeights ? this.setup.aggregateWeights : info.hosts.map((h) => h.weight);
    const lbs: LoadBalancer[] = [];
    const learners: (LearningLoadBalancer | undefined)[] = [];
    for (let c = 0; c < this.activeByCaller.length; c++) {
      const active = this.activeByCaller[c]!;
      const table = balancer.kind === "peer" ? new PeakEwmaTable(this.backends.length, balancer.decayMs, () => this.now) : undefined;
      for (let w = 0; w < workers; w++) {
        // Caller 0 draws exactly as a single-caller simulation always did.
        const rng = new Random(this.setup.seed, STREAM.balancer * 1000 + w + c * 100_000);
        let learner: LearningLoadBalancer | undefined;
        if (balancer.kind === "oracle") lbs.push(new OracleLb(endpointOf, this.backends, rng));
        else if (balancer.kind === "peer") {
          const hosts = { endpointOf, pending: active, table: table! };
          learner = balancer.policy === "FASTEST" ? new FullScanPeakEwma(hosts, rng) : new P2cPeakEwma(hosts, rng);
          lbs.push(learner);
        } else {
          const policy = balancer.kind === "native" ? balancer.policy : info.lbPolicy;
          lbs.push(createNativeLb(policy, { weights, endpointOf, active }, rng));
        }
        learners.push(learner);
      }
    }
    runtime = { info, endpointOf, lbs, learners, levels: this.priorityLevels(info, endpointOf), active: 0, activeRetries: 0 };
    this.clusters.set(name, runtime);
    return runtime;
  }

  /**
   * Per priority level, its hosts and one native LB per worker of each caller
   * (index caller × workers + worker); undefined for a cluster of one level.
   */
  private priorityLevels(info: ClusterInfo, endpointOf: number[]): PriorityLevel[] | undefined {
    const numbers = [...new Set(info.hosts.map((h) => h.priority))].sort((a, b) => a - b);
    if (numbers.length < 2) return undefined;
    const { workers } = this.setup.workload;
    return numbers.map((priority, level) => {
      const positions = info.hosts.flatMap((h, i) => (h.priority === priority ? [i] : []));
      const weights = positions.map((i) => info.hosts[i]!.weight);
      const levelEndpoints = positions.map((i) => endpointOf[i]!);
      const lbs: LoadBalancer[] = [];
      for (let c = 0; c < this.activeByCaller.length; c++) {
        const hosts = { weights, endpointOf: levelEndpoints, active: this.activeByCaller[c]! };
        for (let w = 0; w < workers; w++) {
          const rng = new Random(this.setup.seed, STREAM.balancer * 1000 + 100 * (level + 1) + w + c * 100_000);
          lbs.push(createNativeLb(info.lbPolicy, hosts, rng));
        }
      }
      return { positions, lbs };
    });
  }

  /**
   * The host position of a try. With priority levels: every host counts as
   * healthy (no health checks or outlier detection here), so the first level
   * takes all the load; a retry under previous_priorities goes to the first
   * level not tried yet, and back to the first once all were tried (Envoy).
   */
  private pickHost(request: Request, cluster: ClusterRuntime): number {
    const avoid = request.retriesDone > 0 && request.retry?.avoidPreviousHosts ? request.tried : undefined;
    const lb = request.caller * this.setup.workload.workers + request.worker;
    const levels = cluster.levels;
    if (levels === undefined) return cluster.lbs[lb]!.pick(request.hashKey, avoid);
    let level = 0;
    if (request.retriesDone > 0 && request.retry?.avoidPreviousPriorities && request.triedLevels) {
      const tried = request.triedLevels;
      level = Math.max(0, levels.findIndex((_, i) => !tried.includes(i)));
    }
    if (request.retry?.avoidPreviousPriorities) (request.triedLevels ??= []).push(level);
    const { positions, lbs } = levels[level]!;
    const avoidHere = avoid?.map((p) => positions.indexOf(p)).filter((i) => i >= 0);
    return positions[lbs[lb]!.pick(request.hashKey, avoidHere)]!;
  }

  // ── tries ───────────────────────────────────────────────────────────────

  private startTry(request: Request): void {
    const cluster = request.cluster!;
    if (cluster.active >= cluster.info.maxRequests) {
      // Circuit breaker overflow: answered at once and never retried.
      this.releaseRetrySlot(request);
      this.respond(request, 503, RESPONSE_FLAGS.UpstreamOverflow, Outcome.overflow);
      return;
    }
    const position = this.pickHost(request, cluster);
    const endpoint = cluster.endpointOf[position]!;
    if (request.retry?.avoidPreviousHosts) (request.tried ??= []).push(position);
    const t = new Try(request, endpoint, position, this.now);
    request.current = t;
    cluster.active++;
    this.activeByCaller[request.caller]![endpoint]!++;
    this.recorder.tryStarted(endpoint, this.now, request.retriesDone > 0);
    const perTry = request.retry?.perTryTimeoutMs;
    if (perTry !== undefined && perTry > 0) this.queue.push(this.now + perTry, EVENT.perTryTimeout, t);
    if (this.requestLeg) {
      this.queue.push(this.now + this.requestLeg(this.overheadRng), EVENT.tryArrive, t);
      return;
    }
    this.reachEndpoint(t);
  }

  /** After its request leg: the try is still wanted unless a timeout gave up on it on the way. */
  private onTryArrive(t: Try): void {
    if (t.settled || t.phase !== TryPhase.Connecting) return;
    this.reachEndpoint(t);
  }

  /** The try reaches its endpoint: an outage answers it, or the endpoint serves or queues it. */
  private reachEndpoint(t: Try): void {
    const cluster = t.request.cluster!;
    const backend = this.backends[t.endpoint]!;
    const flags = RESPONSE_FLAGS;
    switch (backend.state.outage) {
      case "refused":
        this.resultLater(t, 0, 503, flags.UpstreamConnectionFailure, FAILURE.connectFailure);
        return;
      case "blackhole":
        this.resultLater(t, cluster.info.connectTimeoutMs, 503, flags.UpstreamConnectionFailure, FAILURE.connectFailure);
        return;
      case "reset":
        this.resultLater(t, 0, 503, flags.UpstreamRemoteReset, FAILURE.reset);
        return;
      case "503":
        this.resultLater(t, 0, 503, 0, FAILURE.response);
        return;
      case undefined:
        break;
    }
    if (backend.hasRoom) {
      this.queue.push(this.now + backend.serve(t), EVENT.serviceDone, t);
    } else if (backend.queueFull) {
      this.resultLater(t, 0, backend.errorStatus, 0, FAILURE.response);
    } else {
      backend.enqueue(t);
    }
  }

  private resultLater(t: Try, delayMs: number, code: number, flags: number, failure: Failure): void {
    t.phase = TryPhase.Connecting;
    t.resultCode = code;
    t.resultFlags = flags;
    t.resultFailure = failure;
    this.queue.push(this.now + delayMs, EVENT.tryResult, t);
  }

  private onTryResult(t: Try): void {
    if (t.settled || t.phase !== TryPhase.Connecting) return;
    t.phase = TryPhase.Done;
    this.settleTry(t, t.resultCode, t.resultFlags, t.resultFailure);
  }

  private onServiceDone(t: Try): void {
    if (t.phase !== TryPhase.Serving) return; // cut off by an outage
    const backend = this.backends[t.endpoint]!;
    backend.release(t);
    const next = backend.dequeue();
    if (next) this.queue.push(this.now + backend.serve(next), EVENT.serviceDone, next);
    if (t.settled) return; // its client gave up; the work was done anyway
    // Behind a blackhole the answer never arrives: the client waits for its timeouts.
    if (backend.state.outage === "blackhole") return;
    const code = t.failed ? backend.errorStatus : 200;
    if (this.responseLeg) {
      // The answer is on its way back: still in flight until it arrives.
      this.resultLater(t, this.responseLeg(this.overheadRng), code, 0, FAILURE.response);
      return;
    }
    this.settleTry(t, code, 0, FAILURE.response);
  }

  private onPerTryTimeout(t: Try): void {
    if (t.settled) return;
    this.abandon(t);
    this.settleTry(t, 504, RESPONSE_FLAGS.UpstreamRequestTimeout, FAILURE.perTryTimeout);
  }

  private onRouteTimeout(request: Request): void {
    if (request.done) return;
    const t = request.current;
    if (t && !t.settled) {
      this.abandon(t);
      this.releaseTry(t);
      // tower's PeakEwma handle records the time when it is dropped, answered or not.
      request.cluster!.learners[request.caller * this.setup.workload.workers + request.worker]?.observe(t.position, this.now - t.startMs);
    }
    this.releaseRetrySlot(request);
    this.respond(request, 504, RESPONSE_FLAGS.UpstreamRequestTimeout, Outcome.timeout);
  }

  /** The client stops waiting for a try: it leaves the queue, or keeps its slot until the work is done. */
  private abandon(t: Try): void {
    if (t.phase === TryPhase.Queued) this.backends[t.endpoint]!.leaveQueue(t);
    else if (t.phase === TryPhase.Connecting) t.phase = TryPhase.Done;
  }

  private releaseTry(t: Try): void {
    t.settled = true;
    t.request.cluster!.active--;
    this.activeByCaller[t.request.caller]![t.endpoint]!--;
  }

  private releaseRetrySlot(request: Request): void {
    if (request.holdsRetrySlot) {
      request.cluster!.activeRetries--;
      request.holdsRetrySlot = false;
    }
  }

  /** A try has its outcome: retry it, or answer the client. */
  private settleTry(t: Try, code: number, flags: number, failure: Failure): void {
    this.releaseTry(t);
    const request = t.request;
    const learner = request.cluster!.learners[request.caller * this.setup.workload.workers + request.worker];
    learner?.observe(t.position, this.now - t.startMs);
    this.releaseRetrySlot(request);
    if (request.done) return;
    this.recorder.tryEnded(t.endpoint, code !== 200);
    const policy = request.retry;
    const retriable = policy !== undefined && wouldRetry(policy, failure, code);
    if (retriable && request.retriesLeft > 0) {
      const cluster = request.cluster!;
      if (cluster.activeRetries < cluster.info.maxRetries) {
        request.retriesLeft--;
        request.retriesDone++;
        cluster.activeRetries++;
        request.holdsRetrySlot = true;
        this.queue.push(this.now + this.backoff(policy!, request.retriesDone), EVENT.tryStart, request);
        return;
      }
    }
    if (retriable && request.retriesLeft === 0 && policy!.numRetries > 0) flags |= RESPONSE_FLAGS.UpstreamRetryLimitExceeded;
    this.respond(request, code, flags, outcomeOf(failure, code));
  }

  private onRetryDue(request: Request): void {
    if (request.done) return;
    this.startTry(request);
  }

  /** Envoy's fully jittered back-off: uniform in [0, (2^n − 1) × base), capped at max. */
  private backoff(policy: RetryPolicy, retry: number): number {
    const ceiling = Math.min((2 ** retry - 1) * policy.backoffBaseMs, policy.backoffMaxMs);
    return this.retryRng.next() * ceiling;
  }

  // ── endpoint state changes ──────────────────────────────────────────────

  private onStateChange(ref: number): void {
    const endpoint = Math.floor(ref / 65536);
    const backend = this.backends[endpoint]!;
    const state = backend.behaviour.timeline[ref % 65536]!.state;
    backend.state = state;
    if (state.outage === "refused" || state.outage === "reset") {
      // The instance went away: every open request on it is cut.
      const flag = state.outage === "refused" ? RESPONSE_FLAGS.UpstreamConnectionTermination : RESPONSE_FLAGS.UpstreamRemoteReset;
      for (const t of backend.drainAll()) {
        if (!t.settled) this.settleTry(t, 503, flag, FAILURE.reset);
      }
    } else if (state.outage === undefined) {
      // Recovered or changed: queued work may start.
      while (backend.hasRoom) {
        const next = backend.dequeue();
        if (!next) break;
        this.queue.push(this.now + backend.serve(next), EVENT.serviceDone, next);
      }
    }
  }

  // ── the end of a request ────────────────────────────────────────────────

  private respond(request: Request, code: number, flags: number, outcome: Outcome): void {
    request.done = true;
    this.completed++;
    this.recorder.respond(request, this.now, code, outcome);
    // Closed loop: the client sends its next request now.
    if (this.setup.workload.arrivals.clients !== undefined && this.issued < this.total) {
      this.issued++;
      this.queue.push(this.now, EVENT.arrival, 0);
    }
    if (request.stream) {
      if (request.caller > 0) this.filters[request.caller]!.advanceTo(this.now);
      const t = request.current;
      request.stream.respond(code, flags, t && request.cluster ? request.cluster.info.hosts[t.position]?.servedBy : undefined);
      // The stream's end may free an admission slot: the worker resumes a held request.
      this.markDirty(request.worker);
    }
    if (this.completed % this.progressStep === 0) this.setup.onProgress?.(this.completed, this.total);
  }

  // ── request shape ───────────────────────────────────────────────────────

  private drawHashKey(): string | undefined {
    const hashOn = this.setup.hashOn;
    if (!hashOn) return undefined;
    return `k${this.keysRng.int(this.setup.workload.request.hashKeys)}`;
  }

  private requestHeaders(hashKey: string | undefined): HeaderPairs {
    const headers = this.headerTemplate.slice();
    const hashOn = this.setup.hashOn;
    if (hashKey !== undefined && hashOn) {
      if (hashOn.kind === "header") headers.push([hashOn.name.toLowerCase(), hashKey]);
      else if (hashOn.kind === "cookie") headers.push(["cookie", `${hashOn.name}=${hashKey}`]);
      else headers[2] = [":path", `${this.setup.workload.request.path.replace(/\/$/, "")}/${hashKey}`];
    }
    return headers;
  }
}

/** Envoy's RetryStateImpl decision for one try's outcome. */
function wouldRetry(policy: RetryPolicy, failure: Failure, code: number): boolean {
  const on = policy.retryOn;
  switch (failure) {
    case FAILURE.perTryTimeout:
      return on.has("5xx") || on.has("gateway-error");
    case FAILURE.reset:
      return on.has("reset") || on.has("5xx") || on.has("gateway-error");
    case FAILURE.connectFailure:
      return on.has("reset") || on.has("5xx") || on.has("gateway-error") || on.has("connect-failure");
    case FAILURE.response:
      if (on.has("5xx") && code >= 500) return true;
      if (on.has("gateway-error") && (code === 502 || code === 503 || code === 504)) return true;
      if (on.has("retriable-4xx") && code === 409) return true;
      if (on.has("retriable-status-codes") && policy.retriableStatusCodes.includes(code)) return true;
      return false;
  }
}

function outcomeOf(failure: Failure, code: number): Outcome {
  switch (failure) {
    case FAILURE.perTryTimeout:
      return Outcome.timeout;
    case FAILURE.reset:
      return Outcome.reset;
    case FAILURE.connectFailure:
      return Outcome.connectFailure;
    case FAILURE.response:
      return code >= 500 ? Outcome.http5xx : code >= 400 ? Outcome.http4xx : Outcome.ok;
  }
}
