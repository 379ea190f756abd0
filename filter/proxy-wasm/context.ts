// Context classes, in the style of the proxy-wasm Rust SDK.
//
// One RootContext per plugin (per root_id) receives VM and plugin lifecycle
// callbacks; it creates one HttpContext per HTTP stream (or a StreamContext per
// TCP connection). Subclass them, override what you need and register the root
// factory once with setRootContextFactory() (dispatch.ts).
import { proxy_done, proxy_set_effective_context } from "./imports";
import { FilterDataStatus, FilterHeadersStatus, FilterStatus, FilterTrailersStatus, PeerType, WasmResult } from "./enums";

export class Context {
  constructor(public readonly id: u32) {}

  /** The host is done with the context. Return false to keep it and call finish() later. */
  onDone(): bool { return true; }
  /** Last chance to look at the context's properties (access-log time). */
  onLog(): void {}
  /** The context is gone; drop what refers to it. */
  onDelete(): void {}

  /** Response to an HTTP callout made by this context. */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {}
  onGrpcReceiveInitialMetadata(token: u32, numHeaders: u32): void {}
  onGrpcReceive(token: u32, messageSize: usize): void {}
  onGrpcReceiveTrailingMetadata(token: u32, numTrailers: u32): void {}
  onGrpcClose(token: u32, statusCode: u32): void {}

  /** Makes this context the target of following host calls (needed inside another context's callback). */
  setEffective(): WasmResult { return proxy_set_effective_context(this.id); }

  /** Tells the host a context that returned false from onDone is finished. */
  finish(): WasmResult {
    this.setEffective();
    return proxy_done();
  }
}

export class HttpContext extends Context {
  constructor(id: u32, public readonly root: RootContext) { super(id); }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }
  onRequestBody(bodySize: usize, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }
  onRequestTrailers(numTrailers: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  onRequestMetadata(numElements: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus { return FilterHeadersStatus.Continue; }
  onResponseBody(bodySize: usize, endOfStream: bool): FilterDataStatus { return FilterDataStatus.Continue; }
  onResponseTrailers(numTrailers: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
  onResponseMetadata(numElements: u32): FilterTrailersStatus { return FilterTrailersStatus.Continue; }
}

/** Per-connection context of a network (L4) filter. */
export class StreamContext extends Context {
  constructor(id: u32, public readonly root: RootContext) { super(id); }

  onNewConnection(): FilterStatus { return FilterStatus.Continue; }
  onDownstreamData(dataSize: usize, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }
  onUpstreamData(dataSize: usize, endOfStream: bool): FilterStatus { return FilterStatus.Continue; }
  onDownstreamConnectionClose(peer: PeerType): void {}
  onUpstreamConnectionClose(peer: PeerType): void {}
}

export class RootContext extends Context {
  /** The VM started; vm_config is readable with getVmConfiguration(size). */
  onVmStart(vmConfigurationSize: usize): bool { return true; }
  /** The plugin (re)configured; read it with getPluginConfiguration(size). false rejects it. */
  onConfigure(pluginConfigurationSize: usize): bool { return true; }
  /** Timer set with setTickPeriodMilliseconds. */
  onTick(): void {}
  onQueueReady(queueId: u32): void {}
  onForeignFunction(functionId: u32, argumentsSize: usize): void {}

  /** A new HTTP stream; return null if this plugin is not an HTTP filter. */
  createHttpContext(contextId: u32): HttpContext | null { return null; }
  /** A new TCP connection; return null if this plugin is not a network filter. */
  createStreamContext(contextId: u32): StreamContext | null { return null; }
}
