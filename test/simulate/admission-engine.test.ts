/**
 * The simulator with task admission (issue 8): requests the real filter holds
 * resume at the virtual time it continues them (another stream's end on the
 * same worker, or a tick), local replies to held requests end them then, the
 * admission baselines are compiled as documented, and arrival bursts follow
 * their rates. The timing cases are small enough to compute by hand.
 */
import { describe, expect, it } from "vitest";
import { sidecarBootstrap } from "../../compiler/envoy/index.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { expectedArrivals, expectedSpanMs, nextArrivalMs, rateAt } from "../../simulate/arrivals.js";
import { readClusters } from "../../envoy-model/cluster-table.js";
import { Random, STREAM } from "../../simulate/random.js";
import { planRuns, runModel } from "../../simulate/runs.js";
import type { ArrivalsModel } from "../../simulate/workload/model.js";
import { expectPercentile, policy, simulate, simulateJson, writeTemp } from "../support/simulate.js";

/** client → api (least_load, `endpoints` endpoints, default 1), with `admission` and a simulation section. */
function admissionPolicy(options: { endpoints?: number; admission?: string; connector?: string; simulation: string }): string {
  return policy({ ...options, endpoints: options.endpoints ?? 1, strategy: "least_load", connector: options.connector ?? "{ timeout: 2s }" });
}


describe("held requests resume when the filter continues them", () => {
  it("on the end of another stream of the same worker: at that instant", async () => {
    // One worker, one endpoint, one request in flight at a time. Arrivals at 0, 1 and 2 ms,
    // 10 ms of service each: request 1 waits until request 0 ends at 10 and finishes at 20,
    // request 2 waits until 20 and finishes at 30.
    const file = writeTemp(
      "admission-resume.yaml",
      admissionPolicy({
        admission: "{ maxInFlightPerEndpoint: 1, queueTimeout: 1s }",
        simulation: `  seed: 3
  workers: 1
  arrivals: { process: constant, rate: 1000, requests: 3 }
  backend: { latency: 10ms, concurrency: 10 }
  compare: [least_load, no_admission]`,
      }),
    );
    const result = await simulateJson([file]);
    const [admission, unlimited] = result.runs;
    expect(admission!.name).toBe("least_load");
    expect(admission!.errors).toBe(0);
    expect(admission!.latencyMs.min).toBeCloseTo(10, 6);
    expectPercentile(admission!.latencyMs.p50, 19);
    expect(admission!.latencyMs.max).toBeCloseTo(28, 6);
    expect(admission!.queued.requests).toBe(2);
    expect(admission!.queued.waitMs.min).toBeCloseTo(9, 6);
    expect(admission!.queued.waitMs.max).toBeCloseTo(18, 6);
    // Without admission all three are served at once.
    expect(unlimited!.name).toBe("no_admission");
    expect(unlimited!.latencyMs.max).toBeCloseTo(10, 6);
    expect(unlimited!.queued.requests).toBe(0);
  });

  it("on a tick: a queue timeout answers the held request at the first tick past its deadline", async () => {
    // Request 0 (t=0) holds the only slot for 100 ms. Request 1 (t=1) waits; its 25 ms queue
    // timeout passes at 26, and the worker's 10 ms ticks come at 10, 20, 30: rejected at 30,
    // after 29 ms — not when request 0 ends at 100.
    const file = writeTemp(
      "admission-tick.yaml",
      admissionPolicy({
        admission: "{ maxInFlightPerEndpoint: 1, queueTimeout: 25ms, tick: 10ms }",
        simulation: `  seed: 0
  workers: 1
  arrivals: { process: constant, rate: 1000, requests: 2 }
  backend: { latency: 100ms, concurrency: 10 }
  compare: [least_load]`,
      }),
    );
    const run = (await simulateJson([file])).runs[0]!;
    expect(run.outcomes.localReply).toBe(1);
    expect(run.localReplies).toEqual({ "queue-timeout": 1 });
    expect(run.latencyMs.min).toBeCloseTo(29, 2);
    expect(run.latencyMs.max).toBeCloseTo(100, 6);
    expect(run.queued).toMatchObject({ requests: 1 });
    expect(run.queued.waitMs.max).toBeCloseTo(29, 2);
  });

  it("on a tick of another worker: a slot freed on worker 0 reaches a request held by worker 1 at worker 1's next tick", async () => {
    // Two workers; the seed is chosen so that request 0 (t=0) lands on worker 0 and request 1
    // (t=1) on worker 1 (the engine draws each request's worker from the seeded workers stream).
    const seed = 7;
    const draws = new Random(seed, STREAM.workers);
    expect([draws.int(2), draws.int(2)]).toEqual([0, 1]);
    // Request 0 holds the only slot until 10. Worker 1 learns of the free slot only in its own
    // tick: every 10 ms from when its VM started, which the simulated sidecar places
    // (seed % 4096) × 0.01 ms before time 0, i.e. at 9.93, 19.93, ... Request 1 goes at 19.93
    // and ends 10 ms later: latency 28.93.
    const file = writeTemp(
      "admission-cross-worker.yaml",
      admissionPolicy({
        admission: "{ maxInFlightPerEndpoint: 1, queueTimeout: 1s, tick: 10ms }",
        simulation: `  seed: ${seed}
  workers: 2
  arrivals: { process: constant, rate: 1000, requests: 2 }
  backend: { latency: 10ms }
  compare: [least_load]`,
      }),
    );
    const run = (await simulateJson([file])).runs[0]!;
    expect(run.errors).toBe(0);
    expect(run.latencyMs.min).toBeCloseTo(10, 6);
    expect(run.latencyMs.max).toBeCloseTo(30 - 1 - (seed % 4096) * 0.01, 2);
    expect(run.queued.waitMs.max).toBeCloseTo(20 - 1 - (seed % 4096) * 0.01, 2);
  });

  it("a full queue answers at once, with its reason", async () => {
    // maxQueue 1: of the requests at 0, 1, 2 ms the first is served, the second waits, the third is refused at 2 ms.
    const file = writeTemp(
      "admission-full.yaml",
      admissionPolicy({
        admission: "{ maxInFlightPerEndpoint: 1, maxQueue: 1, queueTimeout: 1s }",
        simulation: `  seed: 3
  workers: 1
  arrivals: { process: constant, rate: 1000, requests: 3 }
  backend: { latency: 10ms }
  compare: [least_load]`,
      }),
    );
    const run = (await simulateJson([file])).runs[0]!;
    expect(run.localReplies).toEqual({ "queue-full": 1 });
    expect(run.errors).toBe(1);
    expect(run.latencyMs.min).toBeCloseTo(0, 6);
    expect(run.latencyMs.max).toBeCloseTo(19, 6);
  });
});

