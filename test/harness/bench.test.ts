/**
 * The benchmark harness (bench/): its statistics, paired timing, generated
 * policies, the cross-thread shared-data store, the command line, and a
 * --quick end-to-end run whose results.json must have the documented shape
 * with all seven figures. No timing is asserted: the numbers are the
 * benchmark's job, not a test's.
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkPolicy } from "../../compiler/check-policy.js";
import { Envoy, WasmResult } from "../../host/index.js";
import { AtomicSharedData, createAtomicLayout } from "../../bench/atomic-shared-data.js";
import { ALL_SECTIONS, SECTIONS, makeFigure, summarize, type Figure } from "../../bench/figures.js";
import { benchPluginConfig, OneWorker, oneRequest } from "../../bench/filter-cost.js";
import { measurePaired } from "../../bench/paired.js";
import { generatePolicy } from "../../bench/policy-gen.js";
import type { BenchResults } from "../../bench/results.js";
import { parseArgs, runBench } from "../../bench/run.js";
import { withSimulation } from "../../bench/simulator-figures.js";
import { formatNumber, renderTable, targets } from "../../bench/table.js";
import { LIGHTSUB_WASM, compile as compileWasm } from "../support/filter-host.js";

describe("summarize", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(summarize([5, 1, 3])).toEqual({ median: 3, min: 1, max: 5, runs: 3 });
    expect(summarize([4, 1, 3, 10])).toEqual({ median: 3.5, min: 1, max: 10, runs: 4 });
    expect(summarize([7])).toEqual({ median: 7, min: 7, max: 7, runs: 1 });
  });

  it("refuses no samples and non-finite ones", () => {
    expect(() => summarize([])).toThrow(/no samples/);
    expect(() => summarize([1, Number.NaN])).toThrow(/non-finite/);
    expect(() => summarize([Infinity])).toThrow(/non-finite/);
  });

  it("judges a figure by its median against the target", () => {
    const at = (samples: number[]) =>
      makeFigure({ section: "filter-cost", name: "ratio", unit: "×", samples, target: { max: 1.5, text: "≤ 1.5×" } }, "m");
    expect(at([1, 1.4, 9]).met).toBe(true);
    expect(at([1, 1.6, 1.7]).met).toBe(false);
    const floor = makeFigure({ section: "compiler", name: "x", unit: "×", samples: [3], target: { min: 2, text: "≥ 2" } }, "m");
    expect(floor.met).toBe(true);
    expect(makeFigure({ section: "compiler", name: "x", unit: "ms", samples: [3] }, "m").met).toBeUndefined();
  });
});

describe("measurePaired", () => {
  it("alternates the order each round (ABBA) and drops warm-up rounds", () => {
    const order: string[] = [];
    let a = 0;
    let b = 0;
    const samples = measurePaired(
      () => (order.push("a"), (a += 1), 100 * a),
      () => (order.push("b"), (b += 1), 300 * b),
      { rounds: 3, warmupRounds: 1 },
    );
    expect(order).toEqual(["a", "b", "b", "a", "a", "b", "b", "a"]);
    expect(samples.aNs).toEqual([200, 300, 400]);
    expect(samples.bNs).toEqual([600, 900, 1200]);
    expect(samples.ratios).toEqual([3, 3, 3]);
  });

  it("interleaves several slices per round and averages them", () => {
    const order: string[] = [];
    const times = { a: [10, 20, 30, 40], b: [50, 100, 150, 200] };
    const samples = measurePaired(
      () => (order.push("a"), times.a.shift()!),
      () => (order.push("b"), times.b.shift()!),
      { rounds: 2, warmupRounds: 0, slices: 2 },
    );
    expect(order).toEqual(["a", "b", "b", "a", "a", "b", "b", "a"]);
    expect(samples.aNs).toEqual([15, 35]);
    expect(samples.bNs).toEqual([75, 175]);
    expect(samples.ratios).toEqual([5, 5]);
  });
});

describe("generatePolicy", () => {
  it("writes a policy the compiler accepts without a single diagnostic, each service calling the next 5", () => {
    const policy = generatePolicy(40);
    const { model, diagnostics } = checkPolicy(policy.text, "bench.yaml");
    expect(diagnostics).toEqual([]);
    expect(model?.services).toHaveLength(40);
    for (const [i, s] of model!.services.entries()) {
      expect(s.calls.map((c) => c.service)).toEqual([1, 2, 3, 4, 5].map((k) => `svc-${(i + k) % 40}`));
      expect(new Set(s.calls.map((c) => c.port)).size).toBe(5);
    }
    expect(new Set(model!.services.map((s) => s.scheduler.strategy)).size).toBe(7);
  });

  it("calls everyone else when the mesh is smaller than 6", () => {
    const { model } = checkPolicy(generatePolicy(3).text, "small.yaml");
    expect(model?.services[0]?.calls.map((c) => c.service)).toEqual(["svc-1", "svc-2"]);
  });
});

describe("AtomicSharedData", () => {
  const key = "lightsub/v1/catalog_ep0";

  it("behaves like Envoy's shared data: missing key, unconditional set, stale CAS refused", () => {
    const layout = createAtomicLayout([key], "lightsub");
    const one = new AtomicSharedData(layout);
    const two = new AtomicSharedData(layout); // as another thread would see the same buffer
    expect(one.read("lightsub", key)).toBeUndefined();
    expect(one.write("lightsub", key, new Uint8Array([1, 2, 3]), 0)).toBe(WasmResult.Ok);
    const seen = two.read("lightsub", key)!;
    expect([...seen.value]).toEqual([1, 2, 3]);
    expect(seen.cas).toBeGreaterThan(0);
    expect(two.write("lightsub", key, new Uint8Array([4]), seen.cas)).toBe(WasmResult.Ok);
    expect(one.write("lightsub", key, new Uint8Array([5]), seen.cas)).toBe(WasmResult.CasMismatch);
    expect(one.casMismatches()).toBe(1);
    expect([...one.get(key)!.value]).toEqual([4]);
    expect(one.keys()).toEqual([key]);
  });

  it("keeps keys it was not made for in the thread (the base store)", () => {
    const store = new AtomicSharedData(createAtomicLayout([key], "lightsub"));
    expect(store.write("lightsub", "other", new Uint8Array([9]), 0)).toBe(WasmResult.Ok);
    expect([...store.read("lightsub", "other")!.value]).toEqual([9]);
    expect(new AtomicSharedData(createAtomicLayout([key], "lightsub")).read("lightsub", "other")).toBeUndefined();
  });

  it("is what the filter in two Envoys (threads) reads and writes: one in-flight count", async () => {
    const module = await compileWasm();
    const keys = [0, 1].map((i) => `lightsub/v1/catalog_ep${i}`);
    const layout = createAtomicLayout(keys, "lightsub");
    const config = JSON.stringify(benchPluginConfig("least_load", 2));
    const vms = [0, 1].map(() => {
      const envoy = new Envoy({ sharedData: new AtomicSharedData(layout) });
      const vm = envoy.createVm(module, { vmId: "lightsub" });
      expect(vm.configure(config, { rootId: "lightsub" })).toBe(true);
      return vm;
    });
    const streams = [0, 1, 0, 1].map((i) => {
      const s = vms[i]!.createStream({ properties: { "xds.cluster_name": "catalog" } });
      s.onRequestHeaders([[":path", "/"]], true);
      return s;
    });
    const view = new AtomicSharedData(layout);
    const inFlight = () => keys.reduce((sum, k) => sum + new DataView(view.get(k)!.value.buffer).getInt32(4, true), 0);
    expect(inFlight()).toBe(4);
    for (const s of streams) s.end({ responseCode: 200 });
    expect(inFlight()).toBe(0);
  });
});

describe("the filter-cost driver", () => {
  it("schedules every request it drives and counts the host calls the filter makes", async () => {
    const module = await compileWasm();
    const w = new OneWorker(module, benchPluginConfig("round_robin", 4));
    const before = w.envoy.hostCalls;
    for (let i = 0; i < 8; i++) oneRequest(w, i);
    expect(w.envoy.hostCalls - before).toBeGreaterThan(8 * 5);
    w.envoy.advance(1000); // the filter publishes its batched counters on its tick (docs/design.md, "Metrics")
    expect(w.envoy.stats.get("lightsub.service.catalog.endpoint.catalog-0_9090.rq_total")).toBe(2);
    expect(w.envoy.stats.get("lightsub.service.catalog.rq_unscheduled")).toBe(0);
  });
});

describe("withSimulation", () => {
  it("swaps the arrivals' duration for a request count and sets the runs to compare", () => {
    const text = "apiVersion: lightsub/v1\nsimulation:\n  arrivals: { process: poisson, rate: 800, duration: 30s }\n";
    const changed = withSimulation(text, { requests: 500, compare: ["oracle"] });
    expect(changed).toContain("requests: 500");
    expect(changed).not.toContain("duration");
    expect(changed).toMatch(/compare: \[ oracle \]/);
  });
});

describe("command line", () => {
  it("parses flags and refuses unknown ones", () => {
    const parsed = parseArgs(["--quick", "--only", "compiler,filter-size", "--out", "/tmp/x.json"]);
    expect(parsed).toMatchObject({ quick: true, only: ["compiler", "filter-size"], out: "/tmp/x.json", noBuild: false });
    expect(typeof parsed !== "string" && parsed.command).toBe("npm run bench -- --quick --only compiler,filter-size --out /tmp/x.json");
    expect(parseArgs(["--only", "nope"])).toMatch(/unknown section/);
    expect(parseArgs(["--out"])).toMatch(/needs a value/);
    expect(parseArgs(["--fast"])).toMatch(/unknown argument/);
  });

  it("keeps the real-Envoy section opt-in and accepts its short name", () => {
    // One run measures every figure, real Envoy's included (issue 18: "npm run bench prints and writes all of the above from one run").
    const all = parseArgs([]);
    expect(typeof all !== "string" && [...all.only].sort()).toEqual([...ALL_SECTIONS].sort());
    expect(parseArgs(["--only", "host"])).toMatchObject({ only: [...SECTIONS] });
    expect(parseArgs(["--only", "envoy"])).toMatchObject({ only: ["envoy-overhead", "envoy-scheduling", "envoy-simulator"] });
    expect(parseArgs(["--only", "envoy-overhead,compiler"])).toMatchObject({ only: ["envoy-overhead", "compiler"] });
  });
});

describe("npm run bench -- --quick", () => {
  it("writes results.json with all seven figures in the documented shape, and prints them", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "lightsub-bench-")), "results.json");
    const lines: string[] = [];
    const returned = await runBench({ quick: true, only: [...SECTIONS], out, noBuild: true, command: "test", log: (l) => lines.push(l) });
    const results = JSON.parse(readFileSync(out, "utf8")) as BenchResults;
    expect(results).toEqual(JSON.parse(JSON.stringify(returned)));
    expect(results.version).toBe(1);
    expect(results.quick).toBe(true);
    expect(results.missing).toEqual([]);
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.machine.node).toBe(process.version);
    for (const section of SECTIONS) expect(results.figures.some((f) => f.section === section), section).toBe(true);
    for (const f of results.figures) {
      expect(Object.keys(f).sort()).toEqual(expect.arrayContaining(["section", "name", "params", "unit", "median", "min", "max", "runs", "machine"]));
      expect(f.min).toBeLessThanOrEqual(f.median);
      expect(f.median).toBeLessThanOrEqual(f.max);
      expect(f.runs).toBeGreaterThanOrEqual(1);
      expect(f.machine).toBe(results.machine.summary);
      if (f.target) expect(typeof f.met).toBe("boolean");
    }
    const byName = (section: Figure["section"], name: string) => results.figures.filter((f) => f.section === section && f.name === name);
    expect(byName("filter-cost", "ratio").length).toBe(4);
    expect(byName("filter-cost", "host-calls").every((f) => f.median > 5)).toBe(true);
    expect(byName("filter-size", "bytes")[0]!.median).toBe(readFileSync(LIGHTSUB_WASM).byteLength);
    expect(byName("shared-state", "throughput-scaling").map((f) => f.params.workers)).toEqual([1, 2]);
    expect(byName("scheduling-quality", "p99-vs-oracle").length).toBeGreaterThan(0);
    expect(byName("scheduling-baselines", "p99-ms").map((f) => f.params.scenario)).toContain("brpc-two-slow");
    expect(byName("scheduling-baselines", "share-of-oracle-gain").every((f) => f.target !== undefined)).toBe(true);
    expect(byName("scheduling-baselines", "recovery-s").length).toBeGreaterThan(0);
    expect(byName("compiler", "compile-ms").map((f) => f.params.services)).toEqual([10, 100]);
    expect(byName("simulator", "requests-per-second").every((f) => f.median > 0)).toBe(true);
    const memory = byName("simulator", "peak-memory");
    expect(memory.map((f) => [f.params.requests, f.unit, f.target?.max])).toEqual([[2_000, "MiB", 1024]]);
    expect(memory[0]!.median).toBeGreaterThan(10);

    const table = renderTable(results);
    for (const heading of ["1. Filter cost", "2. Filter size", "3. Shared-state", "4. Scheduling quality", "5. Compiler", "6. Simulator", "7. Scheduling against", "Targets"]) {
      expect(table).toContain(heading);
    }
  }, 240_000);
});

describe("formatNumber", () => {
  it("keeps three significant digits or so", () => {
    expect(formatNumber(12345.6)).toBe("12,346");
    expect(formatNumber(123.4)).toBe("123");
    expect(formatNumber(12.34)).toBe("12.3");
    expect(formatNumber(1.234)).toBe("1.23");
    expect(formatNumber(0.001234)).toBe("0.0012");
    expect(formatNumber(0)).toBe("0.00");
  });
});

describe("targets table", () => {
  const figure = (name: string, strategy: string, median: number, target: { min?: number; max?: number; text: string }): Figure =>
    makeFigure({ section: "envoy-overhead", name, params: { strategy }, unit: "×", samples: [median], target }, "test machine");

  it("names as worst the case furthest below an at-least target, not the highest median", () => {
    const at = { min: 0.85, text: "≥ 85 % of native" };
    const text = targets([figure("throughput", "a", 1.0, at), figure("throughput", "b", 0.7, at), figure("throughput", "c", 0.8, at)]);
    expect(text).toContain("met in 1 of 3 cases; worst (strategy b)");
    expect(text).toContain("0.70–1.00 ×");
  });

  it("names as worst the case furthest above an at-most target", () => {
    const at = { max: 1.5, text: "≤ 1.5×" };
    const text = targets([figure("cost", "a", 1.6, at), figure("cost", "b", 2.5, at), figure("cost", "c", 1.0, at)]);
    expect(text).toContain("met in 1 of 3 cases; worst (strategy b)");
  });

  it("says met in all cases when every case meets its target", () => {
    const at = { max: 1.5, text: "≤ 1.5×" };
    expect(targets([figure("cost", "a", 1.2, at), figure("cost", "b", 1.4, at)])).toContain("met in all 2 cases");
  });
});
