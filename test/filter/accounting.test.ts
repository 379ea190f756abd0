/**
 * Per-request bookkeeping: what the filter does to a request it schedules (and
 * to one that is not its own), and how every ending is accounted exactly once:
 * shared in-flight counts, the rq_active gauge, counters, the latency histogram
 * and the shared peak-EWMA gauge (metric names from docs/design.md).
 */
import { describe, expect, it } from "vitest";
import { RESPONSE_FLAGS, type Stream } from "../../host/index.js";
import { HEADER, METRICS_FLUSH_MS, Sidecar, chosen, destination, endpointMetric, pluginConfig } from "../support/filter-host.js";

// round_robin is worker-local (filter/lightsub/records/local.ts): its successes reach the shared
// record on the root's tick (sc.storeRecords()), its failures at once.

const METRICS = ["rq_total", "rq_error", "rq_5xx", "rq_reset", "rq_timeout", "rq_active", "rq_latency_ms", "latency_ewma_us"];
const STATS = ["catalog-0_9090", "catalog-1_9090"];

function only(s: Stream): string {
  const values = chosen(s);
  expect(values).toHaveLength(1);
  return values[0]!;
}

function statOf(cluster: string): string {
  return STATS[Number(cluster.slice("catalog_ep".length))]!;
}

describe("a scheduled request", () => {
  it("gets exactly one scheduling header (no clear_route_cache call: Envoy clears it for ABI 0.2.1), in-flight and rq_active raised", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]));
    const s = sc.request("catalog");
    expect(s.lastStatus).toBe("Continue");
    const ep = only(s);
    expect(["catalog_ep0", "catalog_ep1"]).toContain(ep);
    expect(s.routeCacheClears).toBe(0);
    sc.storeRecords();
    expect(sc.sharedInFlight(ep)).toBe(1);
    sc.publishStats();
    expect(sc.stat(endpointMetric("catalog", statOf(ep), "rq_active"))).toBe(1);
    // Nothing else about the request changed.
    expect(s.requestHeaders.get(":path")).toBe("/items");
    expect(s.localReply).toBeUndefined();
    sc.finish(s, 200);
    sc.storeRecords();
    expect(sc.sharedInFlight(ep)).toBe(0);
    sc.publishStats();
    expect(sc.stat(endpointMetric("catalog", statOf(ep), "rq_active"))).toBe(0);
  });

  it("with several destinations, each request is scheduled within its own", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2), destination("orders", "random", 3)]));
    for (let i = 0; i < 50; i++) {
      const a = sc.request("catalog");
      const b = sc.request("orders");
      expect(only(a)).toMatch(/^catalog_ep[01]$/);
      expect(only(b)).toMatch(/^orders_ep[012]$/);
      sc.finish(a, 200);
      sc.finish(b, 200);
    }
    sc.publishStats();
    expect(sc.stat("lightsub.service.orders.endpoint.orders-0_9090.rq_total")! + sc.stat("lightsub.service.orders.endpoint.orders-1_9090.rq_total")! +
      sc.stat("lightsub.service.orders.endpoint.orders-2_9090.rq_total")!).toBe(50);
  });
});

describe("a request that is not ours", () => {
  it("passes untouched: unknown cluster, no cluster property", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]));
    const before = sc.envoy.stats.names().map((n) => [n, sc.stat(n)]);
    // (A route to one of catalog's endpoint clusters is ours: test/guarantees/hardening-routing.test.ts.)
    for (const cluster of ["local_app", "payments", "", undefined]) {
      const s = sc.request(cluster, [[HEADER, "catalog_ep1"]]);
      expect(s.lastStatus).toBe("Continue");
      expect(chosen(s)).toEqual(["catalog_ep1"]); // not ours: left as is (the HCM strips client copies)
      expect(s.routeCacheClears).toBe(0);
      sc.finish(s, 200);
    }
    expect(sc.envoy.stats.names().map((n) => [n, sc.stat(n)])).toEqual(before);
    expect(sc.sharedInFlight("catalog_ep0") + sc.sharedInFlight("catalog_ep1")).toBe(0);
  });

  it("is told from a route to an endpoint cluster by exact name, among many destinations", async () => {
    const services = ["catalog", "orders", "users", "carts"];
    const sc = await Sidecar.start(pluginConfig(services.map((s) => destination(s, "random", 40))));
    for (const service of services) {
      for (const k of [0, 17, 39]) {
        const s = sc.request(`${service}_ep${k}`); // e.g. a client's header chose the route
        expect(chosen(s)[0]).toMatch(new RegExp(`^${service}_ep\\d+$`));
        sc.finish(s, 200);
      }
    }
    // Near misses of endpoint cluster names are not ours.
    for (const cluster of ["orders_ep40", "orders_ep", "orders_ep01", "orders_ep1 ", "ORDERS_EP1", "catalog_ep39x"]) {
      const s = sc.request(cluster, [[HEADER, "x"]]);
      expect(chosen(s), cluster).toEqual(["x"]);
      expect(s.routeCacheClears).toBe(0);
      sc.finish(s, 200);
    }
  });
});

