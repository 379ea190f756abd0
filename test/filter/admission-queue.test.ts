/**
 * Admission (issue 8) through the built filter: when every endpoint is at its
 * limit a request waits in its worker's priority queue (StopIteration) and is
 * resumed, best first, on a freed endpoint when a stream of the same worker
 * ends or on the next tick.
 */
import { describe, expect, it } from "vitest";
import type { Stream } from "../../host/index.js";
import { Sidecar, endpointMetric } from "../support/filter-host.js";
import {
  admissionConfig, admitted, call, destinationStat, endpointOf, waitHistogram, waiting,
} from "../support/admission.js";

describe("admission on arrival", () => {
  it("admits while an endpoint is below the limit, then queues with StopIteration", async () => {
    const sc = await Sidecar.start(admissionConfig(2, { maxInFlight: 2 }), 1);
    const vm = sc.vms[0]!;
    const first = [call(sc, vm), call(sc, vm), call(sc, vm), call(sc, vm)];
    for (const s of first) expect(admitted(s)).toBe(true);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(2);
    expect(sc.sharedInFlight("catalog_ep1")).toBe(2);
    const fifth = call(sc, vm);
    expect(fifth.lastStatus).toBe("StopAllIterationAndWatermark");
    expect(waiting(fifth)).toBe(true);
    // Queued tasks are not in flight anywhere.
    expect(sc.sharedInFlight("catalog_ep0") + sc.sharedInFlight("catalog_ep1")).toBe(4);
    expect(destinationStat(sc, "admission_queued")).toBe(1);
    expect(destinationStat(sc, "admission_admitted")).toBe(4);
    expect(destinationStat(sc, "admission_limit")).toBe(2);
  });

  it("below the limit the strategy decides alone (weighted shares exact)", async () => {
    const config = admissionConfig(2, { maxInFlight: 1000 }, "weighted");
    const eps = (config.destinations as { endpoints: { weight: number }[] }[])[0]!.endpoints;
    eps[0]!.weight = 3;
    const sc = await Sidecar.start(config, 1);
    const vm = sc.vms[0]!;
    const counts = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const s = call(sc, vm);
      counts.set(endpointOf(s)!, (counts.get(endpointOf(s)!) ?? 0) + 1);
      sc.finish(s, 200);
    }
    expect(Object.fromEntries(counts)).toEqual({ catalog_ep0: 300, catalog_ep1: 100 });
    expect(destinationStat(sc, "admission_admitted")).toBe(400);
    expect(destinationStat(sc, "admission_delayed") ?? 0).toBe(0);
  });

  it("when the strategy's choice is full, takes another endpoint below the limit instead of queueing", async () => {
    // consistent_hash sends every request with the same key to one endpoint; at its limit the task goes elsewhere.
    const config = admissionConfig(3, { maxInFlight: 1 }, "consistent_hash");
    (config.destinations as Record<string, unknown>[])[0]!.hashOn = { header: "x-user" };
    const sc = await Sidecar.start(config, 1);
    const vm = sc.vms[0]!;
    const streams = [0, 1, 2].map(() => sc.request("catalog", [["x-user", "alice"]], "/", vm));
    const chosen = streams.map((s) => endpointOf(s));
    expect(new Set(chosen).size).toBe(3); // one per endpoint, none twice
    for (const ep of ["catalog_ep0", "catalog_ep1", "catalog_ep2"]) expect(sc.sharedInFlight(ep)).toBe(1);
    expect(waiting(sc.request("catalog", [["x-user", "alice"]], "/", vm))).toBe(true);
  });
});

describe("resuming waiting tasks", () => {
  it("serves by priority, then arrival order; unknown or missing priority is the default level", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, maxQueue: 16 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    expect(admitted(running)).toBe(true);
    const arrivals: [string, Stream][] = [
      ["low-1", call(sc, vm, "low")],
      ["normal-1", call(sc, vm, "normal")],
      ["missing-1", call(sc, vm)],
      ["high-1", call(sc, vm, "high")],
      ["unknown-1", call(sc, vm, "urgent!")],
      ["normal-2", call(sc, vm, "normal")],
      ["high-2", call(sc, vm, "high")],
      ["low-2", call(sc, vm, "low")],
      ["upper-case-is-not-high", call(sc, vm, "HIGH")],
    ];
    for (const [, s] of arrivals) expect(waiting(s)).toBe(true);
    expect(destinationStat(sc, "admission_queued")).toBe(arrivals.length);

    const order: string[] = [];
    let current = running;
    for (let i = 0; i < arrivals.length; i++) {
      sc.envoy.advance(1); // < tickMs: only the end of `current` frees the slot
      sc.finish(current, 200);
      const resumed = arrivals.filter(([, s]) => admitted(s) && !s.ended);
      expect(resumed).toHaveLength(1);
      order.push(resumed[0]![0]);
      current = resumed[0]![1];
      expect(current.continueCount).toBe(1);
      expect(endpointOf(current)).toBe("catalog_ep0");
      expect(current.routeCacheClears).toBe(0); // Envoy clears the route cache itself for ABI 0.2.1 (filter/lightsub/stream.ts)
    }
    expect(order).toEqual([
      "high-1", "high-2",
      "normal-1", "missing-1", "unknown-1", "normal-2", "upper-case-is-not-high",
      "low-1", "low-2",
    ]);
    sc.finish(current, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    expect(destinationStat(sc, "admission_admitted")).toBe(10);
    expect(destinationStat(sc, "admission_delayed")).toBe(9);
    // Each waited one ms per task ahead of it.
    expect(waitHistogram(sc)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("schedules a resumed task on the endpoint that freed, and accounts it like any request", async () => {
    const sc = await Sidecar.start(admissionConfig(3, { maxInFlight: 1 }), 1);
    const vm = sc.vms[0]!;
    const busy = [call(sc, vm), call(sc, vm), call(sc, vm)];
    const task = call(sc, vm);
    expect(waiting(task)).toBe(true);
    const freed = busy.find((s) => endpointOf(s) === "catalog_ep1")!;
    sc.envoy.advance(5);
    sc.finish(freed, 200);
    expect(admitted(task)).toBe(true);
    expect(endpointOf(task)).toBe("catalog_ep1");
    expect(sc.sharedInFlight("catalog_ep1")).toBe(1);
    sc.envoy.advance(30);
    sc.finish(task, 200);
    expect(sc.sharedInFlight("catalog_ep1")).toBe(0);
    // Upstream latency counts from admission (30 ms); the wait (5 ms) is admission_wait_ms.
    expect(sc.envoy.stats.histogram(endpointMetric("catalog", "catalog-1_9090", "rq_latency_ms"))).toEqual([5, 30]);
    expect(waitHistogram(sc)).toEqual([5]);
  });
});
