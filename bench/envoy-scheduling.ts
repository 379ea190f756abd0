/**
 * Real-Envoy figures 2 and 3 (issue 18): scheduling quality on Envoy 1.40,
 * and the simulator against it.
 *
 * Figure 2. For each scenario (the examples/simulate/ ones where they exist,
 * scaled to what 2 cores can drive), Node upstreams with set service-time
 * distributions (e2e/upstream-server.ts, latencies drawn with the
 * simulator's own samplers), and one sidecar per run, compiled from the same
 * policy by the real compiler (e2e/live/sidecar.ts): lightsub with each
 * state-aware strategy, and Envoy's native ROUND_ROBIN and LEAST_REQUEST on the
 * same endpoints (the Wasm filter taken out, the fallback cluster's lb_policy
 * set). fortio drives the load (constant rate with -uniform, or a closed loop);
 * every run of a scenario gets the same load, in an order rotated per
 * repetition; each latency is also a ratio to the native balancers' in the
 * same repetition. Endpoint shares come from what each upstream received
 * (plus, for a dead endpoint, the tries Envoy could not connect for).
 *
 * Figure 3. The same policy with the same workload (`simulation:` section
 * generated from the scenario: arrivals, service times, events, Envoy's one
 * worker) through `runSimulation` (what `lightsub simulate --json` runs), and
 * how far its p50, p99 and endpoint shares are from real Envoy's, per
 * repetition (target: shares within 3 points, p99 within 25 %).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSidecar, type LiveSidecar } from "../e2e/live/sidecar.js";
import { samplerFor } from "../simulate/distributions.js";
import { Random } from "../simulate/random.js";
import type { SimulationResult } from "../simulate/result.js";
import { runSimulation } from "../simulate/simulation.js";
import type { LatencySpec } from "../simulate/workload/model.js";
import { startUpstream, type UpstreamServer } from "../e2e/upstream-server.js";
import { ENVOY_BIN, FORTIO_VERSION, cpuSets, envoyPid, ensureFortio, fortioPercentileMs, nativeEdit, pin, runFortio, twoServicePolicy, type FortioLoad, type FortioResult } from "./envoy-harness.js";
import type { FigureInit } from "./figures.js";
import { DEFAULT_OVERHEAD, fitOverhead, legPercentiles, legYaml, quantile, type OverheadLegs } from "./sim-overhead.js";

/**
 * Loopback ports (base to base+999, base 33000 unless LIGHTSUB_BENCH_PORT_BASE
 * says otherwise): upstreams from base+100 to base+199, sidecars in slots of
 * 10 from base+200. Other processes' outgoing connections may hold a port of
 * the range as their ephemeral source port, so a port that is taken is
 * skipped (the policy names the ports used).
 */
export function schedulingPorts(base = Number(process.env.LIGHTSUB_BENCH_PORT_BASE ?? 33000)): { upstreamBase: number; upstreamLast: number; sidecarBase: number } {
  if (!Number.isInteger(base) || base < 1024 || base > 65535 - 1000) throw new Error(`LIGHTSUB_BENCH_PORT_BASE must be a port from 1024 to 64535, not ${base}`);
  return { upstreamBase: base + 100, upstreamLast: base + 199, sidecarBase: base + 200 };
}
const SIDECAR_SLOTS = 80;

/**
 * The scenarios LIGHTSUB_BENCH_SCENARIOS names (comma-separated; all when it
 * is unset), to re-run one scenario of figures 2-3 alone.
 */
export function selectScenarios<T extends { name: string }>(scenarios: readonly T[], names = process.env.LIGHTSUB_BENCH_SCENARIOS): T[] {
  if (names === undefined || names.trim() === "") return [...scenarios];
  const wanted = names.split(",").map((n) => n.trim()).filter(Boolean);
  const unknown = wanted.filter((n) => !scenarios.some((s) => s.name === n));
  if (unknown.length > 0) throw new Error(`LIGHTSUB_BENCH_SCENARIOS: unknown scenario(s) ${unknown.join(", ")} (known: ${scenarios.map((s) => s.name).join(", ")})`);
  return scenarios.filter((s) => wanted.includes(s.name));
}

/** The lightsub strategies that read endpoint state (the others choose as native ROUND_ROBIN / RANDOM / ring hash do, whatever the endpoints do). */
export const SCHEDULING_STRATEGIES = ["least_latency", "least_load", "availability"] as const;
/** The native peers, named as the simulator names them. */
export const NATIVE_RUNS = ["envoy:ROUND_ROBIN", "envoy:LEAST_REQUEST"] as const;

export type SchedulingLoad = { kind: "rate"; qps: number; connections: number } | { kind: "closed"; clients: number };

export type SchedulingEvent =
  /** The endpoint answers 503 (after its service time) from `fromS` until `untilS` into the run. */
  | { kind: "fail"; endpoint: number; fromS: number; untilS: number }
  /** The endpoint's server is killed `atS` into the run (open connections reset, new ones refused); restarted after the run. */
  | { kind: "kill"; endpoint: number; atS: number };

