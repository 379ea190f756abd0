/**
 * Shared by the simulate tests: small policies written to a temp dir and run
 * through the simulate command (the function `lightsub simulate` calls).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";
import { LATENCY_RELATIVE_ERROR } from "../../simulate/metrics.js";
import { simulateCommand } from "../../cli/simulate.js";
import type { SimulationResult } from "../../simulate/result.js";

export const dir = mkdtempSync(join(tmpdir(), "lightsub-simulate-"));

export function writeTemp(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

export interface CommandRun {
  code: number;
  out: string;
  err: string;
}

export async function simulate(args: string[]): Promise<CommandRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await simulateCommand(args, {
    out: (t) => out.push(t),
    err: (t) => err.push(t),
    progress: { update() {}, clear() {} },
  });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

export async function simulateJson(args: string[]): Promise<SimulationResult> {
  const run = await simulate([...args, "--json"]);
  if (run.code !== 0) throw new Error(`simulate exited ${run.code}:\n${run.err}`);
  return JSON.parse(run.out) as SimulationResult;
}

/** A caller and a destination with `endpoints` (address api-<i>:9000), and a simulation section. */
export function policy(options: {
  endpoints: number;
  strategy?: string;
  scheduler?: string;
  connector?: string;
  weights?: number[];
  /** The destination's admission block, e.g. `{ maxInFlightPerEndpoint: 4 }`. */
  admission?: string;
  simulation: string;
}): string {
  const endpoints = Array.from({ length: options.endpoints }, (_, i) => {
    const weight = options.weights ? `, weight: ${options.weights[i]}` : "";
    return `        - { address: api-${i + 1}, port: 9000${weight} }`;
  }).join("\n");
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: sim }
spec:
  services:
    - name: client
      port: 8080
      endpoints:
        - { address: client, port: 8080 }
      calls: [api]
    - name: api
      port: 9000
      endpoints:
${endpoints}
      scheduler: ${options.scheduler ?? `{ strategy: ${options.strategy ?? "round_robin"} }`}
${options.connector ? `      connector: ${options.connector}\n` : ""}${options.admission ? `      admission: ${options.admission}\n` : ""}
simulation:
${options.simulation}
`;
}

/** An example scenario made smaller for a test: a request count instead of a duration, and only some runs. */
export function shrunkExample(name: string, requests: number, compare?: string[]): string {
  const text = readFileSync(new URL(`../../examples/simulate/${name}`, import.meta.url), "utf8");
  let shrunk = text.replace(/duration: [0-9.]+s/, `requests: ${requests}`);
  if (compare) shrunk = shrunk.replace(/^simulation:\n/m, `simulation:\n  compare: [${compare.join(", ")}]\n`);
  if (shrunk === text) throw new Error(`could not shrink ${name}`);
  return shrunk;
}

/** A percentile from the simulator's latency histograms: at or above the exact value, by at most the documented relative error. */
export function expectPercentile(actual: number, exact: number, label?: string): void {
  expect(actual, label).toBeGreaterThanOrEqual(exact - 0.0005);
  expect(actual, label).toBeLessThanOrEqual(exact * (1 + LATENCY_RELATIVE_ERROR) + 0.0005);
}
