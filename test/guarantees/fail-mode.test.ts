/**
 * When the filter cannot decide. The host is single-threaded, so contention
 * between workers is produced for real: before each of this VM's writes to
 * shared data, another writer stores the same bytes again, which moves the CAS
 * so the filter's compare-and-swap fails (CasMismatch from the host's real
 * SharedData). A broken store is produced by the host answering InternalFailure.
 */
import { describe, expect, it } from "vitest";
import { WasmResult, type SharedData } from "../../host/index.js";
import { HEADER, Sidecar, chosen, destination, pluginConfig } from "../support/filter-host.js";

type Mode = "off" | "contention" | "broken";

/** Interferes with every write to shared data while `mode` is not "off". */
function interfere(shared: SharedData): { mode: Mode; writes: number } {
  const state = { mode: "off" as Mode, writes: 0 };
  const write = shared.write.bind(shared);
  shared.write = (vmId, key, value, cas) => {
    if (state.mode === "broken") return WasmResult.InternalFailure;
    if (state.mode === "contention") {
      const current = shared.read(vmId, key);
      if (current) write(vmId, key, current.value, 0); // "another worker" writes first
    }
    state.writes++;
    return write(vmId, key, value, cas);
  };
  return state;
}

const config = (failMode: "open" | "closed", strategy = "round_robin") =>
  pluginConfig([destination("catalog", strategy, 2)], { failMode });

describe("fail open", () => {
  for (const [mode, reason] of [["contention", "cas"], ["broken", "store"]] as const) {
    it(`${mode} shared data: continues without the header and counts rq_unscheduled`, async () => {
      const sc = await Sidecar.start(config("open"), 1);
      const fault = interfere(sc.envoy.sharedData);
      fault.mode = mode;
      const s = sc.request("catalog", [[HEADER, "catalog_ep1"]]);
      expect(s.lastStatus).toBe("Continue");
      expect(chosen(s)).toEqual([]); // spoofed copy removed too: Envoy's native LB decides
      expect(s.localReply).toBeUndefined();
      expect(sc.stat("lightsub.service.catalog.rq_unscheduled")).toBe(1);
      expect(sc.stat("lightsub.service.catalog.cas_exhausted")).toBe(reason === "cas" ? 1 : 0);
      fault.mode = "off";
      sc.finish(s, 200);
      // Nothing was claimed, so nothing is released or counted.
      for (const ep of ["catalog_ep0", "catalog_ep1"]) expect(sc.sharedInFlight(ep)).toBe(0);
      expect(sc.stat("lightsub.service.catalog.endpoint.catalog-0_9090.rq_total")! + sc.stat("lightsub.service.catalog.endpoint.catalog-1_9090.rq_total")!).toBe(0);
      expect(sc.vms[0]!.failed).toBe(false);
    });
  }

  it("gives up after a bounded number of CAS attempts (never spins)", async () => {
    const sc = await Sidecar.start(config("open", "least_load"), 1);
    const fault = interfere(sc.envoy.sharedData);
    fault.mode = "contention";
    const before = fault.writes;
    sc.request("catalog");
    expect(fault.writes - before).toBeGreaterThan(1);
    expect(fault.writes - before).toBeLessThanOrEqual(8);
  });
});

describe("fail closed", () => {
  for (const [mode, reason] of [["contention", "shared-data-contention"], ["broken", "shared-data-unavailable"]] as const) {
    it(`${mode} shared data: local reply 503 with x-lightsub-reason: ${reason}`, async () => {
      const sc = await Sidecar.start(config("closed"), 1);
      const fault = interfere(sc.envoy.sharedData);
      fault.mode = mode;
      const s = sc.request("catalog");
      expect(s.lastStatus).not.toBe("Continue");
      expect(s.localReply?.status).toBe(503);
      expect(s.localReply?.headers).toContainEqual(["x-lightsub-reason", reason]);
      expect(s.localReply?.details).toBe("lightsub_unscheduled");
      expect(sc.stat("lightsub.service.catalog.rq_unscheduled")).toBe(1);
      s.end({ responseCode: 503 });
      fault.mode = "off";
      for (const ep of ["catalog_ep0", "catalog_ep1"]) expect(sc.sharedInFlight(ep)).toBe(0);
      expect(sc.vms[0]!.failed).toBe(false);
    });
  }
});

describe("contention when a request ends", () => {
  it("keeps the decrement and applies it with the next successful write (in-flight never leaks)", async () => {
    // least_load writes every release at once (round_robin, worker-local, on the tick: next test).
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_load", 1)]), 1);
    const fault = interfere(sc.envoy.sharedData);
    const a = sc.request("catalog");
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1);
    fault.mode = "contention";
    sc.finish(a, 200);
    expect(sc.stat("lightsub.service.catalog.cas_exhausted")).toBe(1);
    expect(sc.stat("lightsub.service.catalog.endpoint.catalog-0_9090.rq_total")).toBe(1);
    expect(sc.stat("lightsub.service.catalog.endpoint.catalog-0_9090.rq_active")).toBe(0);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1); // could not be stored yet
    fault.mode = "off";
    const b = sc.request("catalog");
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1); // b, with a's pending release folded in
    sc.finish(b, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
  });

  it("worker-local (round_robin): a store on the tick that stays contended keeps the decrement for the next tick", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 1)]), 1);
    const fault = interfere(sc.envoy.sharedData);
    const a = sc.request("catalog"); // the first claim reads and writes the record
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1);
    sc.finish(a, 200); // kept in the worker until the tick
    fault.mode = "contention";
    sc.storeRecords();
    expect(sc.stat("lightsub.service.catalog.cas_exhausted")).toBe(1);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1); // could not be stored yet
    fault.mode = "off";
    sc.storeRecords();
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
  });
});
