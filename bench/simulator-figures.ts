/**
 * Figures 4 and 6, from the simulator (simulate/, `runSimulation`):
 *
 * 4. Scheduling quality: for each standard scenario (examples/simulate/*.yaml)
 *    and seed, the p99 latency of every lightsub strategy as a ratio to Envoy's
 *    native ROUND_ROBIN and LEAST_REQUEST and to the oracle, all from the same
 *    simulation (same arrivals, same service times).
 * 6. Simulator speed: simulated requests per second of wall time, for whole
 *    simulations as `lightsub simulate` runs them (every run, its default
 *    threads), and in one thread per kind of run (lightsub through the filter,
 *    Envoy's native balancer, the oracle) on a longer copy of one scenario.
 *    And the simulator's memory: one long simulation (10,000,000 requests in
 *    the full profile) in a fresh process (simulator-child.ts), its peak RSS
 *    and requests/s.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { runSimulation, type SimulationResult } from "../simulate/index.js";
import type { FigureInit } from "./figures.js";

/** What simulator-child.ts prints: one JSON line. */
export interface SimulatorChildReport {
  requests: number;
  runs: string[];
  wallMs: number;
  /** Peak resident set size of the process (every thread), MiB. */
  peakRssMiB: number;
}

export interface SimulatorOptions {
  scenariosDir: string;
  lightsubWasm: string;
  /** Seeds per scenario: the scenario's own, then the next ones. */
  seeds: number;
  /** Only these scenario files (basename without .yaml); default all. */
  scenarios?: readonly string[];
  /** Replace each scenario's arrivals by this many requests (quick runs); default as written. */
  requests?: number;
  /** Requests of each one-thread speed run. */
  speedRequests: number;
  /** Requests of the long simulation whose peak memory is measured (0: skip it). */
  memoryRequests: number;
}

export interface Scenario {
  name: string;
  file: string;
  text: string;
  seed: number;
}

export function loadScenarios(dir: string, only?: readonly string[]): Scenario[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => ({ name: f.replace(/\.yaml$/, ""), file: join(dir, f) }))
    .filter((s) => !only || only.includes(s.name))
    .map((s) => {
      const text = readFileSync(s.file, "utf8");
      const seed = Number(parseDocument(text).getIn(["simulation", "seed"]) ?? 1);
      return { ...s, text, seed };
    });
}

/** The scenario's policy text with its simulation section changed. */
export function withSimulation(text: string, change: { requests?: number; compare?: readonly string[] }): string {
  const doc = parseDocument(text);
  if (change.requests !== undefined) {
    doc.deleteIn(["simulation", "arrivals", "duration"]);
    doc.setIn(["simulation", "arrivals", "requests"], change.requests);
  }
  if (change.compare !== undefined) doc.setIn(["simulation", "compare"], doc.createNode([...change.compare], { flow: true }));
  return doc.toString();
}

export async function simulate(text: string, file: string, options: { seed?: number; threads?: number; wasm: string }): Promise<{ result: SimulationResult; wallMs: number }> {
  const start = performance.now();
  const result = await runSimulation(text, file, {
    wasm: options.wasm,
    ...(options.seed !== undefined ? { seed: options.seed } : {}),
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
  });
  const wallMs = performance.now() - start;
  if ("diagnostics" in result) {
    const lines = result.diagnostics.map((d) => `${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`);
    throw new Error(`simulation of ${file} failed:\n${lines.join("\n")}`);
  }
  return { result, wallMs };
}

const PEERS = [
  ["envoy:ROUND_ROBIN", "p99-vs-envoy-round-robin"],
  ["envoy:LEAST_REQUEST", "p99-vs-envoy-least-request"],
  ["oracle", "p99-vs-oracle"],
] as const;

