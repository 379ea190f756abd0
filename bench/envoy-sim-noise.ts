/**
 * Diagnostic for figure 3 (bench/README.md, "Why the simulator misses"):
 * simulates the tower-76 scenario of envoy-scheduling.ts twice — with its
 * nominal constant service times, and with the service times the Node
 * upstreams actually delivered on the loaded bench machine (lognormal, median
 * and p99 measured with fortio straight at one upstream: a 10 ms timer
 * answered at a median of 13-14 ms and a p99 of about 45 ms) — and prints
 * p50, p99 and the endpoint shares of least_latency and least_load.
 *
 *   npx tsx bench/envoy-sim-noise.ts
 */
import { LIGHTSUB_WASM } from "./build.js";
import { SCHEDULING_SCENARIOS, policyFor, workloadFor, type SchedulingScenario } from "./envoy-scheduling.js";
import { runSimulation } from "../simulate/simulation.js";
import type { LatencySpec } from "../simulate/workload/model.js";

const Z99 = 2.3263478740408408;
const lognormal = (medianMs: number, p99Ms: number): LatencySpec => ({ distribution: "lognormal", medianMs, sigma: Math.log(p99Ms / medianMs) / Z99 });

const tower = SCHEDULING_SCENARIOS.find((s) => s.name === "tower-76")!;
/** Nominal + what the loaded machine added to a timer (measured: +3-4 ms median, p99 up to +35 ms). */
const noisy: SchedulingScenario = {
  ...tower,
  latency: lognormal(13, 45),
  overrides: [{ endpoint: 0, latency: lognormal(4, 35) }, ...[5, 6, 7, 8].map((endpoint) => ({ endpoint, latency: lognormal(104, 135) })), { endpoint: 9, latency: lognormal(1004, 1035) }],
};
const ports = Array.from({ length: tower.endpoints }, (_, i) => 33100 + i);
for (const [label, scenario] of [["nominal", tower], ["noisy", noisy]] as const) {
  for (const run of ["least_latency", "least_load"]) {
    const text = `${policyFor(scenario, run, 33200, ports)}\n${workloadFor(scenario, [run], { requests: 3000 })}`;
    const result = await runSimulation(text, `${scenario.name}.yaml`, { wasm: LIGHTSUB_WASM, threads: 1 });
    if (!("runs" in result)) throw new Error(result.diagnostics.map((d) => d.message).join("; "));
    const r = result.runs[0]!;
    const shares = r.endpoints.map((e) => (e.share * 100).toFixed(1)).join(" / ");
    process.stdout.write(`${label.padEnd(8)} ${run.padEnd(14)} p50 ${r.latencyMs.p50?.toFixed(1)} ms  p99 ${r.latencyMs.p99?.toFixed(1)} ms  shares % ${shares}\n`);
  }
}