describe("every ending is accounted once", () => {
  type Ending = { name: string; code: number; flags: number; kind: "ok" | "5xx" | "reset" | "timeout" | "none" };
  const endings: Ending[] = [
    { name: "200", code: 200, flags: 0, kind: "ok" },
    { name: "404", code: 404, flags: 0, kind: "ok" },
    { name: "upstream 503", code: 503, flags: 0, kind: "5xx" },
    { name: "local reply 503 (no healthy upstream)", code: 503, flags: RESPONSE_FLAGS.NoHealthyUpstream, kind: "5xx" },
    { name: "circuit breaker overflow", code: 503, flags: RESPONSE_FLAGS.UpstreamOverflow, kind: "5xx" },
    { name: "upstream reset", code: 503, flags: RESPONSE_FLAGS.UpstreamRemoteReset, kind: "reset" },
    { name: "connection failure", code: 503, flags: RESPONSE_FLAGS.UpstreamConnectionFailure, kind: "reset" },
    { name: "connection termination", code: 503, flags: RESPONSE_FLAGS.UpstreamConnectionTermination, kind: "reset" },
    { name: "local reset, no response", code: 0, flags: RESPONSE_FLAGS.LocalReset, kind: "reset" },
    { name: "reset after a 200 started", code: 200, flags: RESPONSE_FLAGS.UpstreamRemoteReset, kind: "reset" },
    { name: "upstream timeout", code: 504, flags: RESPONSE_FLAGS.UpstreamRequestTimeout, kind: "timeout" },
    { name: "timeout with retries exhausted", code: 504, flags: RESPONSE_FLAGS.UpstreamRequestTimeout | RESPONSE_FLAGS.UpstreamRetryLimitExceeded, kind: "timeout" },
    { name: "stream idle timeout", code: 408, flags: RESPONSE_FLAGS.StreamIdleTimeout, kind: "timeout" },
    { name: "client went away (no response)", code: 0, flags: RESPONSE_FLAGS.DownstreamRemoteReset, kind: "none" },
    { name: "no response, no flags", code: 0, flags: 0, kind: "none" },
  ];

  it.each(endings)("$name", async ({ code, flags, kind }) => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]));
    const s = sc.request("catalog");
    const ep = only(s);
    const m = (metric: string) => sc.stat(endpointMetric("catalog", statOf(ep), metric));
    expect(sc.sharedInFlight(ep)).toBe(1); // the first claim of an endpoint reads and writes its record
    sc.envoy.advance(37);
    s.end({ responseCode: code, responseFlags: flags });
    // A failure is stored at once; a success or a request without a response on the next tick.
    const failed = kind !== "ok" && kind !== "none";
    expect(sc.sharedInFlight(ep)).toBe(failed ? 0 : 1);
    sc.storeRecords();
    expect(sc.sharedInFlight(ep)).toBe(0);
    expect(m("rq_active")).toBe(0);
    expect(m("rq_total")).toBe(1);
    expect(m("rq_error")).toBe(kind === "ok" ? 0 : 1);
    expect(m("rq_5xx")).toBe(kind === "5xx" ? 1 : 0);
    expect(m("rq_reset")).toBe(kind === "reset" ? 1 : 0);
    expect(m("rq_timeout")).toBe(kind === "timeout" ? 1 : 0);
    expect(sc.envoy.stats.histogram(endpointMetric("catalog", statOf(ep), "rq_latency_ms"))).toEqual([37]);
    // Without a response there is no latency sample for the EWMA.
    expect(m("latency_ewma_us")).toBe(kind === "none" ? 0 : 37_000);
  });

  // With response headers passing the filter, the code comes from their :status (one
  // header lookup) and the response.code property is never read; without them (above),
  // from the property. Same accounting either way.
  it.each(endings.filter((e) => e.code > 0))("$name, its code read from the response headers' :status", async ({ code, flags, kind }) => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]));
    const s = sc.request("catalog");
    const ep = only(s);
    const m = (metric: string) => sc.stat(endpointMetric("catalog", statOf(ep), metric));
    sc.envoy.hostCallCounts = new Map();
    // A response that ends normally ends with its headers; one with flags is cut short after them.
    s.onResponseHeaders([[":status", String(code)]], flags === 0);
    s.end({ responseCode: code, responseFlags: flags });
    const counts = sc.envoy.hostCallCounts;
    expect(counts.get("property response.code") ?? 0).toBe(0);
    expect(counts.get("env.proxy_get_header_map_value")).toBe(1);
    // The flags only where they can change the outcome (base/outcome.ts flagsMatter).
    expect(counts.get("property response.flags") ?? 0).toBe(flags === 0 && code < 500 && code !== 408 ? 0 : 1);
    expect(m("rq_total")).toBe(1);
    expect(m("rq_error")).toBe(kind === "ok" ? 0 : 1);
    expect(m("rq_5xx")).toBe(kind === "5xx" ? 1 : 0);
    expect(m("rq_reset")).toBe(kind === "reset" ? 1 : 0);
    expect(m("rq_timeout")).toBe(kind === "timeout" ? 1 : 0);
  });

  it("reads the response.code property when no response headers passed (reset before them)", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]));
    const s = sc.request("catalog");
    sc.envoy.hostCallCounts = new Map();
    s.end({ responseCode: 503, responseFlags: RESPONSE_FLAGS.UpstreamConnectionFailure });
    expect(sc.envoy.hostCallCounts.get("property response.code")).toBe(1);
    expect(sc.stat(endpointMetric("catalog", statOf(only(s)), "rq_reset"))).toBe(1);
  });

  it("a stream deleted without a log is accounted at delete, and a late log counts nothing twice", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]), 1);
    const vm = sc.vms[0]!;
    const s = sc.request("catalog", [], "/x", vm);
    const ep = only(s);
    const m = (metric: string) => sc.stat(endpointMetric("catalog", statOf(ep), metric));
    sc.envoy.advance(5);
    vm.invoke(s, "proxy_on_done", s.id);
    vm.invoke(s, "proxy_on_delete", s.id);
    expect(vm.failed).toBe(false);
    sc.storeRecords();
    expect(sc.sharedInFlight(ep)).toBe(0);
    expect([m("rq_total"), m("rq_error"), m("rq_active")]).toEqual([1, 1, 0]);
    s.end({ responseCode: 200 }); // the host's log/done/delete reach a context the module dropped
    expect([m("rq_total"), m("rq_error"), m("rq_active")]).toEqual([1, 1, 0]);
    expect(sc.sharedInFlight(ep)).toBe(0);
  });

  it("a second log for the same stream counts nothing", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]), 1);
    const vm = sc.vms[0]!;
    const s = sc.request("catalog", [], "/x", vm);
    const ep = only(s);
    s.onResponseHeaders([[":status", "503"]], true);
    vm.invoke(s, "proxy_on_log", s.id);
    s.end({ responseCode: 503 });
    const m = (metric: string) => sc.stat(endpointMetric("catalog", statOf(ep), metric));
    expect([m("rq_total"), m("rq_error"), m("rq_5xx"), m("rq_active")]).toEqual([1, 1, 1, 0]);
    expect(sc.sharedInFlight(ep)).toBe(0);
  });

  it("in-flight returns to 0 after thousands of interleaved streams over 2 workers", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_load", 3)]));
    const open: Stream[] = [];
    let rng = 12345;
    const next = () => (rng = (rng * 1103515245 + 12345) >>> 0) / 2 ** 32;
    const kinds: [number, number][] = [
      [200, 0], [503, 0], [503, RESPONSE_FLAGS.UpstreamRemoteReset], [504, RESPONSE_FLAGS.UpstreamRequestTimeout], [0, 0], [0, RESPONSE_FLAGS.DownstreamRemoteReset],
    ];
    for (let i = 0; i < 3000; i++) {
      open.push(sc.request("catalog"));
      while (open.length > 0 && next() < 0.5) {
        const s = open.splice(Math.floor(next() * open.length), 1)[0]!;
        const [code, flags] = kinds[Math.floor(next() * kinds.length)]!;
        sc.finish(s, code, flags);
      }
      if (i % 100 === 0) {
        const total = [0, 1, 2].reduce((a, k) => a + sc.sharedInFlight(`catalog_ep${k}`), 0);
        expect(total).toBe(open.length);
      }
    }
    for (const s of open) sc.finish(s, 200);
    sc.publishStats();
    for (let k = 0; k < 3; k++) {
      expect(sc.sharedInFlight(`catalog_ep${k}`)).toBe(0);
      expect(sc.stat(`lightsub.service.catalog.endpoint.catalog-${k}_9090.rq_active`)).toBe(0);
    }
    const totals = [0, 1, 2].map((k) => sc.stat(`lightsub.service.catalog.endpoint.catalog-${k}_9090.rq_total`)!);
    expect(totals.reduce((a, b) => a + b, 0)).toBe(3000);
  });
});

