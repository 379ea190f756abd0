/**
 * The real-Envoy scheduling benchmark's parts that need no Envoy and no
 * timing (bench/envoy-scheduling.ts, figures 2 and 3 of issue 18): the command
 * line, scenario → policy and workload (checked by the real compiler and the
 * simulator), the figures built from given samples, the shares' distance and
 * the Markdown tables. The measurements themselves are the benchmark's job.
 */
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compile } from "../../compiler/compile.js";
import {
  NATIVE_RUNS,
  SCHEDULING_SCENARIOS,
  calibrationLoad,
  fortioLoadFor,
  overheadFigures,
  policyFor,
  rotated,
  scaleScenario,
  schedulingFigures,
  schedulingPorts,
  selectScenarios,
  summarizeSeeds,
  shareGap,
  simulatorFigures,
  strategyOf,
  workloadFor,
  type RunSample,
  type SchedulingScenario,
} from "../../bench/envoy-scheduling.js";
import { nativeEdit } from "../../bench/envoy-harness.js";
import { DEFAULT_OVERHEAD, fitOverhead, legPercentiles, legYaml, lognormalThrough } from "../../bench/sim-overhead.js";
import { makeFigure } from "../../bench/figures.js";
import type { BenchResults } from "../../bench/results.js";
import { parseArgs } from "../../bench/run.js";
import { renderTable } from "../../bench/table.js";
import { runSimulation } from "../../simulate/simulation.js";
import type { SimulationResult } from "../../simulate/result.js";

const scenario = (name: string): SchedulingScenario => SCHEDULING_SCENARIOS.find((s) => s.name === name)!;
const ports = (n: number) => Array.from({ length: n }, (_, i) => 33100 + i);


/** A results.json of a quick test run holding `figures` (for the table renderer). */
function benchResults(figures: unknown[]): BenchResults {
  return {
    version: 1,
    command: "test",
    quick: true,
    startedAt: "2026-01-01T00:00:00.000Z",
    durationMs: 1000,
    machine: { cpu: "c", cores: 2, memoryGiB: 1, os: "linux", node: "v20", v8: "v", loadAverage1m: 1, summary: "m" },
    figures,
    missing: [],
  } as unknown as BenchResults;
}

describe("command line", () => {
  it("--only envoy measures all three real-Envoy figures; envoy-scheduling brings the simulator comparison along", () => {
    expect(parseArgs(["--only", "envoy"])).toMatchObject({ only: ["envoy-overhead", "envoy-scheduling", "envoy-simulator"] });
    expect(parseArgs(["--only", "envoy-scheduling"])).toMatchObject({ only: ["envoy-scheduling", "envoy-simulator"] });
    expect(parseArgs(["--only", "envoy,envoy-scheduling"])).toMatchObject({ only: ["envoy-overhead", "envoy-scheduling", "envoy-simulator"] });
    // The default run measures them too (every figure from one npm run bench); --only host leaves them out.
    const all = parseArgs([]);
    expect(typeof all !== "string" && all.only).toEqual(expect.arrayContaining(["envoy-scheduling", "envoy-simulator"]));
    const host = parseArgs(["--only", "host"]);
    expect(typeof host !== "string" && host.only).not.toContain("envoy-scheduling");
  });
});

