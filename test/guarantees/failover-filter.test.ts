/**
 * The filter's side of failover (docs/design.md "Failover") on the built
 * lightsub.wasm in the Node host: a request that a failover host answered
 * (its `lightsub` metadata names another endpoint cluster) counts as failed
 * over for the scheduled endpoint — rq_failover, not rq_error — and steers
 * least_latency and availability away from it; an empty value (what Envoy
 * 1.40 returns for a host without the metadata) or the endpoint's own name
 * is "served by the endpoint". Destinations without `failover` never read the
 * property and define no rq_failover.
 */
import { describe, expect, it } from "vitest";
import { Sidecar, chosen, destination, endpointMetric, pluginConfig, tally } from "../support/filter-host.js";

const SERVED_BY = "xds.upstream_host_metadata.filter_metadata.lightsub.endpoint";

/** Ends a request with 200 after `ms`; `servedBy` as Envoy shows the answering host's metadata (undefined: none). */
function answer(sc: Sidecar, s: ReturnType<Sidecar["request"]>, ms: number, servedBy?: string): void {
  sc.envoy.advance(ms);
  if (servedBy !== undefined) s.setProperty(SERVED_BY, servedBy);
  sc.finish(s, 200);
}

describe("failover accounting", () => {
  it("counts a request another endpoint answered as failed over, not as an error", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("api", "round_robin", 2, { failover: true })]), 1);
    const seen: Record<string, number> = { api_ep0: 0, api_ep1: 0 };
    for (let i = 0; i < 20; i++) {
      const s = sc.request("api");
      const ep = chosen(s)[0]!;
      seen[ep]!++;
      // ep0's requests are served by ep1 (ep0 ejected); ep1 serves its own (its own name, or an empty value).
      answer(sc, s, 5, ep === "api_ep0" ? "api_ep1" : i % 4 === 1 ? "" : "api_ep1");
    }
    sc.publishStats();
    const stat = (ep: number, m: string) => sc.stat(endpointMetric("api", `api-${ep}_9090`, m));
    expect(stat(0, "rq_total")).toBe(seen.api_ep0);
    expect(stat(0, "rq_failover")).toBe(seen.api_ep0);
    expect(stat(0, "rq_error") ?? 0).toBe(0);
    expect(stat(1, "rq_failover") ?? 0).toBe(0);
    expect(stat(1, "rq_total")).toBe(seen.api_ep1);
  });

  for (const strategy of ["least_latency", "availability"]) {
    it(`${strategy} stops choosing an endpoint whose requests other endpoints answer`, async () => {
      const sc = await Sidecar.start(pluginConfig([destination("api", strategy, 2, { failover: true, minRequests: 5, probeIntervalMs: 1000 })]), 1);
      const picks: string[] = [];
      for (let i = 0; i < 400; i++) {
        const s = sc.request("api");
        const ep = chosen(s)[0]!;
        if (i >= 200) picks.push(ep);
        // ep0 is down: Envoy serves its requests from ep1, as fast as ep1's own.
        answer(sc, s, 5, ep === "api_ep0" ? "api_ep1" : undefined);
      }
      expect(tally(picks).get("api_ep0") ?? 0).toBeLessThanOrEqual(20); // ≤ 10 % of the later 200
    });
  }

  it("without failover in the configuration, ignores the property and defines no rq_failover", async () => {
    const sc = await Sidecar.start(pluginConfig([destination("api", "round_robin", 2)]), 1);
    for (let i = 0; i < 10; i++) answer(sc, sc.request("api"), 5, "api_ep1");
    sc.publishStats();
    expect(sc.stat(endpointMetric("api", "api-0_9090", "rq_failover"))).toBeUndefined();
    expect(sc.stat(endpointMetric("api", "api-0_9090", "rq_total"))).toBe(5);
  });

  it("refuses a failover key that is not a boolean", async () => {
    await expect(Sidecar.start(pluginConfig([destination("api", "round_robin", 2, { failover: "yes" })]), 1)).rejects.toThrow(/failover must be a boolean/);
  });
});
