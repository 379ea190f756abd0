/**
 * Conformance of the Node host with Envoy 1.40 on the real filter
 * (build/lightsub.wasm): the same scripted traffic through a compiled sidecar
 * on Envoy and through host/ with the simulator's routing
 * (test/support/conformance.ts), compared on what a user can see: which
 * endpoint each request reached and with which headers, the local replies
 * (admission's queue-full 503 with x-lightsub-reason), a request held in the
 * admission queue and released when a slot frees, and the filter's metrics
 * on /stats/prometheus (counters and gauges exactly; latency-valued series by
 * name and sample count, since real and virtual time differ).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { Envoy } from "../../host/index.js";
import { EnvoySide, HostSide, hostSideFor, wasmLines, type HostRequest, type Observation, type ScriptedRequest } from "../support/conformance.js";
import { describeWithEnvoy } from "../support/real-envoy.js";
import { UPSTREAM_HEADER, startUpstream, type UpstreamServer } from "../../e2e/upstream-server.js";

const ADMIN_PORT = 28921;
const A_PORT = 28211;
const B_PORT = 28212;
const LATENCY_MS = 300;

const POLICY = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: conformance-lightsub }
spec:
  sidecar: { adminPort: ${ADMIN_PORT} }
  failMode: closed
  services:
    - name: client
      port: 28280
      meshPort: 28206
      endpoints: [{ address: 127.0.0.1, port: 28206 }]
      calls: [svc]
    - name: svc
      port: 28290
      endpoints: [{ address: 127.0.0.1, port: ${A_PORT} }, { address: 127.0.0.1, port: ${B_PORT} }]
      scheduler: { strategy: round_robin }
      admission: { maxInFlightPerEndpoint: 1, maxQueue: 1, queueTimeout: 5s }
`;

const WASM = join(import.meta.dirname, "..", "..", "build", "lightsub.wasm");

afterAll(stopAllSidecars);

/**
 * round_robin starts each worker at a random endpoint (filter/lightsub/strategies/round-robin.ts),
 * so Envoy and the host may start at different ones: name endpoints by first use ("E1", "E2") on each side.
 */
class EndpointNames {
  private readonly names = new Map<string, string>();
  name(upstream: string): string {
    let n = this.names.get(upstream);
    if (n === undefined) this.names.set(upstream, (n = `E${this.names.size + 1}`));
    return n;
  }
  observation(o: Observation): Observation {
    const rename = (h: [string, string][]) => h.map(([k, v]) => [k, k === UPSTREAM_HEADER ? this.name(v) : v] as [string, string]);
    return {
      ...o,
      responseHeaders: rename(o.responseHeaders),
      ...(o.upstream ? { upstream: { ...o.upstream, name: this.name(o.upstream.name) } } : {}),
    };
  }
  /** Prometheus lines with endpoint labels (address_port) renamed, sorted. */
  stats(lines: string[], byLabel: Map<string, string>): string[] {
    return lines
      .map((l) => l.replace(/endpoint="([^"]+)"/, (_, label: string) => `endpoint="${this.name(byLabel.get(label) ?? label)}"`))
      .sort();
  }
}

const envoyNames = new EndpointNames();
const hostNames = new EndpointNames();