describe("scenario → policy and workload", () => {
  it("the scenarios follow their examples: endpoints, service times, load", () => {
    const tower = scenario("tower-76");
    expect(tower.endpoints).toBe(10);
    expect(tower.load).toEqual({ kind: "closed", clients: 50 });
    const brpc2 = scenario("brpc-two-slow");
    expect(brpc2.overrides.map((o) => o.endpoint)).toEqual([2, 3]);
    expect(scenario("slow-endpoint").overrides).toEqual([{ endpoint: 3, latency: { distribution: "exponential", meanMs: 100 } }]);
  });

  it("every scenario's policy compiles for every run, with the upstreams as the destination's endpoints", async () => {
    for (const s of SCHEDULING_SCENARIOS) {
      for (const run of ["least_latency", "least_load", "availability", ...NATIVE_RUNS]) {
        const text = policyFor(s, strategyOf(run), 33200, ports(s.endpoints));
        const result = await compile(text, `${s.name}.yaml`, { withoutWasm: true, withoutCompose: true });
        expect(result.diagnostics.filter((d) => d.severity === "error"), `${s.name} ${run}`).toEqual([]);
        const bootstrap = parse(result.files!.get("client/envoy.yaml") as string) as { static_resources: { clusters: Array<{ name: string }> } };
        expect(bootstrap.static_resources.clusters.map((c) => c.name)).toContain(`svc_ep${s.endpoints - 1}`);
      }
    }
  });

  it("refuses a port list that does not match the endpoints", () => {
    expect(() => policyFor(scenario("slow-endpoint"), "least_latency", 33200, ports(3))).toThrow(/4 endpoints, 3 ports/);
  });

  it("the workload the simulator gets has the scenario's arrivals, service times and events", async () => {
    const s = scenario("failing-endpoint");
    const text = `${policyFor(s, "round_robin", 33200, ports(3))}\n${workloadFor(s, ["envoy:ROUND_ROBIN"])}`;
    const result = await runSimulation(text, "failing.yaml", { threads: 1 });
    expect("runs" in result, JSON.stringify("diagnostics" in result ? result.diagnostics : [])).toBe(true);
    const sim = result as SimulationResult;
    expect(sim.scenario.workers).toBe(1);
    expect(sim.scenario.arrivals).toMatchObject({ process: "constant", ratePerSec: 400, requests: 600 });
    expect(sim.scenario.endpoints.map((e) => e.latency)).toEqual(Array(3).fill(sim.scenario.endpoints[0]!.latency));
    expect(sim.scenario.endpoints[0]!.latency).toMatch(/lognormal/);
    expect(sim.scenario.endpoints[1]!.events).toEqual([
      expect.objectContaining({ atMs: 400, errorRate: 1 }),
      expect.objectContaining({ atMs: 1100, errorRate: 0 }),
    ]);
    const run = sim.runs[0]!;
    expect(run.name).toBe("envoy:ROUND_ROBIN");
    // Round robin over 3 endpoints, one of them failing for 0.7 s of 1.5 s: about 1/3 × 0.47 = 16 % of requests fail.
    expect(run.errorRate).toBeGreaterThan(0.12);
    expect(run.errorRate).toBeLessThan(0.2);
  });

  it("a killed endpoint is a refused outage; a closed loop simulates the requests the real run completed", async () => {
    const dying = workloadFor(scenario("dying-endpoint"), ["least_latency"]);
    expect(dying).toContain("- { endpoint: 2, events: [{ at: 400ms, outage: refused }] }");
    const tower = scenario("tower-76");
    const text = `${policyFor(tower, "round_robin", 33200, ports(10))}\n${workloadFor(tower, ["envoy:ROUND_ROBIN"], { requests: 777 })}`;
    const sim = (await runSimulation(text, "tower.yaml", { threads: 1 })) as SimulationResult;
    expect(sim.scenario.arrivals).toMatchObject({ requests: 777 });
    expect(sim.scenario.endpoints.map((e) => e.meanServiceMs)).toEqual([1, 10, 10, 10, 10, 100, 100, 100, 100, 1000]);
  });

  it("brpc's lognormal service times keep their median and p99 through the workload", async () => {
    const s = scenario("brpc-one-slow");
    const sim = (await runSimulation(`${policyFor(s, "round_robin", 33200, ports(4))}\n${workloadFor(s, ["envoy:ROUND_ROBIN"])}`, "b.yaml", { threads: 1 })) as SimulationResult;
    // brpc-one-slow.yaml: median 250us, p99 400us → sigma ln(1.6)/2.326 = 0.202; median 5.25ms, p99 5.4ms → 0.012.
    expect(sim.scenario.endpoints[0]!.latency).toBe("lognormal median 250us sigma 0.202");
    expect(sim.scenario.endpoints.slice(1, 3).map((e) => e.latency)).toEqual(Array(2).fill("lognormal median 250us sigma 0.202"));
    expect(sim.scenario.endpoints[3]!.latency).toBe("lognormal median 5.25ms sigma 0.012");
  });

  it("--quick scales a scenario's time and its events alike", () => {
    const q = scaleScenario(scenario("failing-endpoint"), 0.5);
    expect(q.seconds).toBe(0.75);
    expect(q.event).toEqual({ kind: "fail", endpoint: 1, fromS: 0.2, untilS: 0.55 });
    expect(scaleScenario(scenario("dying-endpoint"), 0.5).event).toEqual({ kind: "kill", endpoint: 2, atS: 0.2 });
  });

  it("repetitions rotate the order of the runs, reversed on odd ones", () => {
    expect(rotated(["a", "b", "c"], 0)).toEqual(["a", "b", "c"]);
    expect(rotated(["a", "b", "c"], 1)).toEqual(["a", "c", "b"]);
    expect(rotated(["a", "b", "c"], 2)).toEqual(["c", "a", "b"]);
  });

  it("fortio: a constant rate spread over the connections, or a closed loop", () => {
    expect(fortioLoadFor(scenario("slow-endpoint"))).toMatchObject({ qps: 400, connections: 100, uniform: true, seconds: 1.25, percentiles: [50, 99, 99.9] });
    expect(fortioLoadFor(scenario("tower-76"), 0.5)).toMatchObject({ qps: 0, connections: 50, seconds: 0.5 });
    expect(fortioLoadFor(scenario("tower-76")).uniform).toBeUndefined();
  });

  it("the native edit takes the filter out of the outbound listener and sets the fallback cluster's balancer", async () => {
    const s = scenario("slow-endpoint");
    const result = await compile(policyFor(s, "round_robin", 33200, ports(4)), "s.yaml", { withoutWasm: true, withoutCompose: true });
    const bootstrap = parse(result.files!.get("client/envoy.yaml") as string) as Record<string, unknown>;
    nativeEdit("svc", "LEAST_REQUEST")(bootstrap);
    const text = JSON.stringify(bootstrap);
    const resources = bootstrap.static_resources as { listeners: Array<{ name: string }>; clusters: Array<{ name: string; lb_policy?: string }> };
    const outbound = JSON.stringify(resources.listeners.find((l) => l.name === "outbound_svc"));
    expect(outbound).not.toContain("envoy.filters.http.wasm");
    expect(text).toContain("envoy.filters.http.wasm"); // moved to the inbound listener, not lost
    expect(resources.clusters.find((c) => c.name === "svc")!.lb_policy).toBe("LEAST_REQUEST");
  });
});

