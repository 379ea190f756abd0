/**
 * env.proxy_* host functions that are not about HTTP streams: logging, time,
 * ticks, properties, effective context, status, foreign functions.
 * Return codes follow proxy-wasm-cpp-host src/exports.cc and Envoy's context.cc.
 */
import { deflateSync, inflateSync } from "node:zlib";
import { LOG_LEVELS, WasmResult } from "../abi.js";
import type { Vm } from "../vm.js";

/** Foreign functions Envoy registers that this host does not model: they answer Unimplemented. */
const UNMODELED_FOREIGN = new Set([
  "verify_signature",
  "sign",
  "set_envoy_filter_state",
  "declare_property",
  "expr_create",
  "expr_evaluate",
  "expr_delete",
]);

type ForeignFn = (vm: Vm, args: Uint8Array) => { result: number; out?: Uint8Array };

/** clear_route_cache's answer, shared: it runs on every scheduled request and has no output. */
const CLEARED: { result: number; out?: Uint8Array } = Object.freeze({ result: WasmResult.Ok });

const FOREIGN: Record<string, ForeignFn> = {
  clear_route_cache(vm) {
    vm.ctx().clearRouteCache();
    return CLEARED;
  },
  compress(_vm, args) {
    try {
      return { result: WasmResult.Ok, out: new Uint8Array(deflateSync(args)) };
    } catch {
      return { result: WasmResult.SerializationFailure };
    }
  },
  uncompress(_vm, args) {
    try {
      return { result: WasmResult.Ok, out: new Uint8Array(inflateSync(args)) };
    } catch {
      return { result: WasmResult.SerializationFailure };
    }
  },
};

export function generalImports(vm: Vm): Record<string, (...args: never[]) => number | void> {
  const envoy = vm.envoy;
  const mem = vm.mem;
  const enter = (name: string): void => vm.enterHostCall(name);

  return {
    proxy_log(level: number, ptr: number, size: number) {
      enter("env.proxy_log");
      const name = LOG_LEVELS[level >>> 0];
      if (name === undefined) return WasmResult.BadArgument;
      const message = mem.string(ptr, size);
      if (message === null) return WasmResult.InvalidMemoryAccess;
      vm.log(name, message);
      return WasmResult.Ok;
    },

    proxy_get_log_level(levelPtr: number) {
      enter("env.proxy_get_log_level");
      return mem.writeU32(levelPtr, LOG_LEVELS.indexOf(vm.logLevel)) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_get_status(codePtr: number, ptrPtr: number, sizePtr: number) {
      enter("env.proxy_get_status");
      // No HTTP/gRPC callouts complete here, so the root context's status is always (0, "").
      if (!mem.writeU32(codePtr, 0)) return WasmResult.InvalidMemoryAccess;
      return vm.copyOut(new Uint8Array(0), ptrPtr, sizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_tick_period_milliseconds(period: number) {
      enter("env.proxy_set_tick_period_milliseconds");
      const root = vm.ctx().rootContext();
      if (root) envoy.setTickPeriod(root, period >>> 0);
      return WasmResult.Ok;
    },

    proxy_get_current_time_nanoseconds(resultPtr: number) {
      enter("env.proxy_get_current_time_nanoseconds");
      return mem.writeU64(resultPtr, envoy.nowNs()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_property(keyPtr: number, keySize: number, valuePtr: number, valueSize: number) {
      enter("env.proxy_set_property");
      const key = mem.string(keyPtr, keySize);
      const value = mem.slice(valuePtr, valueSize);
      if (key === null || value === null) return WasmResult.InvalidMemoryAccess;
      return vm.ctx().storeProperty(key, value);
    },

    proxy_get_property(pathPtr: number, pathSize: number, valuePtrPtr: number, valueSizePtr: number) {
      enter("env.proxy_get_property");
      const path = mem.string(pathPtr, pathSize);
      if (path === null) return WasmResult.InvalidMemoryAccess;
      const counts = vm.envoy.hostCallCounts;
      if (counts !== null) {
        const key = `property ${path.split("\0").filter((part) => part !== "").join(".")}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      const value = vm.ctx().lookupProperty(path);
      if (typeof value === "number") return value;
      return vm.copyOut(value, valuePtrPtr, valueSizePtr) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    proxy_set_effective_context(contextId: number) {
      enter("env.proxy_set_effective_context");
      const id = contextId >>> 0;
      if (!vm.contexts.has(id)) return WasmResult.BadArgument;
      vm.effectiveId = id;
      return WasmResult.Ok;
    },

    proxy_done() {
      enter("env.proxy_done");
      // Only a root context that Envoy is shutting down may call it; this host never shuts one down.
      return WasmResult.NotFound;
    },

    proxy_call_foreign_function(
      namePtr: number,
      nameSize: number,
      argsPtr: number,
      argsSize: number,
      resultsPtr: number,
      resultsSizePtr: number,
    ) {
      enter("env.proxy_call_foreign_function");
      const name = mem.string(namePtr, nameSize);
      if (name === null) return WasmResult.InvalidMemoryAccess;
      // A view, not a copy (Envoy passes a string_view too): no function here keeps it.
      const args = mem.slice(argsPtr, argsSize);
      if (args === null) return WasmResult.InvalidMemoryAccess;
      const f = FOREIGN[name];
      if (!f) return UNMODELED_FOREIGN.has(name) ? WasmResult.Unimplemented : WasmResult.NotFound;
      const { result, out } = f(vm, args);
      let address = 0;
      const size = out?.byteLength ?? 0;
      if (out && resultsPtr >>> 0 !== 0) {
        address = vm.alloc(size);
        if (address !== 0) mem.write(address, out);
      }
      if (resultsPtr >>> 0 !== 0 && !mem.writeU32(resultsPtr, address)) return WasmResult.InvalidMemoryAccess;
      if (resultsSizePtr >>> 0 !== 0 && !mem.writeU32(resultsSizePtr, size)) return WasmResult.InvalidMemoryAccess;
      return result;
    },

    pthread_equal(a: number, b: number) {
      enter("env.pthread_equal");
      return a === b ? 1 : 0;
    },

    emscripten_notify_memory_growth(_index: number): void {
      enter("env.emscripten_notify_memory_growth");
    },
  };
}
