// Process-wide state shared by worker VMs: shared data (per vm_id, CAS), stats by name,
// tick timers in virtual time, shared queues.
import { describe, expect, it } from "vitest";
import { Envoy, WasmResult, type Vm } from "../../host/index.js";
import { events, fixtureModule, take, takeResults } from "../support/probe.js";

async function worker(envoy: Envoy, vmId: string, config = "", rootId = "lightsub"): Promise<Vm> {
  const vm = envoy.createVm(await fixtureModule(), { vmId });
  expect(vm.configure(config, { rootId })).toBe(true);
  return vm;
}

/** Runs commands in a request on `vm`, returns the results. */
function run(envoy: Envoy, vm: Vm, commands: string): string[] {
  take(envoy);
  vm.createStream().onRequestHeaders({ ":path": "/", "x-probe": commands }, true);
  return takeResults(envoy);
}

describe("shared data across VMs", () => {
  it("is shared by VMs with the same vm_id and CAS protects concurrent updates", async () => {
    const envoy = new Envoy();
    const a = await worker(envoy, "lightsub");
    const b = await worker(envoy, "lightsub");
    expect(run(envoy, a, "sset lightsub/v1/catalog_ep0 10 0")).toEqual(["0"]);
    // Both workers read the same version.
    const [readA] = run(envoy, a, "sget lightsub/v1/catalog_ep0");
    const [readB] = run(envoy, b, "sget lightsub/v1/catalog_ep0");
    expect(readB).toBe(readA);
    const cas = readA!.split(":")[1]!;
    // B wins the race, A's update with the same (now stale) cas fails.
    expect(run(envoy, b, `sset lightsub/v1/catalog_ep0 11 ${cas}`)).toEqual(["0"]);
    expect(run(envoy, a, `sset lightsub/v1/catalog_ep0 12 ${cas}`)).toEqual([`${WasmResult.CasMismatch}`]);
    // A retries with the fresh cas.
    const [again] = run(envoy, a, "sget lightsub/v1/catalog_ep0");
    expect(again).toMatch(/^0:\d+:11$/);
    expect(run(envoy, a, `sset lightsub/v1/catalog_ep0 12 ${again!.split(":")[1]}`)).toEqual(["0"]);
    expect(new TextDecoder().decode(envoy.sharedData.get("lightsub/v1/catalog_ep0", "lightsub")!.value)).toBe("12");
    expect(envoy.sharedData.keys("lightsub")).toEqual(["lightsub/v1/catalog_ep0"]);
  });

  it("keeps vm_ids apart", async () => {
    const envoy = new Envoy();
    const a = await worker(envoy, "one");
    const b = await worker(envoy, "two");
    run(envoy, a, "sset key a 0");
    expect(run(envoy, b, "sget key")).toEqual([`${WasmResult.NotFound}`]);
    expect(envoy.sharedData.keys()).toEqual(["key"]); // default: the first VM's vm_id
    expect(envoy.sharedData.keys("two")).toEqual([]);
  });
});

describe("stats across VMs", () => {
  it("is one stat per name, whichever worker defined it", async () => {
    const envoy = new Envoy();
    const a = await worker(envoy, "lightsub", "configure=mdef 0 lightsub.rq;mdef 1 lightsub.active;mdef 2 lightsub.lat");
    const b = await worker(envoy, "lightsub", "configure=mdef 0 lightsub.rq;mdef 1 lightsub.active;mdef 2 lightsub.lat");
    run(envoy, a, "minc lightsub.rq 2;minc lightsub.active 1;mrec lightsub.lat 7");
    run(envoy, b, "minc lightsub.rq 3;minc lightsub.active 1;mrec lightsub.lat 9");
    expect(run(envoy, a, "mget lightsub.rq;mget lightsub.active")).toEqual(["0:5", "0:2"]);
    run(envoy, b, "minc lightsub.active -1");
    expect(envoy.stats.get("lightsub.rq")).toBe(5);
    expect(envoy.stats.get("lightsub.active")).toBe(1);
    expect(envoy.stats.histogram("lightsub.lat")).toEqual([7, 9]);
    expect(envoy.stats.names()).toEqual(["lightsub.active", "lightsub.lat", "lightsub.rq"]);
  });
});

