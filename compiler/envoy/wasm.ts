/** The lightsub Wasm HTTP filter entry of an outbound listener (docs/design.md "The Wasm filter in Envoy config"). */
import type { FailMode } from "../model/mesh.js";
import type { JsonObject } from "./json.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";

const WASM_PLUGIN_NAME = "lightsub";
const WASM_ROOT_ID = "lightsub";
const WASM_VM_ID = "lightsub";
const WASM_RUNTIME = "envoy.wasm.runtime.v8";

export interface WasmFilterOptions {
  /** Path of the .wasm inside the sidecar container. */
  wasmPath: string;
  /** The plugin JSON (plugin-config.ts), passed to the filter as a StringValue. */
  pluginJson: string;
  /** What Envoy does when the VM itself fails: open bypasses the filter, closed answers 503 (`failure_policy`). */
  failMode: FailMode;
  /** wasmVmConfig(wasmPath), when the caller shares one (deep-frozen) between filters. */
  vmConfig?: JsonObject;
}

/** The VM part of the filter: the same in every outbound listener of a mesh. */
export function wasmVmConfig(wasmPath: string): JsonObject {
  return { vm_id: WASM_VM_ID, runtime: WASM_RUNTIME, code: { local: { filename: wasmPath } } };
}

export function wasmFilter(opts: WasmFilterOptions): JsonObject {
  return {
    name: EXTENSION_NAME.wasm,
    typed_config: {
      "@type": TYPE_URL.wasm,
      config: {
        name: WASM_PLUGIN_NAME,
        root_id: WASM_ROOT_ID,
        vm_config: opts.vmConfig ?? wasmVmConfig(opts.wasmPath),
        configuration: { "@type": TYPE_URL.stringValue, value: opts.pluginJson },
        failure_policy: wasmFailurePolicy(opts.failMode),
      },
    },
  };
}

/**
 * `PluginConfig.failure_policy` (enum FailurePolicy) for a fail mode. Envoy
 * >= 1.33 deprecates the boolean `fail_open` in its favour; lightsub never
 * emits it. FAIL_RELOAD (a new plugin instance after a runtime error) has no
 * counterpart in the policy's failMode, so it is not used.
 */
function wasmFailurePolicy(failMode: FailMode): "FAIL_OPEN" | "FAIL_CLOSED" {
  return failMode === "open" ? "FAIL_OPEN" : "FAIL_CLOSED";
}

export function routerFilter(): JsonObject {
  return { name: EXTENSION_NAME.router, typed_config: { "@type": TYPE_URL.router } };
}
