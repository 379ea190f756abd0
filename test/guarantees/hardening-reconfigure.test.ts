/**
 * Reconfiguring the filter while requests are in flight (new endpoints,
 * removed endpoints, changed strategy, an endpoint cluster that now names
 * another address), one worker at a time as Envoy does it: every request is
 * counted exactly once, on the endpoint it was scheduled onto, shared
 * in-flight counts and rq_active gauges return to 0, and the shared records
 * of endpoints no configuration uses any more are cleaned (filter/lightsub/records/retire.ts).
 */
import { describe, expect, it } from "vitest";
import { RESPONSE_FLAGS, type SharedData, type Stream, type Vm } from "../../host/index.js";
import { HEADER, Sidecar, chosen, destination, endpointMetric, endpoints, pluginConfig, type DestinationSpec } from "../support/filter-host.js";
import { historyIsEmpty, inFlightOf, lcg, sharedKeys } from "../support/hardening.js";

type Config = { destinations: DestinationSpec[] } & Record<string, unknown>;

const ENDINGS = [
  { code: 200, flags: 0, kind: "ok" },
  { code: 404, flags: 0, kind: "ok" },
  { code: 503, flags: 0, kind: "5xx" },
  { code: 0, flags: RESPONSE_FLAGS.UpstreamRemoteReset, kind: "reset" },
  { code: 504, flags: RESPONSE_FLAGS.UpstreamRequestTimeout, kind: "timeout" },
  { code: 0, flags: 0, kind: "none" },
  { code: 0, flags: 0, kind: "deleted" }, // proxy_on_done/delete without a log (a stream torn down early)
] as const;

interface Scheduled {
  stream: Stream;
  vm: Vm;
  service: string;
  /** The endpoint's metric label in the configuration the request was scheduled with. */
  stat: string;
}

/** Requests through a 3-worker sidecar, each remembered with the configuration of its worker at the time. */
class Traffic {
  readonly scheduled: Scheduled[] = [];
  readonly open: Scheduled[] = [];
  /** Expected counters by metric name. */
  readonly expected = new Map<string, number>();
  readonly configOf = new Map<Vm, Config>();
  private readonly random = lcg(7);
  unscheduled = 0;

  constructor(readonly sc: Sidecar, config: Config) {
    for (const vm of sc.vms) this.configOf.set(vm, config);
  }

  reconfigure(vm: Vm, config: Config): void {
    expect(vm.configure(JSON.stringify(config), { rootId: "lightsub" })).toBe(true);
    this.configOf.set(vm, config);
  }

  /** One request to `service` on the next worker; checks the header against that worker's configuration. */
  send(service: string): void {
    const vm = this.sc.nextVm();
    const s = this.sc.request(service, [["x-user-id", `u${this.random.below(50)}`]], "/items", vm);
    const dest = this.configOf.get(vm)!.destinations.find((d) => d.cluster === service);
    const values = chosen(s);
    if (!dest) {
      // Not (or no longer) a destination of this worker: untouched, never counted.
      expect(values).toEqual([]);
      this.sc.finish(s, 200);
      return;
    }
    expect(values).toHaveLength(1);
    const ep = dest.endpoints.find((e) => e.cluster === values[0]);
    expect(ep, `${values[0]} is not an endpoint of ${service} in the worker's configuration`).toBeDefined();
    const r = { stream: s, vm, service, stat: ep!.stat };
    this.scheduled.push(r);
    this.open.push(r);
  }

  /** Ends `n` random open requests with random endings. */
  finish(n: number): void {
    for (let i = 0; i < n && this.open.length > 0; i++) {
      const r = this.open.splice(this.random.below(this.open.length), 1)[0]!;
      this.sc.envoy.advance(1 + this.random.below(20));
      const ending = ENDINGS[this.random.below(ENDINGS.length)]!;
      if (ending.kind === "deleted") {
        r.vm.invoke(r.stream, "proxy_on_done", r.stream.id);
        r.vm.invoke(r.stream, "proxy_on_delete", r.stream.id);
        r.stream.end({ responseCode: 200 }); // what the host still delivers reaches no module context
      } else {
        this.sc.finish(r.stream, ending.code, ending.flags);
      }
      this.expect(r, "rq_total");
      if (ending.kind !== "ok") this.expect(r, "rq_error");
      if (ending.kind === "5xx") this.expect(r, "rq_5xx");
      if (ending.kind === "reset") this.expect(r, "rq_reset");
      if (ending.kind === "timeout") this.expect(r, "rq_timeout");
    }
  }