export interface SchedulingScenario {
  name: string;
  /** The example it follows (examples/simulate/<example>.yaml), if any. */
  example?: string;
  endpoints: number;
  /** Every endpoint's service time, but `overrides`. */
  latency: LatencySpec;
  overrides: ReadonlyArray<{ endpoint: number; latency: LatencySpec }>;
  load: SchedulingLoad;
  /** Seconds of load per run and repetition. */
  seconds: number;
  event?: SchedulingEvent;
  /** Scheduler parameters per strategy (added to `strategy:`), e.g. availability's window. */
  params?: Partial<Record<string, string>>;
  /** The connector's route timeout, e.g. "2s". */
  timeout?: string;
  /** fortio's histogram resolution, seconds. */
  resolution: number;
  /** How it differs from the example (scaled rate, shorter runs). */
  note: string;
}

const ms = (value: number): LatencySpec => ({ distribution: "constant", valueMs: value });
const lognormal = (medianMs: number, p99Ms: number): LatencySpec => ({ distribution: "lognormal", medianMs, sigma: Math.log(p99Ms / medianMs) / Z99 });
/** z of the standard normal's 99th percentile (the workload's lognormal p99 → sigma). */
const Z99 = 2.3263478740408408;

const FAILING_AVAILABILITY = "window: 1s, errorThreshold: 0.2, minRequests: 5, probeInterval: 250ms";

/** The scenarios at full length; `scaleScenario` shortens them for --quick. */
export const SCHEDULING_SCENARIOS: readonly SchedulingScenario[] = [
  {
    name: "slow-endpoint",
    example: "slow-endpoint",
    endpoints: 4,
    latency: { distribution: "exponential", meanMs: 10 },
    overrides: [{ endpoint: 3, latency: { distribution: "exponential", meanMs: 100 } }],
    load: { kind: "rate", qps: 400, connections: 100 },
    seconds: 1.25,
    timeout: "2s",
    resolution: 0.0001,
    note: "400 requests/s at a constant rate (the example: 800/s Poisson), no concurrency limit at the endpoints (the example: 32)",
  },
  {
    name: "tower-76",
    example: "tower-76",
    endpoints: 10,
    latency: ms(10),
    overrides: [{ endpoint: 0, latency: ms(1) }, ...[5, 6, 7, 8].map((endpoint) => ({ endpoint, latency: ms(100) })), { endpoint: 9, latency: ms(1000) }],
    load: { kind: "closed", clients: 50 },
    seconds: 1.5,
    resolution: 0.0001,
    note: "closed loop, 50 connections, as the example (40,000 requests there; here the requests a run completes)",
  },
  {
    name: "brpc-one-slow",
    example: "brpc-one-slow",
    endpoints: 4,
    latency: lognormal(0.25, 0.4),
    overrides: [{ endpoint: 3, latency: lognormal(5.25, 5.4) }],
    load: { kind: "rate", qps: 1000, connections: 32 },
    seconds: 1,
    resolution: 0.00001,
    note: "1,000 requests/s at a constant rate (the example and brpc: 4,000/s, more than one Envoy worker and the load generator can carry on 2 cores)",
  },
  {
    name: "brpc-two-slow",
    example: "brpc-two-slow",
    endpoints: 4,
    latency: lognormal(0.25, 0.4),
    overrides: [
      { endpoint: 2, latency: lognormal(5.25, 5.4) },
      { endpoint: 3, latency: lognormal(5.25, 5.4) },
    ],
    load: { kind: "rate", qps: 1000, connections: 32 },
    seconds: 1,
    resolution: 0.00001,
    note: "1,000 requests/s at a constant rate (the example and brpc: 4,000/s, more than one Envoy worker and the load generator can carry on 2 cores)",
  },
  {
    name: "failing-endpoint",
    example: "failing-endpoint",
    endpoints: 3,
    latency: lognormal(8, 40),
    overrides: [],
    load: { kind: "rate", qps: 400, connections: 64 },
    seconds: 1.5,
    event: { kind: "fail", endpoint: 1, fromS: 0.4, untilS: 1.1 },
    params: { availability: FAILING_AVAILABILITY },
    timeout: "2s",
    resolution: 0.0001,
    note: "endpoint 1 fails every request from 0.4 s to 1.1 s of a 1.5 s run (the example: 8 s to 18 s of 30 s), availability's window 1 s and probe interval 250 ms (the example: 2 s, 500 ms), 400 requests/s at a constant rate",
  },
  {
    name: "dying-endpoint",
    endpoints: 3,
    latency: lognormal(8, 40),
    overrides: [],
    load: { kind: "rate", qps: 400, connections: 64 },
    seconds: 1.5,
    event: { kind: "kill", endpoint: 2, atS: 0.4 },
    params: { availability: FAILING_AVAILABILITY },
    timeout: "2s",
    resolution: 0.0001,
    note: "endpoint 2's server is killed 0.4 s into a 1.5 s run (open requests reset, connections refused; the simulator's `outage: refused`) and restarted after the run; otherwise as failing-endpoint",
  },
];

/** A shorter copy (time × factor, events scaled along) for --quick. */
export function scaleScenario(scenario: SchedulingScenario, factor: number): SchedulingScenario {
  const t = (s: number) => Math.round(s * factor * 1000) / 1000;
  const event: SchedulingEvent | undefined =
    scenario.event?.kind === "fail"
      ? { ...scenario.event, fromS: t(scenario.event.fromS), untilS: t(scenario.event.untilS) }
      : scenario.event?.kind === "kill"
        ? { ...scenario.event, atS: t(scenario.event.atS) }
        : undefined;
  return { ...scenario, seconds: t(scenario.seconds), ...(event ? { event } : {}) };
}

