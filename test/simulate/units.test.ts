/**
 * The simulator's parts on their own: event order, seeded randomness,
 * distributions, Envoy's native balancers, the oracle, the backend queue.
 */
import { describe, expect, it } from "vitest";
import { Backend, TryPhase, type BackendTry } from "../../simulate/backend.js";
import { meanOf, samplerFor } from "../../simulate/distributions.js";
import { formatDuration, parseDurationUs } from "../../compiler/policy/duration.js";
import { EventQueue } from "../../simulate/event-queue.js";
import { createNativeLb } from "../../envoy-model/native-lb.js";
import { OracleLb } from "../../simulate/oracle.js";
import { Random } from "../../simulate/random.js";
import { LATENCY_RELATIVE_ERROR, LatencyHistogram, percentile } from "../../simulate/metrics.js";
import type { EndpointBehaviour } from "../../simulate/workload/model.js";

describe("the event queue", () => {
  it("pops by time, equal times in insertion order, across growth", () => {
    const queue = new EventQueue<number>();
    const rng = new Random(1);
    const pushed: [number, number][] = [];
    for (let i = 0; i < 5000; i++) {
      const time = rng.int(100);
      queue.push(time, i % 7, i);
      pushed.push([time, i]);
    }
    const popped: [number, number][] = [];
    while (queue.pop((time, kind, ref) => {
      expect(kind).toBe(ref % 7);
      popped.push([time, ref]);
    }));
    expect(popped).toEqual([...pushed].sort((a, b) => a[0] - b[0] || a[1] - b[1]));
    expect(queue.size).toBe(0);
  });

  it("lets a visitor push while popping", () => {
    const queue = new EventQueue<string>();
    queue.push(1, 0, "a");
    const seen: string[] = [];
    while (queue.pop((time, _kind, ref) => {
      seen.push(`${time}${ref}`);
      if (seen.length < 4) queue.push(time + 1, 0, ref + "+");
    }));
    expect(seen).toEqual(["1a", "2a+", "3a++", "4a+++"]);
  });
});

describe("seeded randomness and distributions", () => {
  it("repeats per seed and stream, differs across them", () => {
    const draw = (seed: number, stream: number) => {
      const r = new Random(seed, stream);
      return Array.from({ length: 5 }, () => r.nextU32());
    };
    expect(draw(1, 1)).toEqual(draw(1, 1));
    expect(draw(1, 1)).not.toEqual(draw(2, 1));
    expect(draw(1, 1)).not.toEqual(draw(1, 2));
    expect(draw(2 ** 40, 1)).not.toEqual(draw(0, 1));
  });

  it("samples with the documented means and medians", () => {
    const rng = new Random(3);
    const n = 200_000;
    const mean = (spec: Parameters<typeof samplerFor>[0]) => {
      const sample = samplerFor(spec);
      let sum = 0;
      for (let i = 0; i < n; i++) sum += sample(rng);
      return sum / n;
    };
    expect(mean({ distribution: "constant", valueMs: 7 })).toBe(7);
    expect(mean({ distribution: "exponential", meanMs: 20 })).toBeCloseTo(20, 0);
    const lognormal = { distribution: "lognormal" as const, medianMs: 10, sigma: Math.log(100 / 10) / 2.3263478740408408 };
    expect(mean(lognormal) / meanOf(lognormal)).toBeCloseTo(1, 1);
    const sample = samplerFor(lognormal);
    const values = Float64Array.from({ length: n }, () => sample(rng)).sort();
    expect(percentile(values, 0.5)).toBeCloseTo(10, 0);
    expect(percentile(values, 0.99) / 100).toBeCloseTo(1, 1);
    const bimodal = { distribution: "bimodal" as const, fast: { distribution: "constant" as const, valueMs: 1 }, slow: { distribution: "constant" as const, valueMs: 101 }, slowFraction: 0.1 };
    expect(meanOf(bimodal)).toBeCloseTo(11, 9);
    expect(mean(bimodal)).toBeCloseTo(11, 0);
  });

  it("reads and writes durations", () => {
    expect(["250us", "1.5s", "2m", "0", "5"].map((t) => parseDurationUs(t))).toEqual([{ ok: true, us: 250 }, { ok: true, us: 1_500_000 }, { ok: true, us: 120_000_000 }, { ok: true, us: 0 }, { ok: false, reason: expect.any(String) }]);
    expect([formatDuration(0.25), formatDuration(1500), formatDuration(120_000), formatDuration(20)]).toEqual(["250us", "1.5s", "2m", "20ms"]);
  });

  it("takes nearest-rank percentiles", () => {
    const values = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 0.5), percentile(values, 0.9), percentile(values, 0.99), percentile(values, 0.999), percentile(values, 1)]).toEqual([50, 90, 99, 100, 100]);
  });
});

