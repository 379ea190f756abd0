/**
 * A proxy-wasm ABI v0.2.1 host for Node that behaves like Envoy 1.40's
 * (proxy-wasm-cpp-host + source/extensions/common/wasm). See host/README.md.
 */
export { Envoy, type EnvoyOptions } from "./envoy.js";
export { Vm, type VmOptions, type ConfigureOptions, type FailState } from "./vm.js";
export {
  Stream,
  type StreamOptions,
  type StreamStatus,
  type EnvoyFilterStatus,
  type LocalReply,
  type EndOptions,
} from "./http-stream.js";
export { ImportError, ModuleError, type CompiledModule, type AbiVersion } from "./compile.js";
export { HeaderMap, type HeaderInit } from "./header-map.js";
export { encodePairs, decodePairs, type HeaderPairs } from "./pairs.js";
export { int64Bytes, type PropertyValue, type PropertyValues } from "./properties.js";
export { StatsStore } from "./stats.js";
export { metricName } from "./prometheus.js";
export { DEFAULT_HISTOGRAM_BUCKETS } from "./stat.js";
export { extractTags, type StatsTag, type Tag } from "./stat-tags.js";
export { SharedData, type SharedValue } from "./shared-data.js";
export type { LogEntry } from "./log.js";
export {
  WasmResult,
  HeaderMapType,
  BufferType,
  StreamType,
  MetricType,
  LOG_LEVELS,
  FilterHeadersStatus,
  FilterDataStatus,
  FilterTrailersStatus,
  RESPONSE_FLAGS,
  type WasmResultCode,
  type LogLevelName,
  type ResponseFlagName,
} from "./abi.js";
