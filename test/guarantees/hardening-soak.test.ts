/**
 * Soak: the built filter in the Node host, four worker VMs sharing data, a
 * long run of requests with every kind of ending (200, 503, upstream resets,
 * timeouts, Envoy's local replies, the filter's own fail-closed replies,
 * clients that go away, streams torn down without a log), many requests in
 * flight at once, and reconfigurations (endpoints added, removed and
 * re-addressed, strategies changed) rolled out one worker at a time.
 *
 * Claims checked: no trap; each VM's linear memory stops growing after
 * warm-up (no growth over the second half of the run); shared-data keys stay
 * within the endpoint clusters ever configured and the records of removed
 * endpoints are cleaned; at the end nothing is in flight and every request is
 * counted once.
 *
 * Size: LIGHTSUB_SOAK_REQUESTS (default 1,000,000), memory sampled every
 * LIGHTSUB_SOAK_SAMPLE_EVERY requests (default 10,000).
 */
import { describe, expect, it } from "vitest";
import { RESPONSE_FLAGS, WasmResult, type SharedData, type Stream, type Vm } from "../../host/index.js";
import { Sidecar, chosen, destination, endpoints, pluginConfig, type DestinationSpec } from "../support/filter-host.js";
import { historyIsEmpty, inFlightOf, lcg, sharedKeys, sizeFromEnv } from "../support/hardening.js";

const REQUESTS = sizeFromEnv("LIGHTSUB_SOAK_REQUESTS", 1_000_000);
const SAMPLE_EVERY = sizeFromEnv("LIGHTSUB_SOAK_SAMPLE_EVERY", 10_000);
const WORKERS = 4;
const RECONFIGURE_EVERY = Math.max(1, Math.floor(REQUESTS / 20));

type Ending = "ok" | "5xx" | "reset" | "timeout" | "envoyLocalReply" | "clientGone" | "noResponse" | "deleted";
const ENDINGS: Ending[] = ["ok", "ok", "ok", "ok", "5xx", "reset", "timeout", "envoyLocalReply", "clientGone", "noResponse", "deleted"];

/** Configuration `generation`: endpoint counts, strategies and one endpoint's address change with it. */
function configFor(generation: number): ReturnType<typeof pluginConfig> {
  const catalogCount = 2 + (generation % 5); // 2..6 endpoints: some removed, some re-added
  const strategies = ["least_latency", "round_robin", "least_load", "availability", "weighted", "random"];
  const catalog: DestinationSpec = {
    ...destination("catalog", strategies[generation % strategies.length]!, catalogCount),
    // catalog_ep0 moves to another address every third generation, back and forth between two: every
    // metric name exists by the end of the warm-up (a name once defined stays: Envoy cannot undefine a
    // metric), so growth after it would be a leak, not new names.
    endpoints: endpoints("catalog", catalogCount).map((e, i) => (i === 0 ? { ...e, stat: `catalog-0-v${Math.floor(generation / 3) % 2}_9090` } : e)),
  };
  return pluginConfig(
    [
      catalog,
      destination("cart", "consistent_hash", 3, { hashOn: { cookie: "session" } }),
      destination("search", "availability", 2 + (generation % 2), { windowMs: 2000, minRequests: 5 }),
      ...(generation % 4 === 3 ? [] : [destination("orders", "least_load", 2)]), // a destination that comes and goes
    ],
    { failMode: generation % 2 === 0 ? "open" : "closed" },
  );
}

/** Makes the filter's shared-data writes fail while `on` (the filter then cannot decide: fail open or closed). */
function breakable(shared: SharedData): { on: boolean } {
  const state = { on: false };
  const write = shared.write.bind(shared);
  shared.write = (vmId, key, value, cas) => (state.on ? WasmResult.InternalFailure : write(vmId, key, value, cas));
  return state;
}

interface Open {
  stream: Stream;
  vm: Vm;
  scheduled: boolean;
}

