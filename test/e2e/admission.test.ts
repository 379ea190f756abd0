/**
 * Task admission (docs/admission.md) on Envoy 1.40 through the real filter:
 * the order waiting requests are let in, the two rejections and their
 * x-lightsub-reason, and a burst above capacity on two workers.
 *
 * The ordering tests run Envoy with one worker: the queue is per worker, so
 * only there is "level, then arrival" one total order. Slots are held by an
 * upstream that answers only when the test releases a request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REASON_HEADER, REASONS } from "../../schemas/wire.js";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { startUpstream, type UpstreamServer } from "../../e2e/upstream-server.js";
import { describeWithEnvoy } from "../support/real-envoy.js";

const LEVELS = "[critical, normal, batch]";

const orderingPolicy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: admission }
spec:
  sidecar: { adminPort: 26921 }
  services:
    - name: client
      port: 26280
      meshPort: 26206
      endpoints: [{ address: 127.0.0.1, port: 26206 }]
      calls: [prio, full, tmo]
    - name: prio
      port: 26290
      endpoints: [{ address: 127.0.0.1, port: 26211 }]
      admission: { maxInFlightPerEndpoint: 1, maxQueue: 10, queueTimeout: 10s, priorityFrom: { header: x-priority }, levels: ${LEVELS} }
      connector: { timeout: 30s }
    - name: full
      port: 26291
      endpoints: [{ address: 127.0.0.1, port: 26212 }]
      admission: { maxInFlightPerEndpoint: 1, maxQueue: 2, queueTimeout: 10s, priorityFrom: { header: x-priority }, levels: ${LEVELS} }
      connector: { timeout: 30s }
    - name: tmo
      port: 26292
      endpoints: [{ address: 127.0.0.1, port: 26213 }]
      admission: { maxInFlightPerEndpoint: 1, maxQueue: 4, queueTimeout: 300ms }
      connector: { timeout: 30s }
`;

const burstPolicy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: burst }
spec:
  sidecar: { adminPort: 26922 }
  services:
    - name: client
      port: 26281
      meshPort: 26207
      endpoints: [{ address: 127.0.0.1, port: 26207 }]
      calls: [burst]
    - name: burst
      port: 26295
      endpoints: [{ address: 127.0.0.1, port: 26221 }, { address: 127.0.0.1, port: 26222 }]
      scheduler: { strategy: least_load }
      admission: { maxInFlightPerEndpoint: 2, maxQueue: 8, queueTimeout: 600ms, priorityFrom: { header: x-priority }, levels: ${LEVELS} }
      connector: { timeout: 5s }
`;

interface Reply {
  status: number;
  reason: string | null;
  ms: number;
}

async function request(url: string, level?: string): Promise<Reply> {
  const start = performance.now();
  const response = await fetch(url, { headers: level ? { "x-priority": level } : {} });
  await response.text();
  return { status: response.status, reason: response.headers.get(REASON_HEADER), ms: performance.now() - start };
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

afterAll(stopAllSidecars);

describeWithEnvoy("admission on a real Envoy", (envoy) => {
  describe("one worker: order and rejections", () => {
    let sidecar: LiveSidecar;
    const up: Record<string, UpstreamServer> = {};
    const queued = async (service: string) =>
      (await sidecar.stats(`lightsub.service.${service}.admission_queued`)).get(`wasmcustom.lightsub.service.${service}.admission_queued`) ?? 0;
    /**
     * Sends a request that will wait; resolves once the filter counts it as
     * queued, with the reply to come (wrapped: an async function returning a
     * promise would wait for it).
     */
    async function enqueue(service: string, path: string, level: string | undefined, nowQueued: number): Promise<{ reply: Promise<Reply> }> {
      const reply = request(sidecar.url(service, path), level);
      let last = -1;
      await until(`${path} queued (${nowQueued} expected)`, async () => (last = await queued(service)) === nowQueued).catch((e: Error) => {
        throw new Error(`${e.message}; admission_queued is ${last}`);
      });
      return { reply };
    }
    /** Lets the held requests go one at a time until `total` were served; returns the paths in the order served. */
    async function releaseAll(upstream: UpstreamServer, total: number): Promise<string[]> {
      while (upstream.seen().length < total || upstream.held() > 0) {
        await until("a held request", () => upstream.held() > 0);
        const seenBefore = upstream.seen().length;
        upstream.release(1);
        if (seenBefore < total) await until("the next request admitted", () => upstream.seen().length > seenBefore);
      }
      return upstream.seen().map((r) => r.path);
    }

    beforeAll(async () => {
      up.prio = await startUpstream({ name: "prio", latencyMs: 0, failureRate: 0, port: 26211, hold: true });
      up.full = await startUpstream({ name: "full", latencyMs: 0, failureRate: 0, port: 26212, hold: true });
      up.tmo = await startUpstream({ name: "tmo", latencyMs: 0, failureRate: 0, port: 26213, hold: true });
      sidecar = await startSidecar({ envoy, policy: orderingPolicy, service: "client", concurrency: 1 });
    }, 60_000);
    afterAll(async () => {
      await sidecar?.stop();
      await Promise.all(Object.values(up).map((u) => u.close()));
    });

    it("waiting requests are let in by level, then by arrival", async () => {
      const holder = request(sidecar.url("prio", "/holder"));
      await until("the holder at the upstream", () => up.prio!.seen().length === 1);
      const arrivals: Array<[string, string]> = [
        ["/b1", "batch"], ["/n1", "normal"], ["/c1", "critical"], ["/x1", "unknown-level"],
        ["/b2", "batch"], ["/n2", "normal"], ["/c2", "critical"],
      ];
      const replies: Array<Promise<Reply>> = [holder];
      for (const [i, [path, level]] of arrivals.entries()) replies.push((await enqueue("prio", path, level, i + 1)).reply);
      expect(up.prio!.seen().length).toBe(1); // nobody passed the limit of 1
      const order = await releaseAll(up.prio!, arrivals.length + 1);
      // An unknown level gets defaultLevel (normal here), in its arrival place.
      expect(order).toEqual(["/holder", "/c1", "/c2", "/n1", "/x1", "/n2", "/b1", "/b2"]);
      for (const r of await Promise.all(replies)) expect(r).toMatchObject({ status: 200, reason: null });
      expect(up.prio!.counts().maxInFlight).toBe(1);
      const stats = await sidecar.stats("lightsub.service.prio.admission");
      expect(stats.get("wasmcustom.lightsub.service.prio.admission_delayed")).toBe(arrivals.length);
      expect(stats.get("wasmcustom.lightsub.service.prio.admission_queued")).toBe(0);
    }, 60_000);

    it(`a full queue: 503 ${REASONS.queueFull} at once, and a more urgent arrival evicts the newest of the least urgent level`, async () => {
      const holder = request(sidecar.url("full", "/holder"));
      await until("the holder at the upstream", () => up.full!.seen().length === 1);
      const { reply: n1 } = await enqueue("full", "/n1", "normal", 1);
      const { reply: n2 } = await enqueue("full", "/n2", "normal", 2);
      // Full (maxQueue 2): a normal arrival is not more urgent than any waiting task.
      const n3 = await request(sidecar.url("full", "/n3"), "normal");
      expect(n3).toMatchObject({ status: 503, reason: REASONS.queueFull });
      expect(n3.ms).toBeLessThan(2_000); // rejected on arrival, not after the 10 s queue timeout
      // A critical arrival takes the place of /n2 (the newest normal), which is answered queue-full.
      const c1 = request(sidecar.url("full", "/c1"), "critical");
      const evicted = await n2;
      expect(evicted).toMatchObject({ status: 503, reason: REASONS.queueFull });
      const order = await releaseAll(up.full!, 3);
      expect(order).toEqual(["/holder", "/c1", "/n1"]);
      for (const r of await Promise.all([holder, n1, c1])) expect(r).toMatchObject({ status: 200, reason: null });
      const stats = await sidecar.stats("lightsub.service.full.admission");
      expect(stats.get("wasmcustom.lightsub.service.full.admission_rejected_queue_full")).toBe(2);
    }, 60_000);

    it(`a request that waits queueTimeout gets 503 ${REASONS.queueTimeout} and never reaches the upstream`, async () => {
      const holder = request(sidecar.url("tmo", "/holder"));
      await until("the holder at the upstream", () => up.tmo!.seen().length === 1);
      const waited = await Promise.all([0, 1].map(() => request(sidecar.url("tmo", "/waits"))));
      for (const r of waited) {
        expect(r).toMatchObject({ status: 503, reason: REASONS.queueTimeout });
        expect(r.ms).toBeGreaterThanOrEqual(290); // queueTimeout 300 ms
        expect(r.ms).toBeLessThan(3_000);
      }
      expect(up.tmo!.seen().length).toBe(1);
      up.tmo!.release();
      expect(await holder).toMatchObject({ status: 200 });
      const stats = await sidecar.stats("lightsub.service.tmo.admission");
      expect(stats.get("wasmcustom.lightsub.service.tmo.admission_rejected_queue_timeout")).toBe(2);
    }, 60_000);
  });

  it("a burst above capacity on two workers: no critical request rejected, batch rejected most, the limit held across workers", async () => {
    const upstreams = await Promise.all(
      [26221, 26222].map((port, i) => startUpstream({ name: `b${i}`, latencyMs: 40, failureRate: 0, port })),
    );
    const sidecar = await startSidecar({ envoy, policy: burstPolicy, service: "client" });
    try {
      // 90 requests at once, 10 % critical, 40 % normal, 50 % batch, interleaved.
      const levels = Array.from({ length: 90 }, (_, i) => (i % 10 === 0 ? "critical" : i % 10 <= 4 ? "normal" : "batch"));
      const replies = await Promise.all(levels.map((level, i) => request(sidecar.url("burst", `/${i}`), level)));
      const by = (level: string) => replies.filter((_, i) => levels[i] === level);
      const rejected = (rs: Reply[]) => rs.filter((r) => r.status !== 200);
      for (const r of replies) {
        if (r.status === 200) expect(r.reason).toBeNull();
        else expect(r).toMatchObject({ status: 503, reason: expect.stringMatching(new RegExp(`^(${REASONS.queueFull}|${REASONS.queueTimeout})$`)) });
      }
      // The burst really overflowed the 4 slots and two queues of 8...
      expect(rejected(replies).length).toBeGreaterThan(10);
      // ...yet every critical request was served.
      expect(rejected(by("critical"))).toEqual([]);
      const share = (level: string) => rejected(by(level)).length / by(level).length;
      expect(share("batch")).toBeGreaterThanOrEqual(share("normal"));
      // maxInFlightPerEndpoint 2 is global across both workers' VMs.
      for (const u of upstreams) expect(u.counts().maxInFlight).toBeLessThanOrEqual(2);
      const served = upstreams.reduce((sum, u) => sum + u.counts().requests, 0);
      expect(served).toBe(replies.length - rejected(replies).length);
      // The filter's counters agree with what the clients got.
      const stats = await sidecar.stats("lightsub.service.burst.admission");
      const metric = (name: string) => stats.get(`wasmcustom.lightsub.service.burst.${name}`) ?? 0;
      expect(metric("admission_rejected_queue_full")).toBe(replies.filter((r) => r.reason === REASONS.queueFull).length);
      expect(metric("admission_rejected_queue_timeout")).toBe(replies.filter((r) => r.reason === REASONS.queueTimeout).length);
      expect(metric("admission_admitted")).toBe(served);
    } finally {
      await sidecar.stop();
      await Promise.all(upstreams.map((u) => u.close()));
    }
  }, 60_000);
});
