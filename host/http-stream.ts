/**
 * An HTTP stream through the plugin: Envoy's per-request filter Context
 * (source/extensions/common/wasm/context.cc decodeHeaders … onDestroy) driven
 * by the test or simulator. Header maps are readable/writable by the module
 * only while Envoy would hold them: request headers from onRequestHeaders until
 * the filter continues, response headers likewise; in onLog the final maps are
 * read-only.
 */
import {
  BufferType,
  FilterDataStatus,
  FilterHeadersStatus,
  FilterTrailersStatus,
  HeaderMapType,
  StreamType,
  WasmResult,
  type FilterHeadersStatusName,
  type WasmResultCode,
} from "./abi.js";
import { ContextBase, EMPTY_BUFFER, type ContextVm, type HostBuffer, type RootContext } from "./context.js";
import { HeaderMap, type HeaderInit } from "./header-map.js";
import type { HeaderPairs } from "./pairs.js";
import { encodeProperties, encodePropertyValue, httpToGrpcStatus, propertyKey, type PropertyValue, type PropertyValues, type StreamInfo } from "./properties.js";
import { toBytes } from "./utf8.js";

export interface StreamOptions {
  /** Properties this stream answers (e.g. "xds.cluster_name"); see README for encodings. */
  properties?: PropertyValues;
  /** Property request.protocol. Default "HTTP/1.1". */
  protocol?: string;
}

export interface LocalReply {
  status: number;
  /** Response code details (whitespace replaced by "_", as Envoy does). */
  details: string;
  body: string;
  bodyBytes: Uint8Array;
  /** The reply's response headers before they went through the filter. */
  headers: HeaderPairs;
  /** gRPC status the module asked for, when valid (0..16). */
  grpcStatus?: number;
}

export interface EndOptions {
  /** Final HTTP status; 0 = no response reached the client (property response.code absent). */
  responseCode?: number;
  /** Envoy's legacy response-flag bits (RESPONSE_FLAGS). */
  responseFlags?: number;
  /** Property response.code_details. Default: the local reply's details, else "via_upstream" when there is a response. */
  responseCodeDetails?: string;
}

/** What a callback returns: "Continue", or "StopIteration" for every kind of stop. */
export type StreamStatus = "Continue" | "StopIteration";

/** Envoy's exact HTTP filter status after the last callback. */
export type EnvoyFilterStatus =
  | "Continue"
  | "StopIteration"
  | "StopAllIterationAndBuffer"
  | "StopAllIterationAndWatermark"
  | "StopIterationAndBuffer"
  | "StopIterationAndWatermark"
  | "StopIterationNoBuffer";

/** How the filter exists for this stream: normally; not at all (failed VM, fail open); as Envoy's empty failing context (fail closed). */
type Mode = "active" | "absent" | "failClosed";

interface BodyHolder {
  bytes: Uint8Array;
}

const GRPC_UNAVAILABLE = 14;
/** Shared empty body (bodies are replaced, never written in place). */
const NO_BYTES = new Uint8Array(0);

/**
 * grpc-message encoding (Envoy's PercentEncoding::encode with the gRPC reserved set): bytes
 * outside printable ASCII and "%" become %XX; spaces and other printable characters stay.
 */
function grpcMessageEncode(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  }
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b.slice();
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

function mutableBody(holder: BodyHolder): HostBuffer {
  return {
    bytes: () => holder.bytes,
    // Envoy's Buffer::copyFrom: at 0 drain `length` then prepend; at/after the end append.
    copyFrom(start, length, data) {
      const cur = holder.bytes;
      if (start === 0) {
        holder.bytes = concat(data, cur.subarray(Math.min(length, cur.byteLength)));
        return WasmResult.Ok;
      }
      if (start >= cur.byteLength) {
        holder.bytes = concat(cur, data);
        return WasmResult.Ok;
      }
      return WasmResult.BadArgument;
    },
  };
}

