/**
 * The admission configuration and its costs: a wrong `admission` object fails
 * configure with one log line naming the field (never a trap); destinations
 * without admission make no extra host call; the tick runs at the smallest
 * tickMs and does nothing visible while nothing waits; waiting tasks survive a
 * reconfiguration (moved to the new queue) or are answered when admission goes.
 */
import { describe, expect, it } from "vitest";
import { Envoy } from "../../host/index.js";
import { METRICS_FLUSH_MS, RECORDS_STORE_MS, Sidecar, compile, destination, pluginConfig } from "../support/filter-host.js";
import { BASE_ADMISSION, admissionConfig, admitted, call, destinationStat, endpointOf, rejection, waiting } from "../support/admission.js";

function withAdmission(admission: unknown): Record<string, unknown> {
  return pluginConfig([destination("catalog", "round_robin", 2, { admission })]);
}

describe("configuration", () => {
  const bad: [string, unknown, string][] = [
    ["not an object", 5, "destinations[0].admission must be an object"],
    ["no maxInFlight", { maxQueue: 4 }, "destinations[0].admission.maxInFlight is required"],
    ["maxInFlight 0", { maxInFlight: 0 }, "destinations[0].admission.maxInFlight must be a positive integer"],
    ["maxInFlight a string", { maxInFlight: "8" }, "destinations[0].admission.maxInFlight must be a positive integer"],
    ["negative maxQueue", { maxInFlight: 1, maxQueue: -1 }, "destinations[0].admission.maxQueue must be a non-negative integer"],
    ["fractional maxQueue", { maxInFlight: 1, maxQueue: 1.5 }, "destinations[0].admission.maxQueue must be a non-negative integer"],
    ["queueTimeoutMs 0", { maxInFlight: 1, queueTimeoutMs: 0 }, "destinations[0].admission.queueTimeoutMs must be a positive integer"],
    ["tickMs null", { maxInFlight: 1, tickMs: null }, "destinations[0].admission.tickMs must be a positive integer"],
    ["tickMs too large", { maxInFlight: 1, tickMs: 60001 }, "destinations[0].admission.tickMs must be at most 60000"],
    ["header with a space", { maxInFlight: 1, priorityHeader: "x priority" }, "destinations[0].admission.priorityHeader must contain only HTTP token characters (after an optional leading ':')"],
    ["empty header", { maxInFlight: 1, priorityHeader: ":" }, "destinations[0].admission.priorityHeader must be 1 to 256 characters long"],
    ["header not a string", { maxInFlight: 1, priorityHeader: 7 }, "destinations[0].admission.priorityHeader must be a string"],
    ["empty levels", { maxInFlight: 1, levels: [] }, "destinations[0].admission.levels must be a non-empty array"],
    ["level not a string", { maxInFlight: 1, levels: ["a", 2] }, "destinations[0].admission.levels[1] must be a string"],
    ["duplicate level", { maxInFlight: 1, levels: ["a", "b", "a"] }, "destinations[0].admission.levels[2] duplicates destinations[0].admission.levels[0]"],
    ["defaultLevel out of range", { maxInFlight: 1, levels: ["a", "b"], defaultLevel: 2 }, "destinations[0].admission.defaultLevel must be an index into levels (0 to 1)"],
    ["adaptive not an object", { maxInFlight: 1, adaptive: true }, "destinations[0].admission.adaptive must be an object"],
    ["adaptive without maxLimit", { maxInFlight: 4, adaptive: { minLimit: 1 } }, "destinations[0].admission.adaptive.maxLimit is required"],
    ["adaptive min above max", { maxInFlight: 4, adaptive: { minLimit: 8, maxLimit: 2 } }, "destinations[0].admission.adaptive.maxLimit must be at least minLimit"],
    ["maxInFlight outside the adaptive range", { maxInFlight: 2, adaptive: { minLimit: 4, maxLimit: 8 } }, "destinations[0].admission.maxInFlight must lie in [adaptive.minLimit, adaptive.maxLimit]"],
    ["adaptive windowMs 0", { maxInFlight: 4, adaptive: { minLimit: 1, maxLimit: 8, windowMs: 0 } }, "destinations[0].admission.adaptive.windowMs must be a positive integer"],
  ];
  for (const [what, admission, message] of bad) {
    it(`rejects ${what} with one log line naming the field`, async () => {
      const envoy = new Envoy();
      const vm = envoy.createVm(await compile(), { vmId: "lightsub" });
      expect(vm.configure(JSON.stringify(withAdmission(admission)), { rootId: "lightsub" })).toBe(false);
      const lines = envoy.logs.filter((l) => l.message.startsWith("lightsub:"));
      expect(lines).toEqual([{ vm: 0, level: "error", message: `lightsub: configuration: ${message}` }]);
      expect(envoy.logs.some((l) => l.message.startsWith("Function:"))).toBe(false); // no trap
    });
  }

  it("reads the level from any header the compiler accepts, the name case-insensitive (a pseudo-header too)", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, priorityHeader: ":Method", levels: ["DELETE", "GET"], defaultLevel: 1 }), 1);
    const vm = sc.vms[0]!;
    const open = (method: string) => {
      const s = vm.createStream({ properties: { "xds.cluster_name": "catalog" } });
      s.onRequestHeaders([[":method", method], [":path", "/"], [":authority", "svc"]], true);
      return s;
    };
    const running = open("GET");
    const get = open("GET");
    const del = open("DELETE");
    sc.finish(running, 200);
    expect(admitted(del)).toBe(true);
    expect(waiting(get)).toBe(true);
  });

  it("accepts the minimal object (defaults for the rest) and publishes the starting limit", async () => {
    const sc = await Sidecar.start(withAdmission({ maxInFlight: 3 }), 1);
    expect(destinationStat(sc, "admission_limit")).toBe(3);
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    expect(sc.envoy.tickPeriod(sc.vms[0]!.root("lightsub")!)).toBe(10);
  });
});

