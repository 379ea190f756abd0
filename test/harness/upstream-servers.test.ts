/** The Node upstream test servers and the bounded traffic burst, against each other on loopback (no Envoy). */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { sendBurst } from "../../e2e/traffic.js";
import { countByUpstream, runLoad } from "../support/http-load.js";
import { INJECTED_FAILURE_HEADER, SCHEDULING_HEADER, UPSTREAM_HEADER, startUpstream, type UpstreamServer } from "../../e2e/upstream-server.js";

const servers: UpstreamServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function upstream(...args: Parameters<typeof startUpstream>): Promise<UpstreamServer> {
  const s = await startUpstream(...args);
  servers.push(s);
  return s;
}

describe("upstream test server", () => {
  it("answers after its latency, names itself and counts", async () => {
    const s = await upstream({ name: "ep_a", latencyMs: 80, failureRate: 0 });
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${s.port}/x`);
    const elapsed = performance.now() - started;
    expect(res.status).toBe(200);
    expect(res.headers.get(UPSTREAM_HEADER)).toBe("ep_a");
    expect(res.headers.get(INJECTED_FAILURE_HEADER)).toBeNull();
    expect(await res.text()).toBe("ok\n");
    expect(elapsed).toBeGreaterThanOrEqual(75);
    expect(s.counts()).toEqual({ requests: 1, injectedFailures: 0, schedulingHeaderSeen: 0, maxInFlight: 1 });
  });

  it("precise: a sub-millisecond latency is kept, not cut to the next turn of the loop; onAnswer says when each answer went", async () => {
    const answers: Array<{ planned: number; after: number }> = [];
    const s = await upstream({
      name: "ep_p",
      latencyMs: 0,
      failureRate: 0,
      precise: true,
      respond: (request) => ({ latencyMs: request.path === "/slow" ? 0.6 : 0 }),
      onAnswer: (request, plannedMs, answeredAtMs) => answers.push({ planned: plannedMs, after: answeredAtMs - request.atMs }),
    });
    for (const path of ["/slow", "/fast", "/slow"]) expect((await fetch(`http://127.0.0.1:${s.port}${path}`)).status).toBe(200);
    expect(answers.map((a) => a.planned)).toEqual([0.6, 0, 0.6]);
    // Never before its latency (a timer or a single setImmediate would answer a 0.6 ms request at 1 ms or at once).
    for (const a of answers) expect(a.after).toBeGreaterThanOrEqual(a.planned);
  });

  it("fails the set share of requests with a marked 503 and notices the scheduling header", async () => {
    const rolls = [0.1, 0.9, 0.2, 0.8];
    let i = 0;
    const s = await upstream({ name: "ep_b", latencyMs: 0, failureRate: 0.5, random: () => rolls[i++ % rolls.length]! });
    const statuses: number[] = [];
    for (let k = 0; k < 4; k++) {
      const res = await fetch(`http://127.0.0.1:${s.port}/`, { headers: k === 2 ? { [SCHEDULING_HEADER]: "x_ep0" } : {} });
      statuses.push(res.status);
      expect(res.headers.get(INJECTED_FAILURE_HEADER)).toBe(res.status === 503 ? "1" : null);
      await res.text();
    }
    expect(statuses).toEqual([503, 200, 503, 200]);
    expect(s.counts()).toEqual({ requests: 4, injectedFailures: 2, schedulingHeaderSeen: 1, maxInFlight: 1 });
  });

  it("listens on the port it is given and closes despite open keep-alive connections", async () => {
    const probe = await startUpstream({ name: "p", latencyMs: 0, failureRate: 0 });
    const port = probe.port;
    await probe.close();
    const s = await startUpstream({ name: "fixed", port, latencyMs: 0, failureRate: 0 });
    expect(s.port).toBe(port);
    await (await fetch(`http://127.0.0.1:${port}/`)).text(); // leaves a keep-alive socket in fetch's pool
    const closing = performance.now();
    await s.close();
    expect(performance.now() - closing).toBeLessThan(1_000);
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  });
});

