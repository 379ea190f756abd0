/**
 * The built modules as Envoy sees them: imports only what Envoy provides (and
 * only env.proxy_* plus the portable WASI subset), exports the proxy-wasm ABI
 * 0.2.1 entry points with Envoy's types, stays within the size budget; and the
 * pass-through filter really does nothing.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Envoy } from "../../host/index.js";
import { EXPORT_TYPES, formatType } from "../../host/signatures.js";
import { LIGHTSUB_WASM, PASSTHROUGH_WASM, destination, pluginConfig, wasmBytes } from "../support/filter-host.js";

interface ImportList {
  env: string[];
  wasi_snapshot_preview1: string[];
  wasi_unstable: string[];
}

const ENVOY_IMPORTS = JSON.parse(readFileSync(new URL("../../host/envoy-imports.json", import.meta.url), "utf8")) as ImportList;
/** WASI functions that every Envoy release with Wasm provides (see /work/shared/envoy notes). */
const PORTABLE_WASI = new Set(["fd_write", "proc_exit", "clock_time_get", "random_get"]);
/** Exports Envoy needs from a proxy-wasm 0.2.1 HTTP filter. */
const REQUIRED_EXPORTS = [
  "memory",
  "_initialize",
  "proxy_abi_version_0_2_1",
  "proxy_on_memory_allocate",
  "proxy_on_context_create",
  "proxy_on_vm_start",
  "proxy_on_configure",
  "proxy_on_request_headers",
  "proxy_on_response_headers",
  "proxy_on_log",
  "proxy_on_done",
  "proxy_on_delete",
];

const MODULES = [
  ["lightsub", LIGHTSUB_WASM],
  ["passthrough", PASSTHROUGH_WASM],
] as const;

describe.each(MODULES)("%s.wasm", (_name, path) => {
  const bytes = wasmBytes(path);
  const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const imports = WebAssembly.Module.imports(module);
  const exports = WebAssembly.Module.exports(module);

  it("imports only functions on Envoy's list", () => {
    for (const imp of imports) {
      expect(imp.kind).toBe("function");
      const list = ENVOY_IMPORTS[imp.module as keyof ImportList];
      expect(list, `${imp.module}.${imp.name}`).toBeDefined();
      expect(list).toContain(imp.name);
    }
  });

  it("imports nothing but env.proxy_* and portable WASI (no env.abort/seed/trace)", () => {
    for (const imp of imports) {
      const ok =
        (imp.module === "env" && imp.name.startsWith("proxy_")) ||
        (imp.module === "wasi_snapshot_preview1" && PORTABLE_WASI.has(imp.name));
      expect(ok, `${imp.module}.${imp.name}`).toBe(true);
    }
  });

  it("exports the ABI 0.2.1 entry points with the types Envoy expects", async () => {
    const names = exports.map((e) => e.name);
    for (const name of REQUIRED_EXPORTS) expect(names).toContain(name);
    // Anything else exported must be a callback Envoy knows.
    for (const e of exports) {
      if (e.name === "memory" || e.name === "proxy_abi_version_0_2_1") continue;
      expect(Object.keys(EXPORT_TYPES), e.name).toContain(e.name);
    }
    const compiled = await Envoy.compile(bytes);
    expect(compiled.abiVersion).toBe("0.2.1");
    for (const e of compiled.shape.exports) {
      const want = EXPORT_TYPES[e.name];
      if (want && e.type) expect(formatType(e.type), e.name).toBe(formatType(want));
    }
  });

  it("fits the 64 KiB size budget", () => {
    expect(bytes.byteLength).toBeLessThanOrEqual(64 * 1024);
  });
});

describe("the two modules", () => {
  it("export the same callbacks (same bindings)", () => {
    const names = (path: string) =>
      WebAssembly.Module.exports(new WebAssembly.Module(wasmBytes(path) as Uint8Array<ArrayBuffer>))
        .map((e) => e.name)
        .sort();
    expect(names(PASSTHROUGH_WASM)).toEqual(names(LIGHTSUB_WASM));
  });

  it("export only the HTTP callbacks lightsub acts on: Envoy then skips request bodies, trailers and metadata without a Wasm call", () => {
    const names = new Set(WebAssembly.Module.exports(new WebAssembly.Module(wasmBytes(LIGHTSUB_WASM) as Uint8Array<ArrayBuffer>)).map((e) => e.name));
    for (const used of ["proxy_on_request_headers", "proxy_on_response_headers", "proxy_on_response_body", "proxy_on_response_trailers", "proxy_on_log", "proxy_on_delete", "proxy_on_tick", "proxy_on_configure"]) {
      expect(names.has(used), used).toBe(true);
    }
    for (const unused of ["proxy_on_request_body", "proxy_on_request_trailers", "proxy_on_request_metadata", "proxy_on_response_metadata", "proxy_on_new_connection", "proxy_on_downstream_data", "proxy_on_http_call_response", "proxy_on_grpc_receive", "proxy_on_queue_ready", "proxy_on_foreign_function"]) {
      expect(names.has(unused), unused).toBe(false);
    }
  });
});

describe("passthrough.wasm", () => {
  it("continues every callback and calls no host function", async () => {
    const module = await Envoy.compile(wasmBytes(PASSTHROUGH_WASM));
    const envoy = new Envoy();
    const vm = envoy.createVm(module, { vmId: "lightsub" });
    // It accepts (and ignores) the lightsub configuration.
    expect(vm.configure(JSON.stringify(pluginConfig([destination("catalog", "round_robin", 2)])), { rootId: "lightsub" })).toBe(true);
    const callsBefore = envoy.hostCalls;
    const s = vm.createStream({ properties: { "xds.cluster_name": "catalog" } });
    const request: [string, string][] = [[":method", "POST"], [":path", "/x"], [":authority", "catalog"], ["x-lightsub-endpoint", "catalog_ep1"]];
    expect(s.onRequestHeaders(request, false)).toBe("Continue");
    expect(s.onRequestBody("payload", true)).toBe("Continue");
    expect(s.onResponseHeaders([[":status", "200"]], false)).toBe("Continue");
    expect(s.onResponseBody("answer", true)).toBe("Continue");
    s.end({ responseCode: 200 });
    expect(envoy.hostCalls).toBe(callsBefore);
    expect(s.requestHeaders.toPairs()).toEqual(request);
    expect(s.requestBody).toEqual(new TextEncoder().encode("payload"));
    expect(s.localReply).toBeUndefined();
    expect(envoy.stats.names()).toEqual([]);
    expect(envoy.sharedData.keys()).toEqual([]);
    expect(envoy.logs).toEqual([]);
    expect(vm.failed).toBe(false);
  });
});
