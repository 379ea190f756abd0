/** The import object a VM is instantiated with: every function Envoy registers. */
import type { Vm } from "../vm.js";
import { calloutImports } from "./callouts.js";
import { dataImports } from "./data.js";
import { generalImports } from "./general.js";
import { httpImports } from "./http.js";
import { metricImports } from "./metrics.js";
import { wasiImports } from "./wasi.js";

export function buildImports(vm: Vm): WebAssembly.Imports {
  const env: Record<string, unknown> = {
    ...generalImports(vm),
    ...httpImports(vm),
    ...dataImports(vm),
    ...metricImports(vm),
    ...calloutImports(vm),
  };
  // ABI 0.2.0 modules do not get proxy_get_log_level (compile() already refused such imports).
  if (vm.abiVersion === "0.2.0") delete env.proxy_get_log_level;
  return {
    env: env as WebAssembly.ModuleImports,
    wasi_snapshot_preview1: wasiImports(vm, "wasi_snapshot_preview1") as WebAssembly.ModuleImports,
    wasi_unstable: wasiImports(vm, "wasi_unstable") as WebAssembly.ModuleImports,
  };
}
