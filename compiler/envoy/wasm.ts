/** The lightsub Wasm HTTP filter entry of an outbound listener (docs/design.md "The Wasm filter in Envoy config"). */
import type { FailMode } from "../model.js";
import type { JsonObject } from "./json.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";

export const WASM_PLUGIN_NAME = "lightsub";
export const WASM_ROOT_ID = "lightsub";
export const WASM_VM_ID = "lightsub";
export const WASM_RUNTIME = "envoy.wasm.runtime.v8";

export interface WasmFilterOptions {
  /** Path of the .wasm inside the sidecar container. */
  wasmPath: string;
  /** The plugin JSON (plugin-config.ts), passed to the filter as a StringValue. */
  pluginJson: string;
  /** What Envoy does when the VM itself fails: open bypasses the filter, closed answers 503. */
  failMode: FailMode;
}

export function wasmFilter(opts: WasmFilterOptions): JsonObject {
  return {
    name: EXTENSION_NAME.wasm,
    typed_config: {
      "@type": TYPE_URL.wasm,
      config: {
        name: WASM_PLUGIN_NAME,
        root_id: WASM_ROOT_ID,
        vm_config: {
          vm_id: WASM_VM_ID,
          runtime: WASM_RUNTIME,
          code: { local: { filename: opts.wasmPath } },
        },
        configuration: { "@type": TYPE_URL.stringValue, value: opts.pluginJson },
        fail_open: opts.failMode === "open",
      },
    },
  };
}

export function routerFilter(): JsonObject {
  return { name: EXTENSION_NAME.router, typed_config: { "@type": TYPE_URL.router } };
}
