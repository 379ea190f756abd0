/**
 * Scheduling strategies, driven through build/lightsub.wasm with two worker
 * VMs sharing data, on virtual time.
 */
import { describe, expect, it } from "vitest";
import type { Stream } from "../../host/index.js";
import { HEADER, Sidecar, chosen, destination, endpoints, pluginConfig, tally } from "../support/filter-host.js";

const N = 10_000;

/** The endpoint the filter chose for a stream (exactly one header value). */
function target(s: Stream): string {
  const values = chosen(s);
  expect(values).toHaveLength(1);
  return values[0]!;
}

function share(counts: Map<string, number>, key: string, total: number): number {
  return (counts.get(key) ?? 0) / total;
}

/** `n` catalog requests, each ending (200) before the next starts; the endpoint of each. */
function oneAtATime(sc: Sidecar, n: number): string[] {
  const picks: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = sc.request("catalog");
    picks.push(target(s));
    sc.finish(s, 200);
  }
  return picks;
}

/** `n` catalog requests one after another; those sent to `busy` never end (returned in `stuck`). */
function withStuckEndpoint(sc: Sidecar, busy: string, n: number): { picks: string[]; stuck: Stream[] } {
  const picks: string[] = [];
  const stuck: Stream[] = [];
  for (let i = 0; i < n; i++) {
    const s = sc.request("catalog");
    const ep = target(s);
    picks.push(ep);
    if (ep === busy) stuck.push(s);
    else sc.finish(s, 200);
  }
  return { picks, stuck };
}

describe("round_robin", () => {
  it("spreads 10,000 requests over 2 workers within ±2 % of even", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 4)]));
    const picks = oneAtATime(sc, N);
    const counts = tally(picks);
    expect(counts.size).toBe(4);
    for (const [, c] of counts) expect(Math.abs(c / N - 0.25)).toBeLessThanOrEqual(0.25 * 0.02);
  });

  it("each worker cycles through all endpoints", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "round_robin", 3)]), 1);
    const picks = Array.from({ length: 6 }, () => {
      const s = sc.request("catalog");
      sc.finish(s, 200);
      return target(s);
    });
    expect(new Set(picks.slice(0, 3)).size).toBe(3);
    expect(picks.slice(3)).toEqual(picks.slice(0, 3));
  });
});

describe("weighted", () => {
  it("matches the weights within ±3 % over 10,000 requests", async () => {
    const weights = [5, 3, 1, 1];
    const total = weights.reduce((a, b) => a + b, 0);
    const dest = { ...destination("catalog", "weighted", 4), endpoints: endpoints("catalog", 4, weights) };
    const sc = await Sidecar.start(pluginConfig([dest]));
    const picks = oneAtATime(sc, N);
    const counts = tally(picks);
    weights.forEach((w, i) => {
      const expected = w / total;
      expect(Math.abs(share(counts, `catalog_ep${i}`, N) - expected)).toBeLessThanOrEqual(expected * 0.03);
    });
  });
});

describe("random", () => {
  it("reaches every endpoint about evenly", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "random", 4)]));
    const picks = oneAtATime(sc, N);
    const counts = tally(picks);
    expect(counts.size).toBe(4);
    for (const [, c] of counts) expect(Math.abs(c / N - 0.25)).toBeLessThan(0.25 * 0.1);
  });
});

