/**
 * Ejection under every strategy (filter/lightsub/records/shared.ts Ejection,
 * strategies/strategy.ts): an endpoint that fails every request is left after
 * ejectAfter failures in a row, probed once per ejection time (across both
 * workers), and back once it heals. Driven through build/lightsub.wasm with two
 * worker VMs sharing data, on virtual time.
 */
import { describe, expect, it } from "vitest";
import type { Stream } from "../../host/index.js";
import { Sidecar, chosen, destination, pluginConfig, tally } from "../support/filter-host.js";

const STRATEGIES = ["round_robin", "random", "weighted", "least_load", "least_latency", "availability", "consistent_hash"];
const BAD = "catalog_ep3";

function target(s: Stream): string {
  const values = chosen(s);
  expect(values).toHaveLength(1);
  return values[0]!;
}

/** One request (key: a user id for consistent_hash), answered `code(endpoint)` after `stepMs`. Returns the endpoint. */
function one(sc: Sidecar, code: (ep: string) => number, stepMs: number, key?: string): string {
  const s = sc.request("catalog", key === undefined ? [] : [["x-user", key]]);
  const ep = target(s);
  sc.envoy.advance(stepMs); // the request takes stepMs (least_latency measures it)
  sc.finish(s, code(ep));
  return ep;
}

function config(strategy: string, extra: Record<string, unknown> = {}) {
  const hash = strategy === "consistent_hash" ? { hashOn: { header: "x-user" } } : {};
  return pluginConfig([destination("catalog", strategy, 4, { ejectAfter: 5, ejectionMs: 1000, ...hash, ...extra })]);
}

describe("every strategy leaves an endpoint that fails every request", () => {
  for (const strategy of STRATEGIES) {
    it(`${strategy}: left after 5 failures, probed about once per ejection time, back once it heals`, async () => {
      const sc = await Sidecar.start(config(strategy));
      const keyed = strategy === "consistent_hash";
      let k = 0;
      const key = () => (keyed ? `user-${k++ % 400}` : undefined);
      const failing = (ep: string) => (ep === BAD ? 503 : 200);

      // 2 s at 1 request per ms: the bad endpoint fails at most 5 times (least_latency leaves it
      // after the first failure already: its EWMA doubles per failure).
      const first = Array.from({ length: 2000 }, () => one(sc, failing, 1, key()));
      const failures = first.filter((ep) => ep === BAD).length;
      expect(failures).toBeGreaterThanOrEqual(1);
      expect(failures).toBeLessThanOrEqual(strategy === "least_latency" ? 5 : 5 + 2); // + probes at 1 s and 2 s

      // 10 s more at 1 request / 5 ms, the endpoint still failing: only probes reach it. Ejection
      // times 1, 2, 3, 4 s: 4 probes. least_latency and availability also probe it on their own
      // (every probeIntervalMs, 1 s) -- at most one per second either way.
      const during = Array.from({ length: 2000 }, () => one(sc, failing, 5, key()));
      const toBad = during.filter((ep) => ep === BAD).length;
      expect(toBad).toBeGreaterThanOrEqual(2);
      expect(toBad).toBeLessThanOrEqual(11);

      // Healed: the next probe succeeds and it takes its share again. least_latency is slower
      // to return it whatever the ejection (its EWMA doubled with every failure and halves per
      // fast probe, then must fade to its peers' cost: ~1 % after 20 s, ~5 % after 60 s).
      const slow = strategy === "least_latency";
      const healed = Array.from({ length: slow ? 12_000 : 4000 }, () => one(sc, () => 200, 5, key()));
      const last = tally(healed.slice(-1000));
      expect((last.get(BAD) ?? 0) / 1000).toBeGreaterThanOrEqual(slow ? 0.03 : 0.1);
    });
  }

  it("the probes of an ejected endpoint are one per ejection time across both workers, growing while it fails", async () => {
    const sc = await Sidecar.start(config("round_robin", { ejectionMs: 500 }));
    for (let i = 0; i < 20; i++) one(sc, (ep) => (ep === BAD ? 503 : 200), 1);
    // 20 s at 1 request / 2 ms alternating between the workers: ejection times 0.5, 1, 1.5, ... s.
    const probeTimes: number[] = [];
    for (let t = 0; t < 20_000; t += 2) if (one(sc, (ep) => (ep === BAD ? 503 : 200), 2) === BAD) probeTimes.push(t);
    const gaps = probeTimes.slice(1).map((t, i) => t - probeTimes[i]!);
    expect(probeTimes.length).toBeGreaterThanOrEqual(5);
    expect(probeTimes.length).toBeLessThanOrEqual(9); // 0.5+1+...+4.5 s = 22.5 s > 20 s
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
  });

  it("consistent_hash: only the keys of the ejected endpoint move, and they come back when it heals", async () => {
    const sc = await Sidecar.start(config("consistent_hash"));
    const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    const home = new Map(keys.map((key) => [key, one(sc, () => 200, 1, key)]));
    const badKeys = keys.filter((key) => home.get(key) === BAD);
    expect(badKeys.length).toBeGreaterThan(20);
    // Fail BAD until it is ejected, then look where every key goes (within the first ejection second).
    for (let i = 0; i < 300; i++) one(sc, (ep) => (ep === BAD ? 503 : 200), 0, keys[i]);
    const moved = new Map(keys.map((key) => [key, one(sc, () => 200, 0, key)]));
    for (const key of keys) {
      if (home.get(key) === BAD) expect(moved.get(key)).not.toBe(BAD);
      else expect(moved.get(key)).toBe(home.get(key));
    }
    // Moved keys stay sticky while it is out: same endpoint both workers, twice.
    for (const key of badKeys) expect(one(sc, () => 200, 0, key)).toBe(moved.get(key));
    // Healed: after the ejection time a probe succeeds and every key is home again.
    sc.envoy.advance(1500);
    for (let i = 0; i < 50; i++) one(sc, () => 200, 10, keys[i % keys.length]);
    for (const key of keys) expect(one(sc, () => 200, 0, key)).toBe(home.get(key));
  });

  it("when every endpoint is ejected, requests are still scheduled, as if none were", async () => {
    const sc = await Sidecar.start(config("round_robin"));
    for (let i = 0; i < 100; i++) one(sc, () => 503, 1);
    const picks = Array.from({ length: 400 }, () => one(sc, () => 503, 1));
    const counts = tally(picks);
    expect(counts.size).toBe(4);
    for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(80);
  });

  it("resets, timeouts and failed-over requests count as failures; 4xx and requests without a response do not", async () => {
    const RESET = 0x10; // UpstreamRemoteReset (filter/lightsub/base/wire.ts)
    for (const [code, flags, ejected] of [[0, RESET, true], [404, 0, false], [0, 0, false]] as const) {
      const sc = await Sidecar.start(config("round_robin"));
      for (let i = 0; i < 40; i++) {
        const s = sc.request("catalog");
        sc.finish(s, target(s) === BAD ? code : 200, target(s) === BAD ? flags : 0);
        sc.envoy.advance(1);
      }
      const after = Array.from({ length: 200 }, () => one(sc, () => 200, 1));
      expect(after.includes(BAD)).toBe(!ejected);
    }
  });
});