describe("the admission baselines", () => {
  const text = admissionPolicy({
    endpoints: 2,
    connector: "{ timeout: 1s, circuitBreaker: { maxRequests: 50 } }",
    admission: "{ maxInFlightPerEndpoint: 8 }",
    simulation: "  arrivals: { rate: 100, requests: 10 }",
  });
  const model = checkPolicy(text.slice(0, text.indexOf("\nsimulation:")), "p.yaml").model!;

  it("are planned after the policy's strategy, only for a destination with admission", () => {
    const api = model.services.find((s) => s.name === "api")!;
    expect(planRuns(api, undefined).runs.slice(0, 3).map((r) => [r.name, r.kind, r.isPolicy])).toEqual([
      ["least_load", "lightsub", true],
      ["no_admission", "lightsub", false],
      ["circuit_breaker", "lightsub", false],
    ]);
    const { admission: _, ...plain } = api;
    expect(planRuns(plain, undefined).runs.map((r) => r.name)).not.toContain("no_admission");
    expect(planRuns(plain, ["no_admission"]).skipped).toEqual([{ name: "no_admission", reason: 'the policy sets no admission for "api"' }]);
  });

  it("compile without admission; circuit_breaker with max_requests at the admission limit on every endpoint cluster", () => {
    const plugin = (run: "least_load" | "no_admission" | "circuit_breaker") => JSON.stringify(sidecarBootstrap(runModel(model, "api", run), "client"));
    expect(plugin("least_load")).toContain("admission");
    expect(plugin("no_admission")).not.toContain("admission");
    expect(plugin("circuit_breaker")).not.toContain("admission");
    const limits = (run: "no_admission" | "circuit_breaker") =>
      [...readClusters(sidecarBootstrap(runModel(model, "api", run), "client"))].filter(([name]) => name.startsWith("api_ep")).map(([, c]) => c.maxRequests);
    expect(limits("no_admission")).toEqual([50, 50]);
    expect(limits("circuit_breaker")).toEqual([8, 8]);
  });

  it("asking for a baseline without admission is a workload error", async () => {
    const file = writeTemp(
      "admission-none.yaml",
      admissionPolicy({ simulation: "  arrivals: { rate: 100, requests: 10 }\n  compare: [least_load, circuit_breaker]" }),
    );
    const run = await simulate([file]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/admission-none\.yaml:\d+:\d+: error LS215: .*circuit_breaker compares against admission, but the policy sets no admission for "api"/);
  });
});