export async function measureSimulator(
  options: SimulatorOptions,
  onStep?: (label: string) => void,
): Promise<{ quality: FigureInit[]; speed: FigureInit[] }> {
  const scenarios = loadScenarios(options.scenariosDir, options.scenarios);
  if (scenarios.length === 0) throw new Error(`no scenarios in ${options.scenariosDir}`);
  /** scenario → strategy → figure name → samples (one per seed). */
  const ratios = new Map<string, Map<string, Map<string, number[]>>>();
  const wholeRunSpeed: number[] = [];
  for (const scenario of scenarios) {
    const text = options.requests !== undefined ? withSimulation(scenario.text, { requests: options.requests }) : scenario.text;
    for (let k = 0; k < options.seeds; k++) {
      const seed = scenario.seed + k;
      onStep?.(`simulator: ${scenario.name}, seed ${seed}`);
      const { result, wallMs } = await simulate(text, scenario.file, { seed, wasm: options.lightsubWasm });
      wholeRunSpeed.push((result.runs.reduce((a, r) => a + r.requests, 0) / wallMs) * 1000);
      const p99 = new Map(result.runs.map((r) => [r.name, r.latencyMs.p99]));
      for (const run of result.runs) {
        if (run.kind !== "lightsub") continue;
        if (run.filter?.failed) throw new Error(`simulation of ${scenario.name}: the filter failed in run ${run.name}`);
        for (const [peer, name] of PEERS) {
          const base = p99.get(peer);
          if (base === undefined || !(base > 0)) continue;
          const byStrategy = ratios.get(scenario.name) ?? new Map<string, Map<string, number[]>>();
          ratios.set(scenario.name, byStrategy);
          const byName = byStrategy.get(run.name) ?? new Map<string, number[]>();
          byStrategy.set(run.name, byName);
          const samples = byName.get(name) ?? [];
          byName.set(name, samples);
          samples.push(run.latencyMs.p99 / base);
        }
      }
    }
  }
  const quality: FigureInit[] = [];
  for (const [scenario, byStrategy] of ratios) {
    for (const [strategy, byName] of byStrategy) {
      for (const [peer, name] of PEERS) {
        const samples = byName.get(name);
        if (!samples) continue;
        quality.push({
          section: "scheduling-quality",
          name,
          params: { scenario, strategy },
          unit: "× p99",
          samples,
          peer: `${peer}, same simulation (same arrivals and service times)`,
        });
      }
    }
  }

  const speed: FigureInit[] = [
    {
      section: "simulator",
      name: "requests-per-second",
      params: { runs: "all runs of a scenario", threads: "default" },
      unit: "simulated requests/s",
      samples: wholeRunSpeed,
      note: "whole `lightsub simulate` runs (every strategy, Envoy's balancers, the oracle) over the scenarios and seeds above, setup included",
    },
  ];
  const base = scenarios.find((s) => s.name === "slow-endpoint") ?? scenarios[0]!;
  const kinds = [
    ["lightsub", "least_latency"],
    ["envoy", "envoy:LEAST_REQUEST"],
    ["oracle", "oracle"],
  ] as const;
  const perKind = new Map<string, number[]>(kinds.map(([kind]) => [kind, []]));
  const lightsubVsEnvoy: number[] = [];
  for (let k = 0; k < Math.max(2, options.seeds); k++) {
    const speeds = new Map<string, number>();
    for (const [kind, run] of kinds) {
      onStep?.(`simulator speed: ${kind} run, ${options.speedRequests} requests, one thread`);
      const text = withSimulation(base.text, { requests: options.speedRequests, compare: [run] });
      const { result, wallMs } = await simulate(text, base.file, { seed: base.seed + k, threads: 1, wasm: options.lightsubWasm });
      const rps = (result.runs[0]!.requests / wallMs) * 1000;
      perKind.get(kind)!.push(rps);
      speeds.set(kind, rps);
    }
    lightsubVsEnvoy.push(speeds.get("envoy")! / speeds.get("lightsub")!);
  }
  for (const [kind, samples] of perKind) {
    speed.push({
      section: "simulator",
      name: "requests-per-second",
      params: { runs: kind, threads: 1, scenario: base.name },
      unit: "simulated requests/s",
      samples,
    });
  }
  if (options.memoryRequests > 0) speed.push(...(await measureMemory(base, options, onStep)));
  speed.push({
    section: "simulator",
    name: "lightsub-run-cost",
    params: { scenario: base.name, threads: 1 },
    unit: "× an envoy run",
    samples: lightsubVsEnvoy,
    peer: "the same scenario under envoy:LEAST_REQUEST (no filter), same run",
  });
  return { quality, speed };
}

const CHILD = fileURLToPath(new URL("./simulator-child.ts", import.meta.url));
const TSX_LOADER = import.meta.resolve("tsx");
/** The long simulation's runs: the filter (the heavy kind) and Envoy's balancer, one thread each on two cores. */
const MEMORY_RUNS = ["least_latency", "envoy:LEAST_REQUEST"];
const GIB_IN_MIB = 1024;

function runChild(args: string[]): Promise<SimulatorChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX_LOADER, CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`simulator-child ${args.join(" ")} exited ${code}: ${err.trim().split("\n").slice(-5).join("\n")}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1)!) as SimulatorChildReport);
    });
  });
}

/** Peak memory and speed of one long simulation, in a process of its own. */
async function measureMemory(base: Scenario, options: SimulatorOptions, onStep?: (label: string) => void): Promise<FigureInit[]> {
  const requests = options.memoryRequests;
  onStep?.(`simulator memory: ${requests} requests, runs ${MEMORY_RUNS.join(", ")}, fresh process`);
  const report = await runChild([base.file, String(requests), MEMORY_RUNS.join(","), options.lightsubWasm]);
  const params = { scenario: base.name, requests, runs: MEMORY_RUNS.join(" + "), threads: "default" };
  return [
    {
      section: "simulator",
      name: "peak-memory",
      params,
      unit: "MiB",
      samples: [report.peakRssMiB],
      target: { max: GIB_IN_MIB, text: "< 1 GiB for 10,000,000 simulated requests" },
      note: "peak RSS of a fresh process running runSimulation (what lightsub simulate runs), every thread included; latencies are histograms, so it does not grow with the requests",
    },
    {
      section: "simulator",
      name: "requests-per-second",
      params,
      unit: "simulated requests/s",
      samples: [((requests * report.runs.length) / report.wallMs) * 1000],
      note: "the same long simulation: requests of all its runs ÷ wall seconds",
    },
  ];
}
