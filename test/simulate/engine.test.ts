/**
 * The simulator end to end through the simulate command, with the built
 * filter: exact answers where queueing theory gives them, determinism,
 * the strategies' differences on the example scenarios, the JSON shape.
 */
import { describe, expect, it } from "vitest";
import { expectPercentile, policy, shrunkExample, simulate, simulateJson, writeTemp } from "../support/simulate.js";

describe("known answers (constant latency, one endpoint)", () => {
  it("serves every request in exactly its service time when the endpoint keeps up", async () => {
    const file = writeTemp(
      "exact.yaml",
      policy({
        endpoints: 1,
        simulation: `  arrivals: { process: constant, rate: 100, requests: 1000 }
  backend: { latency: 10ms, concurrency: 1 }`,
      }),
    );
    const result = await simulateJson([file]);
    expect(result.runs.length).toBeGreaterThan(5);
    for (const run of result.runs) {
      expect(run.requests, run.name).toBe(1000);
      expect(run.ok, run.name).toBe(1000);
      expect(run.latencyMs.p50, run.name).toBeCloseTo(10, 9);
      expect(run.latencyMs.p99, run.name).toBeCloseTo(10, 9);
      expect(run.latencyMs.max, run.name).toBeCloseTo(10, 9);
      // 1000 answers between t=0 (first arrival) and t=10 s (last answer).
      expect(run.spanMs, run.name).toBeCloseTo(10_000, 6);
      expect(run.throughputRps, run.name).toBeCloseTo(100, 6);
      expect(run.endpoints[0]!.share, run.name).toBe(1);
    }
  });

  it("queues at the concurrency limit: request i waits for the i before it", async () => {
    // Arrivals every 5 ms, one slot, 10 ms each: request i (from 0) arrives at 5i,
    // starts at 10i and ends at 10(i+1), so its latency is 5i + 10 ms.
    const file = writeTemp(
      "queue.yaml",
      policy({
        endpoints: 1,
        simulation: `  compare: [round_robin, envoy:ROUND_ROBIN, oracle]
  arrivals: { process: constant, rate: 200, requests: 1000 }
  backend: { latency: 10ms, concurrency: 1 }`,
      }),
    );
    const result = await simulateJson([file]);
    expect(result.runs.map((r) => r.name)).toEqual(["round_robin", "envoy:ROUND_ROBIN", "oracle"]);
    for (const run of result.runs) {
      // Nearest rank: p50 is the 500th smallest (i = 499), p99 the 990th (i = 989).
      expectPercentile(run.latencyMs.p50, 5 * 499 + 10, run.name);
      expectPercentile(run.latencyMs.p99, 5 * 989 + 10, run.name);
      expect(run.latencyMs.max, run.name).toBeCloseTo(5 * 999 + 10, 6);
      // The endpoint's capacity, not the offered 200/s.
      expect(run.throughputRps, run.name).toBeCloseTo(100, 6);
    }
  });

  it("answers 504 at the route timeout when the endpoint is slower", async () => {
    const file = writeTemp(
      "timeout.yaml",
      policy({
        endpoints: 1,
        connector: "{ timeout: 20ms }",
        simulation: `  compare: [round_robin, envoy:LEAST_REQUEST]
  arrivals: { process: constant, rate: 50, requests: 200 }
  backend: { latency: 50ms }`,
      }),
    );
    const result = await simulateJson([file]);
    for (const run of result.runs) {
      expect(run.outcomes.timeout, run.name).toBe(200);
      expect(run.errorRate, run.name).toBe(1);
      expect(run.latencyMs.p50, run.name).toBeCloseTo(20, 9);
      expect(run.latencyMs.max, run.name).toBeCloseTo(20, 9);
      expect(run.throughputRps, run.name).toBe(0);
    }
  });

  it("retries per-try timeouts on the same endpoint, with Envoy's jittered back-off", async () => {
    const file = writeTemp(
      "retries.yaml",
      policy({
        endpoints: 1,
        connector: "{ timeout: 2s, retries: { attempts: 2, on: [5xx], perTryTimeout: 30ms } }",
        // 5/s: one request at a time, so Envoy's 3 concurrent retries (max_retries) never overflow.
        simulation: `  compare: [least_load]
  arrivals: { process: constant, rate: 5, requests: 100 }
  backend: { latency: 100ms }`,
      }),
    );
    const [run] = (await simulateJson([file])).runs;
    expect(run!.tries).toBe(300);
    expect(run!.retries).toBe(200);
    expect(run!.outcomes.timeout).toBe(100);
    // Three 30 ms tries plus back-offs drawn from [0, 25) and [0, 75) ms.
    expect(run!.latencyMs.min).toBeGreaterThanOrEqual(90);
    expect(run!.latencyMs.max).toBeLessThan(90 + 25 + 75);
    expect(run!.latencyMs.max).toBeGreaterThan(run!.latencyMs.min);
  });

  it("retries 503s to another endpoint on the native path and succeeds", async () => {
    const file = writeTemp(
      "retry-5xx.yaml",
      policy({
        endpoints: 2,
        connector: "{ timeout: 2s, retries: { attempts: 1, on: [5xx] } }",
        simulation: `  compare: [envoy:ROUND_ROBIN]
  arrivals: { process: constant, rate: 100, requests: 400 }
  backend: { latency: 5ms }
  endpoints:
    - { endpoint: 0, errorRate: 1 }`,
      }),
    );
    const [run] = (await simulateJson([file])).runs;
    // Every try on api-1 fails; Envoy's previous_hosts predicate sends its retry to api-2.
    expect(run!.errorRate).toBe(0);
    expect(run!.retries).toBeGreaterThan(0);
    expect(run!.endpoints[0]!.failedTries).toBe(run!.retries);
    expect(run!.endpoints[0]!.tries).toBe(run!.retries);
    expect(run!.endpoints[1]!.tries).toBe(400);
    expect(run!.endpoints[1]!.failedTries).toBe(0);
  });
});