  private expect(r: Scheduled, metric: string): void {
    const name = endpointMetric(r.service, r.stat, metric);
    this.expected.set(name, (this.expected.get(name) ?? 0) + 1);
  }

  /** Every counter as expected; nothing in flight anywhere. */
  verify(): void {
    expect(this.open).toHaveLength(0);
    this.sc.publishStats(); // counters are batched per worker (docs/design.md, "Metrics")
    const counters = this.sc.envoy.stats.names().filter((n) => /\.rq_(total|error|5xx|reset|timeout)$/.test(n));
    const actual = new Map(counters.map((n) => [n, this.sc.stat(n)!]).filter(([, v]) => v !== 0) as [string, number][]);
    expect(actual).toEqual(this.expected);
    const total = [...actual].filter(([n]) => n.endsWith(".rq_total")).reduce((a, [, v]) => a + v, 0);
    expect(total).toBe(this.scheduled.length);
    for (const name of this.sc.envoy.stats.names().filter((n) => n.endsWith(".rq_active"))) expect(this.sc.stat(name), name).toBe(0);
    for (const key of sharedKeys(this.sc.envoy)) expect(inFlightOf(this.sc.envoy, key), key).toBe(0);
    for (const vm of this.sc.vms) expect(vm.failed).toBe(false);
  }
}

const BASE: Config = pluginConfig([destination("catalog", "round_robin", 3), destination("orders", "least_load", 2)]) as Config;

function withCatalog(change: (catalog: DestinationSpec) => DestinationSpec, extra: DestinationSpec[] = [destination("orders", "least_load", 2)]): Config {
  return pluginConfig([change(destination("catalog", "round_robin", 3)), ...extra]) as Config;
}

const CHANGES: [string, Config][] = [
  ["new endpoints", withCatalog((c) => ({ ...c, endpoints: endpoints("catalog", 5) }))],
  ["removed endpoints and a removed destination", withCatalog((c) => ({ ...c, endpoints: endpoints("catalog", 1) }), [])],
  ["changed strategies", withCatalog((c) => ({ ...c, strategy: "least_latency" }), [destination("orders", "consistent_hash", 2, { hashOn: { header: "x-user-id" } })])],
  ["an endpoint cluster that now names another address", withCatalog((c) => ({ ...c, endpoints: c.endpoints.map((e, i) => (i === 1 ? { ...e, stat: "catalog-new_9090" } : e)) }))],
  [
    "everything at once, and a new destination",
    pluginConfig([
      { ...destination("catalog", "availability", 2), endpoints: [endpoints("catalog", 4)[3]!, { cluster: "catalog_ep0", stat: "moved_80", weight: 1 }] },
      destination("payments", "weighted", 3),
    ]) as Config,
  ],
];

