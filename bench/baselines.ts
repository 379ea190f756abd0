/**
 * Figure 7, scheduling against the published balancers (issue 16): for each
 * of issue 16's scenarios (examples/simulate/), every run the scenario lists
 * (least_latency, tower's / Linkerd's P2C + peak EWMA, Envoy's LEAST_REQUEST,
 * round robin, the oracle, ...), the same simulation per seed; the p99 of each
 * and the issue's targets, each the median over the seeds of the per-seed value:
 *
 * - tower-76: least_latency's p99 ≥ 30× better than round robin's;
 * - brpc-one-slow, brpc-two-slow: least_latency's gain over round robin
 *   ≥ 0.9 × the oracle's, i.e. oracle p99 ÷ least_latency p99 ≥ 0.9;
 * - many-callers: least_latency's p99 ≤ 1.05 × P2C + peak EWMA's;
 * - recovering-endpoint: after the slow endpoint is fast again, seconds until
 *   it gets its fair share back (≥ 3/4 of 1/n of the tries in a 1 s window) ≤ 10.
 */
import { loadScenarios, simulate, withSimulation } from "./simulator-figures.js";
import type { FigureInit } from "./figures.js";
import type { SimulationResult } from "../simulate/index.js";

export const BASELINE_SCENARIOS = ["tower-76", "brpc-one-slow", "brpc-two-slow", "many-callers", "recovering-endpoint"] as const;

export interface BaselineOptions {
  scenariosDir: string;
  lightsubWasm: string;
  seeds: number;
  scenarios?: readonly string[];
  /** Replace each scenario's request count (quick runs). */
  requests?: number;
}

const STRATEGY = "least_latency";
const ROUND_ROBIN = "round_robin";
const P2C = "peer:P2C_PEAK_EWMA";
/** Share of 1/n an endpoint must reach to have its fair share back. */
const FAIR_SHARE = 0.75;
const RECOVERY_WINDOW_MS = 1000;

type Run = SimulationResult["runs"][number];

/**
 * When the last endpoint that was slowed down is back to normal, seconds
 * until its share of tries in a window of RECOVERY_WINDOW_MS reaches
 * FAIR_SHARE / n; the rest of the simulation when it never does (a bound
 * from below). Undefined when no endpoint recovers in the scenario.
 */
export function recoverySeconds(result: SimulationResult, run: Run): number | undefined {
  let endpoint = -1;
  let atMs = -1;
  result.scenario.endpoints.forEach((ep, i) => {
    let slowed = false;
    for (const event of ep.events) {
      if (event.slowdown > 1 || event.outage != null) slowed = true;
      else if (slowed && event.atMs > atMs) {
        endpoint = i;
        atMs = event.atMs;
      }
    }
  });
  if (endpoint < 0) return undefined;
  const { bucketMs, tries } = run.series;
  const n = tries.length;
  const buckets = tries[0]!.length;
  const window = Math.max(1, Math.round(RECOVERY_WINDOW_MS / bucketMs));
  for (let start = Math.ceil(atMs / bucketMs); start + window <= buckets; start++) {
    let mine = 0;
    let all = 0;
    for (let k = start; k < start + window; k++) {
      mine += tries[endpoint]![k]!;
      for (let e = 0; e < n; e++) all += tries[e]![k]!;
    }
    if (all > 0 && mine / all >= FAIR_SHARE / n) return (start * bucketMs - atMs) / 1000;
  }
  return (buckets * bucketMs - atMs) / 1000;
}

export async function measureBaselines(options: BaselineOptions, onStep?: (label: string) => void): Promise<FigureInit[]> {
  const scenarios = loadScenarios(options.scenariosDir, options.scenarios ?? BASELINE_SCENARIOS);
  if (scenarios.length === 0) throw new Error(`none of ${BASELINE_SCENARIOS.join(", ")} in ${options.scenariosDir}`);
  const samples = new Map<string, { init: Omit<FigureInit, "samples">; samples: number[] }>();
  const add = (init: Omit<FigureInit, "samples">, value: number | undefined) => {
    if (value === undefined || !Number.isFinite(value)) return;
    const key = `${init.name} ${JSON.stringify(init.params)}`;
    const entry = samples.get(key) ?? { init, samples: [] };
    samples.set(key, entry);
    entry.samples.push(value);
  };
  for (const scenario of scenarios) {
    const text = options.requests !== undefined ? withSimulation(scenario.text, { requests: options.requests }) : scenario.text;
    for (let k = 0; k < options.seeds; k++) {
      const seed = scenario.seed + k;
      onStep?.(`baselines: ${scenario.name}, seed ${seed}`);
      const { result } = await simulate(text, scenario.file, { seed, wasm: options.lightsubWasm });
      const byName = new Map(result.runs.map((r) => [r.name, r]));
      const p99 = (name: string) => byName.get(name as Run["name"])?.latencyMs.p99;
      const rr = p99(ROUND_ROBIN);
      for (const run of result.runs) {
        if (run.filter?.failed) throw new Error(`simulation of ${scenario.name}: the filter failed in run ${run.name}`);
        const params = { scenario: scenario.name, run: run.name };
        add({ section: "scheduling-baselines", name: "p99-ms", params, unit: "ms" }, run.latencyMs.p99);
        if (rr !== undefined) {
          const target = scenario.name === "tower-76" && run.name === STRATEGY ? { min: 30, text: "≥ 30× better than round robin (tower P2C + peak EWMA: 9.4×)" } : undefined;
          add(
            { section: "scheduling-baselines", name: "gain-over-round-robin", params, unit: "× (round robin p99 ÷ p99)", peer: "round_robin, same simulation", ...(target ? { target } : {}) },
            rr / run.latencyMs.p99,
          );
        }
        const recovery = recoverySeconds(result, run);
        if (recovery !== undefined) {
          const target = run.name === STRATEGY ? { max: 10, text: "its fair share back within 10 s" } : undefined;
          add({ section: "scheduling-baselines", name: "recovery-s", params, unit: "s", ...(target ? { target } : {}) }, recovery);
        }
      }
      const mine = p99(STRATEGY);
      const oracle = p99("oracle");
      if (mine !== undefined && oracle !== undefined && scenario.name.startsWith("brpc")) {
        add(
          {
            section: "scheduling-baselines",
            name: "share-of-oracle-gain",
            params: { scenario: scenario.name, run: STRATEGY },
            unit: "× the oracle's gain over round robin",
            peer: "oracle, same simulation",
            target: { min: 0.9, text: "≥ 0.9 × the oracle's ratio to round robin" },
          },
          oracle / mine,
        );
      }
      const p2c = p99(P2C);
      if (mine !== undefined && p2c !== undefined && scenario.name === "many-callers") {
        add(
          {
            section: "scheduling-baselines",
            name: "p99-vs-p2c-peak-ewma",
            params: { scenario: scenario.name, run: STRATEGY },
            unit: "× P2C + peak EWMA's p99",
            peer: "peer:P2C_PEAK_EWMA, same simulation",
            target: { max: 1.05, text: "no worse than P2C + peak EWMA (± 5 %)" },
          },
          mine / p2c,
        );
      }
    }
  }
  return [...samples.values()].map(({ init, samples: s }) => ({ ...init, samples: s }));
}