describe("upstream test server: runtime changes and holding", () => {
  it("set() changes latency and failure rate for requests that arrive afterwards", async () => {
    const s = await upstream({ name: "ep_f", latencyMs: 0, failureRate: 1 });
    expect((await fetch(`http://127.0.0.1:${s.port}/`)).status).toBe(503);
    s.set({ failureRate: 0, latencyMs: 80 });
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${s.port}/`);
    expect(res.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    await res.text();
    expect(s.counts()).toEqual({ requests: 2, injectedFailures: 1, schedulingHeaderSeen: 0, maxInFlight: 1 });
  });

  it("holds requests open until release(), then answers each of them", async () => {
    const s = await upstream({ name: "ep_g", latencyMs: 0, failureRate: 0, hold: true });
    const answers = Promise.all([1, 2, 3].map(() => fetch(`http://127.0.0.1:${s.port}/`).then((r) => r.status)));
    for (let t = 0; t < 100 && s.held() < 3; t++) await new Promise((r) => setTimeout(r, 10));
    expect(s.held()).toBe(3);
    expect(s.inFlight()).toBe(3);
    await new Promise((r) => setTimeout(r, 50));
    expect(s.held()).toBe(3); // still unanswered
    s.set({ hold: false });
    expect(s.release()).toBe(3);
    expect(await answers).toEqual([200, 200, 200]);
    expect(s.held()).toBe(0);
    expect(s.inFlight()).toBe(0);
    expect(s.release()).toBe(0);
    // No longer holding: answered at once.
    expect((await fetch(`http://127.0.0.1:${s.port}/`)).status).toBe(200);
  });

  it("forgets a held request whose caller gave up", async () => {
    const s = await upstream({ name: "ep_h", latencyMs: 0, failureRate: 0, hold: true });
    const [lost] = await runLoad({ url: `http://127.0.0.1:${s.port}/`, requests: 1, concurrency: 1, timeoutMs: 100 });
    expect(lost!.status).toBe(0);
    for (let t = 0; t < 100 && s.held() > 0; t++) await new Promise((r) => setTimeout(r, 10));
    expect(s.held()).toBe(0);
    expect(s.inFlight()).toBe(0);
    expect(s.release()).toBe(0);
  });
});

describe("runLoad", () => {
  it("sends every request with at most `concurrency` in flight, on fresh or pooled connections, and records who answered", async () => {
    const a = await upstream({ name: "ep_i", latencyMs: 40, failureRate: 0 });
    for (const freshConnections of [false, true]) {
      const before = a.counts().requests;
      const records = await runLoad({ url: `http://127.0.0.1:${a.port}/`, requests: 12, concurrency: 3, freshConnections, headers: (i) => ({ "x-n": String(i) }) });
      expect(records.map((r) => r.i)).toEqual([...Array(12).keys()]);
      expect(records.every((r) => r.status === 200 && r.upstream === "ep_i" && r.endMs - r.startMs >= 35)).toBe(true);
      expect(countByUpstream(records)).toEqual(new Map([["ep_i", 12]]));
      expect(a.counts().requests - before).toBe(12);
      expect(a.counts().maxInFlight).toBe(3);
    }
  });

  it("opens one connection per request with freshConnections, else at most `concurrency`", async () => {
    let connections = 0;
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers["x-n"] ?? ""}`);
      setTimeout(() => res.end("ok"), 5);
    });
    server.on("connection", () => connections++);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      await runLoad({ url, requests: 20, concurrency: 4 });
      expect(connections).toBeLessThanOrEqual(4);
      connections = 0;
      await runLoad({ url, requests: 20, concurrency: 4, freshConnections: true, path: (i) => `/p/${i}?q=${i % 2}`, headers: (i) => ({ "x-n": String(i) }) });
      expect(connections).toBe(20);
      expect(seen.slice(20).sort()).toEqual([...Array(20).keys()].map((i) => `/p/${i}?q=${i % 2} ${i}`).sort());
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe("sendBurst", () => {
  it("sends exactly the planned requests, at most `concurrency` at once, recording each answer and spoof", async () => {
    const s = await upstream({ name: "ep_c", latencyMs: 60, failureRate: 0 });
    const responses = await sendBurst({
      service: "svc",
      url: `http://127.0.0.1:${s.port}/`,
      requests: 8,
      concurrency: 4,
      spoof: (i) => (i % 2 === 1 ? "svc_ep1" : undefined),
    });
    expect(responses).toHaveLength(8);
    // 60 ms per answer: the four workers' requests overlap at the server, never a fifth
    expect(s.counts()).toEqual({ requests: 8, injectedFailures: 0, schedulingHeaderSeen: 4, maxInFlight: 4 });
    expect(responses.every((r) => r.status === 200 && r.upstream === "ep_c" && r.service === "svc" && !r.injected)).toBe(true);
    expect(responses.map((r) => r.spoofed)).toEqual([undefined, "svc_ep1", undefined, "svc_ep1", undefined, "svc_ep1", undefined, "svc_ep1"]);
  });

  it("records injected failures, and a request with no answer as status 0", async () => {
    const failing = await upstream({ name: "ep_d", latencyMs: 0, failureRate: 1 });
    const [failed] = await sendBurst({ service: "s", url: `http://127.0.0.1:${failing.port}/`, requests: 1, concurrency: 1, spoof: () => undefined });
    expect(failed).toEqual({ service: "s", status: 503, upstream: "ep_d", injected: true });
    const hanging = await upstream({ name: "ep_e", latencyMs: 5_000, failureRate: 0 });
    const [lost] = await sendBurst({
      service: "s",
      url: `http://127.0.0.1:${hanging.port}/`,
      requests: 1,
      concurrency: 1,
      spoof: () => undefined,
      timeoutMs: 100,
    });
    expect(lost).toEqual({ service: "s", status: 0, injected: false });
  });
});