describe("arrival bursts", () => {
  const arrivals: ArrivalsModel = { process: "poisson", ratePerSec: 100, requests: 0, bursts: [{ atMs: 1000, untilMs: 2000, ratePerSec: 400 }] };

  it("replace the rate inside their window", () => {
    expect([0, 999, 1000, 1999, 2000].map((t) => rateAt(arrivals, t))).toEqual([100, 100, 400, 400, 100]);
    expect(expectedArrivals(arrivals, 3000)).toBeCloseTo(100 + 400 + 100, 9);
    expect(expectedSpanMs(arrivals, 600)).toBeCloseTo(3000, 9);
    expect(expectedSpanMs(arrivals, 50)).toBeCloseTo(500, 9);
  });

  it("draw Poisson gaps at the rate in force, restarting at a rate change", () => {
    const rng = new Random(5, 1);
    let t = 0;
    const times: number[] = [];
    for (let i = 1; t < 3000; i++) times.push((t = nextArrivalMs(arrivals, t, i, rng)));
    const inWindow = (a: number, b: number) => times.filter((x) => x >= a && x < b).length;
    // 100/s outside, 400/s inside: counts within a few standard deviations.
    expect(inWindow(0, 1000)).toBeGreaterThan(60);
    expect(inWindow(0, 1000)).toBeLessThan(140);
    expect(inWindow(1000, 2000)).toBeGreaterThan(330);
    expect(inWindow(1000, 2000)).toBeLessThan(470);
    expect(inWindow(2000, 3000)).toBeLessThan(140);
  });

  it("set the request count of a duration, show in the scenario and are checked", async () => {
    const file = writeTemp(
      "bursts.yaml",
      admissionPolicy({
        simulation: `  arrivals: { process: constant, rate: 100, duration: 3s, bursts: [{ at: 1s, until: 2s, rate: 400 }] }
  compare: [envoy:ROUND_ROBIN]`,
      }),
    );
    const result = await simulateJson([file]);
    expect(result.scenario.arrivals).toEqual({ process: "constant", ratePerSec: 100, requests: 600, bursts: [{ atMs: 1000, untilMs: 2000, ratePerSec: 400 }] });
    const series = result.runs[0]!.series;
    const perSecond = [0, 1, 2].map((s) => series.requests.slice((s * 1000) / series.bucketMs, ((s + 1) * 1000) / series.bucketMs).reduce((a, b) => a + b, 0));
    expect(perSecond).toEqual([100, 400, 100]);

    const bad = writeTemp(
      "bursts-bad.yaml",
      admissionPolicy({ simulation: "  arrivals: { rate: 100, duration: 3s, bursts: [{ at: 1s, until: 2s, rate: 400 }, { at: 1.5s, until: 1.5s, rate: 5 }] }" }),
    );
    const run = await simulate([bad]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("LS214");
    expect(run.err).toMatch(/bursts\[1\]\.until must be after at/);
    expect(run.err).toMatch(/bursts\[1\]\.at overlaps arrivals\.bursts\[0\]/);
  });
});

describe("a request header mix", () => {
  it("draws each request's value by its share, reaches the filter, and breaks the results down per value", async () => {
    // Priority levels with one slot: while the first request is served, a batch and then a
    // critical request wait; the critical one goes first when the slot frees.
    const file = writeTemp(
      "mix.yaml",
      admissionPolicy({
        admission: "{ maxInFlightPerEndpoint: 1, queueTimeout: 1s, priorityFrom: { header: x-priority }, levels: [critical, batch] }",
        simulation: `  seed: 2
  workers: 1
  arrivals: { rate: 40, requests: 400 }
  request:
    mix: { header: x-priority, values: { critical: 1, batch: 3 } }
  backend: { latency: { distribution: exponential, mean: 20ms } }
  compare: [least_load, no_admission]`,
      }),
    );
    const result = await simulateJson([file]);
    const [admission, unlimited] = result.runs;
    const [critical, batch] = admission!.byMix!.classes;
    expect(admission!.byMix!.header).toBe("x-priority");
    expect([critical!.value, batch!.value]).toEqual(["critical", "batch"]);
    expect(critical!.requests + batch!.requests).toBe(400);
    // 1:3 shares: about 100 critical requests (binomial, sd ≈ 8.7).
    expect(critical!.requests).toBeGreaterThan(70);
    expect(critical!.requests).toBeLessThan(130);
    // The filter read the header: critical requests wait less than batch ones.
    expect(admission!.queued.requests).toBeGreaterThan(20);
    expect(critical!.latencyMs.mean).toBeLessThan(batch!.latencyMs.mean);
    // The same draws in every run (common random numbers): the same split without admission.
    expect(unlimited!.byMix!.classes.map((c) => c.requests)).toEqual([critical!.requests, batch!.requests]);
  });

  it("needs a value with a share above 0", async () => {
    const file = writeTemp("mix-zero.yaml", admissionPolicy({ simulation: "  arrivals: { rate: 100, requests: 10 }\n  request:\n    mix: { header: x-p, values: { a: 0, b: 0 } }" }));
    const run = await simulate([file]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(/mix-zero\.yaml:\d+:\d+: error LS207: simulation\.request\.mix\.values needs at least one value with a share above 0/);
  });
});
