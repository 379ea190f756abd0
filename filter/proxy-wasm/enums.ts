// Enumerations of proxy-wasm ABI v0.2.1 (values fixed by the spec and by
// proxy-wasm-cpp-host; the host passes and expects these exact numbers).

/** Status returned by every host function. */
export enum WasmResult {
  Ok = 0,
  NotFound = 1,
  BadArgument = 2,
  SerializationFailure = 3,
  ParseFailure = 4,
  BadExpression = 5,
  InvalidMemoryAccess = 6,
  Empty = 7,
  CasMismatch = 8,
  ResultMismatch = 9,
  InternalFailure = 10,
  BrokenConnection = 11,
  Unimplemented = 12,
}

export enum LogLevel {
  Trace = 0,
  Debug = 1,
  Info = 2,
  Warn = 3,
  Error = 4,
  Critical = 5,
}

export enum HeaderMapType {
  RequestHeaders = 0,
  RequestTrailers = 1,
  ResponseHeaders = 2,
  ResponseTrailers = 3,
  GrpcReceiveInitialMetadata = 4,
  GrpcReceiveTrailingMetadata = 5,
  HttpCallResponseHeaders = 6,
  HttpCallResponseTrailers = 7,
}

export enum BufferType {
  HttpRequestBody = 0,
  HttpResponseBody = 1,
  DownstreamData = 2,
  UpstreamData = 3,
  HttpCallResponseBody = 4,
  GrpcReceiveBuffer = 5,
  VmConfiguration = 6,
  PluginConfiguration = 7,
  /** Arguments of a foreign function call (proxy_on_foreign_function). */
  CallData = 8,
}

/** Which direction proxy_continue_stream / proxy_close_stream act on. */
export enum StreamType {
  Request = 0,
  Response = 1,
  Downstream = 2,
  Upstream = 3,
}

export enum MetricType {
  Counter = 0,
  Gauge = 1,
  Histogram = 2,
}

/** Return value of proxy_on_request_headers / proxy_on_response_headers. */
export enum FilterHeadersStatus {
  Continue = 0,
  StopIteration = 1,
  ContinueAndEndStream = 2,
  StopAllIterationAndBuffer = 3,
  StopAllIterationAndWatermark = 4,
}

/** Return value of the body callbacks. */
export enum FilterDataStatus {
  Continue = 0,
  StopIterationAndBuffer = 1,
  StopIterationAndWatermark = 2,
  StopIterationNoBuffer = 3,
}

/** Return value of the trailers and metadata callbacks. */
export enum FilterTrailersStatus {
  Continue = 0,
  StopIteration = 1,
}

/** Return value of the network (L4) callbacks. */
export enum FilterStatus {
  Continue = 0,
  StopIteration = 1,
}

/** Who closed a connection (proxy_on_*_connection_close). */
export enum PeerType {
  Unknown = 0,
  Local = 1,
  Remote = 2,
}

/** gRPC status for proxy_send_local_response; -1 means "not a gRPC reply". */
export enum GrpcStatus {
  Ok = 0,
  Unavailable = 14,
  Invalid = -1,
}