describe("cost", () => {
  // Two destinations; only whether `orders` has admission differs.
  const plain = pluginConfig([destination("catalog", "round_robin", 2), destination("orders", "round_robin", 2)]);
  const mixed = pluginConfig([
    destination("catalog", "round_robin", 2),
    destination("orders", "round_robin", 2, { admission: { ...BASE_ADMISSION, maxInFlight: 4 } }),
  ]);

  function callsOfOneRequest(sc: Sidecar, cluster: string): number {
    const vm = sc.vms[0]!;
    const before = sc.envoy.hostCalls;
    const s = sc.request(cluster, [["x-priority", "high"]], "/", vm);
    sc.finish(s, 200);
    return sc.envoy.hostCalls - before;
  }

  it("a destination without admission makes no extra host call, not even next to one with admission", async () => {
    const a = await Sidecar.start(plain, 1);
    const b = await Sidecar.start(mixed, 1);
    for (let i = 0; i < 5; i++) {
      expect(callsOfOneRequest(b, "catalog")).toBe(callsOfOneRequest(a, "catalog"));
    }
    expect(b.envoy.stats.names().filter((n) => n.startsWith("lightsub.service.catalog.admission_"))).toEqual([]);
    expect(b.envoy.stats.names().filter((n) => n.startsWith("lightsub.service.orders.admission_")).sort()).toEqual([
      "lightsub.service.orders.admission_admitted",
      "lightsub.service.orders.admission_delayed",
      "lightsub.service.orders.admission_limit",
      "lightsub.service.orders.admission_queued",
      "lightsub.service.orders.admission_rejected_queue_full",
      "lightsub.service.orders.admission_rejected_queue_timeout",
      "lightsub.service.orders.admission_wait_ms",
    ]);
  });

  it("a tick with nothing waiting does nothing visible and costs what the metrics tick costs", async () => {
    const a = await Sidecar.start(plain, 1);
    const b = await Sidecar.start(mixed, 1);
    for (const sc of [a, b]) sc.finish(sc.request("orders", [], "/", sc.vms[0]!), 200);
    a.envoy.advance(METRICS_FLUSH_MS);
    b.envoy.advance(METRICS_FLUSH_MS);
    const snapshot = (sc: Sidecar) => ({
      stats: sc.envoy.stats.names().map((n) => [n, sc.envoy.stats.get(n), sc.envoy.stats.histogram(n)?.length]),
      logs: sc.envoy.logs.length,
      shared: sc.envoy.sharedData.keys().map((k) => [k, Array.from(sc.envoy.sharedData.get(k)!.value)]),
    });
    const before = snapshot(b);
    const callsB = b.envoy.hostCalls;
    b.envoy.advance(100); // ten admission ticks
    expect(snapshot(b)).toEqual(before);
    const callsA = a.envoy.hostCalls;
    a.envoy.advanceToNextTick(); // one tick: metrics (and the records of worker-local destinations, none pending)
    expect((b.envoy.hostCalls - callsB) / 10).toBe(a.envoy.hostCalls - callsA);
  });
});

