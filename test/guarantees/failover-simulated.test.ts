/**
 * Issue 14 in the simulator: one of two endpoints answers 503 to everything.
 * With `retries` the scheduled endpoint's cluster holds the other endpoint at
 * priority 1 and the route's previous_priorities sends a retry there, so the
 * policy's strategies fail about as few requests as Envoy's native balancers
 * (before: 50 % under round_robin, 25 % under weighted 3:1, whose retries went
 * back to the same host). Without retries, the filter's ejection keeps the
 * failures to a few (filter/lightsub/records/shared.ts Ejection). The same run
 * on real Envoy: test/e2e/failover.test.ts.
 */
import { describe, expect, it } from "vitest";
import { policy, simulateJson, writeTemp } from "../support/simulate.js";

const RUNS = ["round_robin", "weighted", "random", "least_load", "least_latency", "availability", "envoy:ROUND_ROBIN", "envoy:RANDOM"];

function scenario(rate: number, connector: string | undefined, weights = [3, 1], runs = RUNS): string {
  return policy({
    endpoints: 2,
    weights,
    strategy: "round_robin",
    ...(connector ? { connector } : {}),
    simulation: `  seed: 7
  compare: [${runs.join(", ")}]
  arrivals: { process: poisson, rate: ${rate}, requests: 3000 }
  backend:
    latency: { distribution: lognormal, median: 8ms, p99: 40ms }
    concurrency: 50
  endpoints:
    - endpoint: api-2:9000
      events:
        - { at: 0s, errorRate: 1 }`,
  });
}

describe("retries reach another endpoint (issue 14)", () => {
  it("fail (almost) nothing under every strategy when retries are not limited by Envoy's retry breaker", async () => {
    const result = await simulateJson([writeTemp("fo-low.yaml", scenario(40, "{ retries: { attempts: 2, on: [5xx] } }"))]);
    const rate = new Map(result.runs.map((r) => [r.name, r.errorRate]));
    expect([...rate.keys()].sort()).toEqual([...RUNS].sort());
    for (const run of result.runs) {
      if (run.kind !== "lightsub") continue;
      expect(run.errorRate, run.name).toBeLessThanOrEqual(Math.max(0.01, rate.get("envoy:ROUND_ROBIN")!));
      // Failed first tries were retried on the other endpoint.
      expect(run.retries, run.name).toBeGreaterThan(0);
    }
  }, 60_000);

  // Envoy's ROUND_ROBIN with the same weights sends the same share of first tries to the failing endpoint.
  for (const [strategy, weights] of [
    ["round_robin", [1, 1]],
    ["weighted", [3, 1]],
  ] as const) {
    it(`${strategy} (weights ${weights.join(":")}) fails no more than Envoy's ROUND_ROBIN when the retry breaker (3 concurrent retries) limits retries`, async () => {
      const file = writeTemp(`fo-high-${strategy}.yaml`, scenario(300, "{ retries: { attempts: 2, on: [5xx] } }", [...weights], [strategy, "envoy:ROUND_ROBIN"]));
      const result = await simulateJson([file]);
      const rate = new Map(result.runs.map((r) => [r.name, r.errorRate]));
      const native = rate.get("envoy:ROUND_ROBIN")!;
      expect(native).toBeGreaterThan(0.005); // the breaker does bite here
      expect(rate.get(strategy)!).toBeLessThanOrEqual(native + 0.02);
    }, 60_000);
  }

  it("without retries, Envoy's own balancers fail the endpoint's share; every lightsub strategy ejects it (≤ 5 + in flight + probes failures)", async () => {
    const result = await simulateJson([writeTemp("fo-none.yaml", scenario(40, undefined))]);
    const rate = new Map(result.runs.map((r) => [r.name, r.errorRate]));
    expect(rate.get("envoy:ROUND_ROBIN")!).toBeGreaterThan(0.2); // weights 3:1: a quarter of the first tries
    for (const run of result.runs) {
      if (run.kind !== "lightsub") continue;
      // 3,000 requests over 75 s: 5 failures to eject, probes at ejection times 1, 2, 3, ... s (≤ 12), a few in
      // flight. availability keeps its own probe rhythm (probeInterval, 1 s: ≤ 75 probes), still ≤ 3 %.
      expect(run.errorRate * 3000, run.name).toBeLessThanOrEqual(run.name === "availability" ? 90 : 30);
    }
  }, 60_000);
});