describe("figures and tables", () => {
  const s: SchedulingScenario = { ...scenario("slow-endpoint"), endpoints: 2, overrides: [] };
  const sample = (p50: number, p99: number, shares: number[], errorRate = 0): RunSample => ({ p50, p99, p999: p99 * 2, requests: 600, errorRate, shares });
  const samples = new Map<string, RunSample[]>([
    ["least_latency", [sample(5, 20, [0.9, 0.1]), sample(6, 30, [0.8, 0.2])]],
    ["envoy:ROUND_ROBIN", [sample(10, 100, [0.5, 0.5], 0.01), sample(12, 60, [0.5, 0.5])]],
    ["envoy:LEAST_REQUEST", [sample(8, 40, [0.6, 0.4]), sample(6, 60, [0.6, 0.4])]],
  ]);

  it("ratios are taken per repetition against the native runs of the same repetition", () => {
    const figs = schedulingFigures(s, samples, "n");
    const get = (name: string, run = "least_latency") => figs.find((f) => f.name === name && f.params?.run === run)!;
    expect(get("p99-vs-round-robin").samples).toEqual([0.2, 0.5]);
    expect(get("p50-vs-least-request").samples).toEqual([5 / 8, 1]);
    expect(get("error-rate", "envoy:ROUND_ROBIN").samples).toEqual([1, 0]);
    expect(figs.filter((f) => f.name === "share" && f.params?.run === "least_latency").map((f) => f.samples)).toEqual([
      [90, 80],
      [10, 20],
    ]);
    expect(figs.some((f) => f.params?.run === "envoy:ROUND_ROBIN" && f.name.includes("-vs-"))).toBe(false);
  });

  it("the simulator is compared with each real repetition; the share gap is the largest per-endpoint difference", () => {
    expect(shareGap([0.5, 0.5], [0.52, 0.48])).toBeCloseTo(2);
    expect(shareGap([0.9, 0.1, 0], [0.8, 0.1, 0.1])).toBeCloseTo(10);
    expect(() => shareGap([1], [0.5, 0.5])).toThrow(RangeError);
    const simRun = (p50: number, p99: number, shares: number[]) =>
      ({ latencyMs: { p50, p99 }, errorRate: 0, endpoints: shares.map((share) => ({ share })) }) as unknown as SimulationResult["runs"][number];
    const simulated = new Map([
      ["least_latency", simRun(5, 25, [0.85, 0.15])],
      ["envoy:ROUND_ROBIN", simRun(10, 50, [0.5, 0.5])],
    ]);
    const figs = simulatorFigures(s, samples, simulated, "n");
    const p99 = figs.find((f) => f.name === "p99-sim-vs-real" && f.params?.run === "least_latency")!;
    expect(p99.samples).toEqual([1.25, 25 / 30]);
    expect(makeFigure(p99, "m").met).toBe(true);
    const rr = makeFigure(figs.find((f) => f.name === "p99-sim-vs-real" && f.params?.run === "envoy:ROUND_ROBIN")!, "m");
    expect(rr.median).toBeCloseTo((0.5 + 50 / 60) / 2);
    expect(rr.met).toBe(false); // 0.67: below 0.75
    const gap = figs.find((f) => f.name === "share-gap" && f.params?.run === "least_latency")!;
    expect(gap.samples.map((x) => Math.round(x * 1000) / 1000)).toEqual([5, 5]);
    expect(figs.find((f) => f.name === "p50-real-minus-sim-ms")).toMatchObject({ params: { run: "envoy:ROUND_ROBIN" }, samples: [0, 2] });
    expect(figs.some((f) => f.params?.run === "envoy:LEAST_REQUEST")).toBe(false); // not simulated: no figure
  });

  it("renders a table per scenario and the simulator's distance with its targets", () => {
    const figures = [...schedulingFigures(s, samples, "a note; Envoy 1.40 on CPU 0"), ...simulatorFigures(s, samples, new Map([["least_latency", {
      latencyMs: { p50: 5, p99: 25 },
      errorRate: 0,
      endpoints: [{ share: 0.85 }, { share: 0.15 }],
    } as unknown as SimulationResult["runs"][number]]]), "n")].map((f) => makeFigure(f, "m"));
    const text = renderTable(benchResults(figures));
    expect(text).toContain("**Real Envoy 2. Scheduling quality**");
    expect(text).toContain("*slow-endpoint* — a note");
    expect(text).toMatch(/\| lightsub least_latency \| 5\.50 \[5\.00–6\.00\] \| 25\.0 \[20\.0–30\.0\] \|/);
    expect(text).toContain("| native ROUND_ROBIN |");
    expect(text).toContain("85.0 / 15.0"); // the simulator's shares
    expect(text).toContain("p99 met in 1 of 1 runs, shares in 0 of 1");
    expect(text).toMatch(/envoy-simulator share-gap .* missed by/);
  });
});