describe("the latency histogram", () => {
  it("gives nearest-rank percentiles within its relative error, never outside the exact min and max", () => {
    const rng = new Random(11);
    const sample = samplerFor({ distribution: "lognormal", medianMs: 10, sigma: 1.2 });
    const histogram = new LatencyHistogram();
    const values = Float64Array.from({ length: 50_000 }, () => sample(rng));
    for (const v of values) histogram.record(v);
    values.sort();
    for (const q of [0.01, 0.5, 0.9, 0.99, 0.999, 0.9999]) {
      const exact = percentile(values, q);
      expect(histogram.quantile(q), `q=${q}`).toBeGreaterThanOrEqual(exact - 0.0005);
      expect(histogram.quantile(q), `q=${q}`).toBeLessThanOrEqual(exact * (1 + LATENCY_RELATIVE_ERROR) + 0.0005);
    }
    const summary = histogram.summary();
    expect([summary.min, summary.max]).toEqual([values[0], values[values.length - 1]]);
    expect(summary.mean).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
  });

  it("does not grow with the number of values recorded", () => {
    // Same range of values, 100× as many of them: the same memory.
    const few = new LatencyHistogram();
    const many = new LatencyHistogram();
    const rng = new Random(5);
    few.record(0.05);
    few.record(30_000);
    many.record(0.05);
    many.record(30_000);
    for (let i = 0; i < 1_000; i++) few.record(0.05 + rng.next() * 30_000);
    for (let i = 0; i < 100_000; i++) many.record(0.05 + rng.next() * 30_000);
    expect([few.count, many.count]).toEqual([1_002, 100_002]);
    expect(many.footprintBytes).toBe(few.footprintBytes);
    expect(many.footprintBytes).toBeLessThan(1024 * 1024);
  });
});

describe("Envoy's native balancers", () => {
  const hosts = (weights: number[], active = new Int32Array(weights.length)) => ({ weights, endpointOf: weights.map((_, i) => i), active });

  it("ROUND_ROBIN rotates from a random start; with weights it follows them exactly", () => {
    const lb = createNativeLb("ROUND_ROBIN", hosts([1, 1, 1]), new Random(1));
    const picks = Array.from({ length: 9 }, () => lb.pick(undefined, undefined));
    expect(picks.slice(3)).toEqual(picks.slice(0, 6));
    expect(new Set(picks.slice(0, 3)).size).toBe(3);
    const weighted = createNativeLb("ROUND_ROBIN", hosts([4, 1]), new Random(1));
    const counts = [0, 0];
    for (let i = 0; i < 1000; i++) counts[weighted.pick(undefined, undefined)]!++;
    expect(counts).toEqual([800, 200]);
  });

  it("LEAST_REQUEST with equal weights: of two random hosts, the one with fewer active requests", () => {
    const active = new Int32Array([5, 0, 9]);
    const lb = createNativeLb("LEAST_REQUEST", hosts([1, 1, 1], active), new Random(2));
    const counts = [0, 0, 0];
    for (let i = 0; i < 9000; i++) counts[lb.pick(undefined, undefined)]!++;
    // Host 1 wins whenever drawn (1 − (2/3)² = 5/9); host 2 only when drawn twice (1/9); host 0 the rest (3/9).
    expect(counts[1]! / 9000).toBeCloseTo(5 / 9, 1);
    expect(counts[2]! / 9000).toBeCloseTo(1 / 9, 1);
    expect(counts[0]! / 9000).toBeCloseTo(3 / 9, 1);
  });

  it("RANDOM ignores weights; RING_HASH keeps a key on one host", () => {
    const random = createNativeLb("RANDOM", hosts([9, 1]), new Random(4));
    const counts = [0, 0];
    for (let i = 0; i < 10_000; i++) counts[random.pick(undefined, undefined)]!++;
    expect(counts[0]! / 10_000).toBeCloseTo(0.5, 1);
    const ring = createNativeLb("RING_HASH", hosts([1, 1, 1, 1]), new Random(4));
    const owners = new Set<number>();
    for (let k = 0; k < 400; k++) {
      const first = ring.pick(`key-${k}`, undefined);
      owners.add(first);
      for (let i = 0; i < 3; i++) expect(ring.pick(`key-${k}`, undefined)).toBe(first);
    }
    expect(owners.size).toBe(4);
  });

  it("avoids hosts already tried when asked (retry host predicate)", () => {
    const lb = createNativeLb("RANDOM", hosts([1, 1]), new Random(5));
    let avoided = 0;
    for (let i = 0; i < 200; i++) if (lb.pick(undefined, [0]) === 1) avoided++;
    // Up to four draws: host 0 only when all four land on it (1/16).
    expect(avoided / 200).toBeGreaterThan(0.85);
  });
});

