// Metrics (Envoy shows them as "wasmcustom.<name>"). Define once, keep the id.
import { proxy_define_metric, proxy_get_metric, proxy_increment_metric, proxy_record_metric } from "./imports";
import { MetricType, WasmResult } from "./enums";
import { RETURN_VALUE_SLOT } from "./memory";

/** Returned by defineMetric when the host refused; using it is a no-op at the host. */
export const INVALID_METRIC: u32 = u32.MAX_VALUE;

export function defineMetric(type: MetricType, name: string): u32 {
  const bytes = String.UTF8.encode(name);
  store<u32>(RETURN_VALUE_SLOT, INVALID_METRIC);
  if (proxy_define_metric(type, changetype<usize>(bytes), <usize>bytes.byteLength, RETURN_VALUE_SLOT) != WasmResult.Ok) {
    return INVALID_METRIC;
  }
  return load<u32>(RETURN_VALUE_SLOT);
}

/** Adds `delta` to a counter (delta ≥ 0) or gauge. */
export function incrementMetric(id: u32, delta: i64): WasmResult {
  return proxy_increment_metric(id, delta);
}

/** Sets a gauge, or records one value into a histogram. */
export function recordMetric(id: u32, value: u64): WasmResult {
  return proxy_record_metric(id, value);
}

/** Current value of a counter or gauge (0 when unknown). */
export function getMetric(id: u32): u64 {
  store<u64>(RETURN_VALUE_SLOT, 0);
  if (proxy_get_metric(id, RETURN_VALUE_SLOT) != WasmResult.Ok) return 0;
  return load<u64>(RETURN_VALUE_SLOT);
}