export class Stream extends ContextBase {
  readonly id: number;
  readonly parentId: number;
  /** Request headers as the filter left them (what goes upstream). */
  readonly requestHeaders = new HeaderMap();
  readonly requestTrailers = new HeaderMap();
  /** Response headers as the filter left them (what goes downstream). */
  readonly responseHeaders = new HeaderMap();
  readonly responseTrailers = new HeaderMap();
  /** Body bytes the filter let through, per direction. */
  requestBody: Uint8Array = NO_BYTES;
  responseBody: Uint8Array = NO_BYTES;
  /** Set when the filter (or a failed plugin, fail closed) answered locally. */
  localReply: LocalReply | undefined;
  /** proxy_continue_stream calls (Request or Response) made for this stream. */
  continueCount = 0;
  requestPaused = false;
  responsePaused = false;
  /** clear_route_cache foreign-function calls for this stream. */
  routeCacheClears = 0;
  /** The filter reset the stream (proxy_close_stream). */
  reset = false;
  ended = false;
  /** Envoy's filter status after the last callback. */
  lastStatus: EnvoyFilterStatus = "Continue";
  /** @internal Envoy StreamInfo facts behind request.* / response.* properties. */
  readonly info: StreamInfo;

  private readonly mode: Mode;
  private readonly props = new Map<string, Uint8Array>();
  private readonly state = new Map<string, Uint8Array>();
  private inVmContextCreated = false;
  private requestHeadersLive = false;
  private responseHeadersLive = false;
  private requestTrailersLive = false;
  private responseTrailersLive = false;
  private responseStarted = false;
  private requestBodyLive: BodyHolder | null = null;
  private responseBodyLive: BodyHolder | null = null;
  private bufferingRequestBody = false;
  private bufferingResponseBody = false;
  private endOfStream = false;
  private logPhase = false;
  private streamFailed = false;
  private failureLocalReplySent = false;
  /** True while one of this stream's own callbacks runs. */
  private inOwnCallback = false;
  /** proxy_continue_stream(Request/Response) called from inside this stream's running callback. */
  private continuedInCallback = { request: false, response: false };

  /** @internal Use Vm.createStream. */
  constructor(
    readonly vm: ContextVm,
    private readonly root: RootContext,
    options: StreamOptions = {},
  ) {
    super();
    this.mode = vm.failed ? (root.plugin.failOpen ? "absent" : "failClosed") : "active";
    this.id = this.mode === "active" ? vm.allocContextId() : 0;
    this.parentId = root.id;
    if (this.mode === "active") vm.contexts.set(this.id, this);
    this.info = {
      startTimeMs: vm.envoy.nowMs(),
      responseFlags: 0,
      protocol: options.protocol ?? "HTTP/1.1",
      bytesReceived: 0,
      bytesSent: 0,
    };
    encodeProperties(options.properties, this.props);
  }

  /** True while either direction waits for proxy_continue_stream. */
  get paused(): boolean {
    return this.requestPaused || this.responsePaused;
  }

  /** Sets (or replaces) a property this stream answers, e.g. after a route change. */
  setProperty(path: string, value: PropertyValue): void {
    this.props.set(propertyKey(path), encodePropertyValue(value));
  }

  rootContext(): RootContext {
    return this.root;
  }

  // ---- driver API: request direction -------------------------------------------------------

  onRequestHeaders(headers: HeaderInit, endOfStream = false): StreamStatus {
    this.requestHeaders.replaceAll(headers);
    if (this.ended || this.reset) return "StopIteration";
    if (this.mode === "absent") return this.finish("Continue", "request");
    this.onCreate();
    this.requestHeadersLive = true;
    this.endOfStream = endOfStream;
    const status = this.headersCallback("proxy_on_request_headers", this.requestHeaders.size, endOfStream);
    // Envoy forgets the map when the filter continues; after proxy_close_stream it keeps it (measured on
    // Envoy 1.40: proxy_get_header_map_size still answers in proxy_on_log).
    if (status === "Continue" && !this.reset) this.requestHeadersLive = false;
    return this.finish(status, "request");
  }

  onRequestBody(body: string | Uint8Array, endOfStream = true): StreamStatus {
    const chunk = toBytes(body);
    this.info.bytesReceived += chunk.byteLength;
    if (this.ended || this.reset) return "StopIteration";
    if (this.mode === "absent" || (this.mode === "active" && !this.inVmContextCreated)) {
      this.requestBody = concat(this.requestBody, chunk);
      return this.finish("Continue", "request");
    }
    const holder: BodyHolder = {
      bytes: this.bufferingRequestBody && this.requestBodyLive ? concat(this.requestBodyLive.bytes, chunk) : chunk.slice(),
    };
    this.requestBodyLive = holder;
    this.endOfStream = endOfStream;
    const status = this.dataCallback("proxy_on_request_body", holder.bytes.byteLength, endOfStream);
    this.bufferingRequestBody = status === "StopIterationAndBuffer";
    if (status === "Continue") {
      this.requestBody = concat(this.requestBody, holder.bytes);
      this.requestBodyLive = null;
    }
    return this.finish(status, "request");
  }

