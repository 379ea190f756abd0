/**
 * The workload's `overhead` (issue 18 figure 3): time per try outside the
 * endpoint's service time, a request leg before the endpoint has the request
 * and a response leg after it answers. Without it the simulator runs exactly
 * as before; with it latencies grow by the legs, the try stays in flight
 * during them (Envoy's LEAST_REQUEST and the filter see more in flight), and
 * timeouts still cut a try on its way.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { resultJson } from "../../simulate/result.js";
import { runSimulation } from "../../simulate/simulation.js";
import type { SimulationResult } from "../../simulate/result.js";
import { expectPercentile, policy, shrunkExample, simulate, simulateJson, writeTemp } from "../support/simulate.js";

async function run(text: string, name: string): Promise<SimulationResult> {
  const result = await runSimulation(text, name, { threads: 1 });
  if (!("runs" in result)) throw new Error(JSON.stringify(result.diagnostics));
  return result;
}

const NATIVE = ["envoy:ROUND_ROBIN", "envoy:LEAST_REQUEST", "envoy:RANDOM"];

describe("without overhead the results are those from before it existed", () => {
  // sha256 of resultJson for these inputs, computed with the simulator of commit 1d627a9 (before `overhead`).
  // Native runs only: they do not depend on the filter, which other work may change.
  it.each([
    ["slow-endpoint.yaml", 2000, "93002d89f61a1a3075197a57f2e9cdd3047725597da27fe050e793a1a659ca13"],
    ["failing-endpoint.yaml", 3000, "1ca93b1b8804115ece2d076c053be1e721a8625582135277f8c80e560f34bbdf"],
  ] as const)("%s, %i requests: byte for byte", async (example, requests, digest) => {
    const text = shrunkExample(example, requests, NATIVE);
    const json = resultJson(await run(text, example));
    expect(json).not.toContain('"overhead"');
    expect(createHash("sha256").update(json).digest("hex")).toBe(digest);
  });
});

describe("with overhead", () => {
  it("every request takes its service time plus both legs (constant legs, one endpoint that keeps up)", async () => {
    const result = await simulateJson([
      writeTemp(
        "overhead-exact.yaml",
        policy({
          endpoints: 1,
          simulation: `  compare: [round_robin, least_latency, envoy:ROUND_ROBIN, envoy:LEAST_REQUEST]
  arrivals: { process: constant, rate: 100, requests: 500 }
  backend: { latency: 10ms, concurrency: 1 }
  overhead: { request: 1ms, response: 2500us }`,
        }),
      ),
    ]);
    expect(result.scenario.overhead).toEqual({ request: "constant 1ms", response: "constant 2.5ms", meanMs: 3.5 });
    for (const r of result.runs) {
      expect(r.ok, r.name).toBe(500);
      expectPercentile(r.latencyMs.p50, 13.5, r.name);
      expectPercentile(r.latencyMs.max, 13.5, r.name);
    }
  });

  it("the endpoint gets the request after the request leg: with a concurrency of 1 it still keeps up, as the legs are not its time", async () => {
    // Service 9 ms per 10 ms arrival gap: no queue at the endpoint, whatever the legs; 20 ms of legs per try.
    const result = await simulateJson([
      writeTemp(
        "overhead-not-service.yaml",
        policy({
          endpoints: 1,
          simulation: `  compare: [envoy:ROUND_ROBIN]
  arrivals: { process: constant, rate: 100, requests: 300 }
  backend: { latency: 9ms, concurrency: 1, queueLimit: 0 }
  overhead: { request: 10ms, response: 10ms }`,
        }),
      ),
    ]);
    const r = result.runs[0]!;
    expect(r.ok).toBe(300);
    expectPercentile(r.latencyMs.p99, 29, r.name);
  });

  it("a try is in flight during both legs: Envoy's circuit breaker and the filter's admission limit count it", async () => {
    // One endpoint, a request every 10 ms served in 8 ms: one in flight at a time without the legs,
    // two at times with 2 ms on each leg (12 ms per try), which a limit of 1 turns away.
    const text = (overhead: string, limit: "breaker" | "admission") =>
      policy({
        endpoints: 1,
        ...(limit === "breaker" ? { connector: "{ circuitBreaker: { maxRequests: 1 } }" } : { admission: "{ maxInFlightPerEndpoint: 1, maxQueue: 0 }" }),
        simulation: `  compare: [${limit === "breaker" ? "envoy:ROUND_ROBIN" : "least_load"}]
  workers: 1
  arrivals: { process: constant, rate: 100, requests: 200 }
  backend: { latency: 8ms }
${overhead}`,
      });
    for (const limit of ["breaker", "admission"] as const) {
      const [without, withLegs] = [
        await simulateJson([writeTemp(`inflight-${limit}-0.yaml`, text("", limit))]),
        await simulateJson([writeTemp(`inflight-${limit}-1.yaml`, text("  overhead: { request: 2ms, response: 2ms }", limit))]),
      ];
      expect(without.runs[0]!.ok, limit).toBe(200);
      // Every second request finds the previous one still in flight (arrivals at 0, 10, 20 ms; tries end at 12, 22+...).
      expect(withLegs.runs[0]!.ok, limit).toBeLessThan(200);
      expect(withLegs.runs[0]!.ok, limit).toBeGreaterThan(0);
    }
  });

  it("Envoy's LEAST_REQUEST and least_load send the slow endpoint more with the legs (they see the fast ones busier)", async () => {
    const base = shrunkExample("slow-endpoint.yaml", 4000, ["envoy:LEAST_REQUEST", "least_load"]);
    const withLegs = base.replace(/^simulation:\n/m, "simulation:\n  overhead: { request: { distribution: exponential, mean: 5ms }, response: { distribution: exponential, mean: 5ms } }\n");
    expect(withLegs).not.toBe(base);
    const [without, withOverhead] = [await run(base, "a.yaml"), await run(withLegs, "b.yaml")];
    for (const name of ["envoy:LEAST_REQUEST", "least_load"]) {
      const a = without.runs.find((r) => r.name === name)!;
      const b = withOverhead.runs.find((r) => r.name === name)!;
      const slow = b.endpoints.length - 1;
      expect(b.endpoints[slow]!.share, name).toBeGreaterThan(a.endpoints[slow]!.share + 0.01);
      expect(b.latencyMs.p50!, name).toBeGreaterThan(a.latencyMs.p50! + 5);
    }
  });

  it("is deterministic: the same seed gives the same result, another seed another one", async () => {
    const text = shrunkExample("slow-endpoint.yaml", 1500, ["least_latency", "envoy:LEAST_REQUEST"]).replace(
      /^simulation:\n/m,
      "simulation:\n  overhead: { request: { distribution: lognormal, median: 100us, p99: 2ms }, response: { distribution: lognormal, median: 100us, p99: 2ms } }\n",
    );
    const a = resultJson(await run(text, "s.yaml"));
    expect(resultJson(await run(text, "s.yaml"))).toBe(a);
    const other = text.replace(/seed: \d+/, "seed: 99");
    expect(other).not.toBe(text);
    expect(resultJson(await run(other, "s.yaml"))).not.toBe(a);
  });

  it("a per-try timeout cuts a try during its request leg: the endpoint never starts on it", async () => {
    const result = await simulateJson([
      writeTemp(
        "overhead-timeout.yaml",
        policy({
          endpoints: 1,
          connector: "{ timeout: 30ms }",
          simulation: `  compare: [envoy:ROUND_ROBIN]
  arrivals: { process: constant, rate: 10, requests: 20 }
  backend: { latency: 1ms }
  overhead: { request: 50ms }`,
        }),
      ),
    ]);
    const r = result.runs[0]!;
    expect(r.ok).toBe(0);
    expect(r.requests).toBe(20);
    expectPercentile(r.latencyMs.p50, 30, r.name);
    // Tries that were cut on the way still count as sent to the endpoint (Envoy picked it).
    expect(r.endpoints[0]!.share).toBe(1);
  });

  it("refuses a leg that is not a positive duration, and unknown keys, at their position", async () => {
    const file = writeTemp(
      "overhead-bad.yaml",
      policy({
        endpoints: 1,
        simulation: `  arrivals: { process: constant, rate: 10, requests: 20 }
  overhead: { request: 0ms, reply: 1ms }`,
      }),
    );
    const { code, err } = await simulate([file]);
    expect(code).toBe(1);
    expect(err).toMatch(/overhead-bad\.yaml:\d+:\d+: error LS\d+: .*overhead/);
    expect(err).toMatch(/reply/);
    expect(err).not.toMatch(/\n\s+at /);
  });
});