describeWithEnvoy("conformance: host/ vs Envoy, the lightsub filter", (envoyBinary) => {
  let sidecar: LiveSidecar;
  let upstreams: UpstreamServer[];
  let envoySide: EnvoySide;
  let hostSide: HostSide;

  beforeAll(async () => {
    upstreams = [
      await startUpstream({ name: "a", latencyMs: LATENCY_MS, failureRate: 0, port: A_PORT }),
      await startUpstream({ name: "b", latencyMs: LATENCY_MS, failureRate: 0, port: B_PORT }),
    ];
    sidecar = await startSidecar({
      envoy: envoyBinary,
      policy: POLICY,
      service: "client",
      concurrency: 1,
      logLevel: "info",
      // Histograms reach /stats/prometheus at each stats flush (default every 5 s).
      editBootstrap: (bootstrap) => void (bootstrap.stats_flush_interval = "0.2s"),
    });
    envoySide = new EnvoySide(sidecar, "svc", upstreams, { probe: false });
    hostSide = hostSideFor(await Envoy.compile(readFileSync(WASM)), sidecar, upstreams);
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    for (const u of upstreams ?? []) await u.close();
  });

  it("start-up logs the same", () => {
    expect(hostSide.startup()).toEqual(envoySide.startup().worker);
  });

  it("round robin: the same endpoints in the same order, with the same upstream and client headers", async () => {
    const fromEnvoy: Observation[] = [];
    const fromHost: Observation[] = [];
    for (let i = 0; i < 4; i++) {
      const req: ScriptedRequest = { path: `/rr/${i}`, headers: { "x-seq": String(i), "x-lightsub-endpoint": "svc_ep1" } };
      fromEnvoy.push(await envoySide.run(req));
      fromHost.push(hostSide.run(req));
    }
    const names = fromEnvoy.map((o) => o.upstream?.name);
    expect(new Set(names).size).toBe(2);
    expect(names.slice(2)).toEqual(names.slice(0, 2)); // alternating
    expect(fromHost.map((o) => hostNames.observation(o))).toEqual(fromEnvoy.map((o) => envoyNames.observation(o)));
    // The scheduling header never reaches an upstream, whatever the client sent.
    for (const o of fromEnvoy) expect(o.upstream!.headers.some(([k]) => k === "x-lightsub-endpoint")).toBe(false);
  });

  it("admission: a full queue answers 503 queue-full; a queued request goes when a slot frees, to that endpoint", async () => {
    const reqs: ScriptedRequest[] = [0, 1, 2, 3].map((i) => ({ path: `/adm/${i}`, headers: { "x-seq": String(i) } }));
    const received = () => upstreams.reduce((n, u) => n + u.seen().length, 0);
    const base = received();
    const until = async (test: () => boolean) => {
      for (let i = 0; i < 200 && !test(); i++) await new Promise((r) => setTimeout(r, 5));
      expect(test()).toBe(true);
    };
    const untilAsync = async (test: () => Promise<boolean>) => {
      let ok = await test();
      for (let i = 0; i < 200 && !ok; i++) {
        await new Promise((r) => setTimeout(r, 10));
        ok = await test();
      }
      expect(ok).toBe(true);
    };
    // Envoy: requests 0 and 1 take both endpoints' only slot, 2 waits in the queue, 3 finds it full.
    const fromEnvoy = await envoySide.runConcurrently([
      { req: reqs[0]! },
      { req: reqs[1]!, before: () => until(() => received() >= base + 1) },
      { req: reqs[2]!, before: () => until(() => received() >= base + 2) },
      // Request 3 only once 2 is queued (the destination's gauges are published at once).
      { req: reqs[3]!, before: () => untilAsync(async () => (await sidecar.stats("admission_queued")).get("wasmcustom.lightsub.service.svc.admission_queued") === 1) },
    ]);


    // Host: the same, in virtual time.
    const h: HostRequest[] = reqs.map((req) => hostSide.begin(req));
    expect(h[2]!.stream.requestPaused).toBe(true);
    hostSide.complete(h[0]!);
    hostSide.poll(h);
    hostSide.complete(h[1]!);
    hostSide.complete(h[2]!);
    const fromHost = h.map((r) => r.result!);


    expect(fromEnvoy.map((o) => o.status)).toEqual([200, 200, 200, 503]);
    expect(fromEnvoy[3]!.responseHeaders).toContainEqual(["x-lightsub-reason", "queue-full"]);
    const strip = (names: EndpointNames) => (o: Observation) => {
      const r = names.observation(o);
      return { status: r.status, responseHeaders: r.responseHeaders, body: r.body };
    };
    // Endpoint names by first use in request order (each side's round robin starts at random).
    expect(fromHost.map(strip(hostNames))).toEqual(fromEnvoy.map(strip(envoyNames)));
    const envoyUpstreams = upstreams
      .flatMap((u) => u.seen().map((r) => `${envoyNames.name(u.name)}:${r.path}`))
      .filter((x) => x.includes("/adm/"))
      .sort();
    const hostUpstreams = h.filter((r) => r.upstream).map((r) => `${hostNames.name(r.upstream!.name)}:${r.upstream!.url}`).sort();
    expect(hostUpstreams).toEqual(envoyUpstreams);
    hostSide.takeWasm();
    await envoySide.takeWasm();
  });

  it("the filter's metrics read the same on /stats/prometheus", async () => {
    // Counters and gauges are published at most 1000 ms after the fact (metric-batch.ts).
    await new Promise((r) => setTimeout(r, 1_300));
    hostSide.envoy.advance(1_300);
    const envoyText = await (await fetch(`http://127.0.0.1:${ADMIN_PORT}/stats/prometheus`)).text();
    const statsTags = (sidecar.bootstrap.stats_config as { stats_tags: { tag_name: string; regex: string }[] }).stats_tags;
    const hostText = hostSide.envoy.stats.prometheus(statsTags);
    const lightsub = (text: string) =>
      text
        .split("\n")
        .filter((l) => /^(# TYPE )?lightsub_/.test(l))
        // Latency-valued series depend on real vs virtual time: compare their names (and sample counts) only.
        .map((l) => (/^lightsub_(latency_ewma_us|rq_latency_ms_(sum|bucket)|admission_wait_ms_(sum|bucket))\{/.test(l) ? l.replace(/ \S+$/, " <time>") : l));
    const byLabel = new Map(upstreams.map((u) => [`${u.host.replace(/\./g, "_")}_${u.port}`, u.name]));
    const fromEnvoy = envoyNames.stats(lightsub(envoyText), byLabel);
    const fromHost = hostNames.stats(lightsub(hostText), byLabel);
    if (process.env.LIGHTSUB_CONFORMANCE_DUMP) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(join(process.env.LIGHTSUB_CONFORMANCE_DUMP, "lightsub.envoy.txt"), fromEnvoy.join("\n"));
      writeFileSync(join(process.env.LIGHTSUB_CONFORMANCE_DUMP, "lightsub.host.txt"), fromHost.join("\n"));
    }
    // 4 round-robin requests, then 3 admitted (E1 twice: the queued one took its freed slot).
    expect(fromEnvoy).toContain('lightsub_rq_total{service="svc",endpoint="E1"} 4');
    expect(fromEnvoy).toContain('lightsub_rq_total{service="svc",endpoint="E2"} 3');
    expect(fromHost).toEqual(fromEnvoy);
  });
});

const TIMEOUT_ADMIN_PORT = 28931;
const TIMEOUT_POLICY = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: conformance-timeout }
spec:
  sidecar: { adminPort: ${TIMEOUT_ADMIN_PORT} }
  services:
    - name: client
      port: 28380
      meshPort: 28306
      endpoints: [{ address: 127.0.0.1, port: 28306 }]
      calls: [svc]
    - name: svc
      port: 28390
      endpoints: [{ address: 127.0.0.1, port: 28311 }, { address: 127.0.0.1, port: 28312 }]
      scheduler: { strategy: least_load }
      admission: { maxInFlightPerEndpoint: 1, maxQueue: 4, queueTimeout: 200ms }
`;

describeWithEnvoy("conformance: host/ vs Envoy, the lightsub filter's queue timeout", (envoyBinary) => {
  it("a queued request past queueTimeout gets the same 503 queue-timeout from a tick, the others are served; same metrics", async () => {
    const slow = [
      await startUpstream({ name: "a", latencyMs: 800, failureRate: 0, port: 28311 }),
      await startUpstream({ name: "b", latencyMs: 800, failureRate: 0, port: 28312 }),
    ];
    const sidecar = await startSidecar({
      envoy: envoyBinary,
      policy: TIMEOUT_POLICY,
      service: "client",
      concurrency: 1,
      logLevel: "info",
      editBootstrap: (bootstrap) => void (bootstrap.stats_flush_interval = "0.2s"),
    });
    try {
      const envoySide = new EnvoySide(sidecar, "svc", slow, { probe: false });
      const hostSide = hostSideFor(await Envoy.compile(readFileSync(WASM)), sidecar, slow);
      const reqs: ScriptedRequest[] = [0, 1, 2].map((i) => ({ path: `/t/${i}`, headers: { "x-seq": String(i) } }));
      const received = () => slow.reduce((n, u) => n + u.seen().length, 0);
      const until = async (n: number) => {
        for (let i = 0; i < 200 && received() < n; i++) await new Promise((r) => setTimeout(r, 5));
        expect(received()).toBe(n);
      };
      const fromEnvoy = await envoySide.runConcurrently([
        { req: reqs[0]! },
        { req: reqs[1]!, before: () => until(1) },
        { req: reqs[2]!, before: () => until(2) },
      ]);
      // Host: 0 and 1 take both slots; 2 waits until the ticks time it out; then 0 and 1 answer.
      hostSide.startup();
      const h: HostRequest[] = reqs.map((req) => hostSide.begin(req));
      expect(h[2]!.stream.requestPaused).toBe(true);
      hostSide.waitWhilePaused(h[2]!);
      hostSide.complete(h[0]!);
      hostSide.complete(h[1]!);
      const fromHost = h.map((r) => r.result!);

      expect(fromEnvoy.map((o) => o.status)).toEqual([200, 200, 503]);
      expect(fromEnvoy[2]!.responseHeaders).toContainEqual(["x-lightsub-reason", "queue-timeout"]);
      const envoyNames = new EndpointNames();
      const hostNames = new EndpointNames();
      const strip = (names: EndpointNames) => (o: Observation) => {
        const r = names.observation(o);
        return { status: r.status, responseHeaders: r.responseHeaders, body: r.body };
      };
      expect(fromHost.map(strip(hostNames))).toEqual(fromEnvoy.map(strip(envoyNames)));
      // The timed-out request never reached an upstream on either side.
      expect(slow.flatMap((u) => u.seen().map((r) => r.path)).sort()).toEqual(["/t/0", "/t/1"]);
      expect(h[2]!.upstream).toBeUndefined();

      await new Promise((r) => setTimeout(r, 1_300));
      hostSide.envoy.advance(1_300);
      const statsTags = (sidecar.bootstrap.stats_config as { stats_tags: { tag_name: string; regex: string }[] }).stats_tags;
      const byLabel = new Map(slow.map((u) => [`${u.host.replace(/\./g, "_")}_${u.port}`, u.name]));
      const lightsub = (text: string) =>
        text
          .split("\n")
          .filter((l) => /^(# TYPE )?lightsub_/.test(l))
          .map((l) => (/^lightsub_(latency_ewma_us|rq_latency_ms_(sum|bucket)|admission_wait_ms_(sum|bucket))\{/.test(l) ? l.replace(/ \S+$/, " <time>") : l));
      const envoyStats = envoyNames.stats(lightsub(await (await fetch(`http://127.0.0.1:${TIMEOUT_ADMIN_PORT}/stats/prometheus`)).text()), byLabel);
      expect(envoyStats).toContain('lightsub_admission_rejected_queue_timeout{service="svc"} 1');
      expect(hostNames.stats(lightsub(hostSide.envoy.stats.prometheus(statsTags)), byLabel)).toEqual(envoyStats);
    } finally {
      await sidecar.stop();
      for (const u of slow) await u.close();
    }
  }, 60_000);
});