describe("figure 3's overhead (bench/sim-overhead.ts) and running one scenario", () => {
  it("LIGHTSUB_BENCH_PORT_BASE moves figures 2-3's ports; LIGHTSUB_BENCH_SCENARIOS picks scenarios", () => {
    expect(schedulingPorts(45000)).toEqual({ upstreamBase: 45100, upstreamLast: 45199, sidecarBase: 45200 });
    expect(() => schedulingPorts(70000)).toThrow(/LIGHTSUB_BENCH_PORT_BASE/);
    expect(selectScenarios(SCHEDULING_SCENARIOS, undefined)).toHaveLength(SCHEDULING_SCENARIOS.length);
    expect(selectScenarios(SCHEDULING_SCENARIOS, " brpc-one-slow,tower-76 ").map((s) => s.name)).toEqual(["tower-76", "brpc-one-slow"]);
    expect(() => selectScenarios(SCHEDULING_SCENARIOS, "brpc-one-slwo")).toThrow(/unknown scenario\(s\) brpc-one-slwo/);
  });

  it("without timer lateness each leg is half the measured round trip; late timers lengthen the response leg", () => {
    const plain = fitOverhead({ p50: 0.4, p99: 2 }, [], "m");
    expect(legPercentiles(plain.request).p50).toBeCloseTo(0.2, 9);
    expect(legPercentiles(plain.request).p99).toBeCloseTo(1, 9);
    expect(plain.response).toEqual(plain.request);
    const late = fitOverhead({ p50: 0.4, p99: 2 }, Array.from({ length: 1000 }, (_, i) => (i < 990 ? 0.5 : 5)), "m");
    expect(late.request).toEqual(plain.request);
    const response = legPercentiles(late.response);
    expect(response.p50).toBeGreaterThan(0.6);
    expect(response.p50).toBeLessThan(0.8);
    expect(response.p99).toBeGreaterThan(1.4);
    // The same measurements give the same legs (a seeded draw).
    expect(fitOverhead({ p50: 0.4, p99: 2 }, [0.5, 5, -0.3], "m")).toEqual(fitOverhead({ p50: 0.4, p99: 2 }, [0.5, 5, -0.3], "m"));
    // Timers that fired early cannot make a leg zero or negative.
    expect(legPercentiles(fitOverhead({ p50: 0.1, p99: 0.2 }, [-1], "m").response).p50).toBeGreaterThan(0);
    expect(lognormalThrough(1, 0.5)).toMatchObject({ medianMs: 1 });
    expect(legYaml(lognormalThrough(0.2534, 1.0004))).toBe("{ distribution: lognormal, median: 253us, p99: 1000us }");
  });

  it("the workload carries the legs to the simulator, which adds them to every try", async () => {
    const s = scenario("brpc-one-slow");
    const text = (overhead?: typeof DEFAULT_OVERHEAD) => `${policyFor(s, "round_robin", 33200, ports(4))}\n${workloadFor(s, ["envoy:ROUND_ROBIN"], overhead ? { overhead } : {})}`;
    const without = (await runSimulation(text(), "a.yaml", { threads: 1 })) as SimulationResult;
    const withLegs = (await runSimulation(text(DEFAULT_OVERHEAD), "b.yaml", { threads: 1 })) as SimulationResult;
    expect(without.scenario.overhead).toBeUndefined();
    expect(withLegs.scenario.overhead?.request).toMatch(/^lognormal median/);
    const legs = legPercentiles(DEFAULT_OVERHEAD.request).p50 + legPercentiles(DEFAULT_OVERHEAD.response).p50;
    expect(withLegs.runs[0]!.latencyMs.p50! - without.runs[0]!.latencyMs.p50!).toBeGreaterThan(legs * 0.8);
  });

  it("the calibration loads the machine as the runs did: the scenario's rate, or a closed loop's measured rate", () => {
    expect(calibrationLoad(scenario("brpc-one-slow"), [])).toMatchObject({ qps: 1000, connections: 32, uniform: true, percentiles: [50, 99] });
    const rr = [1500, 1800, 1200].map((requests) => ({ p50: 1, p99: 1, p999: 1, requests, errorRate: 0, shares: [] }));
    expect(calibrationLoad(scenario("tower-76"), rr)).toMatchObject({ qps: 1000, connections: 50 });
  });

  it("figure 3 compares the median over seeds of each number, as figure 2 takes the median over repetitions", () => {
    const run = (p50: number, p99: number | null, errorRate: number, shares: number[]) => ({ latencyMs: { p50, p99 }, errorRate, endpoints: shares.map((share) => ({ share })) });
    // Two identical endpoints split by history: one seed herds one way, another the other way.
    const summary = summarizeSeeds([run(1, 5, 0, [0.7, 0.3]), run(2, null, 0.1, [0.3, 0.7]), run(3, 7, 0.2, [0.5, 0.5])]);
    expect(summary).toEqual({ latencyMs: { p50: 2, p99: 6 }, errorRate: 0.1, endpoints: [{ share: 0.5 }, { share: 0.5 }] });
    expect(() => summarizeSeeds([])).toThrow(RangeError);
  });

  it("records the legs it passed and the simulator's distance without them", () => {
    const s: SchedulingScenario = { ...scenario("slow-endpoint"), endpoints: 2, overrides: [] };
    const samples = new Map([["least_latency", [{ p50: 5, p99: 20, p999: 40, requests: 600, errorRate: 0, shares: [0.9, 0.1] }]]]);
    const without = new Map([["least_latency", { latencyMs: { p50: 4, p99: 10 }, errorRate: 0, endpoints: [{ share: 0.7 }, { share: 0.3 }] } as unknown as SimulationResult["runs"][number]]]);
    const figs = overheadFigures(s, samples, without, fitOverhead({ p50: 1, p99: 4 }, [], "m"), "n");
    expect(figs.find((f) => f.name === "overhead-p50-ms" && f.params?.leg === "response")!.samples[0]).toBeCloseTo(0.5, 9);
    expect(figs.find((f) => f.name === "p99-sim-vs-real-without-overhead")!.samples).toEqual([0.5]);
    expect(figs.find((f) => f.name === "share-gap-without-overhead")!.samples[0]).toBeCloseTo(20, 9);
    const text = renderTable(benchResults([...simulatorFigures(s, samples, without, "n"), ...figs].map((f) => makeFigure(f, "m"))));
    expect(text).toContain("overhead per try (request leg / response leg, p50/p99 ms; bench/sim-overhead.ts): slow-endpoint 0.50/2.00 / 0.50/2.00.");
    expect(text).toContain("Without it, against the same real runs: p99 within 25 % in 0 of 1, shares within 3 points in 0 of 1.");
  });
});
