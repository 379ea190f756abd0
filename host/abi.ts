/**
 * Proxy-Wasm ABI v0.2.1 numbers, as proxy-wasm-cpp-sdk's proxy_wasm_common.h /
 * proxy_wasm_enums.h define them (the host side, proxy-wasm-cpp-host, uses the
 * same headers), plus Envoy's legacy response-flag bits.
 */

/** `proxy_status_t`: what every host function returns. */
export const WasmResult = {
  Ok: 0,
  NotFound: 1,
  BadArgument: 2,
  SerializationFailure: 3,
  ParseFailure: 4,
  BadExpression: 5,
  InvalidMemoryAccess: 6,
  Empty: 7,
  CasMismatch: 8,
  ResultMismatch: 9,
  InternalFailure: 10,
  BrokenConnection: 11,
  Unimplemented: 12,
} as const;
export type WasmResultCode = (typeof WasmResult)[keyof typeof WasmResult];

/** `proxy_header_map_type_t`. */
export const HeaderMapType = {
  RequestHeaders: 0,
  RequestTrailers: 1,
  ResponseHeaders: 2,
  ResponseTrailers: 3,
  GrpcReceiveInitialMetadata: 4,
  GrpcReceiveTrailingMetadata: 5,
  HttpCallResponseHeaders: 6,
  HttpCallResponseTrailers: 7,
} as const;
export const HEADER_MAP_TYPE_MAX = 7;

/** `proxy_buffer_type_t`. */
export const BufferType = {
  HttpRequestBody: 0,
  HttpResponseBody: 1,
  NetworkDownstreamData: 2,
  NetworkUpstreamData: 3,
  HttpCallResponseBody: 4,
  GrpcReceiveBuffer: 5,
  VmConfiguration: 6,
  PluginConfiguration: 7,
  CallData: 8,
} as const;
export const BUFFER_TYPE_MAX = 8;

/** `proxy_stream_type_t`. */
export const StreamType = {
  Request: 0,
  Response: 1,
  Downstream: 2,
  Upstream: 3,
} as const;
export const STREAM_TYPE_MAX = 3;

/** `proxy_metric_type_t`. Metric ids carry the type in their low two bits. */
export const MetricType = {
  Counter: 0,
  Gauge: 1,
  Histogram: 2,
} as const;
export const METRIC_TYPE_MAX = 2;
export const METRIC_TYPE_MASK = 0x3;
export const METRIC_ID_INCREMENT = 0x4;

/** `proxy_log_level_t` (spdlog's order). */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "critical"] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

/** Values a module returns from proxy_on_request_headers / proxy_on_response_headers. */
export const FilterHeadersStatus = {
  Continue: 0,
  StopIteration: 1,
  ContinueAndEndStream: 2,
  StopAllIterationAndBuffer: 3,
  StopAllIterationAndWatermark: 4,
} as const;
export type FilterHeadersStatusName = keyof typeof FilterHeadersStatus;

/** Values a module returns from the body callbacks. */
export const FilterDataStatus = {
  Continue: 0,
  StopIterationAndBuffer: 1,
  StopIterationAndWatermark: 2,
  StopIterationNoBuffer: 3,
} as const;
export type FilterDataStatusName = keyof typeof FilterDataStatus;

/** Values a module returns from the trailers callbacks. */
export const FilterTrailersStatus = {
  Continue: 0,
  StopIteration: 1,
} as const;
export type FilterTrailersStatusName = keyof typeof FilterTrailersStatus;

/** Envoy's legacy response-flag bits, the value of property `response.flags`: part of the wire contract. */
export { RESPONSE_FLAGS, type ResponseFlagName } from "../schemas/wire.js";

/** WASI errno values the host returns. */
export const WasiErrno = {
  Success: 0,
  BadF: 8,
  Fault: 21,
  Inval: 28,
  NoEnt: 44,
  NoSys: 52,
  NotSup: 58,
} as const;
