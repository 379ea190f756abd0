// One request's lifecycle: this module owns it. On request headers: recognise
// the destination (a listener's own configuration names it; otherwise the
// route's cluster, xds.cluster_name, does), have it picked
// (the strategy, or admission: admit, queue or reject), and steer the request
// with the scheduling header. When the request ends (proxy_on_log, or
// proxy_on_delete if no log came), account it exactly once.
import {
  FilterDataStatus, FilterHeadersStatus, FilterTrailersStatus, HeaderMapType, HeaderPair, HttpContext, RootContext, StreamType, WasmResult,
  callForeignFunction, continueStream, currentTimeNanos, getHeaderRaw, getPropertyRaw, getPropertyU64, propertyPath, recordMetric,
  releaseReturned, removeHeaderBytes, replaceHeaderBytes, returnedPtr, returnedSize, sendLocalResponseBytes,
  serializeHeaderPairs,
} from "../proxy-wasm/index";
import { sameBytes } from "./base/bytes";
import { Outcome, classify, flagsMatter } from "./base/outcome";
import { Pick } from "./base/pick";
import {
  DETAILS_QUEUE_FULL, DETAILS_QUEUE_TIMEOUT, DETAILS_UNSCHEDULED, METADATA_ENDPOINT_KEY, METADATA_NAMESPACE,
  REASON_HEADER, REASON_QUEUE_FULL, REASON_QUEUE_TIMEOUT, REASON_SHARED_DATA_CONTENTION,
  REASON_SHARED_DATA_UNAVAILABLE, SCHEDULING_HEADER,
} from "./base/wire";
import { Admission } from "./admission/admission";
import { Task } from "./admission/queue";
import { Destination, Endpoint } from "./destination";
import { CurrentPlugin, Plugin, Target } from "./plugin";
import { releaseLocally } from "./records/local";
import { Update, release } from "./records/shared";
import { countEnded, countScheduled, flushIfDue, noteEwma } from "./telemetry/batch";
import { Metric } from "./telemetry/table";

const CLUSTER_NAME_PATH = propertyPath(["xds", "cluster_name"]);
const RESPONSE_CODE_PATH = propertyPath(["response", "code"]);
const RESPONSE_FLAGS_PATH = propertyPath(["response", "flags"]);
const STATUS_HEADER = String.UTF8.encode(":status");
/**
 * The endpoint cluster named in the metadata of the host that served the
 * request; only failover hosts carry it (docs/design.md "Failover"), so it is
 * found exactly when another endpoint than the scheduled one answered.
 */
const SERVED_BY_PATH = propertyPath(["xds", "upstream_host_metadata", "filter_metadata", METADATA_NAMESPACE, METADATA_ENDPOINT_KEY]);
const DEFAULT_HEADER = String.UTF8.encode(SCHEDULING_HEADER);
const EMPTY = new ArrayBuffer(0);
const UNSCHEDULED_DETAILS = String.UTF8.encode(DETAILS_UNSCHEDULED);
const FULL_DETAILS = String.UTF8.encode(DETAILS_QUEUE_FULL);
const TIMEOUT_DETAILS = String.UTF8.encode(DETAILS_QUEUE_TIMEOUT);
const FULL_HEADERS = serializeHeaderPairs([new HeaderPair(REASON_HEADER, REASON_QUEUE_FULL)]);
const TIMEOUT_HEADERS = serializeHeaderPairs([new HeaderPair(REASON_HEADER, REASON_QUEUE_TIMEOUT)]);

/**
 * Envoy clears the route cache itself when a filter of ABI 0.2.1 (this
 * module's: proxy-wasm/) changes request headers (measured on Envoy 1.40:
 * test/e2e/strategies.test.ts steers without the call), so the foreign
 * function clear_route_cache is not called per request. A build for a newer
 * ABI, where Envoy no longer does it, must set this false.
 */