  onRequestTrailers(trailers: HeaderInit): StreamStatus {
    this.requestTrailers.replaceAll(trailers);
    if (this.ended || this.reset) return "StopIteration";
    if (this.mode === "absent" || (this.mode === "active" && !this.inVmContextCreated)) return this.finish("Continue", "request");
    this.requestTrailersLive = true;
    const status = this.trailersCallback("proxy_on_request_trailers", this.requestTrailers.size);
    if (status === "Continue") this.requestTrailersLive = false;
    return this.finish(status, "request");
  }

  // ---- driver API: response direction ------------------------------------------------------

  onResponseHeaders(headers: HeaderInit, endOfStream = false): StreamStatus {
    if (this.ended || this.reset) return "StopIteration";
    const map = new HeaderMap(headers);
    const code = Number(map.get(":status"));
    if (Number.isInteger(code) && code > 0) {
      this.info.responseCode = code;
      this.info.responseCodeDetails ??= "via_upstream";
    }
    return this.deliverResponseHeaders(map.pairs(), endOfStream);
  }

  onResponseBody(body: string | Uint8Array, endOfStream = true): StreamStatus {
    const chunk = toBytes(body);
    this.info.bytesSent += chunk.byteLength;
    if (this.ended || this.reset) return "StopIteration";
    return this.deliverResponseBody(chunk, endOfStream);
  }

  onResponseTrailers(trailers: HeaderInit): StreamStatus {
    this.responseTrailers.replaceAll(trailers);
    if (this.ended || this.reset) return "StopIteration";
    if (!this.encodeEnabled()) return this.finish("Continue", "response");
    this.responseTrailersLive = true;
    const status = this.trailersCallback("proxy_on_response_trailers", this.responseTrailers.size);
    if (status === "Continue") this.responseTrailersLive = false;
    return this.finish(status, "response");
  }

  /**
   * The request is over: sets response.* facts, then proxy_on_log,
   * proxy_on_done and proxy_on_delete (Envoy's access-log call, then onDestroy).
   */
  end(options: EndOptions = {}): void {
    if (this.ended) return;
    this.ended = true;
    const info = this.info;
    info.completeTimeMs = this.vm.envoy.nowMs();
    if (options.responseCode !== undefined) info.responseCode = options.responseCode > 0 ? options.responseCode : undefined;
    if (options.responseFlags !== undefined) info.responseFlags = options.responseFlags;
    if (options.responseCodeDetails !== undefined) info.responseCodeDetails = options.responseCodeDetails;
    else if (options.responseCode !== undefined && options.responseCode > 0 && !this.localReply) info.responseCodeDetails ??= "via_upstream";
    if (this.mode !== "active") return;
    const vm = this.vm;
    this.onCreate();
    if (!vm.failed) {
      this.logPhase = true;
      vm.invoke(this, "proxy_on_log", this.id);
      vm.finishCall();
      this.logPhase = false;
    }
    if (!vm.failed) {
      vm.invoke(this, "proxy_on_done", this.id);
      vm.finishCall();
    }
    if (!vm.failed) {
      vm.invoke(this, "proxy_on_delete", this.id);
      vm.finishCall();
    }
    vm.contexts.delete(this.id);
    this.requestHeadersLive = this.responseHeadersLive = false;
    this.requestTrailersLive = this.responseTrailersLive = false;
    this.requestBodyLive = this.responseBodyLive = null;
  }

  // ---- callbacks into the module -----------------------------------------------------------

  /** ContextBase::onCreate: proxy_on_context_create(id, root) once, before the first callback. */
  private onCreate(): void {
    if (!this.vm.failed && !this.inVmContextCreated && this.mode === "active") {
      this.inVmContextCreated = true;
      this.vm.invoke(this, "proxy_on_context_create", this.id, this.root.id);
      this.vm.finishCall();
    }
    this.inVmContextCreated = true;
  }

  /**
   * CHECK_FAIL: null when the plugin works; otherwise fail open, or fail the stream (503) once.
   * A stream that existed when its VM failed (the one whose callback trapped, and any other in
   * flight) fails closed even under fail open, as measured on Envoy 1.40 with failure_policy
   * FAIL_OPEN (test/e2e/conformance-probe.test.ts): only streams created after the failure skip
   * the plugin (mode "absent").
   */
  private failure(): "open" | "closed" | null {
    if (this.mode !== "failClosed" && !this.vm.failed) return null;
    if (this.mode === "absent") return "open";
    if (!this.streamFailed) {
      this.streamFailed = true;
      this.failStream();
    }
    return "closed";
  }