describe("determinism", () => {
  it("gives the same result for the same seed, and a different one for another seed", async () => {
    const file = writeTemp("slow-small.yaml", shrunkExample("slow-endpoint.yaml", 3000, ["least_latency", "random", "envoy:LEAST_REQUEST", "oracle"]));
    const a = await simulate([file, "--json", "--seed", "42"]);
    const b = await simulate([file, "--json", "--seed", "42"]);
    const c = await simulate([file, "--json", "--seed", "43"]);
    expect(a.code).toBe(0);
    expect(a.out).toBe(b.out);
    expect(c.out).not.toBe(a.out);
    expect(JSON.parse(a.out).seed).toBe(42);
  });
});

describe("strategies on the example scenarios", () => {
  it("scenario 1: least_latency beats round_robin's p99 when one endpoint is 10x slower", async () => {
    const file = writeTemp("slow.yaml", shrunkExample("slow-endpoint.yaml", 8000, ["least_latency", "round_robin", "oracle"]));
    const result = await simulateJson([file]);
    const ll = result.runs.find((r) => r.name === "least_latency")!;
    const rr = result.runs.find((r) => r.name === "round_robin")!;
    expect(ll.isPolicy).toBe(true);
    expect(ll.latencyMs.p99).toBeLessThan(rr.latencyMs.p99 / 2);
    // round_robin gives the slow endpoint its quarter; least_latency mostly avoids it.
    expect(rr.endpoints[3]!.share).toBeCloseTo(0.25, 2);
    expect(ll.endpoints[3]!.share).toBeLessThan(0.1);
    expect(ll.filter).toEqual({ unscheduled: 0, errorLogs: 0, failed: false });
  });

  it("scenario 2: availability and round_robin (the filter's ejection) beat Envoy's round robin on error rate when an endpoint fails for a while", async () => {
    const file = writeTemp("failing.yaml", shrunkExample("failing-endpoint.yaml", 8000, ["availability", "round_robin", "envoy:ROUND_ROBIN"]));
    const result = await simulateJson([file]);
    const native = result.runs.find((r) => r.name === "envoy:ROUND_ROBIN")!;
    expect(native.errorRate).toBeGreaterThan(0.05);
    for (const name of ["availability", "round_robin"]) {
      const run = result.runs.find((r) => r.name === name)!;
      expect(run.errorRate, name).toBeLessThan(native.errorRate / 5);
      // Errors cluster in the failure window (8 s to 18 s) and it heals afterwards.
      const { bucketMs, errors } = run.series;
      const after = errors.slice(Math.ceil(19_000 / bucketMs)).reduce((a, b) => a + b, 0);
      expect(after, name).toBe(0);
    }
  });

  it("scenario 3: weighted follows the weights where round_robin overloads the small instances", async () => {
    const file = writeTemp("weighted.yaml", shrunkExample("weighted.yaml", 6000, ["weighted", "round_robin", "envoy:ROUND_ROBIN"]));
    const result = await simulateJson([file]);
    const weighted = result.runs.find((r) => r.name === "weighted")!;
    const rr = result.runs.find((r) => r.name === "round_robin")!;
    expect(weighted.endpoints.map((e) => e.share)).toEqual([0.4, 0.4, 0.1, 0.1].map((s) => expect.closeTo(s, 2)));
    expect(weighted.latencyMs.p99).toBeLessThan(rr.latencyMs.p99 / 5);
  });
});

