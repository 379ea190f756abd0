/**
 * The adaptive limit (admission.adaptive): per window, gradient = minRTT /
 * mean latency, limit = clamp(limit × clamp(gradient, 0.5, 2) + √limit, min, max).
 * It shrinks when latency rises, grows back when it falls, and it is the limit
 * admission enforces.
 */
import { describe, expect, it } from "vitest";
import { Sidecar } from "../support/filter-host.js";
import { admissionConfig, admitted, call, destinationStat, waiting } from "../support/admission.js";

const WINDOW_MS = 100;

/** Runs sequential requests of `latencyMs` for `windows` windows; returns the limit after each request. */
function run(sc: Sidecar, latencyMs: number, windows: number): number[] {
  const vm = sc.vms[0]!;
  const limits: number[] = [];
  const requests = Math.ceil((windows * WINDOW_MS) / latencyMs);
  for (let i = 0; i < requests; i++) {
    const s = call(sc, vm);
    expect(admitted(s)).toBe(true);
    sc.envoy.advance(latencyMs);
    sc.finish(s, 200);
    limits.push(destinationStat(sc, "admission_limit")!);
  }
  return limits;
}

describe("adaptive limit", () => {
  it("grows by the headroom at steady latency, shrinks when latency rises, grows back when it falls", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 10, adaptive: { minLimit: 2, maxLimit: 40, windowMs: WINDOW_MS } }), 1);
    expect(destinationStat(sc, "admission_limit")).toBe(10);

    const steady = run(sc, 10, 30);
    // The first window closes with the 11th completion (100 ms after the first): 10 × 1 + √10 = 13.16.
    expect(steady.slice(0, 10)).toEqual(Array(10).fill(10));
    expect(steady[10]).toBe(13);
    expect(steady.at(-1)).toBe(40); // capped at maxLimit
    for (let i = 1; i < steady.length; i++) expect(steady[i]).toBeGreaterThanOrEqual(steady[i - 1]!);

    const slow = run(sc, 40, 6);
    // 40 × clamp(10/40, 0.5, 2) + √40 = 26.3 after the first slow window, then lower still.
    expect(slow).toContain(26);
    expect(Math.min(...slow)).toBeLessThan(15);
    expect(slow.at(-1)).toBeLessThan(slow[0]!);

    const shrunk = slow.at(-1)!;
    const fast = run(sc, 10, 30);
    expect(fast.at(-1)).toBeGreaterThan(shrunk);
    expect(fast.at(-1)).toBe(40);
  });

  it("enforces the current limit: one more concurrent request than the limit waits", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 4, adaptive: { minLimit: 2, maxLimit: 40, windowMs: WINDOW_MS } }), 1);
    run(sc, 10, 12);
    const limit = destinationStat(sc, "admission_limit")!;
    expect(limit).toBeGreaterThan(4);
    const vm = sc.vms[0]!;
    const open = Array.from({ length: limit }, () => call(sc, vm));
    for (const s of open) expect(admitted(s)).toBe(true);
    const extra = call(sc, vm);
    expect(waiting(extra)).toBe(true);
    sc.finish(open[0]!, 200);
    expect(admitted(extra)).toBe(true);
  });

  it("never leaves [minLimit, maxLimit]", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 3, adaptive: { minLimit: 3, maxLimit: 5, windowMs: WINDOW_MS } }), 1);
    const limits = [...run(sc, 5, 20), ...run(sc, 200, 20), ...run(sc, 1, 20)];
    expect(Math.min(...limits)).toBe(3);
    expect(Math.max(...limits)).toBe(5);
  });
});