describe("least_load", () => {
  it("keeps away from an endpoint whose requests never finish", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_load", 3)]));
    const { picks, stuck } = withStuckEndpoint(sc, "catalog_ep0", 1000);
    const counts = tally(picks);
    expect(counts.get("catalog_ep0") ?? 0).toBeLessThanOrEqual(3);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(stuck.length);
    for (const s of stuck) sc.finish(s, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
  });

  // Weight-aware like Envoy's LEAST_REQUEST: candidates drawn in proportion to weight,
  // load compared per unit of weight, so idle or evenly loaded endpoints share by weight.
  const weighted3to1 = () => pluginConfig([{ ...destination("catalog", "least_load", 2), endpoints: endpoints("catalog", 2, [3, 1]) }]);

  it("follows weights 3:1 within ±3 % when idle (each request ends before the next)", async () => {
    const sc = await Sidecar.start(weighted3to1());
    const picks = oneAtATime(sc, N);
    const counts = tally(picks);
    expect(share(counts, "catalog_ep0", N)).toBeGreaterThanOrEqual(0.72);
    expect(share(counts, "catalog_ep0", N)).toBeLessThanOrEqual(0.78);
  });

  it("follows weights 3:1 within ±3 % under concurrent load on equal fast endpoints", async () => {
    const sc = await Sidecar.start(weighted3to1());
    const counts = tally(runLoad(sc, N, 4, () => 5, () => 200)); // about 20 requests in flight
    expect(share(counts, "catalog_ep0", N)).toBeGreaterThanOrEqual(0.72);
    expect(share(counts, "catalog_ep0", N)).toBeLessThanOrEqual(0.78);
  });

  it("with weights, still keeps away from the busy endpoint, heavy or light", async () => {
    for (const busy of ["catalog_ep0", "catalog_ep1"]) {
      const sc = await Sidecar.start(pluginConfig([{ ...destination("catalog", "least_load", 3), endpoints: endpoints("catalog", 3, [4, 1, 1]) }]));
      const { picks, stuck } = withStuckEndpoint(sc, busy, 1000);
      expect(tally(picks).get(busy) ?? 0, busy).toBeLessThanOrEqual(4);
      for (const s of stuck) sc.finish(s, 200);
    }
  });

  it("with two of four endpoints holding every request, sends them only a few (P2C would send one request in six)", async () => {
    for (const weights of [undefined, [1, 2, 2, 1]]) {
      const config = weights
        ? pluginConfig([{ ...destination("catalog", "least_load", 4), endpoints: endpoints("catalog", 4, weights) }])
        : pluginConfig([destination("catalog", "least_load", 4)]);
      const sc = await Sidecar.start(config);
      const held = new Set(["catalog_ep0", "catalog_ep1"]);
      // Held requests end only after 20 s; the others after 5 ms; 2 new requests per ms for 3 s.
      const picks = runLoad(sc, 6_000, 2, (ep) => (held.has(ep) ? 20_000 : 5), () => 200);
      const toHeld = picks.filter((ep) => held.has(ep)).length;
      // The others hold about 5 each (the median), so each held one is set aside once it holds
      // more than 3 × 5 + 4 = 19 (per unit of weight); P2C alone sends them about 1,000.
      expect(toHeld, JSON.stringify(weights)).toBeLessThanOrEqual(60);
      expect(toHeld, JSON.stringify(weights)).toBeGreaterThan(0);
    }
  });

  it("with weights, a slower endpoint gets less than its weight's share", async () => {
    const sc = await Sidecar.start(weighted3to1());
    // The heavy endpoint is 4× slower: its in-flight count per unit of weight rises, so it gets less than 75 %.
    const counts = tally(runLoad(sc, N, 4, (ep) => (ep === "catalog_ep0" ? 20 : 5), () => 200));
    expect(share(counts, "catalog_ep0", N)).toBeLessThan(0.6);
    expect(share(counts, "catalog_ep0", N)).toBeGreaterThan(0.25);
  });
});

/**
 * Open-loop load on virtual time: `perMs` new requests every millisecond, each
 * ending `latencyOf(endpoint, now)` ms later with `statusOf(endpoint, now)`.
 */
function runLoad(
  sc: Sidecar,
  requests: number,
  perMs: number,
  latencyOf: (ep: string, nowMs: number) => number,
  statusOf: (ep: string, nowMs: number) => number,
): string[] {
  const picks: string[] = [];
  const pending: { s: Stream; due: number; status: number }[] = [];
  let t = 0;
  const drain = (all: boolean) => {
    for (let k = pending.length - 1; k >= 0; k--) {
      const p = pending[k]!;
      if (all || p.due <= t) {
        pending.splice(k, 1);
        sc.finish(p.s, p.status);
      }
    }
  };
  while (picks.length < requests) {
    for (let j = 0; j < perMs && picks.length < requests; j++) {
      const s = sc.request("catalog");
      const ep = target(s);
      pending.push({ s, due: t + latencyOf(ep, t), status: statusOf(ep, t) });
      picks.push(ep);
    }
    sc.envoy.advance(1);
    t++;
    drain(false);
  }
  while (pending.length > 0) {
    sc.envoy.advance(1);
    t++;
    drain(false);
  }
  return picks;
}

