/**
 * Listener-scoped plugin configurations (docs/design.md "Plugin configuration",
 * `"scope": "listener"`): the compiler gives each outbound listener its own
 * configuration naming only its destination, so the filter takes the
 * destination from the configuration and reads no property per request. Envoy
 * creates one plugin (root context) per such configuration in each worker's VM;
 * here each listener's plugin is a root of its own in the same VMs (the host
 * keys roots by root id, Envoy by root id and configuration: host/README.md).
 * Several roots in one VM share the VM's module globals (endpoint slots, metric
 * tallies and their flush, shared data): each schedules its own destination,
 * and reconfiguring one never touches the other's records, queue or metrics.
 */
import { describe, expect, it } from "vitest";
import type { Stream, Vm } from "../../host/index.js";
import { BASE_ADMISSION, admitted, endpointOf, waiting } from "../support/admission.js";
import {
  RECORDS_STORE_MS, Sidecar, chosen, destination, endpointMetric, endpoints, pluginConfig, tally, type DestinationSpec,
} from "../support/filter-host.js";

/** How the host counts reads of the route's cluster (Envoy.hostCallCounts). */
const ROUTE_READ = "property xds.cluster_name";

/** Counts host calls by name and property reads by path from now on (host/envoy.ts hostCallCounts). */
function countHostCalls(sc: Sidecar): Map<string, number> {
  const counts = new Map<string, number>();
  sc.envoy.hostCallCounts = counts;
  return counts;
}
/** The Sidecar's own root carries the first listener's plugin; the second listener gets this one. */
const FIRST = "lightsub";
const SECOND = "lightsub/outbound_payments";

function listener(dest: DestinationSpec): Record<string, unknown> {
  return pluginConfig([dest], { scope: "listener" });
}

function sum(values: (number | undefined)[]): number {
  return values.reduce<number>((a, v) => a + (v ?? 0), 0);
}

/** A destination's endpoints' rq_total as published. */
function totals(sc: Sidecar, dest: DestinationSpec): (number | undefined)[] {
  return dest.endpoints.map((ep) => sc.stat(endpointMetric(dest.service, ep.stat, "rq_total")));
}

/** The shared records (bytes and CAS) of a destination's endpoints. */
function records(sc: Sidecar, dest: DestinationSpec): { bytes: number[]; cas: number }[] {
  return dest.endpoints.map((ep) => {
    const v = sc.envoy.sharedData.get(`lightsub/v1/${ep.cluster}`, "lightsub");
    if (!v) throw new Error(`no shared record for ${ep.cluster}`);
    return { bytes: [...v.value], cas: v.cas };
  });
}

describe("a listener-scoped configuration", () => {
  it("schedules every request through its listener onto its destination, reading no xds.cluster_name", async () => {
    const dest = destination("catalog", "round_robin", 3);
    const sc = await Sidecar.start(listener(dest));
    const calls = countHostCalls(sc);
    // Whatever the route would say (nothing, another destination's cluster, one of its endpoint
    // clusters chosen by a client's header): the listener's requests are the catalog's.
    const routes = [undefined, "payments", "catalog_ep2"];
    const streams = Array.from({ length: 30 }, (_, i) => sc.request(routes[i % routes.length]));
    const picked = streams.map((s) => {
      expect(chosen(s)).toHaveLength(1);
      return chosen(s)[0]!;
    });
    // Round robin per worker: 15 requests on each of 2 workers over 3 endpoints.
    expect(tally(picked)).toEqual(new Map(dest.endpoints.map((ep) => [ep.cluster, 10])));
    expect(calls.get(ROUTE_READ) ?? 0).toBe(0);
    for (const s of streams) sc.finish(s, 200);
    sc.publishStats();
    expect(totals(sc, dest)).toEqual([10, 10, 10]);
    expect(calls.get(ROUTE_READ) ?? 0).toBe(0);
    // Nor any other property: the response code comes from the response headers' :status.
    expect([...calls.keys()].filter((name) => name.startsWith("property "))).toEqual([]);
  });

  it("(control) without the scope the same destination is found by route: one xds.cluster_name read per request", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 3)]));
    const calls = countHostCalls(sc);
    const ours = Array.from({ length: 6 }, () => sc.request("catalog"));
    for (const s of ours) expect(chosen(s)[0]).toMatch(/^catalog_ep[0-2]$/);
    const other = sc.request("payments");
    expect(chosen(other)).toEqual([]); // not its destination: untouched
    expect(calls.get(ROUTE_READ) ?? 0).toBe(7);
  });
});

