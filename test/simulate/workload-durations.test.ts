/**
 * Workload durations use the policy's one duration grammar
 * (compiler/policy/duration.ts): sums such as 1m30s, fractions and
 * microseconds are accepted wherever a workload takes a duration, and resolve
 * to the same milliseconds a policy would mean (issue 15: simulate/duration.ts
 * once had its own grammar that rejected 1m30s).
 */
import { describe, expect, it } from "vitest";
import { parseDurationUs } from "../../compiler/policy/duration.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { checkWorkload, locateWorkload, splitPolicy } from "../../simulate/workload/index.js";
import { policy } from "../support/simulate.js";

function resolve(simulation: string) {
  const text = policy({ endpoints: 2, connector: "{ timeout: 1m30s }", simulation });
  const split = splitPolicy(text, "p.yaml");
  const { model, diagnostics: policyDiagnostics } = checkPolicy(split.policyText, "p.yaml");
  expect(policyDiagnostics.filter((d) => d.severity === "error")).toEqual([]);
  const located = locateWorkload("p.yaml", split, undefined);
  expect(located.diagnostics).toEqual([]);
  return checkWorkload(located.workload!, model!);
}

describe("workload durations: the policy's grammar", () => {
  it("accepts sums (1m30s), fractions and microseconds, resolved exactly", () => {
    const { workload, diagnostics } = resolve(`  arrivals: { process: constant, rate: 10, duration: 1m30s, bursts: [{ at: 1m0.5s, until: 1m1s, rate: 20 }] }
  backend:
    latency: { distribution: constant, value: 1ms250us }
  endpoints:
    - endpoint: api-2:9000
      events:
        - { at: 0.5m, until: 1m15s, slowdown: 3 }`);
    expect(diagnostics).toEqual([]);
    // 90 s at 10/s, and 0.5 s of it (60.5 s to 61 s) at 20/s instead: 900 + 0.5 × 10.
    expect(workload!.arrivals.bursts).toEqual([{ atMs: 60_500, untilMs: 61_000, ratePerSec: 20 }]);
    expect(workload!.arrivals.requests).toBe(905);
    expect(workload!.endpoints[0]!.latency).toEqual({ distribution: "constant", valueMs: 1.25 });
    expect(workload!.endpoints[1]!.timeline.map((c) => c.atMs)).toEqual([0, 30_000, 75_000]);
  });

  it("a duration the grammar rejects is LS208 with the grammar's hint, and zero where a positive one is needed is LS208 too", () => {
    const bad = resolve(`  arrivals: { rate: 10, duration: 1 min 30 sec }`);
    expect(bad.diagnostics.map((d) => [d.code, d.message])).toEqual([
      ["LS208", `simulation.arrivals.duration: "1 min 30 sec" is not a duration (did you mean "1m30s"?)`],
    ]);
    const zero = resolve(`  arrivals: { rate: 10, duration: 0m0s }`);
    expect(zero.diagnostics.map((d) => [d.code, d.message])).toContainEqual(["LS208", "simulation.arrivals.duration must be more than zero"]);
    expect(parseDurationUs("0m0s")).toEqual({ ok: true, us: 0 });
  });
});