/** The run's lightsub strategy ("round_robin" for the native runs, whose filter is taken out). */
export function strategyOf(run: string): string {
  return run.startsWith("envoy:") ? "round_robin" : run;
}

function latencyYaml(spec: LatencySpec): string {
  const d = (v: number) => `${Number(v.toPrecision(6))}ms`;
  switch (spec.distribution) {
    case "constant":
      return d(spec.valueMs);
    case "exponential":
      return `{ distribution: exponential, mean: ${d(spec.meanMs)} }`;
    case "lognormal":
      // As the examples write it (median and p99), which the simulator turns back into the same sigma.
      return `{ distribution: lognormal, median: ${d(spec.medianMs)}, p99: ${d(spec.medianMs * Math.exp(Z99 * spec.sigma))} }`;
    case "bimodal":
      return `{ distribution: bimodal, fast: ${latencyYaml(spec.fast)}, slow: ${latencyYaml(spec.slow)}, slowFraction: ${spec.slowFraction} }`;
  }
}

/** The scenario's policy for one run: `client` calls `svc`, whose endpoints are the upstreams at `upstreamPorts`; the sidecar's ports from `basePort`. */
export function policyFor(scenario: SchedulingScenario, strategy: string, basePort: number, upstreamPorts: readonly number[]): string {
  if (upstreamPorts.length !== scenario.endpoints) throw new RangeError(`${scenario.name}: ${scenario.endpoints} endpoints, ${upstreamPorts.length} ports`);
  const p = basePort;
  const endpoints = upstreamPorts.map((port) => `{ address: 127.0.0.1, port: ${port} }`);
  const params = scenario.params?.[strategy];
  return twoServicePolicy({
    name: `bench-${scenario.name}`,
    basePort: p,
    endpoints,
    scheduler: `strategy: ${strategy}${params ? `, ${params}` : ""}`,
    svcExtra: scenario.timeout ? `      connector: { timeout: ${scenario.timeout} }\n` : "",
  });
}

/**
 * The simulator's workload for the scenario: the same arrivals (a constant
 * rate for `seconds`, or `clients` in a closed loop for `requests`), Envoy's
 * one worker, the endpoints' service times without a concurrency limit (the
 * Node upstreams have none), the event at the same time into the run.
 */
export function workloadFor(scenario: SchedulingScenario, compare: readonly string[], options: { requests?: number; seed?: number; overhead?: OverheadLegs } = {}): string {
  const lines = ["simulation:", "  from: client", "  to: svc", `  seed: ${options.seed ?? 1}`, "  workers: 1"];
  if (scenario.load.kind === "rate") {
    lines.push(`  arrivals: { process: constant, rate: ${scenario.load.qps}, duration: ${scenario.seconds * 1000}ms }`);
  } else {
    const requests = options.requests ?? Math.round(scenario.load.clients * scenario.seconds * 100);
    lines.push(`  arrivals: { clients: ${scenario.load.clients}, requests: ${Math.max(1, Math.round(requests))} }`);
  }
  lines.push("  backend:", `    latency: ${latencyYaml(scenario.latency)}`, "    concurrency: 100000");
  const perEndpoint = new Map<number, string[]>();
  const add = (i: number, part: string) => perEndpoint.set(i, [...(perEndpoint.get(i) ?? []), part]);
  for (const o of scenario.overrides) add(o.endpoint, `latency: ${latencyYaml(o.latency)}`);
  const event = scenario.event;
  if (event?.kind === "fail") add(event.endpoint, `events: [{ at: ${event.fromS * 1000}ms, until: ${event.untilS * 1000}ms, errorRate: 1 }]`);
  if (event?.kind === "kill") add(event.endpoint, `events: [{ at: ${event.atS * 1000}ms, outage: refused }]`);
  if (perEndpoint.size > 0) {
    lines.push("  endpoints:");
    for (const [i, parts] of [...perEndpoint].sort((a, b) => a[0] - b[0])) lines.push(`    - { endpoint: ${i}, ${parts.join(", ")} }`);
  }
  if (options.overhead) lines.push("  overhead:", `    request: ${legYaml(options.overhead.request)}`, `    response: ${legYaml(options.overhead.response)}`);
  lines.push(`  compare: [${compare.join(", ")}]`);
  return `${lines.join("\n")}\n`;
}

/** The fortio load of one run. */
export function fortioLoadFor(scenario: SchedulingScenario, seconds = scenario.seconds): FortioLoad {
  // Errors are part of the scenarios (a failing or dead endpoint): fortio must not stop at a failed first request.
  const base = { seconds, resolution: scenario.resolution, percentiles: [50, 99, 99.9], allowInitialErrors: true };
  return scenario.load.kind === "rate"
    ? { ...base, qps: scenario.load.qps, connections: scenario.load.connections, uniform: true }
    : { ...base, qps: 0, connections: scenario.load.clients };
}

