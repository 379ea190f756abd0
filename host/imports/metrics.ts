/**
 * env.proxy_* metric host functions (Envoy context.cc defineMetric …
 * getMetric). Ids are per VM and carry the type in their low two bits; the
 * stats themselves are process-wide by name.
 */
import { METRIC_TYPE_MASK, METRIC_TYPE_MAX, MetricType, WasmResult } from "../abi.js";
import type { Vm } from "../vm.js";

export function metricImports(vm: Vm): Record<string, (...args: never[]) => number> {
  const envoy = vm.envoy;
  const mem = vm.mem;
  const enter = (name: string): void => vm.enterHostCall(name);

  return {
    proxy_define_metric(type: number, namePtr: number, nameSize: number, idPtr: number) {
      enter("env.proxy_define_metric");
      const name = mem.string(namePtr, nameSize);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      const t = type >>> 0;
      if (t > METRIC_TYPE_MAX) return WasmResult.BadArgument;
      const stat =
        t === MetricType.Counter
          ? envoy.stats.defineCounter(name)
          : t === MetricType.Gauge
            ? envoy.stats.defineGauge(name)
            : envoy.stats.defineHistogram(name);
      const id = vm.nextMetric(t);
      vm.metrics.set(id, stat);
      return mem.writeU32(idPtr, id) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_increment_metric(id: number, offset: bigint) {
      enter("env.proxy_increment_metric");
      const metricId = id >>> 0;
      const type = metricId & METRIC_TYPE_MASK;
      if (type === MetricType.Counter) {
        const stat = vm.metrics.get(metricId);
        if (!stat) return WasmResult.NotFound;
        // Envoy refuses to add zero or a negative amount to a counter.
        if (offset <= 0n) return WasmResult.BadArgument;
        stat.kind === "counter" && (stat.value += Number(offset));
        return WasmResult.Ok;
      }
      if (type === MetricType.Gauge) {
        const stat = vm.metrics.get(metricId);
        if (!stat) return WasmResult.NotFound;
        stat.kind === "gauge" && (stat.value += Number(offset));
        return WasmResult.Ok;
      }
      return WasmResult.BadArgument;
    },

    proxy_record_metric(id: number, value: bigint) {
      enter("env.proxy_record_metric");
      const stat = vm.metrics.get(id >>> 0);
      if (!stat) return WasmResult.NotFound;
      // Envoy takes the value as uint64; asUintN (an allocation) only for negative inputs.
      const v = Number(value >= 0n ? value : BigInt.asUintN(64, value));
      if (stat.kind === "counter") stat.value += v;
      else if (stat.kind === "gauge") stat.value = v;
      else stat.record(v);
      return WasmResult.Ok;
    },

    proxy_get_metric(id: number, resultPtr: number) {
      enter("env.proxy_get_metric");
      const metricId = id >>> 0;
      const type = metricId & METRIC_TYPE_MASK;
      if (type !== MetricType.Counter && type !== MetricType.Gauge) return WasmResult.BadArgument;
      const stat = vm.metrics.get(metricId);
      if (!stat || stat.kind === "histogram") return WasmResult.NotFound;
      const value = BigInt.asUintN(64, BigInt(Math.trunc(stat.value)));
      return mem.writeU64(resultPtr, value) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
  };
}
