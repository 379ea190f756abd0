/**
 * Worker-local claims and releases (filter/lightsub/records/local.ts): for
 * round_robin, random, weighted and consistent_hash without admission a
 * request makes no shared-data call; what it changed reaches the endpoint's
 * shared record on the root's tick (RECORDS_STORE_MS), a failure at once and
 * after the successes pending before it, so ejection after N failures in a row
 * reacts as when every request wrote the record. Driven through
 * build/lightsub.wasm in the Node host, counting its shared-data calls.
 */
import { describe, expect, it } from "vitest";
import type { Stream, Vm } from "../../host/index.js";
import { RECORDS_STORE_MS, Sidecar, chosen, destination, pluginConfig } from "../support/filter-host.js";

/** The fields of an endpoint's shared record these tests look at (filter/lightsub/records/state.ts layout). */
function record(sc: Sidecar, cluster: string) {
  const v = sc.envoy.sharedData.get(`lightsub/v1/${cluster}`, "lightsub")!;
  const d = new DataView(v.value.buffer, v.value.byteOffset, v.value.byteLength);
  let requests = 0;
  let errors = 0;
  for (let b = 0; b < 10; b++) {
    requests += d.getUint32(48 + b * 12 + 4, true);
    errors += d.getUint32(48 + b * 12 + 8, true);
  }
  return {
    inFlight: d.getInt32(4, true),
    ewmaUs: d.getFloat64(8, true),
    failuresInARow: d.getUint32(32, true),
    ejectedUntilMs: Number(d.getBigUint64(40, true)),
    requests,
    errors,
  };
}

function target(s: Stream): string {
  const values = chosen(s);
  expect(values).toHaveLength(1);
  return values[0]!;
}

function config(strategy: string, n: number, extra: Record<string, unknown> = {}) {
  const hash = strategy === "consistent_hash" ? { hashOn: { header: "x-user" } } : {};
  return pluginConfig([destination("catalog", strategy, n, { ejectAfter: 5, ejectionMs: 1000, ...hash, ...extra })]);
}

/** One request (a user key for consistent_hash), answered `code(endpoint)`; returns the endpoint. */
function one(sc: Sidecar, code: (ep: string) => number, i = 0): string {
  const s = sc.request("catalog", [["x-user", `user-${i % 50}`]]);
  const ep = target(s);
  sc.finish(s, code(ep));
  return ep;
}

const calls = (sc: Sidecar) => sc.shared.reads + sc.shared.writes;

