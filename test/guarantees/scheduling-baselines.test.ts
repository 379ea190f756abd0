/**
 * Issue 16: least_latency against the published balancers, in the simulator
 * (virtual time, deterministic by seed: the relations below do not depend on
 * the machine's load). The scenarios are the examples the benchmark's figure 7
 * runs, shortened; npm run bench -- --only scheduling-baselines gives the full
 * numbers over three seeds.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { recoverySeconds } from "../../bench/baselines.js";
import { withSimulation } from "../../bench/simulator-figures.js";
import type { SimulationResult } from "../../simulate/result.js";
import { policy, simulate, simulateJson, writeTemp } from "../support/simulate.js";

function example(name: string, requests: number, compare: string[]): string {
  const text = readFileSync(new URL(`../../examples/simulate/${name}.yaml`, import.meta.url), "utf8");
  return writeTemp(`${name}-${requests}.yaml`, withSimulation(text, { requests, compare }));
}

function p99(result: SimulationResult, run: string): number {
  const found = result.runs.find((r) => r.name === run);
  if (!found) throw new Error(`no run ${run}`);
  return found.latencyMs.p99;
}

function share(result: SimulationResult, run: string, endpoint: number): number {
  return result.runs.find((r) => r.name === run)!.endpoints[endpoint]!.share;
}

describe("least_latency against the published balancers (issue 16)", () => {
  it("brpc#3367, two slow backends of four: near the oracle, where P2C + peak EWMA stays at round robin's p99", async () => {
    const result = await simulateJson([example("brpc-two-slow", 12_000, ["least_latency", "round_robin", "peer:P2C_PEAK_EWMA", "oracle"])]);
    const rr = p99(result, "round_robin");
    // The target: least_latency's gain over round robin is ≥ 0.9 × the oracle's.
    expect(rr / p99(result, "least_latency")).toBeGreaterThanOrEqual(0.9 * (rr / p99(result, "oracle")));
    // P2C's blind spot (two slow drawn one time in six) is real in the model: it gains almost nothing.
    expect(rr / p99(result, "peer:P2C_PEAK_EWMA")).toBeLessThan(1.5);
    expect(share(result, "least_latency", 2) + share(result, "least_latency", 3)).toBeLessThan(0.005);
  });

  it("brpc#3367, one slow backend of four: near the oracle", async () => {
    const result = await simulateJson([example("brpc-one-slow", 12_000, ["least_latency", "round_robin", "oracle"])]);
    const rr = p99(result, "round_robin");
    expect(rr / p99(result, "least_latency")).toBeGreaterThanOrEqual(0.9 * (rr / p99(result, "oracle")));
  });

  it("tower#76 (1, 10×4, 100×4, 1000 ms; 50 in flight): ≥ 30× better than round robin, where P2C + peak EWMA is about 10×", async () => {
    const result = await simulateJson([example("tower-76", 8_000, ["least_latency", "round_robin", "peer:P2C_PEAK_EWMA"])]);
    const rr = p99(result, "round_robin");
    expect(rr).toBeGreaterThanOrEqual(999); // every tenth request waits for the 1000 ms endpoint
    expect(rr / p99(result, "least_latency")).toBeGreaterThanOrEqual(30);
    const p2cGain = rr / p99(result, "peer:P2C_PEAK_EWMA");
    expect(p2cGain).toBeGreaterThan(3); // tower publishes 9.4×
    expect(p2cGain).toBeLessThan(30);
  });

  it("many callers with stale views and queueing backends: no worse than P2C + peak EWMA (± 5 %), and always-the-fastest herds", async () => {
    const result = await simulateJson([example("many-callers", 40_000, ["least_latency", "peer:P2C_PEAK_EWMA", "peer:FASTEST", "oracle"])]);
    expect(result.runs.every((r) => r.errors === 0)).toBe(true);
    const p2c = p99(result, "peer:P2C_PEAK_EWMA");
    expect(p99(result, "least_latency")).toBeLessThanOrEqual(1.05 * p2c);
    expect(p99(result, "peer:FASTEST")).toBeGreaterThan(1.5 * p2c);
  }, 120_000);

  it("an endpoint that is fast again gets its fair share back within 10 s (P2C + peak EWMA takes longer)", async () => {
    const result = await simulateJson([example("recovering-endpoint", 16_000, ["least_latency", "peer:P2C_PEAK_EWMA"])]);
    const mine = recoverySeconds(result, result.runs.find((r) => r.name === "least_latency")!)!;
    const p2c = recoverySeconds(result, result.runs.find((r) => r.name === "peer:P2C_PEAK_EWMA")!)!;
    expect(mine).toBeLessThanOrEqual(10);
    expect(p2c).toBeGreaterThan(mine);
    // While it was 20× slower, it got next to nothing.
    const run = result.runs.find((r) => r.name === "least_latency")!;
    const { bucketMs, tries } = run.series;
    const during = (e: number) => tries[e]!.slice(Math.ceil(7000 / bucketMs), Math.floor(15000 / bucketMs)).reduce((a, b) => a + b, 0);
    expect(during(3) / (during(0) + during(1) + during(2) + during(3))).toBeLessThan(0.03);
  });
});

describe("simulator: closed loop and several callers", () => {
  it("a closed loop keeps exactly `clients` requests in flight", async () => {
    const file = writeTemp(
      "closed.yaml",
      policy({ endpoints: 1, simulation: "  arrivals: { clients: 5, requests: 100 }\n  backend: { latency: 10ms, concurrency: 100 }\n  compare: [round_robin, envoy:ROUND_ROBIN]" }),
    );
    const result = await simulateJson([file]);
    for (const run of result.runs) {
      expect(run.ok).toBe(100);
      expect(run.unanswered).toBe(0);
      // 100 requests, 5 at a time, 10 ms each: 20 rounds.
      expect(run.spanMs).toBeCloseTo(200, 3);
      expect(run.latencyMs.p99).toBeCloseTo(10, 3);
    }
  });

  it("closed-loop clients need a request count", async () => {
    const file = writeTemp("closed-bad.yaml", policy({ endpoints: 1, simulation: "  arrivals: { clients: 5, duration: 1s }" }));
    const run = await simulate([file]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/requests/);
  });

  it("several callers are refused for a destination with admission", async () => {
    const file = writeTemp(
      "callers-admission.yaml",
      policy({ endpoints: 2, admission: "{ maxInFlightPerEndpoint: 4 }", simulation: "  callers: 3\n  arrivals: { rate: 100, requests: 100 }" }),
    );
    const run = await simulate([file]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/LS206: .*callers/);
  });

  it("each caller has its own Envoy balancer state: LEAST_REQUEST sees only its own requests", async () => {
    // Two endpoints, one of them slow; with many callers each caller's LEAST_REQUEST sees few of the
    // requests in flight, so it balances worse than one caller that sees them all.
    const simulation = (callers: number) =>
      `  callers: ${callers}\n  workers: 1\n  arrivals: { rate: 400, requests: 4000 }\n  backend: { latency: 5ms, concurrency: 100 }\n  endpoints:\n    - { endpoint: 1, latency: 50ms }\n  compare: [envoy:LEAST_REQUEST]`;
    const one = await simulateJson([writeTemp("callers-1.yaml", policy({ endpoints: 2, simulation: simulation(1) }))]);
    const many = await simulateJson([writeTemp("callers-20.yaml", policy({ endpoints: 2, simulation: simulation(20) }))]);
    expect(many.runs[0]!.endpoints[1]!.share).toBeGreaterThan(one.runs[0]!.endpoints[1]!.share + 0.05);
  });
});