describe("the JSON result", () => {
  it("has the documented shape", async () => {
    const file = writeTemp("shape.yaml", shrunkExample("overload.yaml", 2000, ["least_load", "envoy:RANDOM", "oracle"]));
    const result = await simulateJson([file]);
    expect(Object.keys(result)).toEqual(["version", "policy", "workload", "seed", "scenario", "skipped", "runs"]);
    expect(result.version).toBe(1);
    expect(result.seed).toBe(9);
    expect(result.scenario).toMatchObject({
      from: "frontend",
      to: "orders",
      policyStrategy: "least_load",
      workers: 4,
      arrivals: { process: "poisson", ratePerSec: 1900, requests: 2000 },
      timeoutMs: 2000,
      retries: { numRetries: 1, retryOn: ["5xx", "reset"], perTryTimeoutMs: 1000 },
    });
    expect(result.scenario.endpoints[0]).toEqual({
      cluster: "orders_ep0",
      address: "orders-1",
      port: 15006,
      weight: 1,
      latency: "exponential mean 20ms",
      meanServiceMs: 20,
      concurrency: 10,
      queueLimit: 50,
      errorRate: 0,
      events: [],
    });
    expect(result.runs.map((r) => [r.name, r.kind, r.isPolicy])).toEqual([
      ["least_load", "lightsub", true],
      ["envoy:RANDOM", "envoy", false],
      ["oracle", "oracle", false],
    ]);
    const run = result.runs[0]!;
    expect(Object.keys(run).sort()).toEqual(
      [
        "name", "kind", "isPolicy", "requests", "ok", "errors", "errorRate", "unanswered", "outcomes", "throughputRps",
        "spanMs", "latencyMs", "okLatencyMs", "tries", "retries", "endpoints", "series", "cdf", "ratioToOracle", "filter",
        "queued", "localReplies",
      ].sort(),
    );
    expect(Object.keys(run.latencyMs)).toEqual(["p50", "p90", "p99", "p999", "mean", "min", "max"]);
    expect(Object.keys(run.outcomes)).toEqual(["ok", "http5xx", "http4xx", "reset", "connectFailure", "timeout", "overflow", "localReply", "noRoute"]);
    expect(run.ok + run.errors).toBe(run.requests);
    expect(Object.values(run.outcomes).reduce((a, b) => a + b, 0) + run.unanswered).toBe(run.requests);
    expect(run.endpoints).toHaveLength(4);
    expect(run.endpoints.reduce((a, e) => a + e.share, 0)).toBeCloseTo(1, 9);
    expect(run.series.tries).toHaveLength(4);
    expect(run.series.requests.reduce((a, b) => a + b, 0)).toBe(2000);
    expect(run.cdf.at(-1)![1]).toBe(1);
    expect(run.cdf.every(([v], i) => i === 0 || v >= run.cdf[i - 1]![0])).toBe(true);
    expect(result.runs.at(-1)!.ratioToOracle).toEqual({ p50: 1, p90: 1, p99: 1, p999: 1 });
    expect(result.runs[1]!.filter).toBeNull();
    expect(result.skipped).toEqual([]);
  });

  it("says why consistent_hash was skipped", async () => {
    const file = writeTemp("skip.yaml", shrunkExample("overload.yaml", 200, ["least_load", "consistent_hash"]));
    const result = await simulate([file]);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/LS215: .*consistent_hash needs hashOn/);
    const defaults = writeTemp("skip-default.yaml", shrunkExample("overload.yaml", 200));
    const json = await simulateJson([defaults]);
    expect(json.skipped).toEqual([{ name: "consistent_hash", reason: expect.stringContaining("no hashOn") }]);
    expect(json.runs.map((r) => r.name)).toEqual([
      "least_load", "round_robin", "random", "weighted", "least_latency", "availability",
      "envoy:ROUND_ROBIN", "envoy:RANDOM", "envoy:LEAST_REQUEST", "peer:P2C_PEAK_EWMA", "oracle",
    ]);
  });
});

