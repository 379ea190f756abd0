// The module's exported proxy_on_* callbacks, dispatched by context id to the
// Context objects of context.ts. Re-export everything from this file in the
// entry file (`export * from "./proxy-wasm/dispatch"`) so the host finds them.
import { Context, HttpContext, RootContext, StreamContext } from "./context";
import { FilterDataStatus, FilterHeadersStatus, FilterStatus, FilterTrailersStatus } from "./enums";
import { collectOnReturn, enterCallback, leaveCallback } from "./collect";
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
  enterCallback();
  createContext(contextId, parentContextId);
  leaveCallback();
}

function createContext(contextId: u32, parentContextId: u32): void {
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
  enterCallback();
  collectOnReturn();
  const r = root(rootContextId);
  const result = r == null ? true : r.onVmStart(vmConfigurationSize);
  leaveCallback();
  return result;
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: usize): bool {
  enterCallback();
  collectOnReturn();
  const r = root(rootContextId);
  const result = r == null ? false : r.onConfigure(pluginConfigurationSize);
  leaveCallback();
  return result;
}

export function proxy_on_tick(rootContextId: u32): void {
  enterCallback();
  const r = root(rootContextId);
  if (r != null) r.onTick();
  leaveCallback();
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  enterCallback();
  const r = root(rootContextId);
  if (r != null) r.onQueueReady(queueId);
  leaveCallback();
}

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, argumentsSize: usize): void {
  enterCallback();
  const r = root(rootContextId);
  if (r != null) r.onForeignFunction(functionId, argumentsSize);
  leaveCallback();
}

export function proxy_on_done(contextId: u32): bool {
  enterCallback();
  const c = anyContext(contextId);
  const result = c == null ? true : c.onDone();
  leaveCallback();
  return result;
}

export function proxy_on_log(contextId: u32): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) c.onLog();
  leaveCallback();
}

export function proxy_on_delete(contextId: u32): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) {
    c.onDelete();
    httpContexts.delete(contextId);
    streamContexts.delete(contextId);
    roots.delete(contextId);
  }
  leaveCallback();
}

// ---- HTTP ------------------------------------------------------------------------------------

export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterHeadersStatus.Continue : h.onRequestHeaders(numHeaders, endOfStream);
  leaveCallback();
  return result;
}

export function proxy_on_request_body(contextId: u32, bodySize: usize, endOfStream: bool): FilterDataStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterDataStatus.Continue : h.onRequestBody(bodySize, endOfStream);
  leaveCallback();
  return result;
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterTrailersStatus.Continue : h.onRequestTrailers(numTrailers);
  leaveCallback();
  return result;
}

export function proxy_on_request_metadata(contextId: u32, numElements: u32): FilterTrailersStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterTrailersStatus.Continue : h.onRequestMetadata(numElements);
  leaveCallback();
  return result;
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterHeadersStatus.Continue : h.onResponseHeaders(numHeaders, endOfStream);
  leaveCallback();
  return result;
}

export function proxy_on_response_body(contextId: u32, bodySize: usize, endOfStream: bool): FilterDataStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterDataStatus.Continue : h.onResponseBody(bodySize, endOfStream);
  leaveCallback();
  return result;
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterTrailersStatus.Continue : h.onResponseTrailers(numTrailers);
  leaveCallback();
  return result;
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): FilterTrailersStatus {
  enterCallback();
  const h = http(contextId);
  const result = h == null ? FilterTrailersStatus.Continue : h.onResponseMetadata(numElements);
  leaveCallback();
  return result;
}

// ---- network (L4) ------------------------------------------------------------------------------

export function proxy_on_new_connection(contextId: u32): FilterStatus {
  enterCallback();
  const s = stream(contextId);
  const result = s == null ? FilterStatus.Continue : s.onNewConnection();
  leaveCallback();
  return result;
}

export function proxy_on_downstream_data(contextId: u32, dataSize: usize, endOfStream: bool): FilterStatus {
  enterCallback();
  const s = stream(contextId);
  const result = s == null ? FilterStatus.Continue : s.onDownstreamData(dataSize, endOfStream);
  leaveCallback();
  return result;
}

export function proxy_on_upstream_data(contextId: u32, dataSize: usize, endOfStream: bool): FilterStatus {
  enterCallback();
  const s = stream(contextId);
  const result = s == null ? FilterStatus.Continue : s.onUpstreamData(dataSize, endOfStream);
  leaveCallback();
  return result;
}

export function proxy_on_downstream_connection_close(contextId: u32, peer: i32): void {
  enterCallback();
  const s = stream(contextId);
  if (s != null) s.onDownstreamConnectionClose(peer);
  leaveCallback();
}

export function proxy_on_upstream_connection_close(contextId: u32, peer: i32): void {
  enterCallback();
  const s = stream(contextId);
  if (s != null) s.onUpstreamConnectionClose(peer);
  leaveCallback();
}

// ---- callouts ------------------------------------------------------------------------------------

export function proxy_on_http_call_response(contextId: u32, token: u32, numHeaders: u32, bodySize: usize, numTrailers: u32): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) c.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
  leaveCallback();
}

export function proxy_on_grpc_receive_initial_metadata(contextId: u32, token: u32, numHeaders: u32): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) c.onGrpcReceiveInitialMetadata(token, numHeaders);
  leaveCallback();
}

export function proxy_on_grpc_receive(contextId: u32, token: u32, messageSize: usize): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) c.onGrpcReceive(token, messageSize);
  leaveCallback();
}

export function proxy_on_grpc_receive_trailing_metadata(contextId: u32, token: u32, numTrailers: u32): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) c.onGrpcReceiveTrailingMetadata(token, numTrailers);
  leaveCallback();
}

export function proxy_on_grpc_close(contextId: u32, token: u32, statusCode: u32): void {
  enterCallback();
  const c = anyContext(contextId);
  if (c != null) c.onGrpcClose(token, statusCode);
  leaveCallback();
}