describe("worker-local strategies", () => {
  for (const strategy of ["round_robin", "random", "weighted", "consistent_hash"]) {
    it(`${strategy}: no shared-data call per request between ticks; counts reach the shared record on the tick`, async () => {
      const sc = await Sidecar.start(config(strategy, 3));
      // Warm-up: the first claim of each endpoint on each worker reads and writes its record.
      for (let i = 0; i < 60; i++) one(sc, () => 200, i);
      sc.storeRecords();
      const before = calls(sc);
      const requestsBefore = [0, 1, 2].reduce((a, k) => a + record(sc, `catalog_ep${k}`).requests, 0);
      const open = Array.from({ length: 30 }, (_, i) => sc.request("catalog", [["x-user", `user-${i}`]]));
      // 90 requests: ~15 per endpoint and worker, fewer than the 32 outcomes a worker keeps before storing them.
      for (let i = 0; i < 90; i++) one(sc, () => 200, i);
      expect(calls(sc) - before).toBe(0);
      // Nothing reached the records yet ...
      const inFlight = () => [0, 1, 2].reduce((a, k) => a + record(sc, `catalog_ep${k}`).inFlight, 0);
      expect(inFlight()).toBe(0);
      // ... until the tick: 30 in flight, 90 more requests in the error windows; one read and one write per endpoint and worker.
      sc.storeRecords();
      expect(inFlight()).toBe(30);
      expect([0, 1, 2].reduce((a, k) => a + record(sc, `catalog_ep${k}`).requests, 0) - requestsBefore).toBe(90);
      expect(calls(sc) - before).toBeLessThanOrEqual(2 * 3 * 2);
      for (const s of open) sc.finish(s, 200);
      expect(inFlight()).toBe(30);
      sc.storeRecords();
      expect(inFlight()).toBe(0);
      // A very busy worker stores an endpoint's outcomes every 32 requests between ticks.
      const busy = calls(sc);
      for (let i = 0; i < 600; i++) one(sc, () => 200, i);
      expect(calls(sc) - busy).toBeGreaterThan(0);
      expect(calls(sc) - busy).toBeLessThanOrEqual((2 * 600) / 32 + 2 * 3 * 2);
    });
  }

  // README "Performance": what a successful round_robin request costs in host calls between ticks.
  it("a successful round_robin request between ticks makes 5 host calls with a listener-scoped configuration (6 route-scoped)", async () => {
    for (const [extra, expected] of [[{ scope: "listener" }, 5], [{}, 6]] as const) {
      const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 3, { ejectAfter: 5, ejectionMs: 1000 })], { ...extra }));
      for (let i = 0; i < 60; i++) one(sc, () => 200, i);
      sc.storeRecords();
      sc.envoy.hostCallCounts = new Map();
      for (let i = 0; i < 20; i++) one(sc, () => 200, i);
      const counts = Object.fromEntries(sc.envoy.hostCallCounts);
      const perRequest = (name: string) => (counts[name] ?? 0) / 20;
      // The clock at the start and the end, the scheduling header, the response's :status, one latency sample.
      expect(perRequest("env.proxy_get_current_time_nanoseconds")).toBe(2);
      expect(perRequest("env.proxy_replace_header_map_value")).toBe(1);
      expect(perRequest("env.proxy_get_header_map_value")).toBe(1);
      expect(perRequest("env.proxy_record_metric")).toBe(1);
      expect(perRequest("property xds.cluster_name")).toBe(expected - 5);
      const total = Object.entries(counts).filter(([name]) => name.startsWith("env.")).reduce((a, [, n]) => a + n, 0);
      expect(total / 20).toBe(expected);
    }
  });

  it("least_load and destinations with admission still read and write the shared record per request", async () => {
    for (const cfg of [config("least_load", 3), config("round_robin", 3, { admission: { maxInFlight: 100 } })]) {
      const sc = await Sidecar.start(cfg);
      for (let i = 0; i < 30; i++) one(sc, () => 200, i);
      const before = calls(sc);
      for (let i = 0; i < 100; i++) one(sc, () => 200, i);
      expect(calls(sc) - before).toBeGreaterThanOrEqual(100 * 3);
    }
  });

  it("a failure is stored at once, after the success pending before it", async () => {
    const sc = await Sidecar.start(config("round_robin", 1), 1);
    one(sc, () => 200); // first claim: through shared data; its success stays pending
    sc.storeRecords();
    const base = record(sc, "catalog_ep0");
    expect([base.requests, base.inFlight]).toEqual([1, 0]);
    one(sc, () => 200);
    one(sc, () => 200);
    expect(record(sc, "catalog_ep0").requests).toBe(1); // two successes pending
    one(sc, () => 503);
    const after = record(sc, "catalog_ep0");
    // Stored without a tick: both successes first, then the failure (one in a row).
    expect([after.requests, after.errors, after.failuresInARow, after.inFlight]).toEqual([4, 1, 1, 0]);
  });

  for (const workers of [1, 2]) {
    it(`${workers} worker(s): 5 failures in a row eject the endpoint, as when every request wrote the record`, async () => {
      const sc = await Sidecar.start(config("round_robin", 4), workers);
      for (let i = 0; i < 40; i++) one(sc, () => 200);
      sc.storeRecords();
      // The endpoint dies: it is left after exactly 5 failures (no time passes: no tick, no probe).
      const picks = Array.from({ length: 200 }, () => one(sc, (ep) => (ep === "catalog_ep3" ? 503 : 200)));
      expect(picks.filter((ep) => ep === "catalog_ep3")).toHaveLength(5);
      expect(record(sc, "catalog_ep3").ejectedUntilMs).toBeGreaterThan(0);
      // Every worker's later requests pass it over.
      expect(picks.slice(-100)).not.toContain("catalog_ep3");
    });
  }

  it("a pending success ends the run of failures, as it would have when stored at once", async () => {
    const sc = await Sidecar.start(config("round_robin", 1), 2);
    const [a, b] = sc.vms as [Vm, Vm];
    const on = (vm: Vm, code: number) => sc.finish(sc.request("catalog", [], "/", vm), code);
    on(a, 200);
    on(b, 200);
    sc.storeRecords(); // both workers' views fresh and clean
    for (let i = 0; i < 4; i++) on(a, 503);
    expect(record(sc, "catalog_ep0").failuresInARow).toBe(4);
    on(b, 200); // B saw no failure: its success stays in the worker
    expect(record(sc, "catalog_ep0").failuresInARow).toBe(4);
    // B's next failure applies it first: one in a row, not five: not ejected.
    on(b, 503);
    expect(record(sc, "catalog_ep0")).toMatchObject({ failuresInARow: 1, ejectedUntilMs: 0 });
    for (let i = 0; i < 3; i++) on(a, 503);
    expect(record(sc, "catalog_ep0")).toMatchObject({ failuresInARow: 4, ejectedUntilMs: 0 });
    on(b, 503);
    expect(record(sc, "catalog_ep0").failuresInARow).toBe(5);
    expect(record(sc, "catalog_ep0").ejectedUntilMs).toBeGreaterThan(0);
  });

  it("after a failure, the worker's next success is stored at once (its claims then stay in the worker)", async () => {
    const sc = await Sidecar.start(config("round_robin", 1), 1);
    one(sc, () => 200);
    sc.storeRecords();
    one(sc, () => 503);
    expect(record(sc, "catalog_ep0").failuresInARow).toBe(1);
    one(sc, () => 200);
    expect(record(sc, "catalog_ep0").failuresInARow).toBe(0);
    const before = calls(sc);
    for (let i = 0; i < 20; i++) one(sc, () => 200);
    expect(calls(sc) - before).toBe(0);
  });

  it("another worker's ejection reaches this worker's view within one tick", async () => {
    const sc = await Sidecar.start(config("round_robin", 2), 2);
    const [a, b] = sc.vms as [Vm, Vm];
    const on = (vm: Vm, code: number) => {
      const s = sc.request("catalog", [], "/", vm);
      const ep = target(s);
      sc.finish(s, ep === "catalog_ep1" ? code : 200);
      return ep;
    };
    for (let i = 0; i < 20; i++) on(i % 2 ? a : b, 200);
    sc.storeRecords();
    // Worker A alone sees catalog_ep1 fail 5 times: ejected in the shared record.
    let failures = 0;
    while (failures < 5) if (on(a, 503) === "catalog_ep1") failures++;
    expect(record(sc, "catalog_ep1").ejectedUntilMs).toBeGreaterThan(0);
    // Worker B learns it at its next tick at the latest (its view was clean and fresh).
    sc.envoy.advance(RECORDS_STORE_MS);
    const fromB = Array.from({ length: 20 }, () => on(b, 503));
    expect(fromB).not.toContain("catalog_ep1");
  });

  it("while the record cannot be written, claims go through shared data and fail open; no in-flight change is lost", async () => {
    const sc = await Sidecar.start(config("round_robin", 2), 1);
    for (let i = 0; i < 10; i++) one(sc, () => 200);
    sc.storeRecords();
    const open = Array.from({ length: 6 }, () => sc.request("catalog")); // claimed in the worker
    for (const s of open) expect(chosen(s)).toHaveLength(1);
    sc.shared.failWrites = 10; // InternalFailure: shared data unavailable
    sc.storeRecords(); // the tick's store fails: the claims stay pending
    const unscheduled = () => sc.stat("lightsub.service.catalog.rq_unscheduled") ?? 0;
    const s = sc.request("catalog");
    expect(chosen(s)).toEqual([]); // fail open: no scheduling header, Envoy balances
    sc.publishStats();
    expect(unscheduled()).toBe(1);
    for (const o of open.slice(0, 3)) sc.finish(o, 200);
    sc.finish(s, 200);
    sc.shared.failWrites = undefined;
    sc.storeRecords();
    expect(record(sc, "catalog_ep0").inFlight + record(sc, "catalog_ep1").inFlight).toBe(3);
    for (const o of open.slice(3)) sc.finish(o, 200);
    sc.storeRecords();
    expect(record(sc, "catalog_ep0").inFlight + record(sc, "catalog_ep1").inFlight).toBe(0);
    // Writes work again: local claims again, no call per request.
    const before = calls(sc);
    for (let i = 0; i < 20; i++) one(sc, () => 200);
    expect(calls(sc) - before).toBe(0);
  });
});