describe("least_latency", () => {
  it("sends ≤ 15 % to an endpoint 10× slower than its peers under concurrent load", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_latency", 4)]));
    const slow = "catalog_ep3";
    const picks = runLoad(sc, N, 2, (ep) => (ep === slow ? 100 : 10), () => 200);
    const counts = tally(picks);
    expect(share(counts, slow, N)).toBeLessThanOrEqual(0.15);
    for (let i = 0; i < 3; i++) expect(share(counts, `catalog_ep${i}`, N)).toBeGreaterThan(0.25);
    // The shared EWMA tells them apart (10 ms vs 100 ms, in µs).
    sc.publishStats(); // gauges are batched per worker
    const ewma = (i: number) => sc.stat(`lightsub.service.catalog.endpoint.catalog-${i}_9090.latency_ewma_us`)!;
    expect(ewma(3)).toBeGreaterThanOrEqual(90_000);
    expect(ewma(0)).toBeLessThanOrEqual(11_000);
  });

  it("follows an endpoint that becomes slow", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_latency", 3)]));
    // catalog_ep0 is fast for the first 2,000 ms, then 20× slower.
    const picks = runLoad(sc, 8_000, 2, (ep, t) => (ep === "catalog_ep0" && t >= 2000 ? 200 : 10), () => 200);
    const late = tally(picks.slice(6_000));
    expect(share(late, "catalog_ep0", 2_000)).toBeLessThanOrEqual(0.1);
  });

  it("with two of four endpoints 20× slower, sends them only probes (P2C would draw two slow ones for 1 request in 6)", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_latency", 4)]));
    const slow = new Set(["catalog_ep2", "catalog_ep3"]);
    const picks = runLoad(sc, N, 2, (ep) => (slow.has(ep) ? 200 : 10), () => 200);
    // After the first second (2,000 requests): 4 s left, one probe per second per set-aside endpoint.
    const late = picks.slice(2_000).filter((ep) => slow.has(ep)).length;
    expect(late).toBeLessThanOrEqual(2 * 4 + 4);
    expect(late).toBeGreaterThanOrEqual(2 * 3); // probed, not forgotten
  });

  it("sets aside at most half of the endpoints: with three of four slow, it is P2C over all four", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_latency", 4)]));
    const picks = runLoad(sc, N, 2, (ep) => (ep === "catalog_ep0" ? 10 : 200), () => 200);
    const late = tally(picks.slice(2_000));
    // The median is a slow endpoint's latency, so nothing is more than 3× it: pairs of two slow ones happen.
    expect(share(late, "catalog_ep0", N - 2_000)).toBeGreaterThan(0.3);
    expect(share(late, "catalog_ep0", N - 2_000)).toBeLessThan(0.9);
  });

  it("an endpoint that is fast again is back in the draw within seconds (fast probes halve its EWMA), not after its EWMA decayed", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "least_latency", 4)]));
    // catalog_ep3 is 20× slower for the first 2 s, then as fast as the others.
    const picks = runLoad(sc, 24_000, 2, (ep, t) => (ep === "catalog_ep3" && t < 2000 ? 200 : 10), () => 200);
    expect(share(tally(picks.slice(2_000, 4_000)), "catalog_ep3", 2_000)).toBeLessThan(0.05);
    // 8-10 s after it became fast (probes at 1 s: 200 → 100 → 50 → 25 ms, then back in the draw).
    expect(share(tally(picks.slice(-4_000)), "catalog_ep3", 4_000)).toBeGreaterThanOrEqual(0.15);
  });
});

describe("availability", () => {
  it("follows weights 3:1 within ±3 % among healthy endpoints (its least load is least_load's)", async () => {
    const sc = await Sidecar.start(pluginConfig([{ ...destination("catalog", "availability", 2), endpoints: endpoints("catalog", 2, [3, 1]) }]));
    const counts = tally(runLoad(sc, N, 4, () => 5, () => 200));
    expect(share(counts, "catalog_ep0", N)).toBeGreaterThanOrEqual(0.72);
    expect(share(counts, "catalog_ep0", N)).toBeLessThanOrEqual(0.78);
  });

  it("avoids an endpoint that fails every request after ≤ 50 failures (≤ 5 % share), and brings it back once it heals", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "availability", 4)]));
    const bad = "catalog_ep3";
    const picks = runLoad(sc, N, 2, () => 5, (ep) => (ep === bad ? 503 : 200));
    // Every request to `bad` failed. Within the first 1,000 requests (0.5 s) it failed at most
    // 50 times; afterwards it gets at most 5 % (in fact only the probes: one per second).
    const badIndexes = picks.flatMap((ep, i) => (ep === bad ? [i] : []));
    expect(badIndexes.filter((i) => i < 1000).length).toBeLessThanOrEqual(50);
    const after = picks.slice(1000);
    expect(tally(after).get(bad) ?? 0).toBeLessThanOrEqual(after.length * 0.05);
    expect(badIndexes.filter((i) => i >= 1000).length).toBeLessThanOrEqual(5);
    sc.publishStats(); // counters are batched per worker
    expect(sc.stat("lightsub.service.catalog.endpoint.catalog-3_9090.rq_5xx")).toBe(badIndexes.length);

    // Heal it: probes succeed, the window forgets the errors, it gets traffic again.
    // (windowMs 10 s: 14 s of traffic at 1 request/ms, look at the last 3 s.)
    const later = runLoad(sc, 14_000, 1, () => 5, () => 200);
    const last = tally(later.slice(-3_000));
    expect(share(last, bad, 3_000)).toBeGreaterThanOrEqual(0.15);
  });

  it("probes an avoided endpoint once per probeIntervalMs across all workers", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "availability", 2, { probeIntervalMs: 1000, windowMs: 60000 })]));
    // Make catalog_ep1 fail until it is avoided.
    for (let i = 0; i < 40; i++) {
      const s = sc.request("catalog");
      sc.finish(s, target(s) === "catalog_ep1" ? 503 : 200);
      sc.envoy.advance(1);
    }
    // From now on: 10 s of traffic at 1 request / 10 ms over both workers, ep1 still failing.
    let toBad = 0;
    for (let i = 0; i < 1000; i++) {
      const s = sc.request("catalog");
      if (target(s) === "catalog_ep1") toBad++;
      sc.finish(s, target(s) === "catalog_ep1" ? 503 : 200);
      sc.envoy.advance(10);
    }
    expect(toBad).toBeGreaterThanOrEqual(9);
    expect(toBad).toBeLessThanOrEqual(11);
  });
});

