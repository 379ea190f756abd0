/**
 * Every scheduling strategy meets its criteria on real Envoy 1.40 with two
 * worker threads (`--concurrency 2`, state shared across workers): the same
 * criteria test/filter-strategies.test.ts asserts in the Node host, here with
 * real traffic — several requests in flight, a fresh connection per request
 * so requests land on both workers (checked with Envoy's per-worker listener
 * stats). Shares are counted at the upstreams (ground truth) and cross-checked
 * with the filter's lightsub_rq_total per endpoint. `LIGHTSUB_TEST_REPORT=1`
 * prints what each test measured.
 */
import { afterAll, expect, it } from "vitest";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { countByUpstream, runLoad, type LoadRecord } from "../support/http-load.js";
import { describeWithEnvoy } from "../support/real-envoy.js";
import { startUpstream, type UpstreamServer } from "../support/upstream-server.js";

afterAll(stopAllSidecars);

const SERVICE = "svc";
/** Requests in flight at once from the test client. */
const CONCURRENCY = 8;

interface EndpointSpec {
  weight?: number;
  latencyMs?: number;
  failureRate?: number;
  hold?: boolean;
}

interface Rig {
  sidecar: LiveSidecar;
  upstreams: UpstreamServer[];
  /** Endpoint stat labels, in policy order (the upstreams are named by them). */
  names: string[];
  url: string;
  close(): Promise<void>;
}

/**
 * Ports (this helper's range 44000-44999): rig k uses upstreams 44000+20k+i,
 * the callee port (the sidecar's outbound listener) 44600+k, the caller's mesh
 * port 44700+k, its app port 44800+k (not listened on) and admin 44900+k.
 */
