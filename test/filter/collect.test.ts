/**
 * Garbage collection of the filter (filter/proxy-wasm/collect.ts): the module
 * uses asc's minimal runtime, which collects only when told to, at the end of
 * the outermost exported callback. Checked: every callback brackets its work
 * (so none can leave garbage uncollected or collect under a caller), memory
 * stops growing under configuration churn, and objects still in use survive
 * collections (streams scheduled with a replaced configuration end correctly).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ROOT_DIR, Sidecar, chosen, destination, endpointMetric, pluginConfig } from "../support/filter-host.js";

/** The exported proxy_on_* functions of dispatch.ts: name and body. */
function exportedCallbacks(): { name: string; body: string }[] {
  const source = readFileSync(`${ROOT_DIR}filter/proxy-wasm/dispatch.ts`, "utf8");
  const out: { name: string; body: string }[] = [];
  const re = /export function (proxy_on_\w+)\([^)]*\)[^{]*\{\n([\s\S]*?)\n\}/g;
  for (let m = re.exec(source); m; m = re.exec(source)) out.push({ name: m[1]!, body: m[2]! });
  return out;
}

/** A configuration of `size` endpoints per destination, its names varied by `generation`. */
function churnConfig(generation: number, size: number): Record<string, unknown> {
  const g = generation % 7;
  return pluginConfig([
    destination("catalog", "round_robin", size),
    destination("cart", "least_load", size),
    destination("search", "consistent_hash", size, { hashOn: { header: `x-key-${g}` } }),
    destination("orders", "availability", size, { admission: { maxInFlight: 4 + g, maxQueue: 16 } }),
  ], { service: `frontend-${g}` });
}

describe("garbage collection at safe points", () => {
  it("every exported callback but proxy_on_memory_allocate is bracketed by enterCallback/leaveCallback", () => {
    const callbacks = exportedCallbacks();
    expect(callbacks.length).toBeGreaterThan(20);
    for (const { name, body } of callbacks) {
      if (name === "proxy_on_memory_allocate") {
        // Runs inside host calls, while the caller holds references: it must never collect.
        expect(body, name).not.toMatch(/Callback\(\)/);
        continue;
      }
      const lines = body.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
      expect(lines[0], `${name} starts with enterCallback()`).toBe("enterCallback();");
      const leave = lines.indexOf("leaveCallback();");
      expect(leave, `${name} calls leaveCallback()`).toBeGreaterThan(0);
      // Nothing returns before leaving (a return before it would skip the collection and unbalance the depth).
      expect(lines.slice(0, leave).some((l) => /^return\b|\breturn\b/.test(l)), `${name} returns before leaveCallback()`).toBe(false);
      expect(lines.slice(leave + 1).every((l) => /^return\b/.test(l)), `${name}: only a return after leaveCallback()`).toBe(true);
    }
  });

  it("memory stops growing over 240 reconfigurations with 4 × 64 endpoints and traffic in between", async () => {
    const sc = await Sidecar.start(churnConfig(0, 64), 1);
    const vm = sc.vms[0]!;
    const sizes: number[] = [];
    for (let generation = 1; generation <= 240; generation++) {
      sc.reconfigure(churnConfig(generation, 64));
      for (let i = 0; i < 20; i++) sc.finish(sc.request("catalog", [], "/items", vm), 200);
      sizes.push(vm.mem.size);
    }
    expect(vm.failed).toBe(false);
    // Without collection each configuration (parsed JSON, strings, objects) would stay: ~100 KB a cycle.
    const atQuarter = sizes[59]!;
    const atEnd = sizes[sizes.length - 1]!;
    expect(atEnd - atQuarter, `memory ${atQuarter} -> ${atEnd} bytes`).toBeLessThanOrEqual(65536);
    expect(atEnd).toBeLessThan(8 * 1024 * 1024);
  });

  it("streams scheduled with a replaced configuration survive collections and end correctly", async () => {
    const sc = await Sidecar.start(churnConfig(0, 8), 2);
    const open = Array.from({ length: 40 }, () => sc.request("catalog"));
    for (const s of open) expect(chosen(s)).toHaveLength(1);
    // Enough churn (garbage, memory growth) that collections certainly ran while the streams were open.
    for (let generation = 1; generation <= 60; generation++) sc.reconfigure(churnConfig(generation, 64));
    for (const s of open) sc.finish(s, 200);
    sc.storeRecords(); // round_robin: stored on the tick (filter/lightsub/records/local.ts)
    for (let i = 0; i < 8; i++) expect(sc.sharedInFlight(`catalog_ep${i}`), `catalog_ep${i} in flight`).toBe(0);
    // New requests after all that still spread evenly (round_robin over 64 endpoints of the last configuration).
    const picks = new Map<string, number>();
    for (let i = 0; i < 128; i++) {
      const s = sc.request("catalog", [], "/items", sc.vms[0]!);
      const c = chosen(s)[0]!;
      picks.set(c, (picks.get(c) ?? 0) + 1);
      sc.finish(s, 200);
    }
    expect(picks.size).toBe(64);
    for (const n of picks.values()) expect(n).toBe(2);
    expect(sc.vms.every((vm) => !vm.failed)).toBe(true);
    // Every request counted once: 40 old ones, 128 new ones.
    sc.publishStats();
    let total = 0;
    for (let i = 0; i < 64; i++) total += sc.stat(endpointMetric("catalog", `catalog-${i}_9090`, "rq_total")) ?? 0;
    expect(total).toBe(40 + 128);
  });
});