describe("endpoint events and request shape", () => {
  const cases = [
    { outage: "refused", outcome: "connectFailure", latency: 0 },
    { outage: "reset", outcome: "reset", latency: 0 },
    { outage: "503", outcome: "http5xx", latency: 0 },
    // The connect timeout (1 s by default) is longer than the route timeout (50 ms).
    { outage: "blackhole", outcome: "timeout", latency: 50 },
  ] as const;
  for (const { outage, outcome, latency } of cases) {
    it(`outage ${outage} from 1 s to 2 s fails exactly the requests arriving then (${outcome})`, async () => {
      const file = writeTemp(
        `outage-${outage}.yaml`,
        policy({
          endpoints: 1,
          connector: "{ timeout: 50ms }",
          simulation: `  compare: [envoy:ROUND_ROBIN, round_robin]
  arrivals: { process: constant, rate: 100, requests: 300 }
  backend: { latency: 5ms }
  endpoints:
    - endpoint: 0
      events:
        - { at: 1s, until: 2s, outage: "${outage}" }`,
        }),
      );
      const result = await simulateJson([file]);
      for (const run of result.runs) {
        expect(run.outcomes[outcome], run.name).toBe(100);
        expect(run.ok, run.name).toBe(200);
        const { bucketMs, errors } = run.series;
        errors.forEach((n, b) => {
          const start = b * bucketMs;
          if (start + bucketMs <= 1000 || start >= 2000) expect(n, `${run.name} bucket ${b}`).toBe(0);
        });
        expect(run.latencyMs.max, run.name).toBeCloseTo(Math.max(5, latency), 6);
      }
      expect(result.scenario.endpoints[0]!.events).toEqual([
        { atMs: 1000, slowdown: 1, outage, errorRate: 0 },
        { atMs: 2000, slowdown: 1, outage: null, errorRate: 0 },
      ]);
    });
  }

  it("an outage cuts the requests in service on a refused endpoint; a slowdown stretches service times", async () => {
    const file = writeTemp(
      "cut.yaml",
      policy({
        endpoints: 1,
        simulation: `  compare: [envoy:ROUND_ROBIN]
  arrivals: { process: constant, rate: 100, requests: 300 }
  backend: { latency: 30ms }
  endpoints:
    - endpoint: 0
      events:
        - { at: 1s, outage: refused }
        - { at: 1.5s, recover: true }
        - { at: 2s, slowdown: 4 }`,
      }),
    );
    const [run] = (await simulateJson([file])).runs;
    // In service at 1 s: the requests that arrived at 980 and 990 ms (cut), plus 1000…1490 ms refused.
    expect(run!.outcomes.reset).toBe(3);
    expect(run!.outcomes.connectFailure).toBe(50);
    expect(run!.latencyMs.max).toBeCloseTo(120, 6);
  });

  it("a client's scheduling header never steers: round robin stays exact", async () => {
    const file = writeTemp(
      "spoof.yaml",
      policy({
        endpoints: 3,
        strategy: "round_robin",
        simulation: `  compare: [round_robin]
  workers: 1
  arrivals: { process: constant, rate: 100, requests: 300 }
  request:
    headers: { x-lightsub-endpoint: api_ep0 }`,
      }),
    );
    const [run] = (await simulateJson([file])).runs;
    expect(run!.endpoints.map((e) => e.tries)).toEqual([100, 100, 100]);
  });

  it("consistent_hash keeps each key on one endpoint: 3 keys reach at most 3 of 5 endpoints", async () => {
    const file = writeTemp(
      "hash.yaml",
      policy({
        endpoints: 5,
        scheduler: "{ strategy: consistent_hash, hashOn: { header: x-user } }",
        simulation: `  compare: [consistent_hash, round_robin]
  arrivals: { process: constant, rate: 100, requests: 500 }
  request: { hashKeys: 3 }`,
      }),
    );
    const result = await simulateJson([file]);
    const hashed = result.runs.find((r) => r.name === "consistent_hash")!;
    const rr = result.runs.find((r) => r.name === "round_robin")!;
    expect(hashed.isPolicy).toBe(true);
    expect(hashed.endpoints.filter((e) => e.tries > 0).length).toBeLessThanOrEqual(3);
    expect(rr.endpoints.filter((e) => e.tries > 0).length).toBe(5);
    expect(hashed.filter!.unscheduled).toBe(0);
  });

  it("spreads runs over threads with the same result as one thread", async () => {
    const { runSimulation } = await import("../../simulate/index.js");
    const text = shrunkExample("heavy-tail.yaml", 1500, ["least_latency", "least_load", "envoy:RANDOM", "oracle"]);
    const one = await runSimulation(text, "h.yaml", { threads: 1 });
    const two = await runSimulation(text, "h.yaml", { threads: 2 });
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  });

  it("really starts worker threads when asked for several", async () => {
    const { executeRuns } = await import("../../simulate/run-pool.js");
    const { checkPolicy } = await import("../../compiler/check-policy.js");
    const { model } = checkPolicy(policy({ endpoints: 2, simulation: "" }).replace(/\nsimulation:\n*$/, "\n"), "p.yaml");
    const workload = {
      from: "client",
      to: "api",
      workers: 1,
      arrivals: { process: "constant" as const, ratePerSec: 100, requests: 50 },
      request: { method: "GET", path: "/", headers: [], hashKeys: 1 },
      endpoints: [0, 1].map(() => ({
        latency: { distribution: "constant" as const, valueMs: 1 },
        concurrency: 1,
        queueLimit: Infinity,
        errorRate: 0,
        errorStatus: 503,
        timeline: [{ atMs: 0, state: { slowdown: 1, errorRate: 0 } }],
      })),
    };
    const runs = [
      { name: "envoy:RANDOM" as const, kind: "envoy" as const, isPolicy: false },
      { name: "oracle" as const, kind: "oracle" as const, isPolicy: false },
    ];
    const modes: string[] = [];
    const outputs = await executeRuns(runs, { model: model!, workload, seed: 1 }, undefined, 2, undefined, (m) => modes.push(m));
    expect(modes).toEqual(["threads"]);
    expect(outputs.map((o) => o.metrics.ok)).toEqual([50, 50]);
  });
});