describe("the backend and the oracle", () => {
  const behaviour = (latencyMs: number, concurrency: number, queueLimit = Infinity): EndpointBehaviour => ({
    latency: { distribution: "constant", valueMs: latencyMs },
    concurrency,
    queueLimit,
    errorRate: 0,
    errorStatus: 503,
    timeline: [{ atMs: 0, state: { slowdown: 1, errorRate: 0 } }],
  });
  const aTry = (): BackendTry => ({ phase: TryPhase.Connecting, failed: false });

  it("serves up to its limit, queues FIFO, skips tries that left the queue", () => {
    const b = new Backend<BackendTry>(behaviour(10, 2, 2), 1, 0);
    const [t1, t2, t3, t4] = [aTry(), aTry(), aTry(), aTry()];
    expect(b.serve(t1!)).toBe(10);
    b.serve(t2!);
    expect(b.hasRoom).toBe(false);
    b.enqueue(t3!);
    b.enqueue(t4!);
    expect(b.queueFull).toBe(true);
    b.leaveQueue(t3!);
    b.release(t1!);
    expect(b.dequeue()).toBe(t4);
    expect(b.dequeue()).toBeUndefined();
    expect(b.waiting).toBe(0);
  });

  it("multiplies service times by the current slowdown", () => {
    const b = new Backend<BackendTry>(behaviour(10, 2), 1, 0);
    b.state = { slowdown: 10, errorRate: 0 };
    expect(b.serve(aTry())).toBe(100);
  });

  it("the oracle sends to the endpoint that finishes soonest, never to one that is out", () => {
    const fast = new Backend<BackendTry>(behaviour(10, 1), 1, 0);
    const slow = new Backend<BackendTry>(behaviour(50, 1), 1, 1);
    const oracle = new OracleLb([0, 1], [fast, slow], new Random(1));
    expect(oracle.pick(undefined, undefined)).toBe(0);
    // Four waiting on the fast one: 10 (in service) + 4×10 queued + 10 > 50.
    fast.serve(aTry());
    for (let i = 0; i < 4; i++) fast.enqueue(aTry());
    expect(oracle.pick(undefined, undefined)).toBe(1);
    slow.state = { slowdown: 1, errorRate: 0, outage: "refused" };
    expect(oracle.pick(undefined, undefined)).toBe(0);
  });
});

describe("the one duration grammar", () => {
  it("is the pattern both JSON schemas use", async () => {
    const { readFileSync } = await import("node:fs");
    const { DURATION_PATTERN, POSITIVE_DURATION_PATTERN } = await import("../../compiler/policy/duration.js");
    const schema = (name: string) => JSON.parse(readFileSync(new URL(`../../schemas/${name}`, import.meta.url), "utf8")).$defs;
    expect(schema("policy.schema.json").duration.pattern).toBe(DURATION_PATTERN);
    expect(schema("workload.schema.json").duration.pattern).toBe(DURATION_PATTERN);
    expect(schema("workload.schema.json").positiveDuration.pattern).toBe(POSITIVE_DURATION_PATTERN);
    const positive = new RegExp(POSITIVE_DURATION_PATTERN);
    expect(["1us", "0.5s", "1m30s", "0s1ms"].map((t) => positive.test(t))).toEqual([true, true, true, true]);
    expect(["0", "0s", "0.0ms", "0m0s", "5", "5 s"].map((t) => positive.test(t))).toEqual([false, false, false, false, false, false]);
  });

  it("parses sums and microseconds exactly, and suggests spellings", async () => {
    const { parseDurationUs, parseDuration: policyDuration, suggestDuration } = await import("../../compiler/policy/duration.js");
    expect(["1m30s", "250us", "1.5ms", "0.0001ms"].map((t) => parseDurationUs(t))).toEqual([{ ok: true, us: 90_000_000 }, { ok: true, us: 250 }, { ok: true, us: 1_500 }, { ok: false, reason: expect.any(String) }]);
    expect(parseDurationUs("1h0.5s")).toEqual({ ok: true, us: 3_600_500_000 });
    expect(policyDuration("2000us")).toEqual({ ok: true, ms: 2 });
    expect(policyDuration("250us").ok).toBe(false);
    const cases = ["5 sec", "2 s", "1 min 30 sec", "250 µs", "100 millis", "2 hours", "5s", "5 parsecs", "fast"];
    expect(cases.map(suggestDuration)).toEqual(["5s", "2s", "1m30s", "250us", "100ms", "2h", undefined, undefined, undefined]);
  });
});