describe("two listeners' roots in one VM", () => {
  const catalog = destination("catalog", "least_load", 2, { admission: { ...BASE_ADMISSION, maxInFlight: 1 } });
  const payments = destination("payments", "round_robin", 3);

  async function twoListeners(): Promise<Sidecar> {
    const sc = await Sidecar.start(listener(catalog), 2);
    sc.configureRoot(SECOND, listener(payments));
    return sc;
  }

  it("each schedules its own destination and ticks at its own period; both destinations' metrics are published", async () => {
    const sc = await twoListeners();
    const calls = countHostCalls(sc);
    for (const vm of sc.vms) {
      const first = vm.root(FIRST)!;
      const second = vm.root(SECOND)!;
      expect(first.id).not.toBe(second.id);
      // The admission's tick (tickMs 10) on the catalog's root; on the payments' (round_robin, worker-local:
      // filter/lightsub/records/local.ts) the store of its records, which also flushes the metrics.
      expect(sc.envoy.tickPeriod(first)).toBe(BASE_ADMISSION.tickMs);
      expect(sc.envoy.tickPeriod(second)).toBe(RECORDS_STORE_MS);
    }
    const logs = sc.pluginLogs().map((l) => l.message);
    expect(logs.filter((m) => m === "lightsub: configured for service frontend, listener of destination catalog")).toHaveLength(2);
    expect(logs.filter((m) => m === "lightsub: configured for service frontend, listener of destination payments")).toHaveLength(2);

    const streams: { s: Stream; service: string }[] = [];
    for (let i = 0; i < 12; i++) {
      const vm = sc.vms[i % 2]!;
      // One catalog request per worker at a time (its limit is 1 per endpoint, 2 endpoints): end each at once.
      const c = sc.request(undefined, [], "/items", vm, FIRST);
      expect(endpointOf(c), `catalog request ${i}`).toMatch(/^catalog_ep[01]$/);
      sc.finish(c, 200);
      streams.push({ s: c, service: "catalog" });
      const p = sc.request(undefined, [], "/items", vm, SECOND);
      expect(chosen(p)[0], `payments request ${i}`).toMatch(/^payments_ep[0-2]$/);
      streams.push({ s: p, service: "payments" });
    }
    for (const { s, service } of streams) if (service === "payments") sc.finish(s, 200);
    expect(calls.get(ROUTE_READ) ?? 0).toBe(0);
    sc.publishStats();
    expect(sum(totals(sc, catalog))).toBe(12);
    expect(totals(sc, payments)).toEqual([4, 4, 4]);
    expect(sc.stat("lightsub.service.catalog.admission_admitted")).toBe(12);
    for (const ep of [...catalog.endpoints, ...payments.endpoints]) {
      expect(sc.sharedInFlight(ep.cluster), ep.cluster).toBe(0);
      expect(sc.stat(endpointMetric(ep.cluster.startsWith("catalog") ? "catalog" : "payments", ep.stat, "rq_active")), ep.cluster).toBe(0);
    }
  });

  it("reconfiguring one listener's root leaves the other's records, waiting request and metrics intact", async () => {
    // The payments listener (second root) has history, requests in flight and one waiting for admission.
    const catalogPlain = destination("catalog", "round_robin", 2);
    const paymentsAdmitted = destination("payments", "least_latency", 2, { admission: { ...BASE_ADMISSION, maxInFlight: 1, queueTimeoutMs: 10_000 } });
    const sc = await Sidecar.start(listener(catalogPlain), 2);
    sc.configureRoot(SECOND, listener(paymentsAdmitted));
    const calls = countHostCalls(sc);
    const vm0: Vm = sc.vms[0]!;
    for (let i = 0; i < 10; i++) {
      for (const vm of sc.vms) {
        const p = sc.request(undefined, [], "/items", vm, SECOND);
        expect(admitted(p)).toBe(true);
        sc.envoy.advance(3);
        sc.finish(p, 200);
        const c = sc.request(undefined, [], "/items", vm, FIRST);
        sc.finish(c, 200);
      }
    }
    const held = [sc.request(undefined, [], "/items", vm0, SECOND), sc.request(undefined, [], "/items", vm0, SECOND)];
    for (const p of held) expect(admitted(p)).toBe(true);
    const queued = sc.request(undefined, [], "/items", vm0, SECOND);
    expect(waiting(queued)).toBe(true);
    const catalogHeld = sc.request(undefined, [], "/items", vm0, FIRST); // in flight across the reconfiguration
    sc.publishStats();

    const paymentRecords = records(sc, paymentsAdmitted);
    expect(paymentRecords.every((r) => r.cas > 0)).toBe(true);
    const paymentTotals = totals(sc, paymentsAdmitted);
    expect(sum(paymentTotals)).toBe(20);
    const paymentLatencies = paymentsAdmitted.endpoints.map((ep) => sc.stat(endpointMetric("payments", ep.stat, "latency_ewma_us")));
    expect(paymentLatencies.every((v) => v !== undefined && v > 0)).toBe(true);

    // The catalog's listener gets a new configuration: one endpoint dropped (retired), one new, another strategy.
    const catalogNext: DestinationSpec = { ...destination("catalog", "random", 2), endpoints: [endpoints("catalog", 3)[0]!, endpoints("catalog", 3)[2]!] };
    sc.configureRoot(FIRST, listener(catalogNext));
    sc.publishStats();

    expect(records(sc, paymentsAdmitted)).toEqual(paymentRecords);
    expect(totals(sc, paymentsAdmitted)).toEqual(paymentTotals);
    expect(paymentsAdmitted.endpoints.map((ep) => sc.stat(endpointMetric("payments", ep.stat, "latency_ewma_us")))).toEqual(paymentLatencies);
    expect(paymentsAdmitted.endpoints.map((ep) => sc.sharedInFlight(ep.cluster))).toEqual([1, 1]);
    expect(sc.stat("lightsub.service.payments.admission_queued")).toBe(1);
    expect(waiting(queued)).toBe(true);
    expect(queued.localReply).toBeUndefined();
    sc.envoy.advance(50); // the payments root's admission ticks: both slots still taken
    expect(waiting(queued)).toBe(true);

    // A slot frees: the waiting request goes in, on the payments root's own admission.
    sc.finish(held[0]!, 200);
    expect(admitted(queued)).toBe(true);
    expect(endpointOf(queued)).toMatch(/^payments_ep[01]$/);
    sc.finish(held[1]!, 200);
    sc.finish(queued, 200);
    sc.finish(catalogHeld, 200);
    sc.publishStats();
    expect(paymentsAdmitted.endpoints.map((ep) => sc.sharedInFlight(ep.cluster))).toEqual([0, 0]);
    expect(sum(totals(sc, paymentsAdmitted))).toBe(23);
    expect(sc.stat("lightsub.service.payments.admission_queued")).toBe(0);
    // The catalog's root went on with its new configuration, its request from before counted once.
    expect(chosen(sc.request(undefined, [], "/items", vm0, FIRST))[0]).toMatch(/^catalog_ep[02]$/);
    expect(sum(totals(sc, catalogPlain))).toBe(21);
    expect(calls.get(ROUTE_READ) ?? 0).toBe(0);
  });

  it("deleting one listener's root (its listener drained) flushes and retires only its own; the other's go on", async () => {
    const catalogPlain = destination("catalog", "round_robin", 2);
    const paymentsAdmitted = destination("payments", "round_robin", 2, { admission: { ...BASE_ADMISSION, maxInFlight: 1, queueTimeoutMs: 10_000 } });
    const sc = await Sidecar.start(listener(catalogPlain), 2);
    sc.configureRoot(SECOND, listener(paymentsAdmitted));
    const vm0: Vm = sc.vms[0]!;
    const fresh = records(sc, catalogPlain);
    for (let i = 0; i < 4; i++) {
      for (const vm of sc.vms) {
        const c = sc.request(undefined, [], "/items", vm, FIRST);
        sc.envoy.advance(2);
        sc.finish(c, 200);
        const p = sc.request(undefined, [], "/items", vm, SECOND);
        sc.finish(p, 200);
      }
    }
    const held = [sc.request(undefined, [], "/items", vm0, SECOND), sc.request(undefined, [], "/items", vm0, SECOND)];
    const queued = sc.request(undefined, [], "/items", vm0, SECOND);
    expect(waiting(queued)).toBe(true);
    const catalogHistory = records(sc, catalogPlain);
    for (let k = 0; k < 2; k++) expect(catalogHistory[k]!.bytes).not.toEqual(fresh[k]!.bytes);
    const paymentRecords = records(sc, paymentsAdmitted);

    // Some of the catalog's counts are still batched in the workers (published at most every second).
    expect(sum(totals(sc, catalogPlain))).toBeLessThan(8);
    for (const vm of sc.vms) expect(vm.deleteRoot(FIRST)).toBe(true);
    // Its last counts published by its deletion, its endpoints retired (no configuration schedules onto them).
    expect(sum(totals(sc, catalogPlain))).toBe(8);
    const retired = records(sc, catalogPlain);
    for (let k = 0; k < 2; k++) expect(retired[k]!.bytes, `catalog_ep${k}`).not.toEqual(catalogHistory[k]!.bytes);
    // The payments' root: records untouched, its tick armed, its waiting request still waiting, then served.
    expect(records(sc, paymentsAdmitted)).toEqual(paymentRecords);
    for (const vm of sc.vms) {
      expect(vm.root(FIRST)).toBeUndefined();
      expect(sc.envoy.tickPeriod(vm.root(SECOND)!)).toBe(BASE_ADMISSION.tickMs);
    }
    sc.envoy.advance(50);
    expect(waiting(queued)).toBe(true);
    sc.finish(held[0]!, 200);
    expect(admitted(queued)).toBe(true);
    sc.finish(held[1]!, 200);
    sc.finish(queued, 200);
    sc.publishStats();
    expect(sum(totals(sc, paymentsAdmitted))).toBe(11);
    expect(paymentsAdmitted.endpoints.map((ep) => sc.sharedInFlight(ep.cluster))).toEqual([0, 0]);
  });

  it("an endpoint both listeners schedule onto keeps its record when one listener drops it", async () => {
    // Hand-written: two listeners to the same service (the compiler writes one per callee).
    const both = destination("catalog", "round_robin", 2);
    const sc = await Sidecar.start(listener(both), 1);
    sc.configureRoot(SECOND, listener(both));
    const fresh = records(sc, both);
    const picked: string[] = [];
    for (let i = 0; i < 8; i++) {
      const s = sc.request(undefined, [], "/items", sc.vms[0], i % 2 === 0 ? FIRST : SECOND);
      expect(chosen(s)).toHaveLength(1);
      picked.push(chosen(s)[0]!);
      sc.envoy.advance(2);
      sc.finish(s, 200);
    }
    expect(tally(picked)).toEqual(new Map([["catalog_ep0", 4], ["catalog_ep1", 4]])); // round robin in each root
    const before = records(sc, both);
    for (let k = 0; k < 2; k++) expect(before[k]!.bytes, `catalog_ep${k} has a history`).not.toEqual(fresh[k]!.bytes);
    // The first listener keeps only catalog_ep0: catalog_ep1 is still the second listener's, so its history stays.
    sc.configureRoot(FIRST, listener({ ...both, endpoints: both.endpoints.slice(0, 1) }));
    expect(records(sc, both)).toEqual(before);
    // Once the second listener drops it too, no configuration schedules onto it: its history is reset.
    sc.configureRoot(SECOND, listener({ ...both, endpoints: both.endpoints.slice(0, 1) }));
    const after = records(sc, both);
    expect(after[0]).toEqual(before[0]);
    expect(after[1]!.bytes).not.toEqual(before[1]!.bytes);
  });
});