describe("reconfigure while requests are in flight", () => {
  it.each(CHANGES)("%s: no request lost or double-counted, nothing left in flight", async (_name, next) => {
    const sc = await Sidecar.start(BASE, 3);
    const t = new Traffic(sc, BASE);
    const services = ["catalog", "orders", "payments"];
    const burst = (n: number) => {
      for (let i = 0; i < n; i++) t.send(services[i % 3]!);
    };
    burst(90);
    t.reconfigure(sc.vms[0]!, next); // worker 0 first; 1 and 2 still run the old configuration
    burst(90);
    t.finish(70);
    t.reconfigure(sc.vms[1]!, next);
    burst(60);
    t.finish(60);
    t.reconfigure(sc.vms[2]!, next);
    burst(90);
    t.finish(Number.MAX_SAFE_INTEGER);
    t.verify();
    // Keys exist only for endpoint clusters some configuration named.
    const named = new Set([BASE, next].flatMap((c) => c.destinations.flatMap((d) => d.endpoints.map((e) => `lightsub/v1/${e.cluster}`))));
    expect(new Set(sharedKeys(sc.envoy))).toEqual(named);
  });

  it("a decrement that could not be stored before the reconfigure still lands (kept endpoint and removed endpoint)", async () => {
    // least_load writes every release at once (round_robin keeps a success in the worker until the tick:
    // filter/lightsub/records/local.ts; test/filter/worker-local.test.ts covers its failed stores).
    const one = (n: number) => pluginConfig([destination("catalog", "least_load", n)]) as Config;
    for (const next of [one(2), one(1)]) {
      const sc = await Sidecar.start(one(2), 1);
      const a = sc.request("catalog");
      const b = sc.request("catalog");
      expect(chosen(a).concat(chosen(b)).sort()).toEqual(["catalog_ep0", "catalog_ep1"]);
      sc.reconfigure(next);
      const fault = contend(sc.envoy.sharedData);
      fault.on = true; // every write loses its CAS race: the decrements stay pending in the worker
      sc.finish(a, 200);
      sc.finish(b, 200);
      fault.on = false;
      expect(inFlightOf(sc.envoy, "lightsub/v1/catalog_ep0") + inFlightOf(sc.envoy, "lightsub/v1/catalog_ep1")).toBe(2);
      expect(sc.stat("lightsub.service.catalog.cas_exhausted")).toBe(2);
      // The next write to each key folds them in: a request for a kept endpoint, the next configure for a removed one.
      for (let i = 0; i < 2; i++) sc.finish(sc.request("catalog"), 200);
      sc.reconfigure(next);
      expect(inFlightOf(sc.envoy, "lightsub/v1/catalog_ep0")).toBe(0);
      expect(inFlightOf(sc.envoy, "lightsub/v1/catalog_ep1")).toBe(0);
    }
  });
});

describe("state of endpoints removed by a reconfigure", () => {
  it("is cleaned once every worker dropped them; in-flight requests still release into it", async () => {
    const full = pluginConfig([destination("catalog", "least_latency", 3)]) as Config;
    const reduced = pluginConfig([destination("catalog", "least_latency", 1)]) as Config;
    const sc = await Sidecar.start(full, 2);
    const t = new Traffic(sc, full);
    for (let i = 0; i < 60; i++) t.send("catalog");
    t.finish(40); // history on every endpoint, 20 requests still in flight
    for (const key of ["catalog_ep1", "catalog_ep2"]) expect(historyIsEmpty(sc.envoy, `lightsub/v1/${key}`)).toBe(false);
    t.reconfigure(sc.vms[0]!, reduced);
    for (let i = 0; i < 20; i++) t.send("catalog"); // worker 1 still schedules onto ep1 and ep2
    t.reconfigure(sc.vms[1]!, reduced);
    const removed = ["lightsub/v1/catalog_ep1", "lightsub/v1/catalog_ep2"];
    const stillRunning = t.open.filter((r) => r.stat !== "catalog-0_9090").length;
    expect(stillRunning).toBeGreaterThan(0);
    expect(removed.reduce((a, k) => a + inFlightOf(sc.envoy, k), 0)).toBe(stillRunning);
    for (const key of removed) expect(historyIsEmpty(sc.envoy, key), key).toBe(true);
    t.finish(Number.MAX_SAFE_INTEGER); // late outcomes on removed endpoints count in metrics, not in shared history
    t.verify();
    for (const key of removed) expect(historyIsEmpty(sc.envoy, key), key).toBe(true);
    expect(historyIsEmpty(sc.envoy, "lightsub/v1/catalog_ep0")).toBe(false);
  });

  it("a failing endpoint that comes back (same cluster, re-added or at a new address) starts with a clean error window", async () => {
    for (const comeback of ["re-added", "new address"] as const) {
      const avail = (n: number, moved = false) =>
        pluginConfig([
          {
            ...destination("search", "availability", n, { windowMs: 60_000, minRequests: 5, errorThreshold: 0.2, probeIntervalMs: 60_000 }),
            endpoints: endpoints("search", n).map((e, i) => (i === 1 && moved ? { ...e, stat: "search-moved_9090" } : e)),
          },
        ]) as Config;
      const sc = await Sidecar.start(avail(2), 1);
      const share = (n: number, failing?: string): number => {
        let onEp1 = 0;
        for (let i = 0; i < n; i++) {
          const s = sc.request("search");
          const ep = chosen(s)[0];
          if (ep === "search_ep1") onEp1++;
          sc.finish(s, ep === failing ? 503 : 200);
        }
        return onEp1;
      };
      share(40, "search_ep1"); // ep1 fails until it is avoided
      expect(share(40)).toBeLessThanOrEqual(1); // avoided (one probe at most)
      if (comeback === "re-added") {
        sc.reconfigure(avail(1));
        sc.reconfigure(avail(2));
      } else {
        sc.reconfigure(avail(2, true));
      }
      expect(share(40)).toBeGreaterThanOrEqual(10); // a fresh endpoint, not a known-bad one
    }
  });

  it("keys stay bounded by the endpoint clusters ever configured, over many reconfigure cycles", async () => {
    const cfg = (n: number, strategy: string) => pluginConfig([destination("catalog", strategy, n), destination("orders", "random", 1 + (n % 2))]) as Config;
    const strategies = ["round_robin", "least_load", "least_latency", "availability", "weighted", "random"];
    const sc = await Sidecar.start(cfg(4, "round_robin"), 2);
    const t = new Traffic(sc, cfg(4, "round_robin"));
    const random = lcg(3);
    for (let cycle = 0; cycle < 60; cycle++) {
      const next = cfg(1 + random.below(6), strategies[cycle % strategies.length]!);
      for (const vm of sc.vms) {
        for (let i = 0; i < 10; i++) t.send(i % 2 === 0 ? "catalog" : "orders");
        t.finish(8);
        t.reconfigure(vm, next);
      }
      expect(sharedKeys(sc.envoy).length).toBeLessThanOrEqual(6 + 2);
    }
    t.finish(Number.MAX_SAFE_INTEGER);
    t.verify();
  });
});

