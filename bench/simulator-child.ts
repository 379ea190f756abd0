/**
 * One long simulation in a process of its own (bench/simulator-figures.ts
 * starts it), so that the process's peak memory is the simulation's:
 *
 *   simulator-child.ts <scenario.yaml> <requests> <compare,comma,separated> <wasm>
 *
 * Runs `runSimulation` (what `lightsub simulate` runs, default threads) on the
 * scenario with its arrivals replaced by <requests> requests and its compare
 * list by the given runs. Prints one JSON line (SimulatorChildReport).
 */
import { readFileSync } from "node:fs";
import { runSimulation } from "../simulate/index.js";
import { withSimulation, type SimulatorChildReport } from "./simulator-figures.js";

async function main(args: string[]): Promise<SimulatorChildReport> {
  const [file, requestsArg, compareArg, wasm] = args;
  if (file === undefined || requestsArg === undefined || compareArg === undefined || wasm === undefined) {
    throw new Error("usage: simulator-child.ts <scenario.yaml> <requests> <compare,...> <wasm>");
  }
  const requests = Number(requestsArg);
  const text = withSimulation(readFileSync(file, "utf8"), { requests, compare: compareArg.split(",") });
  const started = performance.now();
  const result = await runSimulation(text, file, { wasm });
  const wallMs = performance.now() - started;
  if ("diagnostics" in result) throw new Error(`simulation failed: ${result.diagnostics.map((d) => `${d.code} ${d.message}`).join("; ")}`);
  for (const run of result.runs) {
    if (run.requests !== requests || run.unanswered !== 0) throw new Error(`run ${run.name}: ${run.requests} requests, ${run.unanswered} unanswered`);
    if (run.filter?.failed) throw new Error(`run ${run.name}: the filter failed`);
  }
  return { requests, runs: result.runs.map((r) => r.name), wallMs, peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}

main(process.argv.slice(2)).then(
  (report) => process.stdout.write(`${JSON.stringify(report)}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