  /** Context::failStream: a 503 local reply with details wasm_fail_stream, once. */
  private failStream(): void {
    if (this.failureLocalReplySent) return;
    this.failureLocalReplySent = true;
    const headers: HeaderPairs = [[":status", "503"]];
    this.info.responseCode = 503;
    this.info.responseCodeDetails = "wasm_fail_stream";
    this.localReply = { status: 503, details: "wasm_fail_stream", body: "", bodyBytes: new Uint8Array(0), headers, grpcStatus: GRPC_UNAVAILABLE };
    this.responseHeaders.replaceAll(headers);
    this.responseStarted = true;
  }

  private headersCallback(fn: string, size: number, endOfStream: boolean): EnvoyFilterStatus {
    const before = this.failure();
    if (before) return before === "open" ? "Continue" : "StopAllIterationAndWatermark";
    if (!this.vm.exports(fn)) return "Continue";
    this.inOwnCallback = true;
    const result = this.vm.invoke(this, fn, this.id, size, endOfStream ? 1 : 0);
    this.inOwnCallback = false;
    const after = this.failure();
    let status: EnvoyFilterStatus;
    if (after) status = after === "open" ? "Continue" : "StopAllIterationAndWatermark";
    else status = envoyHeadersStatus(headersStatus(this.vm, result));
    this.vm.finishCall();
    return status;
  }

  private dataCallback(fn: string, length: number, endOfStream: boolean): EnvoyFilterStatus {
    const before = this.failure();
    if (before) return before === "open" ? "Continue" : "StopIterationNoBuffer";
    if (!this.vm.exports(fn)) return "Continue";
    this.inOwnCallback = true;
    const result = this.vm.invoke(this, fn, this.id, length, endOfStream ? 1 : 0);
    this.inOwnCallback = false;
    const after = this.failure();
    let status: EnvoyFilterStatus;
    if (after) status = after === "open" ? "Continue" : "StopIterationNoBuffer";
    else {
      const r = (result ?? 0) >>> 0;
      status =
        this.vm.stopIteration || r > FilterDataStatus.StopIterationNoBuffer
          ? "StopIterationNoBuffer"
          : (["Continue", "StopIterationAndBuffer", "StopIterationAndWatermark", "StopIterationNoBuffer"] as const)[r]!;
    }
    this.vm.finishCall();
    return status;
  }

  private trailersCallback(fn: string, size: number): EnvoyFilterStatus {
    const before = this.failure();
    if (before) return before === "open" ? "Continue" : "StopIteration";
    if (!this.vm.exports(fn)) return "Continue";
    this.inOwnCallback = true;
    const result = this.vm.invoke(this, fn, this.id, size);
    this.inOwnCallback = false;
    const after = this.failure();
    let status: EnvoyFilterStatus;
    if (after) status = after === "open" ? "Continue" : "StopIteration";
    else {
      const r = (result ?? 0) >>> 0;
      status = this.vm.stopIteration || r > FilterTrailersStatus.StopIteration || r === 1 ? "StopIteration" : "Continue";
    }
    this.vm.finishCall();
    return status;
  }

  /** Whether encoder callbacks reach the module (Context::encodeHeaders guard). */
  private encodeEnabled(): boolean {
    if (this.mode === "absent") return false;
    if (this.mode === "failClosed") return !this.failureLocalReplySent;
    return this.inVmContextCreated && !this.failureLocalReplySent;
  }

  private deliverResponseHeaders(headers: readonly (readonly [string, string])[], endOfStream: boolean): StreamStatus {
    this.responseHeaders.replaceAll(headers);
    this.responseStarted = true;
    if (!this.encodeEnabled()) return this.finish("Continue", "response");
    this.responseHeadersLive = true;
    this.endOfStream = endOfStream;
    const status = this.headersCallback("proxy_on_response_headers", this.responseHeaders.size, endOfStream);
    if (status === "Continue") this.responseHeadersLive = false;
    return this.finish(status, "response");
  }

