/**
 * The lightsub entry of a listener's HTTP filter chain, read as Envoy reads
 * its Wasm filter config (envoy.extensions.filters.http.wasm.v3.Wasm): the
 * plugin configuration, root id, vm id, VM configuration and failure policy.
 * The simulator and the tests configure the filter in the host from this.
 */
import { EnvoyConfigError, arrayField, boolField, field, httpConnectionManager, stringField, typedConfig, type Json } from "./envoy-json.js";

const WASM_FILTER_TYPE = "envoy.extensions.filters.http.wasm.v3.Wasm";

export interface WasmFilterConfig {
  pluginJson: string;
  rootId: string;
  vmId: string;
  failOpen: boolean;
  /** The filter config's `name` (property plugin_name); Envoy's default is empty. */
  name?: string;
  /** vm_config.configuration's StringValue (what the module reads as VM configuration), when set. */
  vmConfig?: string;
}

/** The lightsub filter entry of a listener's HTTP filter chain. */
export function readWasmFilterConfig(listener: Json): WasmFilterConfig {
  const hcm = httpConnectionManager(listener);
  for (const filter of arrayField(hcm, "http_filters")) {
    const wasm = typedConfig(filter, WASM_FILTER_TYPE);
    if (!wasm) continue;
    const config = field(wasm, "config");
    const pluginJson = stringField(field(config, "configuration"), "value");
    if (pluginJson === undefined) throw new EnvoyConfigError("the Wasm filter has no StringValue configuration");
    const vmConfig = stringField(field(field(config, "vm_config"), "configuration"), "value");
    return {
      pluginJson,
      rootId: stringField(config, "root_id") ?? "",
      vmId: stringField(field(config, "vm_config"), "vm_id") ?? "",
      name: stringField(config, "name") ?? "",
      ...(vmConfig !== undefined ? { vmConfig } : {}),
      // failure_policy (Envoy >= 1.33; what lightsub writes) wins; unset, the deprecated fail_open decides.
      failOpen: { FAIL_OPEN: true, FAIL_CLOSED: false, FAIL_RELOAD: false }[stringField(config, "failure_policy") ?? ""] ?? boolField(config, "fail_open") ?? false,
    };
  }
  throw new EnvoyConfigError(`listener "${stringField(listener, "name")}" has no Wasm filter`);
}