describe("a deleted root context (Envoy drops an old plugin once its listener drained)", () => {
  it("retires its endpoints unless another plugin of the VM still uses them", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_latency", 2)]), 1);
    const vm = sc.vms[0]!;
    // A second plugin (another listener) on the same VM, scheduling onto catalog_ep0 only.
    expect(vm.configure(JSON.stringify(pluginConfig([destination("catalog", "least_latency", 1)])), { rootId: "other" })).toBe(true);
    const send = (rootId: string): Stream => {
      const s = vm.createStream({ rootId, properties: { "xds.cluster_name": "catalog" } });
      s.onRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", "catalog"]], true);
      expect(s.requestHeaders.get(HEADER)).toMatch(rootId === "other" ? /^catalog_ep0$/ : /^catalog_ep[01]$/);
      return s;
    };
    for (let i = 0; i < 10; i++) sc.finish(send(i % 3 === 0 ? "other" : "lightsub"), 200);
    for (const key of ["lightsub/v1/catalog_ep0", "lightsub/v1/catalog_ep1"]) expect(historyIsEmpty(sc.envoy, key)).toBe(false);
    const root = vm.root("lightsub")!;
    vm.invoke(root, "proxy_on_done", root.id);
    vm.invoke(root, "proxy_on_delete", root.id);
    expect(vm.failed).toBe(false);
    expect(historyIsEmpty(sc.envoy, "lightsub/v1/catalog_ep0")).toBe(false); // still used by "other"
    expect(historyIsEmpty(sc.envoy, "lightsub/v1/catalog_ep1")).toBe(true);
    sc.finish(send("other"), 200); // the remaining plugin keeps working
    expect(inFlightOf(sc.envoy, "lightsub/v1/catalog_ep0")).toBe(0);
  });
});

/** While `on`, another writer stores the same bytes before each of the filter's writes, so its CAS always fails. */
function contend(shared: SharedData): { on: boolean } {
  const state = { on: false };
  const write = shared.write.bind(shared);
  shared.write = (vmId, key, value, cas) => {
    if (state.on) {
      const current = shared.read(vmId, key);
      if (current) write(vmId, key, current.value, 0);
    }
    return write(vmId, key, value, cas);
  };
  return state;
}