export interface EnvoySchedulingOptions {
  lightsubWasm: string;
  scenarios: readonly SchedulingScenario[];
  strategies: readonly string[];
  repetitions: number;
  /** Seconds of load per run before the first repetition. */
  warmupSeconds: number;
  /** Seeds each run is simulated with for figure 3 (the median of each number is compared); default `repetitions`. */
  simSeeds?: number;
}

/** One run's measurements in one repetition. */
export interface RunSample {
  p50: number;
  p99: number;
  p999: number;
  requests: number;
  errorRate: number;
  /** Share of tries per endpoint, 0..1. */
  shares: number[];
}

interface LiveRun {
  name: string;
  sidecar: LiveSidecar;
}

/** The scenario's upstreams: one Node server per endpoint, each with its own seeded service-time sampler; a killed one can be started again. */
class Upstreams {
  private servers: UpstreamServer[] = [];
  /** Answer at once (service time 0): the overhead calibration. */
  zero = false;
  /** Per answered request while `recording`: how late its timer fired (actual minus drawn service time), ms. */
  readonly lateness: number[] = [];
  recording = false;
  /** Requests received by servers that were killed since. */
  private retired: number[];
  readonly ports: number[] = [];
  private readonly dead = new Set<number>();

  constructor(private readonly scenario: SchedulingScenario) {
    this.retired = Array.from({ length: scenario.endpoints }, () => 0);
  }

  /** Starts one server per endpoint on the first free ports from the upstream base. */
  async start(): Promise<void> {
    const { upstreamBase, upstreamLast } = schedulingPorts();
    let port = upstreamBase;
    for (let i = 0; i < this.scenario.endpoints; i++) {
      for (;; port++) {
        if (port > upstreamLast) throw new Error(`no free upstream port in ${upstreamBase}–${upstreamLast}`);
        try {
          this.ports[i] = port;
          this.servers[i] = await this.startOne(i);
          port++;
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE") throw error;
        }
      }
    }
  }

  private startOne(i: number): Promise<UpstreamServer> {
    const spec = this.scenario.overrides.find((o) => o.endpoint === i)?.latency ?? this.scenario.latency;
    const sample = samplerFor(spec);
    const rng = new Random(18, i + 1 + this.retired[i]!);
    return startUpstream({
      name: `ep${i}`,
      port: this.ports[i]!,
      latencyMs: 0,
      failureRate: 0,
      precise: true,
      record: false,
      respond: () => ({ latencyMs: this.zero ? 0 : sample(rng) }),
      onAnswer: (request, plannedMs, answeredAtMs) => {
        if (this.recording && !this.zero) this.lateness.push(answeredAtMs - request.atMs - plannedMs);
      },
    });
  }

  /** Requests each endpoint received so far, killed servers' included. */
  received(): number[] {
    return this.servers.map((s, i) => this.retired[i]! + (this.dead.has(i) ? 0 : s.counts().requests));
  }

  server(i: number): UpstreamServer {
    return this.servers[i]!;
  }

  async kill(i: number): Promise<void> {
    const s = this.servers[i]!;
    this.dead.add(i);
    this.retired[i]! += s.counts().requests;
    await s.close();
  }