describe("consistent_hash", () => {
  const KEYS = Array.from({ length: N }, (_, i) => `user-${i}`);

  function mapKeys(sc: Sidecar): Map<string, string> {
    const m = new Map<string, string>();
    for (const key of KEYS) {
      const s = sc.request("catalog", [["x-user-id", key]]);
      m.set(key, target(s));
      sc.finish(s, 200);
    }
    return m;
  }

  it("is 100 % sticky per key across workers, and adding a 5th endpoint moves ≤ 30 % of 10,000 keys (all to it)", async () => {
    const config = (n: number) => pluginConfig([destination("catalog", "consistent_hash", n, { hashOn: { header: "x-user-id" } })]);
    const sc = await Sidecar.start(config(4));
    const first = mapKeys(sc);
    const second = mapKeys(sc); // same keys, the other worker for each (2 workers, N even)
    expect(second).toEqual(first);
    const counts = tally([...first.values()]);
    expect(counts.size).toBe(4);
    for (const [, c] of counts) expect(c / N).toBeGreaterThan(0.15);

    sc.reconfigure(config(5));
    const third = mapKeys(sc);
    let moved = 0;
    for (const key of KEYS) {
      if (third.get(key) !== first.get(key)) {
        moved++;
        expect(third.get(key)).toBe("catalog_ep4");
      }
    }
    expect(moved / N).toBeLessThanOrEqual(0.3);
    expect(moved / N).toBeGreaterThan(0.1);
  });

  it("keys on a cookie or on the path without its query", async () => {
    const sc = await Sidecar.start(
      pluginConfig([
        destination("catalog", "consistent_hash", 5, { hashOn: { cookie: "session" } }),
        destination("orders", "consistent_hash", 5, { hashOn: { path: true } }),
      ]),
    );
    for (let i = 0; i < 50; i++) {
      const a = sc.request("catalog", [["cookie", `theme=dark; session=s${i}; lang=en`]]);
      const b = sc.request("catalog", [["cookie", `session="s${i}";other=${i * 7}`]]);
      expect(target(b)).toBe(target(a));
      const c = sc.request("orders", [], `/orders/${i}?page=1`);
      const d = sc.request("orders", [], `/orders/${i}?page=2&sort=asc`);
      expect(target(d)).toBe(target(c));
      for (const s of [a, b, c, d]) sc.finish(s, 200);
    }
    // Different keys do spread.
    const spread = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const s = sc.request("catalog", [["cookie", `session=k${i}`]]);
      spread.add(target(s));
      sc.finish(s, 200);
    }
    expect(spread.size).toBe(5);
  });

  it("a request without a key is still scheduled (least load)", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("catalog", "consistent_hash", 3, { hashOn: { header: "x-user-id" } })]));
    const picks: string[] = [];
    for (let i = 0; i < 300; i++) {
      const s = sc.request("catalog", i % 2 ? [["cookie", "x=1"]] : [["x-user-id", ""]]);
      picks.push(target(s));
      sc.finish(s, 200);
    }
    expect(tally(picks).size).toBe(3);
    expect(picks.every((p) => p.startsWith("catalog_ep"))).toBe(true);
    expect(HEADER).toBe("x-lightsub-endpoint");
  });

  it("requests without a key follow the weights, as least_load does (3:1 within ±3 %)", async () => {
    const sc = await Sidecar.start(
      pluginConfig([{ ...destination("catalog", "consistent_hash", 2, { hashOn: { header: "x-user-id" } }), endpoints: endpoints("catalog", 2, [3, 1]) }]),
    );
    const picks = oneAtATime(sc, N);
    expect(share(tally(picks), "catalog_ep0", N)).toBeGreaterThanOrEqual(0.72);
    expect(share(tally(picks), "catalog_ep0", N)).toBeLessThanOrEqual(0.78);
  });
});