describe("ticks", () => {
  it("fires every root's ticks in virtual-time order and re-arms after each tick", async () => {
    const envoy = new Envoy({ startTimeMs: 0 });
    const a = await worker(envoy, "x", "configure=tick 30\ntick=now");
    const b = await worker(envoy, "x", "configure=tick 50\ntick=now");
    take(envoy);
    envoy.advance(100);
    const fired = envoy.logs
      .filter((l) => l.message.startsWith("probe|tick|now|"))
      .map((l) => `${l.vm}@${Number(l.message.split(":")[1]) / 1e6}`);
    expect(fired).toEqual(["0@30", "1@50", "0@60", "0@90", "1@100"]);
    expect(envoy.nowMs()).toBe(100);
    expect(a.failed || b.failed).toBe(false);
  });

  it("stops when the period is set to 0, and ticks only from a root context's period", async () => {
    const envoy = new Envoy();
    await worker(envoy, "x", "configure=tick 10\ntick=tick 0");
    envoy.advance(100);
    expect(events(envoy).filter((e) => e.startsWith("tick|"))).toEqual(["tick|1"]);
  });

  it("tells when the next tick is due and moves exactly to it (a driver with its own clock)", async () => {
    const envoy = new Envoy({ startTimeMs: 0 });
    expect(envoy.nextTickInMs()).toBeUndefined();
    expect(envoy.advanceToNextTick()).toBe(false);
    expect(envoy.nowMs()).toBe(0);
    await worker(envoy, "x", "configure=tick 30\ntick=now");
    await worker(envoy, "x", "configure=tick 50\ntick=now");
    take(envoy);
    const fired = () => envoy.logs
      .filter((l) => l.message.startsWith("probe|tick|now|"))
      .map((l) => `${l.vm}@${Number(l.message.split(":")[1]) / 1e6}`);
    expect(envoy.nextTickInMs()).toBe(30);
    envoy.advance(12.5);
    expect(envoy.nextTickInMs()).toBe(17.5);
    expect(envoy.advanceToNextTick()).toBe(true);
    expect(envoy.nowMs()).toBe(30);
    expect(fired()).toEqual(["0@30"]);
    expect(envoy.nextTickInMs()).toBe(20);
    for (let i = 0; i < 4; i++) expect(envoy.advanceToNextTick()).toBe(true);
    expect(fired()).toEqual(["0@30", "1@50", "0@60", "0@90", "1@100"]);
    expect(envoy.nowMs()).toBe(100);
    // Ticks due at the same instant fire together, in arming order: root 1 re-armed at 100, root 0 at 120.
    envoy.advance(20); // 120: root 0's tick fires
    expect(envoy.advanceToNextTick()).toBe(true);
    expect(envoy.nowMs()).toBe(150);
    expect(fired().slice(5)).toEqual(["0@120", "1@150", "0@150"]);
  });

  it("refuses to go back in time", () => {
    expect(() => new Envoy().advance(-1)).toThrow(RangeError);
  });
});

describe("shared queues", () => {
  it("delivers proxy_on_queue_ready to the registering root when another VM enqueues", async () => {
    const envoy = new Envoy();
    const owner = await worker(envoy, "q", "configure=qreg jobs\nqueue=qdeq 1;qdeq 1");
    expect(takeResults(envoy)).toEqual(["0:1"]);
    const producer = await worker(envoy, "q");
    producer.createStream().onRequestHeaders({ "x-probe": "qres q jobs;qres q nope;qenq 1 hello;qenq 77 x" }, true);
    const results = take(envoy);
    const of = (phase: string) => results.filter((r) => r.phase === phase).map((r) => r.result);
    expect(of("request")).toEqual(["0:1", `${WasmResult.NotFound}`, "0", `${WasmResult.NotFound}`]);
    // The owner hears about the item once the producer's callback returned, and drains the queue.
    expect(events(envoy, owner.index).filter((e) => e.startsWith("queue_ready"))).toEqual(["queue_ready|1,1"]);
    expect(of("queue")).toEqual(["0:hello", `${WasmResult.Empty}`]);
  });
});