const ENVOY_CLEARS_ROUTE_CACHE: bool = true;
const CLEAR_ROUTE_CACHE = String.UTF8.encode("clear_route_cache");
/** Newer ABIs need the call. Stop after NotFound. */
let clearRouteCacheAvailable = true;

function clearRouteCache(): void {
  if (ENVOY_CLEARS_ROUTE_CACHE || !clearRouteCacheAvailable) return;
  if (callForeignFunction(CLEAR_ROUTE_CACHE) == WasmResult.NotFound) clearRouteCacheAvailable = false;
}

/** The response headers' :status as a number (0 when absent or not a 3-digit status). */
function readStatus(): u64 {
  if (getHeaderRaw(HeaderMapType.ResponseHeaders, STATUS_HEADER) != WasmResult.Ok) {
    releaseReturned();
    return 0;
  }
  const ptr = returnedPtr();
  const size = returnedSize();
  let code: u64 = 0;
  if (size == 3) {
    for (let i: usize = 0; i < 3; i++) {
      const digit = <u32>load<u8>(ptr + i) - 48;
      if (digit > 9) {
        code = 0;
        break;
      }
      code = code * 10 + <u64>digit;
    }
  }
  releaseReturned();
  return code;
}

/** The target of the request's route cluster (xds.cluster_name), or null: no route, or not one of the plugin's. */
function routeTarget(plugin: Plugin): Target | null {
  if (getPropertyRaw(CLUSTER_NAME_PATH) != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  const target = plugin.targetFor(returnedPtr(), returnedSize());
  releaseReturned();
  return target;
}

/** Serialized headers of the fail-closed local reply (failure path only: allocates). */
function reasonHeaders(reason: string): ArrayBuffer {
  return serializeHeaderPairs([new HeaderPair(REASON_HEADER, reason)]);
}

/** The stream's side of its wait in an admission queue (admission/queue.ts). */
class StreamTask extends Task {
  constructor(public stream: LightsubStream) {
    super();
  }

  activate(): bool {
    return this.stream.setEffective() == WasmResult.Ok;
  }

  admit(destination: Destination, index: i32, headerBytes: ArrayBuffer, nowNs: u64): void {
    const stream = this.stream;
    const admission = stream.waitingIn; // ended() finds the admission that admitted it from this one
    stream.stopWaiting();
    stream.steer(headerBytes, destination, destination.endpoints[index], nowNs, admission);
    continueStream(StreamType.Request);
  }

  reject(timedOut: bool): void {
    this.stream.stopWaiting();
    if (timedOut) sendLocalResponseBytes(503, TIMEOUT_DETAILS, EMPTY, TIMEOUT_HEADERS);
    else sendLocalResponseBytes(503, FULL_DETAILS, EMPTY, FULL_HEADERS);
  }
}

export class LightsubStream extends HttpContext {
  destination: Destination | null = null;
  endpoint: Endpoint | null = null;
  /** The admission that admitted it (null: none), told when it ends. */
  admission: Admission | null = null;
  startNs: u64 = 0;
  accounted: bool = false;
  /** The request is a probe of an endpoint its strategy had set aside (least_latency): its latency replaces the EWMA. */
  probe: bool = false;
  /** The response's :status as it passed the filter (0: no response headers seen). */
  responseCode: u64 = 0;
  /** The response's end of stream passed the filter (base/outcome.ts flagsMatter). */
  responseEnded: bool = false;
  /** While the request waits in an admission queue: its task and the admission it joined. */
  task: StreamTask | null = null;
  waitingIn: Admission | null = null;

  /** current: the root's plugin (root.ts), read when the request headers come. */
  constructor(contextId: u32, root: RootContext, public current: CurrentPlugin) {
    super(contextId, root);
  }

  override onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.endpoint != null) return FilterHeadersStatus.Continue; // already scheduled: never claim twice
    const plugin = this.current.plugin;
    if (plugin == null) {
      // Not configured: we cannot tell our requests from others; never let a client steer.
      removeHeaderBytes(HeaderMapType.RequestHeaders, DEFAULT_HEADER);
      return FilterHeadersStatus.Continue;
    }
    // A listener's own configuration names its destination: no property read (one get_property host
    // call less per request). Otherwise the route's cluster names it.
    const listenerTarget = plugin.listenerTarget;
    const target = listenerTarget != null ? listenerTarget : routeTarget(plugin);
    if (target == null) return FilterHeadersStatus.Continue; // not ours (e.g. inbound)

    const nowNs = currentTimeNanos();
    const destination = target.destination;
    const admission = target.admission;
    if (admission != null) return this.admit(plugin, admission, nowNs);
    const strategy = target.strategy;
    const index = strategy.pick(destination, nowNs);
    if (index < 0) return this.unscheduled(plugin, destination, index);
    this.steer(plugin.headerBytes, destination, destination.endpoints[index], nowNs, null);
    this.probe = strategy.probed;
    return FilterHeadersStatus.Continue;
  }

  /** Request headers of a destination with admission: admitted at once, queued (StopIteration) or rejected. */
  admit(plugin: Plugin, admission: Admission, nowNs: u64): FilterHeadersStatus {
    // Tasks already waiting go first: serve them if slots freed since (their callbacks run: ours is effective again after).
    if (admission.drain(nowNs)) this.setEffective();
    const destination = admission.destination;
    const index = admission.admit(nowNs);
    if (index >= 0) {
      this.steer(plugin.headerBytes, destination, destination.endpoints[index], nowNs, admission);
      this.probe = admission.strategy.probed; // a probe's outcome ends or renews its endpoint's ejection
      return FilterHeadersStatus.Continue;
    }
    if (index != Pick.Queued) return this.unscheduled(plugin, destination, index);
    const task = new StreamTask(this);
    if (admission.enqueue(task, nowNs) == Pick.QueueFull) {
      sendLocalResponseBytes(503, FULL_DETAILS, EMPTY, FULL_HEADERS);
      return FilterHeadersStatus.StopIteration;
    }
    this.task = task;
    this.waitingIn = admission;
    return FilterHeadersStatus.StopIteration;
  }

  /** No endpoint could be picked (`pick`: Pick.SharedDataFailed or Pick.CasExhausted): fail open or closed. */
  unscheduled(plugin: Plugin, destination: Destination, pick: i32): FilterHeadersStatus {
    destination.count(Metric.RqUnscheduled);
    if (!plugin.failClosed) {
      removeHeaderBytes(HeaderMapType.RequestHeaders, plugin.headerBytes);
      return FilterHeadersStatus.Continue;
    }
    const reason = pick == Pick.CasExhausted ? REASON_SHARED_DATA_CONTENTION : REASON_SHARED_DATA_UNAVAILABLE;
    sendLocalResponseBytes(503, UNSCHEDULED_DETAILS, EMPTY, reasonHeaders(reason));
    return FilterHeadersStatus.StopIteration;
  }

  /** The request waits no more (admitted or answered by admission). */
  stopWaiting(): void {
    this.task = null;
    this.waitingIn = null;
  }

  /**
   * Schedules this request onto `ep`, just claimed: after a pick, or by admission
   * (on arrival, or resuming a waiting task with this stream as the effective context).
   */
  steer(headerBytes: ArrayBuffer, destination: Destination, ep: Endpoint, nowNs: u64, admission: Admission | null): void {
    this.destination = destination;
    this.endpoint = ep;
    this.admission = admission;
    this.startNs = nowNs; // for a resumed task: upstream latency from admission (the wait is admission_wait_ms)
    countScheduled(ep.tally!);
    // One call: Envoy's replace (HeaderMapImpl::setCopy) removes every copy of
    // the header, then adds ours, so no client-sent value survives.
    replaceHeaderBytes(HeaderMapType.RequestHeaders, headerBytes, ep.clusterBytes);
    clearRouteCache();
  }

  // Response callbacks only note a normal end (Envoy calls them whether or not the module acts).
  override onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (endOfStream) this.responseEnded = true;
    // The status from the headers as they pass (a header lookup, ~0.2 us on Envoy
    // 1.40) instead of the response.code property in onLog (~1.2 us): the same
    // number, since the router is the only filter after this one and Envoy sets
    // response.code from these very headers (local replies pass here too).
    if (this.endpoint != null && !this.accounted) this.responseCode = readStatus();
    return FilterHeadersStatus.Continue;
  }

  override onResponseBody(bodySize: usize, endOfStream: bool): FilterDataStatus {
    if (endOfStream) this.responseEnded = true;
    return FilterDataStatus.Continue;
  }

  override onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    this.responseEnded = true;
    return FilterTrailersStatus.Continue;
  }

  /** Leaves the admission queue it waits in, if any (it ended before it was served). */
  private leaveQueue(): bool {
    const waitingIn = this.waitingIn;
    const task = this.task;
    if (waitingIn == null) return false;
    this.stopWaiting();
    if (task != null) waitingIn.left(task); // ended while waiting (reset): never resumed, never in flight
    return true;
  }

  override onLog(): void {
    if (this.leaveQueue()) return;
    if (this.endpoint == null || this.accounted) return;
    // No response headers passed (reset before them, or a client that went away): ask Envoy.
    const code = this.responseCode != 0 ? this.responseCode : getPropertyU64(RESPONSE_CODE_PATH, 0);
    // response.flags only where they can change the outcome (base/outcome.ts flagsMatter): one property read less per success.
    const flags = flagsMatter(code, this.responseEnded) ? getPropertyU64(RESPONSE_FLAGS_PATH, 0) : 0;
    let outcome = classify(code, flags);
    if (outcome == Outcome.Ok && (this.destination as Destination).failover && this.servedElsewhere()) outcome = Outcome.FailedOver;
    this.account(outcome);
  }

  /** Whether a failover host, not the scheduled endpoint, answered (one property read). */
  servedElsewhere(): bool {
    if (getPropertyRaw(SERVED_BY_PATH) != WasmResult.Ok) {
      releaseReturned();
      return false;
    }
    // A host without the metadata reads as found and empty on Envoy 1.40 (measured: test/e2e/failover.test.ts).
    const size = returnedSize();
    const elsewhere = size > 0 && !sameBytes((this.endpoint as Endpoint).clusterBytes, returnedPtr(), size);
    releaseReturned();
    return elsewhere;
  }

  override onDelete(): void {
    this.leaveQueue();
    // No log for this stream: it ended without a response we could see.
    if (this.endpoint != null && !this.accounted) this.account(Outcome.NoResponse);
  }

  account(outcome: Outcome): void {
    this.accounted = true;
    const ep = this.endpoint as Endpoint;
    const destination = this.destination as Destination;
    const nowNs = currentTimeNanos();
    const latencyNs = nowNs > this.startNs ? nowNs - this.startNs : 0;
    // Worker-local destinations keep a success in the worker until the root's tick (records/local.ts).
    const stored = destination.workerLocal
      ? releaseLocally(ep, outcome, latencyNs, nowNs, destination.decayNs, destination.windowBucketMs, this.probe, destination.ejection)
      : release(ep, outcome, latencyNs, nowNs, destination.decayNs, destination.windowBucketMs, this.probe, destination.ejection);
    if (stored == Update.CasExhausted) destination.count(Metric.CasExhausted);

    // Counters and gauges are batched per worker (telemetry/batch.ts); the histogram takes every sample.
    const tally = ep.tally!;
    countEnded(tally, outcome);
    if (stored == Update.Ok) noteEwma(tally, <u64>(ep.state.ewmaUs + 0.5)); // Deferred: noted when the tick stores it (destination.ts)
    recordMetric(ep.metrics[Metric.RqLatencyMs], (latencyNs + 500000) / 1000000); // nearest ms
    flushIfDue(nowNs);
    // A slot of an admission-limited destination freed: let its waiting tasks in.
    const admission = this.admission;
    if (admission != null && admission.ended(outcome, latencyNs, nowNs)) this.setEffective();
  }
}
