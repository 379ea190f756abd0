// Per-request work. On request headers: recognise the destination by the
// route's cluster (xds.cluster_name), pick and claim an endpoint, and steer the
// request with the scheduling header. When the request ends (proxy_on_log, or
// proxy_on_delete if no log came), account it exactly once.
import {
  FilterHeadersStatus, HeaderMapType, HttpContext, WasmResult,
  currentTimeNanos, getPropertyRaw, getPropertyU64, incrementMetric, propertyPath, recordMetric,
  releaseReturned, removeHeaderBytes, replaceHeaderBytes, returnedPtr, returnedSize, sendLocalResponseBytes,
} from "../proxy-wasm/index";
import { Admission } from "./admission/admission";
import { Task } from "./admission/queue";
import { countEnded, countScheduled, flushIfDue, noteEwma } from "./telemetry/batch";
import { Destination, Endpoint, PICK_CAS_EXHAUSTED } from "./destination";
import { Outcome, classify } from "./base/outcome";
import { Plugin, REASON_CONTENTION, REASON_SHARED_DATA, clearRouteCache, sameBytes } from "./plugin";
import { Update, release } from "./records/shared";
import { LightsubRoot } from "./root";

const CLUSTER_NAME_PATH = propertyPath(["xds", "cluster_name"]);
const RESPONSE_CODE_PATH = propertyPath(["response", "code"]);
const RESPONSE_FLAGS_PATH = propertyPath(["response", "flags"]);
/**
 * The endpoint cluster named in the metadata of the host that served the
 * request; only failover hosts carry it (docs/design.md "Failover"), so it is
 * found exactly when another endpoint than the scheduled one answered.
 */
const SERVED_BY_PATH = propertyPath(["xds", "upstream_host_metadata", "filter_metadata", "lightsub", "endpoint"]);
const DEFAULT_HEADER = String.UTF8.encode("x-lightsub-endpoint");
const EMPTY = new ArrayBuffer(0);

export class LightsubStream extends HttpContext {
  destination: Destination | null = null;
  endpoint: Endpoint | null = null;
  startNs: u64 = 0;
  accounted: bool = false;
  /** The request is a probe of an endpoint its strategy had set aside (least_latency): its latency replaces the EWMA. */
  probe: bool = false;
  /** While the request waits in an admission queue (admission/): its task and that queue's owner. */
  task: Task | null = null;
  waitingIn: Admission | null = null;

  override onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (this.endpoint != null) return FilterHeadersStatus.Continue; // already scheduled: never claim twice
    const plugin = (this.root as LightsubRoot).plugin;
    if (plugin == null) {
      // Not configured: we cannot tell our requests from others; never let a client steer.
      removeHeaderBytes(HeaderMapType.RequestHeaders, DEFAULT_HEADER);
      return FilterHeadersStatus.Continue;
    }
    if (getPropertyRaw(CLUSTER_NAME_PATH) != WasmResult.Ok) {
      releaseReturned();
      return FilterHeadersStatus.Continue;
    }
    const destination = plugin.destinationFor(returnedPtr(), returnedSize());
    releaseReturned();
    if (destination == null) return FilterHeadersStatus.Continue; // not ours (e.g. inbound)

    const nowNs = currentTimeNanos();
    const admission = destination.admission;
    if (admission != null) return admission.arrive(this, plugin, nowNs);
    const index = destination.strategy.pick(destination, nowNs);
    if (index < 0) {
      return this.unscheduled(plugin, destination, index == PICK_CAS_EXHAUSTED ? REASON_CONTENTION : REASON_SHARED_DATA);
    }
    this.steer(plugin.headerBytes, destination, destination.endpoints[index], nowNs);
    this.probe = destination.strategy.probed;
    return FilterHeadersStatus.Continue;
  }

  unscheduled(plugin: Plugin, destination: Destination, reason: string): FilterHeadersStatus {
    incrementMetric(destination.unscheduledMetric, 1);
    if (!plugin.failClosed) {
      removeHeaderBytes(HeaderMapType.RequestHeaders, plugin.headerBytes);
      return FilterHeadersStatus.Continue;
    }
    sendLocalResponseBytes(503, plugin.localReplyDetails, EMPTY, plugin.reasonHeaders(reason));
    return FilterHeadersStatus.StopIteration;
  }

  /**
   * Schedules this request onto `ep`, just claimed: after a pick, or by admission
   * (on arrival, or resuming a waiting task with this stream as the effective context).
   */
  steer(headerBytes: ArrayBuffer, destination: Destination, ep: Endpoint, nowNs: u64): void {
    this.destination = destination;
    this.endpoint = ep;
    this.startNs = nowNs; // for a resumed task: upstream latency from admission (the wait is admission_wait_ms)
    countScheduled(ep.tally!);
    // One call: Envoy's replace (HeaderMapImpl::setCopy) removes every copy of
    // the header, then adds ours, so no client-sent value survives.
    replaceHeaderBytes(HeaderMapType.RequestHeaders, headerBytes, ep.clusterBytes);
    clearRouteCache();
  }

  override onLog(): void {
    const waitingIn = this.waitingIn;
    if (waitingIn != null) {
      waitingIn.left(this); // ended while waiting (reset): never resumed, never in flight
      return;
    }
    if (this.endpoint == null || this.accounted) return;
    const code = getPropertyU64(RESPONSE_CODE_PATH, 0);
    const flags = getPropertyU64(RESPONSE_FLAGS_PATH, 0);
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
    const waitingIn = this.waitingIn;
    if (waitingIn != null) waitingIn.left(this);
    // No log for this stream: it ended without a response we could see.
    if (this.endpoint != null && !this.accounted) this.account(Outcome.NoResponse);
  }

  account(outcome: Outcome): void {
    this.accounted = true;
    const ep = this.endpoint as Endpoint;
    const destination = this.destination as Destination;
    const nowNs = currentTimeNanos();
    const latencyNs = nowNs > this.startNs ? nowNs - this.startNs : 0;
    const stored = release(ep, outcome, latencyNs, nowNs, destination.decayNs, destination.windowBucketMs, this.probe);
    if (stored == Update.CasExhausted) incrementMetric(destination.casExhaustedMetric, 1);

    // Counters and gauges are batched per worker (metric-batch.ts); the histogram takes every sample.
    const tally = ep.tally!;
    countEnded(tally, outcome);
    if (stored == Update.Ok) noteEwma(tally, <u64>(ep.state.ewmaUs + 0.5));
    recordMetric(ep.metrics.latencyMs, (latencyNs + 500000) / 1000000); // nearest ms
    flushIfDue(nowNs);
    // A slot of an admission-limited destination freed: let its waiting tasks in.
    const admission = destination.admission;
    if (admission != null) admission.ended(this, outcome, nowNs);
  }
}