  private deliverResponseBody(chunk: Uint8Array, endOfStream: boolean): StreamStatus {
    if (!this.encodeEnabled()) {
      this.responseBody = concat(this.responseBody, chunk);
      return this.finish("Continue", "response");
    }
    const holder: BodyHolder = {
      bytes: this.bufferingResponseBody && this.responseBodyLive ? concat(this.responseBodyLive.bytes, chunk) : chunk.slice(),
    };
    this.responseBodyLive = holder;
    this.endOfStream = endOfStream;
    const status = this.dataCallback("proxy_on_response_body", holder.bytes.byteLength, endOfStream);
    this.bufferingResponseBody = status === "StopIterationAndBuffer";
    if (status === "Continue") {
      this.responseBody = concat(this.responseBody, holder.bytes);
      this.responseBodyLive = null;
    }
    return this.finish(status, "response");
  }

  private finish(status: EnvoyFilterStatus, direction: "request" | "response"): StreamStatus {
    this.lastStatus = status;
    // Measured on Envoy 1.40: a request-side continue the callback itself asked for runs right after
    // it returns, so its stop does not hold; a response-side one does not release the response.
    const stopped = status !== "Continue" && !(direction === "request" && this.continuedInCallback.request);
    this.continuedInCallback.request = this.continuedInCallback.response = false;
    if (direction === "request") this.requestPaused = stopped;
    else this.responsePaused = stopped;
    return stopped ? "StopIteration" : "Continue";
  }

  /**
   * Envoy's sendLocalReply, run after the module call returns: the reply's
   * headers (and body) go through this filter's encoder callbacks, unless the
   * response already started, in which case the reply replaces it directly.
   */
  private applyLocalReply(status: number, details: string, body: Uint8Array, extra: HeaderPairs, grpcStatus: number): void {
    if (this.ended) return;
    const validGrpc = grpcStatus >= 0 && grpcStatus <= 16 ? grpcStatus : undefined;
    // Http::Utility::prepareLocalReply / encodeLocalReply: :status, then the module's headers,
    // then Envoy's own through inline setters (an existing header keeps its place).
    const headers = new HeaderMap();
    const contentType = this.requestHeaders.get("content-type");
    const grpc = contentType !== undefined && contentType.startsWith("application/grpc");
    headers.add(":status", String(status));
    for (const [k, v] of extra) headers.add(k, v);
    if (grpc) {
      // Trailers-only gRPC response.
      headers.setInPlace(":status", "200");
      headers.setInPlace("content-type", "application/grpc");
      headers.setInPlace("grpc-status", String(validGrpc ?? httpToGrpcStatus(status)));
      if (body.byteLength > 0) headers.setInPlace("grpc-message", grpcMessageEncode(body));
    } else if (body.byteLength > 0) {
      headers.setInPlace("content-length", String(body.byteLength));
      if (!headers.has("content-type")) headers.add("content-type", "text/plain");
    }
    this.info.responseCode = grpc ? 200 : status;
    this.info.responseCodeDetails = details;
    const replyBody = grpc ? new Uint8Array(0) : body;
    this.localReply = {
      status,
      details,
      body: new TextDecoder().decode(body),
      bodyBytes: body,
      headers: headers.toPairs(),
      ...(validGrpc !== undefined ? { grpcStatus: validGrpc } : {}),
    };
    if (this.responseStarted) {
      this.responseHeaders.replaceAll(headers);
      this.responseBody = replyBody.slice();
      return;
    }
    this.info.bytesSent += replyBody.byteLength;
    this.deliverResponseHeaders(headers.pairs(), replyBody.byteLength === 0);
    if (replyBody.byteLength > 0) this.deliverResponseBody(replyBody, true);
  }

  // ---- what host calls see (ContextBase) ----------------------------------------------------

  override constMap(type: number): HeaderMap | null {
    if (this.logPhase) {
      switch (type) {
        case HeaderMapType.RequestHeaders:
          return this.requestHeaders;
        case HeaderMapType.ResponseHeaders:
          return this.responseStarted ? this.responseHeaders : null;
        case HeaderMapType.ResponseTrailers:
          return this.responseTrailers.size > 0 ? this.responseTrailers : null;
        default:
          return null;
      }
    }
    return this.liveMap(type, false);
  }

  override mutableMap(type: number): HeaderMap | null {
    return this.liveMap(type, true);
  }

  private liveMap(type: number, forWrite: boolean): HeaderMap | null {
    switch (type) {
      case HeaderMapType.RequestHeaders:
        return this.requestHeadersLive ? this.requestHeaders : null;
      case HeaderMapType.RequestTrailers:
        // Envoy adds (empty) trailers when asked for them during the last body chunk.
        if (forWrite && !this.requestTrailersLive && this.requestBodyLive && this.endOfStream) this.requestTrailersLive = true;
        return this.requestTrailersLive ? this.requestTrailers : null;
      case HeaderMapType.ResponseHeaders:
        return this.responseHeadersLive ? this.responseHeaders : null;
      case HeaderMapType.ResponseTrailers:
        if (forWrite && !this.responseTrailersLive && this.responseBodyLive && this.endOfStream) this.responseTrailersLive = true;
        return this.responseTrailersLive ? this.responseTrailers : null;
      default:
        return null;
    }
  }