describe("metrics", () => {
  it("counters and gauges are batched per worker and published within one flush interval; the histogram takes every sample at once", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]), 2);
    const names = STATS.map((stat) => (metric: string) => endpointMetric("catalog", stat, metric));
    const sum = (metric: string) => names.reduce((a, n) => a + (sc.stat(n(metric)) ?? 0), 0);
    const samples = () => names.reduce((a, n) => a + (sc.envoy.stats.histogram(n("rq_latency_ms"))?.length ?? 0), 0);
    sc.publishStats(); // both workers just flushed: the next flush is one tick away
    // The flush interval is the root's tick: 1 s, 100 ms with a worker-local destination such as this one.
    const tickMs = sc.envoy.tickPeriod(sc.vms[0]!.root("lightsub")!)!;
    expect(tickMs).toBeLessThanOrEqual(METRICS_FLUSH_MS);
    const before = sc.envoy.hostCalls;
    const open = [sc.request("catalog"), sc.request("catalog"), sc.request("catalog")];
    sc.envoy.advance(tickMs / 2);
    sc.finish(open[0]!, 200);
    sc.finish(open[1]!, 503);
    // Nothing published yet but the latency samples.
    expect([sum("rq_total"), sum("rq_error"), sum("rq_5xx"), sum("rq_active")]).toEqual([0, 0, 0, 0]);
    expect(samples()).toBe(2);
    // Per request: cluster property, 2 clock reads, header, 2 shared reads and writes, the response's :status, flags (503), histogram.
    expect(sc.envoy.hostCalls - before).toBeLessThanOrEqual(2 * 12 + 6);
    sc.publishStats();
    expect([sum("rq_total"), sum("rq_error"), sum("rq_5xx"), sum("rq_active")]).toEqual([2, 1, 1, 1]);
    sc.finish(open[2]!, 200);
    sc.publishStats();
    expect([sum("rq_total"), sum("rq_error"), sum("rq_active")]).toEqual([3, 1, 0]);
    expect(samples()).toBe(3);
  });

  it("are defined with the design's names and types, per endpoint and per destination", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2)]));
    const expected = [
      "lightsub.service.catalog.cas_exhausted",
      "lightsub.service.catalog.rq_unscheduled",
      ...STATS.flatMap((stat) => METRICS.map((metric) => endpointMetric("catalog", stat, metric))),
    ].sort();
    expect(sc.envoy.stats.names()).toEqual(expected);
    for (const stat of STATS) {
      expect(sc.envoy.stats.type(endpointMetric("catalog", stat, "rq_total"))).toBe("counter");
      expect(sc.envoy.stats.type(endpointMetric("catalog", stat, "rq_active"))).toBe("gauge");
      expect(sc.envoy.stats.type(endpointMetric("catalog", stat, "rq_latency_ms"))).toBe("histogram");
      expect(sc.envoy.stats.type(endpointMetric("catalog", stat, "latency_ewma_us"))).toBe("gauge");
    }
    expect(sc.envoy.stats.type("lightsub.service.catalog.rq_unscheduled")).toBe("counter");
  });

  it("have exact values after a known sequence, and carry the service/endpoint tags", async () => {
    // Virtual clock from 0, so nanoseconds stay exact in the host's double arithmetic.
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 2, { decayMs: 1000 })]), 1, 0);
    // [latency ms, code, flags, ms of idle time before the request]
    const plan: [number, number, number, number][] = [
      [20, 200, 0, 0],
      [10, 200, 0, 0],
      [40, 503, 0, 0],
      [5, 200, 0, 500],
      [30, 504, RESPONSE_FLAGS.UpstreamRequestTimeout, 0],
      [7, 0, RESPONSE_FLAGS.UpstreamConnectionFailure, 250],
      [3, 0, 0, 0],
      [15, 200, 0, 2000],
    ];
    type Exp = { total: number; error: number; e5xx: number; reset: number; timeout: number; latencies: number[]; ewma: number; stamp: number };
    const exp = new Map<string, Exp>();
    const decayMs = 1000;
    for (const [latency, code, flags, idle] of plan) {
      sc.envoy.advance(idle);
      const s = sc.request("catalog");
      const ep = only(s);
      sc.envoy.advance(latency);
      sc.finish(s, code, flags);
      const e = exp.get(ep) ?? { total: 0, error: 0, e5xx: 0, reset: 0, timeout: 0, latencies: [], ewma: 0, stamp: 0 };
      e.total++;
      e.latencies.push(latency);
      const timeout = (flags & RESPONSE_FLAGS.UpstreamRequestTimeout) !== 0;
      const reset = !timeout && (flags & RESPONSE_FLAGS.UpstreamConnectionFailure) !== 0;
      const none = !timeout && !reset && code === 0;
      const failed = timeout || reset || code >= 500;
      if (failed || none) e.error++;
      if (timeout) e.timeout++;
      else if (reset) e.reset++;
      else if (code >= 500) e.e5xx++;
      if (!none) {
        // Peak EWMA in µs: a failure never lowers it; a sample above it replaces it;
        // otherwise it moves toward the sample with weight exp(-elapsed / decay).
        let sample = latency * 1000;
        // A failure costs at least twice the EWMA and 10 ms (FAILURE_MIN_US), at most a minute.
        if (failed) sample = Math.min(Math.max(sample, 2 * e.ewma, 10_000), 60e6);
        const now = sc.envoy.nowMs();
        if (e.ewma === 0 || sample >= e.ewma) e.ewma = sample;
        else {
          const w = Math.exp(-(now - e.stamp) / decayMs);
          e.ewma = e.ewma * w + sample * (1 - w);
        }
        e.stamp = now;
      }
      exp.set(ep, e);
    }
    expect(exp.size).toBe(2);
    sc.publishStats();
    for (const [ep, e] of exp) {
      const m = (metric: string) => sc.stat(endpointMetric("catalog", statOf(ep), metric));
      expect(m("rq_total")).toBe(e.total);
      expect(m("rq_error")).toBe(e.error);
      expect(m("rq_5xx")).toBe(e.e5xx);
      expect(m("rq_reset")).toBe(e.reset);
      expect(m("rq_timeout")).toBe(e.timeout);
      expect(m("rq_active")).toBe(0);
      expect(sc.envoy.stats.histogram(endpointMetric("catalog", statOf(ep), "rq_latency_ms"))).toEqual(e.latencies);
      expect(m("latency_ewma_us")).toBe(Math.round(e.ewma));
    }
    expect(sc.stat("lightsub.service.catalog.rq_unscheduled")).toBe(0);

    const tags = [
      { tag_name: "service", regex: "^wasmcustom\\.lightsub\\.(service\\.([^.]+)\\.)" },
      { tag_name: "endpoint", regex: "^wasmcustom\\.lightsub\\.service\\.[^.]+\\.(endpoint\\.([^.]+)\\.)" },
    ];
    const text = sc.envoy.stats.prometheus(tags);
    const total0 = exp.get("catalog_ep0")!.total;
    expect(text).toMatch(new RegExp(`lightsub_rq_total\\{service="catalog",endpoint="catalog-0_9090"\\} ${total0}\\n`));
    expect(text).toMatch(/lightsub_rq_unscheduled\{service="catalog"\} 0\n/);
  });
});