describe(`soak: ${REQUESTS.toLocaleString("en-US")} requests over ${WORKERS} workers`, () => {
  it("memory plateaus, keys stay bounded, nothing stays in flight, every request counted once", { timeout: 600_000 }, async () => {
    let generation = 0;
    const sc = await Sidecar.start(configFor(0), WORKERS);
    const broken = breakable(sc.envoy.sharedData);
    const random = lcg(20240601);
    const clusters = ["catalog", "cart", "search", "orders", "local_app"];
    const everConfigured = new Set<string>();
    const remember = (g: number) => {
      for (const d of (configFor(g).destinations as DestinationSpec[])) for (const e of d.endpoints) everConfigured.add(`lightsub/v1/${e.cluster}`);
    };
    remember(0);
    const destinationsOf = (g: number) => new Set((configFor(g).destinations as DestinationSpec[]).map((d) => d.cluster));
    let current = destinationsOf(0);
    const open: Open[] = [];
    const samples: number[][] = [];
    let scheduled = 0;
    let unscheduled = 0;
    let localReplies = 0;
    let inFlightTarget = 50;

    const end = (o: Open) => {
      const ending = ENDINGS[random.below(ENDINGS.length)]!;
      const s = o.stream;
      if (s.localReply) {
        s.end({ responseCode: s.localReply.status }); // the filter answered itself (fail closed)
        return;
      }
      switch (ending) {
        case "ok":
          return sc.finish(s, 200);
        case "5xx":
          return sc.finish(s, 503);
        case "reset":
          return s.end({ responseCode: 0, responseFlags: RESPONSE_FLAGS.UpstreamRemoteReset });
        case "timeout":
          return sc.finish(s, 504, RESPONSE_FLAGS.UpstreamRequestTimeout);
        case "envoyLocalReply":
          return sc.finish(s, 503, RESPONSE_FLAGS.NoHealthyUpstream);
        case "clientGone":
          return s.end({ responseCode: 0, responseFlags: RESPONSE_FLAGS.DownstreamRemoteReset });
        case "noResponse":
          return s.end({ responseCode: 0 });
        case "deleted":
          o.vm.invoke(s, "proxy_on_done", s.id);
          o.vm.invoke(s, "proxy_on_delete", s.id);
          return s.end({ responseCode: 0 });
      }
    };

    for (let i = 1; i <= REQUESTS; i++) {
      const vm = sc.vms[i % WORKERS]!;
      const cluster = clusters[random.below(clusters.length)]!;
      broken.on = random.below(500) === 0; // now and then the filter cannot decide
      const stream = sc.request(cluster, [["cookie", `session=s${random.below(1000)}`]], `/p/${i % 97}`, vm);
      broken.on = false;
      const picked = chosen(stream).length === 1;
      if (picked) scheduled++;
      if (stream.localReply) localReplies++;
      if (!picked && current.has(cluster)) unscheduled++;
      open.push({ stream, vm, scheduled: picked });
      if (i % 1000 === 0) inFlightTarget = 1 + random.below(300);
      while (open.length > inFlightTarget) {
        sc.envoy.advance(random.below(3));
        end(open.splice(random.below(open.length), 1)[0]!);
      }
      if (i % RECONFIGURE_EVERY === 0) {
        // Rolled out one worker at a time, traffic in between.
        generation++;
        remember(generation);
        current = destinationsOf(generation);
        const next = JSON.stringify(configFor(generation));
        for (const w of sc.vms) {
          expect(w.configure(next, { rootId: "lightsub" })).toBe(true);
          for (let k = 0; k < 5 && open.length > 0; k++) end(open.splice(random.below(open.length), 1)[0]!);
        }
      }
      if (i % SAMPLE_EVERY === 0) samples.push(sc.vms.map((w) => w.mem.size));
    }
    // Workers on older generations are all on the last one now; drain.
    while (open.length > 0) end(open.pop()!);
    // Worker-local destinations (round_robin, random, weighted, consistent_hash) store their last successes on the tick.
    sc.storeRecords();

    for (const vm of sc.vms) expect(vm.failed, String(vm.trap)).toBe(false);
    expect(sc.envoy.logs.filter((l) => l.level === "error" || l.level === "critical")).toEqual([]);

    // Memory: after warm-up (the first half), no VM's linear memory grows.
    expect(samples.length).toBeGreaterThanOrEqual(4);
    const half = samples[Math.floor(samples.length / 2) - 1]!;
    for (let w = 0; w < WORKERS; w++) {
      const laterMax = Math.max(...samples.slice(samples.length / 2).map((s) => s[w]!));
      expect(laterMax, `worker ${w} memory after warm-up`).toBe(half[w]);
    }

    // Shared data: only keys of endpoint clusters some configuration named, none in flight.
    const keys = sharedKeys(sc.envoy);
    expect(keys.every((k) => everConfigured.has(k))).toBe(true);
    for (const key of keys) expect(inFlightOf(sc.envoy, key), key).toBe(0);
    // Endpoints the final configuration does not name were cleaned.
    const final = new Set((configFor(generation).destinations as DestinationSpec[]).flatMap((d) => d.endpoints.map((e) => `lightsub/v1/${e.cluster}`)));
    const removed = keys.filter((k) => !final.has(k));
    expect(removed.length).toBeGreaterThan(0);
    for (const key of removed) expect(historyIsEmpty(sc.envoy, key), key).toBe(true);

    // Every scheduled request counted once; gauges back to 0; every undecided one counted as unscheduled.
    sc.publishStats();
    const names = sc.envoy.stats.names();
    const sum = (suffix: string) => names.filter((n) => n.endsWith(suffix)).reduce((a, n) => a + sc.stat(n)!, 0);
    expect(sum(".rq_total")).toBe(scheduled);
    expect(sum(".rq_unscheduled")).toBe(unscheduled);
    for (const n of names.filter((x) => x.endsWith(".rq_active"))) expect(sc.stat(n), n).toBe(0);
    expect(unscheduled).toBeGreaterThan(0);
    expect(localReplies).toBeGreaterThan(0);
    expect(localReplies).toBeLessThanOrEqual(unscheduled);
  });

  it("the memory measurement sees a leak: streams that never end grow memory", async () => {
    const sc = await Sidecar.start(configFor(0), 1);
    const before = sc.vms[0]!.mem.size;
    for (let i = 0; i < 20_000; i++) sc.request("catalog");
    expect(sc.vms[0]!.mem.size).toBeGreaterThan(before);
  });
});