  /** Starts endpoint i again on its port (retrying while an outgoing connection elsewhere holds it). */
  async restart(i: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        this.servers[i] = await this.startOne(i);
        this.dead.delete(i);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EADDRINUSE" || attempt >= 50) throw error;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }
}

/** Requests Envoy failed because it could not connect (pending requests failed with the connection), over every cluster of the sidecar. */
async function connectFailedRequests(sidecar: LiveSidecar): Promise<number> {
  const stats = await sidecar.stats("upstream_rq_pending_failure_eject");
  let n = 0;
  for (const [name, value] of stats) if (name.startsWith("cluster.svc")) n += value;
  return n;
}

/** The bench process (it serves the upstreams) moves to the load CPUs for the section; returns how to move it back. */
function pinSelf(cpus: string): () => void {
  try {
    const before = execFileSync("taskset", ["-cp", String(process.pid)], { encoding: "utf8" }).trim().split(":").pop()!.trim();
    pin(process.pid, cpus);
    return () => {
      try {
        pin(process.pid, before);
      } catch {
        // best effort
      }
    };
  } catch {
    return () => {};
  }
}

/** The figures, and the scenarios that could not be measured (one failing scenario does not lose the others). */
export async function measureEnvoyScheduling(
  options: EnvoySchedulingOptions,
  log: (line: string) => void,
): Promise<{ figures: FigureInit[]; failed: Array<{ scenario: string; reason: string }> }> {
  const fortio = ensureFortio(log);
  const { envoyCpu, loadCpus } = cpuSets();
  const dir = mkdtempSync(join(tmpdir(), "lightsub-bench-sched-"));
  const unpin = pinSelf(loadCpus);
  const out: FigureInit[] = [];
  const failed: Array<{ scenario: string; reason: string }> = [];
  try {
    for (const scenario of options.scenarios) {
      try {
        const runNames = [...options.strategies, ...NATIVE_RUNS];
        const { samples, ports, overhead } = await measureScenario(scenario, runNames, options, { fortio, envoyCpu, loadCpus, dir }, log);
        const note = `${scenario.note}; Envoy 1.40 --concurrency 1 on CPU ${envoyCpu}, fortio ${FORTIO_VERSION} and the Node upstreams on CPU ${loadCpus}`;
        const seeds = options.simSeeds ?? options.repetitions;
        const simulated = await simulateScenario(scenario, runNames, samples, options.lightsubWasm, ports, overhead, seeds);
        const without = await simulateScenario(scenario, runNames, samples, options.lightsubWasm, ports, undefined, seeds);
        out.push(...schedulingFigures(scenario, samples, note));
        const req = legPercentiles(overhead.request);
        const res = legPercentiles(overhead.response);
        const simNote = `${scenario.note}; simulator: runSimulation (lightsub simulate) with the generated workload, 1 worker, median of seeds 1–${seeds}, overhead request leg p50 ${req.p50.toFixed(3)} ms / p99 ${req.p99.toFixed(3)} ms, response leg p50 ${res.p50.toFixed(3)} ms / p99 ${res.p99.toFixed(3)} ms (${overhead.source}); real: figure 2's repetitions`;
        out.push(...simulatorFigures(scenario, samples, simulated, simNote));
        out.push(...overheadFigures(scenario, samples, without, overhead, simNote));
        log(`envoy-scheduling: ${scenario.name} done`);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        failed.push({ scenario: scenario.name, reason });
        log(`envoy-scheduling: ${scenario.name} FAILED: ${reason}`);
      }
    }
  } finally {
    unpin();
    rmSync(dir, { recursive: true, force: true });
  }
  return { figures: out, failed };
}

interface Machine {
  fortio: string;
  envoyCpu: string;
  loadCpus: string;
  dir: string;
}

async function measureScenario(
  scenario: SchedulingScenario,
  runNames: readonly string[],
  options: EnvoySchedulingOptions,
  m: Machine,
  log: (line: string) => void,
): Promise<{ samples: Map<string, RunSample[]>; ports: number[]; overhead: OverheadLegs }> {
  const upstreams = new Upstreams(scenario);
  const runs: LiveRun[] = [];
  try {
    await upstreams.start();
    let slot = 0;
    const startRun = async (name: string): Promise<LiveRun> => {
      const native = name.startsWith("envoy:");
      // A slot whose ports another process holds makes Envoy fail to bind: take the next one.
      for (;;) {
        if (slot >= SIDECAR_SLOTS) slot = 0;
        const base = schedulingPorts().sidecarBase + slot++ * 10;
        try {
          const sidecar = await startSidecar({
            envoy: ENVOY_BIN,
            policy: policyFor(scenario, strategyOf(name), base, upstreams.ports),
            service: "client",
            concurrency: 1,
            wasm: options.lightsubWasm,
            ...(native ? { editBootstrap: nativeEdit("svc", name.slice("envoy:".length)) } : {}),
          });
          const run = { name, sidecar };
          runs.push(run);
          pin(envoyPid(sidecar.workDir), m.envoyCpu);
          return run;
        } catch (error) {
          if (!/address already in use|belongs to another Envoy|cannot bind/i.test((error as Error).message)) throw error;
          log(`envoy-scheduling: sidecar ports from ${base} taken, trying the next`);
        }
      }
    };
    const samples = new Map<string, RunSample[]>(runNames.map((n) => [n, []]));
    /**
     * In every repetition, right after native ROUND_ROBIN's run and on its sidecar: the round trip at service
     * time 0 (so the calibration sees the machine as the runs around it did, not one moment of it).
     */
    const roundTrips: Array<{ p50: number; p99: number }> = [];
    let calibrationError: string | undefined;
    const measureRoundTrip = async (rr: LiveRun): Promise<void> => {
      upstreams.zero = true;
      try {
        const result = await runFortio(m.fortio, m.loadCpus, rr.sidecar.url("svc"), calibrationLoad(scenario, samples.get("envoy:ROUND_ROBIN") ?? []), m.dir);
        roundTrips.push({ p50: fortioPercentileMs(result, 50), p99: fortioPercentileMs(result, 99) });
      } catch (error) {
        calibrationError = error instanceof Error ? error.message : String(error);
      } finally {
        upstreams.zero = false;
      }
    };
    /** After the repetitions: the legs from the round trips' medians and the timers' lateness seen in every run. */
    const overheadLegs = (): OverheadLegs => {
      upstreams.recording = false;
      if (roundTrips.length === 0) {
        log(`envoy-scheduling: ${scenario.name} overhead calibration failed (${calibrationError ?? "no round trip measured"}); using the default`);
        return DEFAULT_OVERHEAD;
      }
      const roundTrip = { p50: median(roundTrips.map((r) => r.p50)), p99: median(roundTrips.map((r) => r.p99)) };
      const late = [...upstreams.lateness].sort((a, b) => a - b);
      const load = calibrationLoad(scenario, samples.get("envoy:ROUND_ROBIN") ?? []);
      const source = `measured in this run: round trip at service time 0 p50 ${roundTrip.p50.toFixed(3)} ms, p99 ${roundTrip.p99.toFixed(3)} ms (medians of ${roundTrips.length} repetitions; fortio ${load.qps} requests/s, ${load.connections} connections, native ROUND_ROBIN); upstream timers late by p50 ${quantile(late, 0.5).toFixed(3)} ms, p99 ${quantile(late, 0.99).toFixed(3)} ms over ${late.length} requests`;
      log(`envoy-scheduling: ${scenario.name} overhead ${source}`);
      return fitOverhead(roundTrip, upstreams.lateness, source);
    };
    upstreams.recording = true;
    if (scenario.event) {
      // Cold runs: a fresh sidecar per run and repetition, so no state from the last repetition's failure
      // carries into this one (the simulator starts every run cold too; measured: least_latency sent a
      // healed endpoint 0.3 % of a repetition on a sidecar that had seen it fail 8 s before, 6 % cold).
      for (let rep = 0; rep < options.repetitions; rep++) {
        // Started together (Envoy's start-up waits overlap), measured one after the other; untouched until then.
        const fresh = await Promise.all(runNames.map((name) => startRun(name)));
        for (const run of rotated(fresh, rep)) {
          samples.get(run.name)!.push(await measureRun(scenario, run, upstreams, m));
          await checkRouting([run]);
          if (run.name === "envoy:ROUND_ROBIN") await measureRoundTrip(run);
          await run.sidecar.stop();
        }
        log(`envoy-scheduling: ${scenario.name} repetition ${rep + 1}/${options.repetitions} done (cold sidecars)`);
      }
      return { samples, ports: upstreams.ports, overhead: overheadLegs() };
    }
    for (const name of runNames) await startRun(name);
    if (options.warmupSeconds > 0) for (const run of runs) await runFortio(m.fortio, m.loadCpus, run.sidecar.url("svc"), fortioLoadFor(scenario, options.warmupSeconds), m.dir);
    for (let rep = 0; rep < options.repetitions; rep++) {
      for (const run of rotated(runs, rep)) {
        samples.get(run.name)!.push(await measureRun(scenario, run, upstreams, m));
        if (run.name === "envoy:ROUND_ROBIN") await measureRoundTrip(run);
      }
      log(`envoy-scheduling: ${scenario.name} repetition ${rep + 1}/${options.repetitions} done`);
    }
    await checkRouting(runs);
    return { samples, ports: upstreams.ports, overhead: overheadLegs() };
  } finally {
    for (const run of runs) await run.sidecar.stop();
    await upstreams.close();
  }
}

/** The order of a repetition: rotated by one per repetition, reversed on odd ones. */
export function rotated<T>(items: readonly T[], rep: number): T[] {
  const order = items.map((_, i) => items[(i + rep) % items.length]!);
  return rep % 2 === 1 ? order.reverse() : order;
}

async function measureRun(scenario: SchedulingScenario, run: LiveRun, upstreams: Upstreams, m: Machine): Promise<RunSample> {
  const event = scenario.event;
  const before = upstreams.received();
  const failedBefore = event?.kind === "kill" ? await connectFailedRequests(run.sidecar) : 0;
  const timers: NodeJS.Timeout[] = [];
  let killed: Promise<void> | undefined;
  if (event?.kind === "fail") {
    timers.push(setTimeout(() => upstreams.server(event.endpoint).set({ failureRate: 1 }), event.fromS * 1000));
    timers.push(setTimeout(() => upstreams.server(event.endpoint).set({ failureRate: 0 }), event.untilS * 1000));
  }
  if (event?.kind === "kill") timers.push(setTimeout(() => (killed = upstreams.kill(event.endpoint)), event.atS * 1000));
  let result: FortioResult;
  try {
    result = await runFortio(m.fortio, m.loadCpus, run.sidecar.url("svc"), fortioLoadFor(scenario), m.dir);
  } finally {
    for (const t of timers) clearTimeout(t);
    if (event?.kind === "fail") upstreams.server(event.endpoint).set({ failureRate: 0 });
  }
  const received = upstreams.received().map((n, i) => n - before[i]!);
  if (event?.kind === "kill") {
    if (!killed) throw new Error(`${scenario.name}: the run ended before endpoint ${event.endpoint} was killed`);
    await killed;
    // Tries that found the dead endpoint: requests Envoy failed for want of a connection.
    received[event.endpoint]! += (await connectFailedRequests(run.sidecar)) - failedBefore;
    await upstreams.restart(event.endpoint);
  }
  const tries = received.reduce((a, b) => a + b, 0);
  const requests = result.DurationHistogram.Count;
  const ok = result.RetCodes["200"] ?? 0;
  return {
    p50: fortioPercentileMs(result, 50),
    p99: fortioPercentileMs(result, 99),
    p999: fortioPercentileMs(result, 99.9),
    requests,
    errorRate: requests > 0 ? (requests - ok) / requests : 0,
    shares: received.map((n) => (tries > 0 ? n / tries : 0)),
  };
}

/** The runs did what they are named for: lightsub routed by its per-endpoint clusters, the native runs by the aggregate cluster only. */
async function checkRouting(runs: readonly LiveRun[]): Promise<void> {
  for (const run of runs) {
    const stats = await run.sidecar.stats("upstream_rq_total");
    let perEndpoint = 0;
    for (const [name, value] of stats) if (/^cluster\.svc_ep\d+\.upstream_rq_total$/.test(name)) perEndpoint += value;
    const aggregate = stats.get("cluster.svc.upstream_rq_total") ?? 0;
    const viaFilter = !run.name.startsWith("envoy:");
    if (viaFilter ? perEndpoint === 0 || aggregate > 0 : aggregate === 0 || perEndpoint > 0) {
      throw new Error(`${run.name} did not route as intended: per-endpoint clusters ${perEndpoint} requests, aggregate cluster ${aggregate}`);
    }
  }
}

/** Median of a list (the closed-loop simulation's request count). */
function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** What figure 3 takes from a simulation (one seed, or the median over seeds). */
export interface SimSummary {
  latencyMs: { p50: number | null; p99: number | null };
  errorRate: number;
  endpoints: ReadonlyArray<{ share: number }>;
}

/**
 * The median over seeds of each number (p50, p99, error rate, each endpoint's
 * share), as figure 2 takes the median over repetitions: where identical
 * endpoints split the traffic in an order that one run's history decides
 * (least_latency's ties and herding), one seed is one arbitrary split, as one
 * real repetition is.
 */
export function summarizeSeeds(runs: readonly SimSummary[]): SimSummary {
  if (runs.length === 0) throw new RangeError("summarizeSeeds: no runs");
  const med = (values: Array<number | null>) => {
    const known = values.filter((v): v is number => v !== null && Number.isFinite(v));
    return known.length > 0 ? median(known) : null;
  };
  return {
    latencyMs: { p50: med(runs.map((r) => r.latencyMs.p50)), p99: med(runs.map((r) => r.latencyMs.p99)) },
    errorRate: median(runs.map((r) => r.errorRate)),
    endpoints: runs[0]!.endpoints.map((_, k) => ({ share: median(runs.map((r) => r.endpoints[k]!.share)) })),
  };
}

/** What the simulator says for each run: the lightsub runs each simulate their own compiled policy, the native runs the round_robin one. */
async function simulateScenario(
  scenario: SchedulingScenario,
  runNames: readonly string[],
  samples: ReadonlyMap<string, readonly RunSample[]>,
  wasm: string,
  ports: readonly number[],
  overhead: OverheadLegs | undefined,
  seeds: number,
): Promise<Map<string, SimSummary>> {
  const out = new Map<string, SimSummary>();
  const groups = new Map<string, string[]>();
  for (const run of runNames) groups.set(strategyOf(run), [...(groups.get(strategyOf(run)) ?? []), run]);
  for (const [strategy, runs] of groups) {
    for (const run of runs) {
      // A closed loop simulates as many requests as the real run completed (median over the repetitions).
      const requests = scenario.load.kind === "closed" ? median((samples.get(run) ?? []).map((s) => s.requests)) : undefined;
      const text = `${policyFor(scenario, strategy, schedulingPorts().sidecarBase, ports)}\n${workloadFor(scenario, [run], { ...(requests !== undefined ? { requests } : {}), ...(overhead ? { overhead } : {}) })}`;
      const perSeed: SimSummary[] = [];
      for (let seed = 1; seed <= seeds; seed++) {
        const result = await runSimulation(text, `${scenario.name}-${run}.yaml`, { wasm, threads: 1, seed });
        if (!("runs" in result)) throw new Error(`${scenario.name}: the simulator refused the generated workload: ${result.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join("; ")}`);
        const simulated = result.runs.find((r) => r.name === run);
        if (!simulated) throw new Error(`${scenario.name}: the simulator has no run ${run}`);
        perSeed.push(simulated);
      }
      out.set(run, summarizeSeeds(perSeed));
    }
  }
  return out;
}

/** Figure 2's figures for one scenario. */
export function schedulingFigures(scenario: SchedulingScenario, samples: ReadonlyMap<string, readonly RunSample[]>, note: string): FigureInit[] {
  const section = "envoy-scheduling" as const;
  const out: FigureInit[] = [];
  const rr = samples.get("envoy:ROUND_ROBIN")!;
  const lr = samples.get("envoy:LEAST_REQUEST")!;
  for (const [run, mine] of samples) {
    const params = { scenario: scenario.name, run };
    out.push({ section, name: "p50-ms", params, unit: "ms", samples: mine.map((s) => s.p50), note });
    out.push({ section, name: "p99-ms", params, unit: "ms", samples: mine.map((s) => s.p99), note });
    out.push({ section, name: "p999-ms", params, unit: "ms", samples: mine.map((s) => s.p999), note });
    out.push({ section, name: "error-rate", params, unit: "%", samples: mine.map((s) => s.errorRate * 100), note });
    out.push({ section, name: "requests", params, unit: "requests", samples: mine.map((s) => s.requests), note });
    for (let k = 0; k < scenario.endpoints; k++) {
      out.push({ section, name: "share", params: { ...params, endpoint: k }, unit: "%", samples: mine.map((s) => s.shares[k]! * 100), note });
    }
    if (run.startsWith("envoy:")) continue;
    for (const [peer, peerName, suffix] of [
      [rr, "envoy:ROUND_ROBIN", "round-robin"],
      [lr, "envoy:LEAST_REQUEST", "least-request"],
    ] as const) {
      for (const q of ["p50", "p99", "p999"] as const) {
        out.push({
          section,
          name: `${q}-vs-${suffix}`,
          params,
          unit: "×",
          peer: `${peerName} in the same repetition`,
          samples: mine.map((s, i) => s[q] / Math.max(peer[i]![q], 1e-6)),
          note,
        });
      }
    }
  }
  return out;
}

/** Figure 3's figures for one scenario: the simulator's numbers and their distance from each real repetition. */
export function simulatorFigures(
  scenario: SchedulingScenario,
  samples: ReadonlyMap<string, readonly RunSample[]>,
  simulated: ReadonlyMap<string, SimSummary>,
  note: string,
): FigureInit[] {
  const section = "envoy-simulator" as const;
  const out: FigureInit[] = [];
  for (const [run, mine] of samples) {
    const sim = simulated.get(run);
    if (!sim) continue;
    const params = { scenario: scenario.name, run };
    const simShares = sim.endpoints.map((e) => e.share);
    out.push({ section, name: "sim-p50-ms", params, unit: "ms", samples: [sim.latencyMs.p50 ?? Number.NaN], note });
    out.push({ section, name: "sim-p99-ms", params, unit: "ms", samples: [sim.latencyMs.p99 ?? Number.NaN], note });
    out.push({ section, name: "sim-error-rate", params, unit: "%", samples: [sim.errorRate * 100], note });
    for (let k = 0; k < scenario.endpoints; k++) out.push({ section, name: "sim-share", params: { ...params, endpoint: k }, unit: "%", samples: [simShares[k]! * 100], note });
    out.push({ section, name: "p50-sim-vs-real", params, unit: "×", peer: "real Envoy, each repetition", samples: mine.map((s) => (sim.latencyMs.p50 ?? Number.NaN) / s.p50), note });
    out.push({
      section,
      name: "p99-sim-vs-real",
      params,
      unit: "×",
      peer: "real Envoy, each repetition",
      samples: mine.map((s) => (sim.latencyMs.p99 ?? Number.NaN) / s.p99),
      target: { min: 0.75, max: 1.25, text: "p99 within 25 % of real Envoy's" },
      note,
    });
    if (run === "envoy:ROUND_ROBIN") {
      // Round robin's choices do not depend on latency, so this is what the simulator leaves out per request
      // (load generator, proxy, loopback, the upstream's timers, the machine's load), not a scheduling difference.
      out.push({ section, name: "p50-real-minus-sim-ms", params, unit: "ms", peer: "real Envoy, each repetition", samples: mine.map((s) => s.p50 - (sim.latencyMs.p50 ?? Number.NaN)), note });
    }
    out.push({
      section,
      name: "share-gap",
      params,
      unit: "points",
      peer: "real Envoy, each repetition",
      samples: mine.map((s) => shareGap(simShares, s.shares)),
      target: { max: 3, text: "every endpoint's share within 3 points of real Envoy's" },
      note,
    });
  }
  return out;
}

/**
 * The calibration's load: the scenario's rate and connections, or for a
 * closed loop the rate native ROUND_ROBIN reached (so the machine is as busy
 * as in the runs, not flooded by a loop whose requests take no time).
 */
export function calibrationLoad(scenario: SchedulingScenario, rr: readonly RunSample[]): FortioLoad {
  const base = { seconds: Math.min(1, scenario.seconds), resolution: 0.00001, percentiles: [50, 99], uniform: true };
  if (scenario.load.kind === "rate") return { ...base, qps: scenario.load.qps, connections: scenario.load.connections };
  const completed = rr.length > 0 ? median(rr.map((s) => s.requests)) : scenario.load.clients * 10;
  return { ...base, qps: Math.max(1, Math.round(completed / scenario.seconds)), connections: scenario.load.clients };
}

/**
 * The overhead figure 3 passed to the simulator (each leg's p50 and p99), and
 * the simulator without it against the same real repetitions (what the
 * overhead changed).
 */
export function overheadFigures(
  scenario: SchedulingScenario,
  samples: ReadonlyMap<string, readonly RunSample[]>,
  without: ReadonlyMap<string, SimSummary>,
  overhead: OverheadLegs,
  note: string,
): FigureInit[] {
  const section = "envoy-simulator" as const;
  const out: FigureInit[] = [];
  const params = { scenario: scenario.name };
  for (const [leg, spec] of [["request", overhead.request], ["response", overhead.response]] as const) {
    const { p50, p99 } = legPercentiles(spec);
    out.push({ section, name: "overhead-p50-ms", params: { ...params, leg }, unit: "ms", samples: [p50], note });
    out.push({ section, name: "overhead-p99-ms", params: { ...params, leg }, unit: "ms", samples: [p99], note });
  }
  for (const [run, mine] of samples) {
    const sim = without.get(run);
    if (!sim) continue;
    const simShares = sim.endpoints.map((e) => e.share);
    const runParams = { ...params, run };
    out.push({ section, name: "p99-sim-vs-real-without-overhead", params: runParams, unit: "×", peer: "real Envoy, each repetition", samples: mine.map((s) => (sim.latencyMs.p99 ?? Number.NaN) / s.p99), note });
    out.push({ section, name: "share-gap-without-overhead", params: runParams, unit: "points", peer: "real Envoy, each repetition", samples: mine.map((s) => shareGap(simShares, s.shares)), note });
  }
  return out;
}

/** The largest difference between two share vectors (0..1 each), in percentage points. */
export function shareGap(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`shareGap: ${a.length} against ${b.length} endpoints`);
  return Math.max(0, ...a.map((x, i) => Math.abs(x - b[i]!) * 100));
}