async function rig(envoy: string, k: number, scheduler: string, specs: EndpointSpec[]): Promise<Rig> {
  const ports = specs.map((_, i) => 25_000 + 20 * k + i);
  const names = ports.map((port) => `127_0_0_1_${port}`);
  const upstreams: UpstreamServer[] = [];
  try {
    for (const [i, spec] of specs.entries()) {
      upstreams.push(
        await startUpstream({ name: names[i]!, port: ports[i]!, latencyMs: spec.latencyMs ?? 1, failureRate: spec.failureRate ?? 0, hold: spec.hold ?? false }),
      );
    }
    const endpoints = specs
      .map((spec, i) => `        - { address: 127.0.0.1, port: ${ports[i]}${spec.weight !== undefined ? `, weight: ${spec.weight}` : ""} }`)
      .join("\n");
    const policy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: strategies }
spec:
  sidecar: { adminPort: ${25_900 + k} }
  services:
    - name: client
      port: ${25_800 + k}
      meshPort: ${25_700 + k}
      endpoints: [{ address: 127.0.0.1, port: ${25_700 + k} }]
      calls: [${SERVICE}]
    - name: ${SERVICE}
      port: ${25_600 + k}
      scheduler: ${scheduler}
      endpoints:
${endpoints}
`;
    const sidecar = await startSidecar({ envoy, policy, service: "client", concurrency: 2 });
    // The upstreams are named by the endpoint labels the filter uses.
    expect(sidecar.view.destinations[0]!.endpoints.map((e) => e.stat)).toEqual(names);
    return {
      sidecar,
      upstreams,
      names,
      url: sidecar.url(SERVICE),
      async close() {
        await sidecar.stop();
        await Promise.all(upstreams.map((u) => u.close()));
      },
    };
  } catch (error) {
    await Promise.all(upstreams.map((u) => u.close()));
    throw error;
  }
}

/** Requests each upstream received (ground truth), by endpoint label. */
function received(r: Rig): Map<string, number> {
  return new Map(r.upstreams.map((u) => [u.name, u.counts().requests]));
}

/** The filter's per-endpoint lightsub_rq_total and rq_unscheduled once rq_total sums to `total` (counters are flushed about once a second). */
async function filterCounts(r: Rig, total: number): Promise<{ perEndpoint: Map<string, number>; unscheduled: number }> {
  const deadline = Date.now() + 8_000;
  for (;;) {
    const samples = await r.sidecar.prometheus();
    const perEndpoint = new Map<string, number>();
    for (const s of samples) if (s.name === "lightsub_rq_total" && s.labels.service === SERVICE) perEndpoint.set(s.labels.endpoint!, s.value);
    const unscheduled = samples.find((s) => s.name === "lightsub_rq_unscheduled" && s.labels.service === SERVICE)?.value ?? 0;
    const sum = [...perEndpoint.values()].reduce((a, b) => a + b, 0);
    if (sum >= total || Date.now() > deadline) return { perEndpoint, unscheduled };
    await sleep(250);
  }
}

/** Ground truth and the filter's counts agree, endpoint by endpoint; nothing fell back to Envoy's own balancing. */
async function expectFilterAgrees(r: Rig): Promise<void> {
  const truth = received(r);
  const total = [...truth.values()].reduce((a, b) => a + b, 0);
  const { perEndpoint, unscheduled } = await filterCounts(r, total);
  expect(unscheduled).toBe(0);
  for (const name of r.names) expect(perEndpoint.get(name) ?? 0, name).toBe(truth.get(name));
}

/** Downstream connections each Envoy worker accepted on the outbound listener. */
async function connectionsPerWorker(r: Rig): Promise<number[]> {
  const port = new URL(r.url).port;
  const stats = await r.sidecar.stats(`^listener\\.127\\.0\\.0\\.1_${port}\\.worker_\\d+\\.downstream_cx_total$`);
  return [...stats.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, v]) => v);
}

/** Both workers served a real part of the traffic (so shared state across workers was exercised). */
async function expectBothWorkers(r: Rig, connections: number): Promise<void> {
  const perWorker = await connectionsPerWorker(r);
  report("connections per worker", { perWorker });
  expect(perWorker).toHaveLength(2);
  for (const n of perWorker) expect(n).toBeGreaterThanOrEqual(connections * 0.2);
}

function expectAllOk(records: readonly LoadRecord[]): void {
  const bad = records.filter((x) => x.status !== 200);
  expect(bad.length, `non-200 answers, e.g. ${JSON.stringify(bad[0])}`).toBe(0);
}

/** With LIGHTSUB_TEST_REPORT set, prints what a test measured (for reports; the assertions do not depend on it). */
function report(what: string, measured: Record<string, unknown>): void {
  if (process.env.LIGHTSUB_TEST_REPORT) console.log(`${what}: ${JSON.stringify(measured)}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const load = (r: Rig, requests: number, concurrency = CONCURRENCY, more: { headers?: (i: number) => Record<string, string>; path?: (i: number) => string } = {}) =>
  runLoad({ url: r.url, requests, concurrency, freshConnections: true, ...more });

describeWithEnvoy("scheduling strategies on Envoy with 2 workers", (envoy) => {
  it("round_robin: 2,000 requests over 4 endpoints, each within ±2 % of an even share", async () => {
    const r = await rig(envoy, 0, "{ strategy: round_robin }", [{}, {}, {}, {}]);
    try {
      const N = 2_000;
      const records = await load(r, N);
      expectAllOk(records);
      const truth = received(r);
      expect(countByUpstream(records)).toEqual(truth);
      report("round_robin", Object.fromEntries(truth));
      for (const name of r.names) expect(Math.abs(truth.get(name)! / N - 0.25), name).toBeLessThanOrEqual(0.25 * 0.02);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
    } finally {
      await r.close();
    }
  });

  it("weighted 5:3:1:1: 2,000 requests, each share within ±3 % of its weight's", async () => {
    const weights = [5, 3, 1, 1];
    const r = await rig(envoy, 1, "{ strategy: weighted }", weights.map((weight) => ({ weight })));
    try {
      const N = 2_000;
      const records = await load(r, N);
      expectAllOk(records);
      const truth = received(r);
      report("weighted", Object.fromEntries(truth));
      weights.forEach((w, i) => {
        const expected = w / 10;
        expect(Math.abs(truth.get(r.names[i]!)! / N - expected), r.names[i]).toBeLessThanOrEqual(expected * 0.03);
      });
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
    } finally {
      await r.close();
    }
  });

  it("random: 2,000 requests reach every endpoint about evenly (±15 %, about 4 standard deviations)", async () => {
    const r = await rig(envoy, 2, "{ strategy: random }", [{}, {}, {}, {}]);
    try {
      const N = 2_000;
      const records = await load(r, N);
      expectAllOk(records);
      const truth = received(r);
      report("random", Object.fromEntries(truth));
      for (const name of r.names) expect(Math.abs(truth.get(name)! / N - 0.25), name).toBeLessThanOrEqual(0.25 * 0.15);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
    } finally {
      await r.close();
    }
  });

  it("least_latency: an endpoint 10× slower than its peers gets ≤ 15 % of 2,000 requests", async () => {
    const r = await rig(envoy, 3, "{ strategy: least_latency }", [{ latencyMs: 10 }, { latencyMs: 10 }, { latencyMs: 10 }, { latencyMs: 100 }]);
    try {
      const N = 2_000;
      const records = await load(r, N);
      expectAllOk(records);
      const truth = received(r);
      const slow = r.names[3]!;
      report("least_latency", Object.fromEntries(truth));
      expect(truth.get(slow)! / N).toBeLessThanOrEqual(0.15);
      for (const name of r.names.slice(0, 3)) expect(truth.get(name)! / N, name).toBeGreaterThan(0.25);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
      // The filter measured the difference: its latency histogram (mean per endpoint) and
      // the shared peak-EWMA of the slow endpoint. (The fast endpoints' EWMAs are not
      // compared with it: a peak-EWMA jumps to any slower sample and decays over
      // `decay` = 10 s, so on a shared machine an occasional 50-100 ms answer from a fast
      // endpoint keeps its gauge at tens of ms for the rest of this run.)
      // (Envoy merges histograms at its stats flush, every 5 s: wait for every sample.)
      let samples = await r.sidecar.prometheus();
      const counted = () => samples.filter((x) => x.name === "lightsub_rq_latency_ms_count").reduce((sum, x) => sum + x.value, 0);
      for (let t = 0; t < 50 && counted() < N; t++) {
        await sleep(250);
        samples = await r.sidecar.prometheus();
      }
      const metric = (name: string, endpoint: string) => samples.find((x) => x.name === name && x.labels.endpoint === endpoint)?.value ?? NaN;
      const meanMs = (endpoint: string) => metric("lightsub_rq_latency_ms_sum", endpoint) / metric("lightsub_rq_latency_ms_count", endpoint);
      expect(meanMs(slow)).toBeGreaterThanOrEqual(100);
      for (const name of r.names.slice(0, 3)) expect(meanMs(name), name).toBeLessThan(meanMs(slow) / 4);
      report("least_latency measured", {
        meanMs: r.names.map((n) => Math.round(meanMs(n) * 10) / 10),
        ewmaUs: r.names.map((n) => metric("lightsub_latency_ewma_us", n)),
      });
      expect(metric("lightsub_latency_ewma_us", slow)).toBeGreaterThanOrEqual(90_000);
    } finally {
      await r.close();
    }
  });

  it("least_latency: follows an endpoint that turns 20× slower (≤ 10 % of the last 1,000 requests)", async () => {
    const r = await rig(envoy, 7, "{ strategy: least_latency }", [{ latencyMs: 10 }, { latencyMs: 10 }, { latencyMs: 10 }]);
    try {
      const turning = r.upstreams[0]!;
      const before = await load(r, 600);
      expectAllOk(before);
      expect((countByUpstream(before).get(turning.name) ?? 0) / 600).toBeGreaterThan(0.2); // fast: a full share so far
      turning.set({ latencyMs: 200 });
      const after = await load(r, 1_600);
      expectAllOk(after);
      const late = countByUpstream(after.slice(-1_000)).get(turning.name) ?? 0;
      report("least_latency turning slow", { before: Object.fromEntries(countByUpstream(before)), after: Object.fromEntries(countByUpstream(after)), late });
      expect(late / 1_000).toBeLessThanOrEqual(0.1);
      await expectFilterAgrees(r);
    } finally {
      await r.close();
    }
  });

  it("least_load: follows weights 3:1 within ±3 % under concurrent load on equal fast endpoints", async () => {
    const r = await rig(envoy, 8, "{ strategy: least_load }", [{ weight: 3, latencyMs: 5 }, { weight: 1, latencyMs: 5 }]);
    try {
      const N = 2_000;
      const records = await load(r, N);
      expectAllOk(records);
      const heavy = received(r).get(r.names[0]!)! / N;
      report("least_load 3:1", { heavy });
      expect(heavy).toBeGreaterThanOrEqual(0.72);
      expect(heavy).toBeLessThanOrEqual(0.78);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
    } finally {
      await r.close();
    }
  });

  it("least_load: an endpoint holding requests open gets none of 1,000 new ones while the others are less loaded", async () => {
    const r = await rig(envoy, 4, "{ strategy: least_load }", [{ hold: true }, { hold: true }, { hold: true }]);
    try {
      const [busy, ...others] = r.upstreams as [UpstreamServer, ...UpstreamServer[]];
      // 30 long requests spread over the three endpoints; then only `busy` keeps its share open.
      const longOnes = runLoad({ url: r.url, requests: 30, concurrency: 30, freshConnections: true, timeoutMs: 30_000 });
      for (let t = 0; t < 100 && r.upstreams.reduce((sum, u) => sum + u.held(), 0) < 30; t++) await sleep(100);
      expect(r.upstreams.map((u) => u.held()).reduce((a, b) => a + b, 0)).toBe(30);
      for (const u of others) {
        u.set({ hold: false, latencyMs: 2 });
        u.release();
      }
      const held = busy.held();
      // More open requests than the new traffic can ever put on another endpoint (4 in flight).
      expect(held).toBeGreaterThan(4);
      // The filter's shared in-flight count (all workers) sees them.
      let active = 0;
      for (let t = 0; t < 40 && active !== held; t++) {
        const samples = await r.sidecar.prometheus();
        active = samples.find((s) => s.name === "lightsub_rq_active" && s.labels.endpoint === busy.name)?.value ?? -1;
        if (active !== held) await sleep(250);
      }
      expect(active).toBe(held);

      const N = 1_000;
      const records = await load(r, N, 4);
      expectAllOk(records);
      expect(busy.counts().requests - held).toBe(0);
      const fresh = countByUpstream(records);
      report("least_load", { held, toBusy: busy.counts().requests - held, fresh: Object.fromEntries(fresh) });
      for (const u of others) expect(fresh.get(u.name)! / N, u.name).toBeGreaterThan(0.4);

      expect(busy.release()).toBe(held);
      expectAllOk(await longOnes);
      // Every claim was released: the shared in-flight counts are back to 0.
      let stillActive: number[] = [];
      for (let t = 0; t < 40; t++) {
        const samples = await r.sidecar.prometheus();
        stillActive = r.names.map((name) => samples.find((s) => s.name === "lightsub_rq_active" && s.labels.endpoint === name)?.value ?? -1);
        if (stillActive.every((v) => v === 0)) break;
        await sleep(250);
      }
      expect(stillActive).toEqual([0, 0, 0]);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N + 30);
    } finally {
      await r.close();
    }
  });

  it("availability: an endpoint failing every request gets ≤ 5 % (+50) of 3,000, is probed once per probeInterval across workers, and is back within window + probeInterval of healing", async () => {
    // A short window keeps the file fast; 3 s holds 12 probes, well above minRequests (5),
    // so a stall of the machine does not let the failing endpoint out of avoidance.
    const WINDOW_MS = 3_000;
    const PROBE_MS = 250;
    const r = await rig(envoy, 5, `{ strategy: availability, window: ${WINDOW_MS}ms, probeInterval: ${PROBE_MS}ms }`, [
      { latencyMs: 5 },
      { latencyMs: 5 },
      { latencyMs: 5 },
      { latencyMs: 5, failureRate: 1 },
    ]);
    try {
      const bad = r.upstreams[3]!;
      const N = 3_000;
      const records = await load(r, N);
      const toBad = records.filter((x) => x.upstream === bad.name);
      expect(toBad.every((x) => x.status === 503)).toBe(true);
      expect(records.filter((x) => x.upstream !== bad.name).every((x) => x.status === 200)).toBe(true);
      expect(bad.counts().requests).toBe(toBad.length);
      expect(toBad.length).toBeLessThanOrEqual(N * 0.05 + 50);
      // Once avoided (well within the first second), only probes reach it: one per
      // probeInterval over both workers, not one per worker.
      report("availability", { toBad: toBad.length, firstSecond: toBad.filter((x) => x.startMs < records[0]!.startMs + 1_000).length });
      const start = records[0]!.startMs;
      const end = Math.max(...records.map((x) => x.endMs));
      const steadyFrom = start + 1_000;
      const probes = toBad.filter((x) => x.startMs >= steadyFrom).length;
      const intervals = (end - steadyFrom) / PROBE_MS;
      report("availability probes", { probes, intervals: Math.round(intervals * 10) / 10 });
      expect(intervals).toBeGreaterThan(4); // the load lasted long enough to tell
      expect(probes).toBeLessThanOrEqual(Math.ceil(intervals) + 2);
      expect(probes).toBeGreaterThanOrEqual(intervals / 2); // probed all along (else it could never heal); fewer only when traffic stalls

      // Heal it: probes succeed, the window forgets the errors, it gets its share back.
      bad.set({ failureRate: 0 });
      const healedAt = performance.now();
      let backAfterMs: number | undefined;
      while (backAfterMs === undefined && performance.now() - healedAt < 10_000) {
        const slice = await load(r, 100);
        expectAllOk(slice);
        if ((countByUpstream(slice).get(bad.name) ?? 0) >= 15) backAfterMs = slice[0]!.startMs - healedAt;
      }
      report("availability healed", { backAfterMs });
      expect(backAfterMs, "the healed endpoint never got its share back").toBeDefined();
      expect(backAfterMs!).toBeLessThanOrEqual(WINDOW_MS + PROBE_MS + 1_500); // + slack for a loaded machine
      const after = await load(r, 1_000);
      expectAllOk(after);
      expect((countByUpstream(after).get(bad.name) ?? 0) / 1_000).toBeGreaterThanOrEqual(0.15);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
    } finally {
      await r.close();
    }
  });

  it("consistent_hash: each of 400 keys sticks to one endpoint over 5 requests on both workers, and the keys spread over every endpoint", async () => {
    const r = await rig(envoy, 6, "{ strategy: consistent_hash, hashOn: { header: x-user-id } }", [{}, {}, {}, {}]);
    try {
      const KEYS = 400;
      const N = KEYS * 5;
      // Request i carries key i % KEYS: a key's requests are far apart, on separate connections.
      const records = await load(r, N, CONCURRENCY, { headers: (i) => ({ "x-user-id": `user-${i % KEYS}` }) });
      expectAllOk(records);
      const owner = new Map<string, Set<string>>();
      for (const x of records) {
        const key = `user-${x.i % KEYS}`;
        if (!owner.has(key)) owner.set(key, new Set());
        owner.get(key)!.add(x.upstream!);
      }
      const moved = [...owner.entries()].filter(([, s]) => s.size !== 1);
      expect(moved, "keys answered by more than one endpoint").toEqual([]);
      const keysPer = new Map<string, number>();
      for (const [, s] of owner) for (const e of s) keysPer.set(e, (keysPer.get(e) ?? 0) + 1);
      report("consistent_hash keys per endpoint", Object.fromEntries(keysPer));
      for (const name of r.names) expect((keysPer.get(name) ?? 0) / KEYS, name).toBeGreaterThan(0.15);
      await expectFilterAgrees(r);
      await expectBothWorkers(r, N);
    } finally {
      await r.close();
    }
  });

  it("consistent_hash on a cookie or on the path without its query: the same key in another form goes to the same endpoint; a request without the cookie is still scheduled", async () => {
    const KEYS = 200;
    for (const [k, hashOn] of [[9, "{ cookie: session }"], [10, "{ path: true }"]] as const) {
      const r = await rig(envoy, k, `{ strategy: consistent_hash, hashOn: ${hashOn} }`, [{}, {}, {}, {}]);
      try {
        // Requests 2j and 2j + 1 carry key j in two forms; the last 200 carry no session cookie / ask for "/".
        const N = 2 * KEYS + 200;
        const keyed = (i: number) => i < 2 * KEYS;
        const cookieOf = (i: number) =>
          !keyed(i) ? "theme=dark" : i % 2 === 0 ? `theme=dark; session=s${i >> 1}; lang=en` : `session="s${i >> 1}";other=${i * 7}`;
        const pathOf = (i: number) => (!keyed(i) ? "/" : i % 2 === 0 ? `/orders/${i >> 1}?page=1` : `/orders/${i >> 1}?page=2&sort=asc`);
        const records = await load(r, N, CONCURRENCY, hashOn.includes("cookie") ? { headers: (i) => ({ cookie: cookieOf(i) }) } : { path: pathOf });
        expectAllOk(records);
        const differing: number[] = [];
        for (let j = 0; j < KEYS; j++) if (records[2 * j]!.upstream !== records[2 * j + 1]!.upstream) differing.push(j);
        expect(differing, hashOn).toEqual([]);
        expect(countByUpstream(records.slice(0, 2 * KEYS)).size, hashOn).toBe(4);
        // Without a cookie there is no key: least load, so every endpoint gets some. A
        // request always has a path: the 200 requests for "/" share one key, one endpoint.
        expect(countByUpstream(records.slice(2 * KEYS)).size, hashOn).toBe(hashOn.includes("cookie") ? 4 : 1);
        await expectFilterAgrees(r);
      } finally {
        await r.close();
      }
    }
  });
});
