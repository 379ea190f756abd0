// Envoy.compile refuses what Envoy refuses to load; createVm starts a VM like Envoy does.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Envoy, ImportError, ModuleError } from "../../host/index.js";
import { buildFixture } from "../fixtures/host/build.js";
import { events, fixtureModule } from "../support/probe.js";

describe("Envoy.compile", () => {
  it("accepts the probe and reports its ABI version", async () => {
    const module = await Envoy.compile(await buildFixture("probe.as.ts"));
    expect(module.abiVersion).toBe("0.2.1");
    expect(module.functions.has("proxy_on_request_headers")).toBe(true);
  });

  it("refuses a module importing env.abort (AssemblyScript's default), naming the import", async () => {
    const bytes = await buildFixture("probe.as.ts", { redirectRuntimeImports: false });
    const err = await Envoy.compile(bytes).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    expect((err as ImportError).imports).toEqual(["env.abort"]);
    expect((err as Error).message).toContain("env.abort");
  });

  it("lists every refused import, including a known name with the wrong type", async () => {
    const err = await Envoy.compile(await buildFixture("bad-imports.as.ts")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ImportError);
    const imports = (err as ImportError).imports;
    expect(imports).toHaveLength(2);
    expect(imports).toContain("env.proxy_not_a_host_function");
    expect(imports.find((i) => i.startsWith("wasi_snapshot_preview1.fd_write"))).toMatch(/type mismatch.*\(i32\) -> \(i32\).*\(i32, i32, i32, i32\) -> \(i32\)/);
  });

  it("refuses a module without a proxy_abi_version export", async () => {
    const err = await Envoy.compile(await buildFixture("no-abi.as.ts")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleError);
    expect(err).not.toBeInstanceOf(ImportError);
    expect((err as Error).message).toMatch(/ABI version/);
  });

  it("refuses an exported callback with the wrong signature", async () => {
    const err = await Envoy.compile(await buildFixture("bad-exports.as.ts")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModuleError);
    expect((err as Error).message).toMatch(/Bad function signature for: proxy_on_request_headers/);
  });

  it("refuses bytes that are not Wasm", async () => {
    await expect(Envoy.compile(new TextEncoder().encode("not wasm"))).rejects.toBeInstanceOf(ModuleError);
  });

  it("keeps host/envoy-imports.json identical to the shared list", () => {
    const ours = JSON.parse(readFileSync(new URL("../../host/envoy-imports.json", import.meta.url), "utf8"));
    const shared = JSON.parse(readFileSync("/work/shared/envoy/wasm-imports-abi-0.2.1.json", "utf8"));
    for (const key of ["env", "wasi_snapshot_preview1", "wasi_unstable"]) expect(ours[key]).toEqual(shared[key]);
    expect(ours._comment).toMatch(/wasm-imports-abi-0\.2\.1\.json/);
  });
});

describe("VM start", () => {
  it("runs _initialize, then on configure proxy_on_context_create(root, 0), proxy_on_vm_start, proxy_on_configure", async () => {
    const envoy = new Envoy();
    const vm = envoy.createVm(await fixtureModule(), { vmId: "v", vmConfig: "abc" });
    expect(events(envoy)).toEqual([]);
    expect(vm.configure("xyz12", { rootId: "r" })).toBe(true);
    expect(events(envoy)).toEqual(["context_create|1,0", "vm_start|1,3", "configure|1,5"]);
  });

  it("fails the VM when proxy_on_vm_start or proxy_on_configure answers false", async () => {
    const envoy = new Envoy();
    const a = envoy.createVm(await fixtureModule(), { vmConfig: "vm_start_fail=1" });
    expect(a.configure("")).toBe(false);
    expect(a.failed).toBe(true);
    expect(a.failState).toBe("StartFailed");
    const b = envoy.createVm(await fixtureModule());
    expect(b.configure("fail=1")).toBe(false);
    expect(b.failState).toBe("ConfigureFailed");
  });

  it("lets _initialize log but traps other host calls (restricted_callback), failing the VM", async () => {
    const envoy = new Envoy();
    const vm = envoy.createVm(await Envoy.compile(await buildFixture("init-restricted.as.ts")));
    expect(envoy.logs.map((l) => l.message)).toContain("init says hi");
    expect(vm.failed).toBe(true);
    expect(vm.failState).toBe("UnableToInitializeCode");
    expect(String((vm.trap as Error).message)).toMatch(/restricted_callback \(env\.proxy_get_property\)/);
    expect(vm.configure("")).toBe(false);
  });

  it("runs a module that exports no callbacks at all", async () => {
    const envoy = new Envoy();
    const vm = envoy.createVm(await Envoy.compile(await buildFixture("empty-filter.as.ts")));
    expect(vm.configure("{}")).toBe(true);
    const s = vm.createStream();
    expect(s.onRequestHeaders({ ":path": "/" }, true)).toBe("Continue");
    expect(s.onResponseHeaders({ ":status": "204" }, true)).toBe("Continue");
    s.end({ responseCode: 204 });
    expect(vm.failed).toBe(false);
    expect(envoy.hostCalls).toBe(0);
  });
});
