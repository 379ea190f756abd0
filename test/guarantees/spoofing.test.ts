/**
 * A client-supplied x-lightsub-endpoint never decides where a request goes:
 * whatever copies arrive, the filter leaves exactly one value, the one its
 * strategy chose, and the choices are the same as without the spoofed header.
 */
import { describe, expect, it } from "vitest";
import { HEADER, Sidecar, chosen, destination, pluginConfig, tally } from "../support/filter-host.js";

const SPOOFS: [string, [string, string][]][] = [
  ["another service's endpoint cluster", [[HEADER, "payments_ep0"]]],
  ["the aggregate cluster", [[HEADER, "catalog"]]],
  ["garbage", [[HEADER, "../../etc/passwd; catalog_ep0"]]],
  ["an empty value", [[HEADER, ""]]],
  ["one of this destination's own endpoints", [[HEADER, "catalog_ep3"]]],
  ["many copies", Array.from({ length: 12 }, (_, i): [string, string] => [HEADER, i % 3 === 0 ? "catalog_ep3" : `x${i}`])],
  ["mixed-case name", [["X-LightSub-Endpoint", "catalog_ep3"]]],
];

const config = (strategy: string, extra: Record<string, unknown> = {}) =>
  pluginConfig([destination("catalog", strategy, 4, extra), destination("payments", "random", 2)]);

/** Chosen endpoints for `n` requests; startTimeMs fixed, so both runs seed Math.random alike. */
async function run(strategy: string, spoof: [string, string][], n: number, extra: Record<string, unknown> = {}): Promise<string[]> {
  const sc = await Sidecar.start(config(strategy, extra));
  const picks: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = sc.request("catalog", [...spoof, ["x-user-id", `u${i % 97}`]]);
    const values = chosen(s);
    expect(values).toHaveLength(1);
    picks.push(values[0]!);
    sc.finish(s, 200);
  }
  return picks;
}

describe.each(SPOOFS)("spoofed header: %s", (_name, spoof) => {
  it("round_robin: same choices as without it, evenly spread", async () => {
    const honest = await run("round_robin", [], 400);
    const spoofed = await run("round_robin", spoof, 400);
    expect(spoofed).toEqual(honest);
    for (const [, c] of tally(spoofed)) expect(c).toBe(100);
  });

  it("consistent_hash: the key decides, not the header", async () => {
    const hashOn = { hashOn: { header: "x-user-id" } };
    expect(await run("consistent_hash", spoof, 300, hashOn)).toEqual(await run("consistent_hash", [], 300, hashOn));
  });

  it("least_load: same choices as without it", async () => {
    expect(await run("least_load", spoof, 300)).toEqual(await run("least_load", [], 300));
  });
});
