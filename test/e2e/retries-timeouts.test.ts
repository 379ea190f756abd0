/**
 * The connector's timeout, perTryTimeout and retries on Envoy 1.40, for
 * requests the filter schedules. Assertions are about counts, status and
 * elapsed time, never about which endpoint a retry lands on (how a retry
 * reaches another endpoint is being redesigned; these hold either way).
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { startUpstream, type UpstreamServer } from "../../e2e/upstream-server.js";
import { describeWithEnvoy } from "../support/real-envoy.js";

const policy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: retries }
spec:
  sidecar: { adminPort: 26911 }
  services:
    - name: client
      port: 26180
      meshPort: 26106
      endpoints: [{ address: 127.0.0.1, port: 26106 }]
      calls: [slow, pertry, failing, flaky, dead]
    - name: slow
      port: 26190
      endpoints: [{ address: 127.0.0.1, port: 26111 }]
      connector: { timeout: 400ms }
    - name: pertry
      port: 26191
      endpoints: [{ address: 127.0.0.1, port: 26112 }]
      connector: { timeout: 5s, retries: { attempts: 2, on: [5xx], perTryTimeout: 200ms } }
    - name: failing
      port: 26192
      endpoints: [{ address: 127.0.0.1, port: 26113 }, { address: 127.0.0.1, port: 26114 }]
      connector: { retries: { attempts: 3, on: [5xx] } }
    - name: flaky
      port: 26193
      endpoints: [{ address: 127.0.0.1, port: 26115 }, { address: 127.0.0.1, port: 26116 }]
      connector: { retries: { attempts: 1, on: [5xx] } }
    - name: dead
      port: 26194
      # Nothing listens on these ports.
      endpoints: [{ address: 127.0.0.1, port: 26118 }, { address: 127.0.0.1, port: 26119 }]
      connector: { connectTimeout: 250ms, retries: { attempts: 2, on: [connect-failure] } }
`;

afterAll(stopAllSidecars);

describeWithEnvoy("retries and timeouts on a real Envoy", (envoy) => {
  let sidecar: LiveSidecar;
  const upstreams: Record<string, UpstreamServer[]> = {};
  const attempts = (service: string) => upstreams[service]!.reduce((sum, u) => sum + u.counts().requests, 0);

  /** Requests the filter accounted for `service` (its rq_total over all endpoints; published at most ~1 s late). */
  async function scheduled(service: string, atLeast: number): Promise<number> {
    let total = 0;
    for (let tries = 0; tries < 40; tries++) {
      total = (await sidecar.prometheus())
        .filter((s) => s.name === "lightsub_rq_total" && s.labels.service === service)
        .reduce((sum, s) => sum + s.value, 0);
      if (total >= atLeast) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    return total;
  }

  async function timed(url: string): Promise<{ status: number; ms: number; body: string }> {
    const start = performance.now();
    const response = await fetch(url);
    const body = await response.text();
    return { status: response.status, ms: performance.now() - start, body };
  }

  beforeAll(async () => {
    // Every request's first attempt fails, its retry succeeds: Envoy keeps
    // x-request-id across the attempts of one request.
    const firstTries = new Set<string>();
    const failFirstTry = (r: { headers: Record<string, string | string[] | undefined> }) => {
      const id = String(r.headers["x-request-id"]);
      if (firstTries.has(id)) return undefined;
      firstTries.add(id);
      return { status: 503 };
    };
    upstreams.slow = [await startUpstream({ name: "slow", latencyMs: 3_000, failureRate: 0, port: 26111 })];
    upstreams.pertry = [await startUpstream({ name: "pertry", latencyMs: 3_000, failureRate: 0, port: 26112 })];
    upstreams.failing = await Promise.all([26113, 26114].map((port, i) => startUpstream({ name: `failing${i}`, latencyMs: 1, failureRate: 1, port })));
    upstreams.flaky = await Promise.all(
      [26115, 26116].map((port, i) => startUpstream({ name: `flaky${i}`, latencyMs: 1, failureRate: 0, port, respond: failFirstTry })),
    );
    sidecar = await startSidecar({ envoy, policy, service: "client" });
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    await Promise.all(Object.values(upstreams).flat().map((u) => u.close()));
  });

  it("connector timeout: 504 after about the timeout, the slow upstream saw each request once", async () => {
    const results = await Promise.all([0, 1, 2].map(() => timed(sidecar.url("slow"))));
    for (const r of results) {
      expect(r.status).toBe(504);
      expect(r.body).toMatch(/upstream request timeout/);
      expect(r.ms).toBeGreaterThanOrEqual(390); // timeout 400 ms (timer granularity)
      expect(r.ms).toBeLessThan(2_500); // well before the upstream's 3 s answer
    }
    expect(attempts("slow")).toBe(3);
    expect(await scheduled("slow", 3)).toBe(3);
  }, 30_000);

  it("perTryTimeout with retries on 5xx: each try is cut at 200 ms and retried, 3 tries, then 504 long before the 5 s timeout", async () => {
    const before = attempts("pertry");
    const r = await timed(sidecar.url("pertry"));
    expect(r.status).toBe(504);
    expect(attempts("pertry") - before).toBe(3);
    expect(r.ms).toBeGreaterThanOrEqual(3 * 190);
    expect(r.ms).toBeLessThan(2_500);
    const stats = await sidecar.stats("upstream_rq_per_try_timeout");
    const perTryTimeouts = [...stats].filter(([name]) => name.startsWith("cluster.")).reduce((sum, [, v]) => sum + v, 0);
    expect(perTryTimeouts).toBe(3);
  }, 30_000);

  it("retries on 5xx with attempts 3: an always-failing service sees 4 tries per request; the filter counts each request once", async () => {
    const requests = 6;
    for (let i = 0; i < requests; i++) {
      const r = await timed(sidecar.url("failing"));
      expect(r.status).toBe(503);
    }
    expect(attempts("failing")).toBe(requests * 4);
    expect(await scheduled("failing", requests)).toBe(requests);
  }, 30_000);

  it("a retry on 5xx recovers a request whose first try failed: 200, 2 tries each", async () => {
    const requests = 8;
    for (let i = 0; i < requests; i++) {
      const r = await timed(sidecar.url("flaky"));
      expect(r.status).toBe(200);
    }
    expect(attempts("flaky")).toBe(requests * 2);
    const retried = [...(await sidecar.stats("upstream_rq_retry_success"))]
      .filter(([name]) => name.startsWith("cluster."))
      .reduce((sum, [, v]) => sum + v, 0);
    expect(retried).toBe(requests);
  }, 30_000);

  it("retries on connect-failure with attempts 2: 3 connection attempts per request, then 503", async () => {
    const requests = 4;
    for (let i = 0; i < requests; i++) {
      const r = await timed(sidecar.url("dead"));
      expect(r.status).toBe(503);
      expect(r.ms).toBeLessThan(3 * 250 + 1_500); // refused at once on loopback; never the 15 s default timeout
    }
    const connectFailures = [...(await sidecar.stats("upstream_cx_connect_fail"))]
      .filter(([name]) => name.startsWith("cluster.") && !name.startsWith("cluster.local_app."))
      .reduce((sum, [, v]) => sum + v, 0);
    expect(connectFailures).toBe(requests * 3);
    expect(await scheduled("dead", requests)).toBe(requests);
  }, 30_000);
});
