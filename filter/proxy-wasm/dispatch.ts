// The module's exported proxy_on_* callbacks, dispatched by context id to the
// Context objects of context.ts. Re-export everything from this file in the
// entry file (`export * from "./proxy-wasm/dispatch"`) so the host finds them.
import { Context, HttpContext, RootContext, StreamContext } from "./context";
import { FilterDataStatus, FilterHeadersStatus, FilterStatus, FilterTrailersStatus } from "./enums";
import { allocateForHost } from "./memory";
import { createRootContext } from "./registry";

const roots = new Map<u32, RootContext>();
const httpContexts = new Map<u32, HttpContext>();
const streamContexts = new Map<u32, StreamContext>();

function anyContext(id: u32): Context | null {
  if (httpContexts.has(id)) return httpContexts.get(id);
  if (roots.has(id)) return roots.get(id);
  if (streamContexts.has(id)) return streamContexts.get(id);
  return null;
}

function http(id: u32): HttpContext | null {
  return httpContexts.has(id) ? httpContexts.get(id) : null;
}

function root(id: u32): RootContext | null {
  return roots.has(id) ? roots.get(id) : null;
}

function stream(id: u32): StreamContext | null {
  return streamContexts.has(id) ? streamContexts.get(id) : null;
}

// ---- ABI marker and memory -----------------------------------------------------------

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_memory_allocate(size: usize): usize {
  return allocateForHost(size);
}

// ---- lifecycle -----------------------------------------------------------------------------

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  if (parentContextId == 0) {
    roots.set(contextId, createRootContext(contextId));
    return;
  }
  const parent = root(parentContextId);
  if (parent == null) return;
  const h = parent.createHttpContext(contextId);
  if (h != null) {
    httpContexts.set(contextId, h);
    return;
  }
  const s = parent.createStreamContext(contextId);
  if (s != null) streamContexts.set(contextId, s);
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: usize): bool {
  const r = root(rootContextId);
  return r == null ? true : r.onVmStart(vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: usize): bool {
  const r = root(rootContextId);
  return r == null ? false : r.onConfigure(pluginConfigurationSize);
}

export function proxy_on_tick(rootContextId: u32): void {
  const r = root(rootContextId);
  if (r != null) r.onTick();
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  const r = root(rootContextId);
  if (r != null) r.onQueueReady(queueId);
}

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, argumentsSize: usize): void {
  const r = root(rootContextId);
  if (r != null) r.onForeignFunction(functionId, argumentsSize);
}

export function proxy_on_done(contextId: u32): bool {
  const c = anyContext(contextId);
  return c == null ? true : c.onDone();
}

export function proxy_on_log(contextId: u32): void {
  const c = anyContext(contextId);
  if (c != null) c.onLog();
}

export function proxy_on_delete(contextId: u32): void {
  const c = anyContext(contextId);
  if (c == null) return;
  c.onDelete();
  httpContexts.delete(contextId);
  streamContexts.delete(contextId);
  roots.delete(contextId);
}

// ---- HTTP ------------------------------------------------------------------------------------

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  const h = http(contextId);
  return h == null ? FilterHeadersStatus.Continue : h.onRequestHeaders(numHeaders, endOfStream);
}

export function proxy_on_request_body(contextId: u32, bodySize: usize, endOfStream: bool): FilterDataStatus {
  const h = http(contextId);
  return h == null ? FilterDataStatus.Continue : h.onRequestBody(bodySize, endOfStream);
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  const h = http(contextId);
  return h == null ? FilterTrailersStatus.Continue : h.onRequestTrailers(numTrailers);
}

export function proxy_on_request_metadata(contextId: u32, numElements: u32): FilterTrailersStatus {
  const h = http(contextId);
  return h == null ? FilterTrailersStatus.Continue : h.onRequestMetadata(numElements);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  const h = http(contextId);
  return h == null ? FilterHeadersStatus.Continue : h.onResponseHeaders(numHeaders, endOfStream);
}

export function proxy_on_response_body(contextId: u32, bodySize: usize, endOfStream: bool): FilterDataStatus {
  const h = http(contextId);
  return h == null ? FilterDataStatus.Continue : h.onResponseBody(bodySize, endOfStream);
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  const h = http(contextId);
  return h == null ? FilterTrailersStatus.Continue : h.onResponseTrailers(numTrailers);
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): FilterTrailersStatus {
  const h = http(contextId);
  return h == null ? FilterTrailersStatus.Continue : h.onResponseMetadata(numElements);
}

// ---- network (L4) ------------------------------------------------------------------------------

export function proxy_on_new_connection(contextId: u32): FilterStatus {
  const s = stream(contextId);
  return s == null ? FilterStatus.Continue : s.onNewConnection();
}

export function proxy_on_downstream_data(contextId: u32, dataSize: usize, endOfStream: bool): FilterStatus {
  const s = stream(contextId);
  return s == null ? FilterStatus.Continue : s.onDownstreamData(dataSize, endOfStream);
}

export function proxy_on_upstream_data(contextId: u32, dataSize: usize, endOfStream: bool): FilterStatus {
  const s = stream(contextId);
  return s == null ? FilterStatus.Continue : s.onUpstreamData(dataSize, endOfStream);
}

export function proxy_on_downstream_connection_close(contextId: u32, peer: i32): void {
  const s = stream(contextId);
  if (s != null) s.onDownstreamConnectionClose(peer);
}

export function proxy_on_upstream_connection_close(contextId: u32, peer: i32): void {
  const s = stream(contextId);
  if (s != null) s.onUpstreamConnectionClose(peer);
}

// ---- callouts ------------------------------------------------------------------------------------

export function proxy_on_http_call_response(contextId: u32, token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {
  const c = anyContext(contextId);
  if (c != null) c.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
}

export function proxy_on_grpc_receive_initial_metadata(contextId: u32, token: u32, numHeaders: u32): void {
  const c = anyContext(contextId);
  if (c != null) c.onGrpcReceiveInitialMetadata(token, numHeaders);
}

export function proxy_on_grpc_receive(contextId: u32, token: u32, messageSize: usize): void {
  const c = anyContext(contextId);
  if (c != null) c.onGrpcReceive(token, messageSize);
}

export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, token: u32, numTrailers: u32): void {
  const c = anyContext(contextId);
  if (c != null) c.onGrpcReceiveTrailingMetadata(token, numTrailers);
}

export function proxy_on_grpc_close(contextId: u32, token: u32, statusCode: u32): void {
  const c = anyContext(contextId);
  if (c != null) c.onGrpcClose(token, statusCode);
}