describe("tick period", () => {
  it("is the smallest tickMs of the destinations with admission, capped by the metrics flush interval", async () => {
    const two = pluginConfig([
      destination("catalog", "round_robin", 1, { admission: { maxInFlight: 1, tickMs: 25 } }),
      destination("orders", "round_robin", 1, { admission: { maxInFlight: 1, tickMs: 7 } }),
    ]);
    const sc = await Sidecar.start(two, 1);
    const root = sc.vms[0]!.root("lightsub")!;
    expect(sc.envoy.tickPeriod(root)).toBe(7);
    sc.reconfigure(withAdmission({ maxInFlight: 1, tickMs: 5000 }));
    expect(sc.envoy.tickPeriod(root)).toBe(METRICS_FLUSH_MS);
    sc.reconfigure(withAdmission({ maxInFlight: 1, tickMs: 12 }));
    expect(sc.envoy.tickPeriod(root)).toBe(12);
    // Without admission the tick only publishes metrics...
    sc.reconfigure(pluginConfig([destination("catalog", "least_load", 1)]));
    expect(sc.envoy.tickPeriod(root)).toBe(METRICS_FLUSH_MS);
    // ... and stores the claims and releases a worker-local destination kept in the worker.
    sc.reconfigure(pluginConfig([destination("catalog", "round_robin", 1)]));
    expect(sc.envoy.tickPeriod(root)).toBe(RECORDS_STORE_MS);
    sc.reconfigure(withAdmission({ maxInFlight: 1, tickMs: 12 })); // with admission: not worker-local
    expect(sc.envoy.tickPeriod(root)).toBe(12);
  });
});

describe("reconfiguration with waiting tasks", () => {
  it("moves them to the new configuration's queue, order and levels kept; the new limit serves them on the next tick", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const low = call(sc, vm, "low");
    const high = call(sc, vm, "high");
    const normal = call(sc, vm, "normal");
    sc.reconfigure(admissionConfig(1, { maxInFlight: 2 }));
    expect(waiting(low) && waiting(high) && waiting(normal)).toBe(true);
    expect(destinationStat(sc, "admission_queued")).toBe(3);
    sc.envoy.advance(10);
    expect(admitted(high)).toBe(true);
    expect(waiting(normal) && waiting(low)).toBe(true);
    sc.finish(running, 200); // a request of the old configuration ends: its slot goes to the new queue at once
    expect(admitted(normal)).toBe(true);
    sc.finish(high, 200);
    expect(admitted(low)).toBe(true);
    for (const s of [high, normal, low]) expect(s.continueCount).toBe(1);
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    sc.finish(normal, 200);
    sc.finish(low, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
  });

  it("moved tasks keep their level by name (a name the new list lacks: its default) and their order", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const low = call(sc, vm, "low");
    const high = call(sc, vm, "high");
    sc.reconfigure(admissionConfig(1, { maxInFlight: 1, levels: ["urgent", "rest"], defaultLevel: 1 }));
    // "high" and "low" are not in the new list: both become "rest" (the default), in arrival order.
    const urgent = call(sc, vm, "urgent");
    const late = call(sc, vm, "rest");
    const order: string[] = [];
    const named: [string, typeof low][] = [["low", low], ["high", high], ["urgent", urgent], ["late", late]];
    let current = running;
    for (let i = 0; i < 4; i++) {
      sc.finish(current, 200);
      const next = named.find(([, s]) => admitted(s) && !s.ended)!;
      order.push(next[0]);
      current = next[1];
    }
    expect(order).toEqual(["urgent", "high", "low", "late"]);
  });

  it("answers them with queue-timeout when the new configuration has no admission for the service", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const tasks = [call(sc, vm), call(sc, vm, "high")];
    sc.reconfigure(pluginConfig([destination("catalog", "round_robin", 1)]));
    for (const t of tasks) {
      expect(rejection(t)).toBe("queue-timeout");
      expect(t.continueCount).toBe(0);
      expect(endpointOf(t)).toBeUndefined();
    }
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    expect(destinationStat(sc, "admission_rejected_queue_timeout")).toBe(2);
    sc.finish(running, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
  });
});