const HASH_ADMIN_PORT = 28941;
const HASH_POLICY = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: conformance-hash }
spec:
  sidecar: { adminPort: ${HASH_ADMIN_PORT} }
  services:
    - name: client
      port: 28480
      meshPort: 28406
      endpoints: [{ address: 127.0.0.1, port: 28406 }]
      calls: [svc]
    - name: svc
      port: 28490
      endpoints: [{ address: 127.0.0.1, port: 28411 }, { address: 127.0.0.1, port: 28412 }, { address: 127.0.0.1, port: 28413, weight: 2 }]
      scheduler: { strategy: consistent_hash, hashOn: { header: x-user-id } }
`;

describeWithEnvoy("conformance: host/ vs Envoy, the lightsub filter's consistent hash", (envoyBinary) => {
  it("every key lands on the same endpoint on Envoy and on the host (the filter sees the same header values)", async () => {
    const ups = [
      await startUpstream({ name: "a", latencyMs: 0, failureRate: 0, port: 28411 }),
      await startUpstream({ name: "b", latencyMs: 0, failureRate: 0, port: 28412 }),
      await startUpstream({ name: "c", latencyMs: 0, failureRate: 0, port: 28413 }),
    ];
    const sidecar = await startSidecar({ envoy: envoyBinary, policy: HASH_POLICY, service: "client", concurrency: 1, logLevel: "info" });
    try {
      const envoySide = new EnvoySide(sidecar, "svc", ups, { probe: false });
      const hostSide = hostSideFor(await Envoy.compile(readFileSync(WASM)), sidecar, ups);
      expect(hostSide.startup()).toEqual(envoySide.startup().worker);
      const fromEnvoy: Observation[] = [];
      const fromHost: Observation[] = [];
      for (let k = 0; k < 12; k++) {
        const req: ScriptedRequest = { path: `/u/${k}`, headers: { "x-user-id": `user-${k}` } };
        fromEnvoy.push(await envoySide.run(req));
        fromHost.push(hostSide.run(req));
      }
      // Several endpoints are used, and the very same request/response pairs on both sides.
      expect(new Set(fromEnvoy.map((o) => o.upstream?.name)).size).toBeGreaterThan(1);
      expect(fromHost).toEqual(fromEnvoy);
    } finally {
      await sidecar.stop();
      for (const u of ups) await u.close();
    }
  }, 60_000);
});

describeWithEnvoy("conformance: host/ vs Envoy, a plugin configuration the filter refuses", (envoyBinary) => {
  it("the filter's own log lines are the same, and both refuse it", async () => {
    const broken = JSON.stringify({
      version: 1,
      service: "client",
      header: "x-lightsub-endpoint",
      failMode: "open",
      destinations: [{ service: "svc", cluster: "svc", strategy: "no_such_strategy", endpoints: [{ cluster: "svc_ep0", stat: "127_0_0_1_28411", weight: 1 }] }],
    });
    let failure = "";
    try {
      const sidecar = await startSidecar({
        envoy: envoyBinary,
        policy: HASH_POLICY,
        service: "client",
        concurrency: 1,
        logLevel: "info",
        readyTimeoutMs: 15_000,
        editBootstrap: (bootstrap) => {
          // Every Wasm filter's plugin configuration becomes `broken`.
          const visit = (node: unknown): void => {
            if (Array.isArray(node)) return node.forEach(visit);
            if (typeof node !== "object" || node === null) return;
            const record = node as Record<string, unknown>;
            if (record.root_id === "lightsub" && typeof record.configuration === "object") {
              (record.configuration as Record<string, unknown>).value = broken;
            }
            Object.values(record).forEach(visit);
          };
          visit(bootstrap);
        },
      });
      await sidecar.stop();
    } catch (error) {
      failure = (error as Error).message;
    }
    // Envoy refuses the bootstrap; what the filter logged on the way is in the log tail.
    expect(failure).toMatch(/envoy is not ready|exited/);
    const fromEnvoy = [...new Set(wasmLines(failure).map((l) => `${l.level} ${l.message}`))];
    const host = new Envoy({ logLevel: "info" });
    const vm = host.createVm(await Envoy.compile(readFileSync(WASM)), { vmId: "lightsub" });
    expect(vm.configure(broken, { rootId: "lightsub", name: "lightsub" })).toBe(false);
    const fromHost = [...new Set(host.logs.filter((l) => !l.message.startsWith("Failed to")).map((l) => `${l.level} ${l.message}`))];
    expect(fromEnvoy.length).toBeGreaterThan(0);
    expect(fromHost).toEqual(fromEnvoy);
  }, 60_000);
});