  override missingMapResult(): WasmResultCode {
    return this.logPhase ? WasmResult.NotFound : WasmResult.BadArgument;
  }

  override getBuffer(type: number): HostBuffer | null {
    switch (type) {
      case BufferType.HttpRequestBody:
        return this.requestBodyLive ? mutableBody(this.requestBodyLive) : EMPTY_BUFFER;
      case BufferType.HttpResponseBody:
        return this.responseBodyLive ? mutableBody(this.responseBodyLive) : EMPTY_BUFFER;
      default:
        return super.getBuffer(type);
    }
  }

  override storeProperty(path: string, value: Uint8Array): WasmResultCode {
    this.state.set(path, value.slice());
    return WasmResult.Ok;
  }

  override continueStream(type: number): WasmResultCode {
    if (type === StreamType.Downstream) return WasmResult.Ok;
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    if (!this.ended) {
      this.continueCount++;
      const direction = type === StreamType.Request ? "request" : "response";
      if (this.inOwnCallback) this.continuedInCallback[direction] = true;
      // Envoy defers continueDecoding/continueEncoding until the module call returns.
      this.vm.afterCall.push(() => {
        if (direction === "request") this.requestPaused = false;
        else this.responsePaused = false;
      });
    }
    // Envoy forgets the request-side maps once the filter continues (either direction).
    this.requestHeadersLive = false;
    this.requestBodyLive = null;
    this.requestTrailersLive = false;
    return WasmResult.Ok;
  }

  override closeStream(type: number): WasmResultCode {
    if ((type === StreamType.Request || type === StreamType.Response) && !this.ended) {
      this.info.responseCodeDetails ??= "wasm_close_stream";
      this.vm.afterCall.push(() => {
        this.reset = true;
      });
    }
    return WasmResult.Ok;
  }

  override sendLocalResponse(status: number, details: string, body: Uint8Array, headers: HeaderPairs, grpcStatus: number): void {
    if (this.ended) return;
    const cleanDetails = details.replace(/\s/g, "_");
    this.vm.afterCall.push(() => this.applyLocalReply(status, cleanDetails, body, headers, grpcStatus));
  }

  override clearRouteCache(): void {
    if (!this.ended) this.routeCacheClears++;
  }

  override driverProperty(key: string): Uint8Array | undefined {
    return this.props.get(key) ?? this.vm.properties.get(key);
  }
  override streamInfo(): StreamInfo {
    return this.info;
  }
  override celRequestHeaders(): HeaderMap | null {
    return this.requestHeadersLive || this.logPhase ? this.requestHeaders : null;
  }
  override celResponseHeaders(): HeaderMap | null {
    return this.responseHeadersLive || (this.logPhase && this.responseStarted) ? this.responseHeaders : null;
  }
  override celResponseTrailers(): HeaderMap | null {
    return this.responseTrailersLive || (this.logPhase && this.responseTrailers.size > 0) ? this.responseTrailers : null;
  }
  override filterState(name: string): Uint8Array | undefined {
    return this.state.get(name);
  }
}

function envoyHeadersStatus(s: FilterHeadersStatusName): EnvoyFilterStatus {
  // Envoy's convertFilterHeadersStatus maps anything else (ContinueAndEndStream) to Continue.
  return s === "ContinueAndEndStream" ? "Continue" : s;
}

/** How Envoy turns a headers-callback result into a filter status (ABI 0.2.x). */
function headersStatus(vm: ContextVm, result: number | undefined): keyof typeof FilterHeadersStatus {
  const r = (result ?? 0) >>> 0;
  if (vm.stopIteration || r > FilterHeadersStatus.StopAllIterationAndWatermark) return "StopAllIterationAndWatermark";
  // Without allow_on_headers_stop_iteration Envoy turns StopIteration into StopAllIterationAndWatermark.
  if (r === FilterHeadersStatus.StopIteration) return "StopAllIterationAndWatermark";
  return (["Continue", "StopIteration", "ContinueAndEndStream", "StopAllIterationAndBuffer", "StopAllIterationAndWatermark"] as const)[r]!;
}

