/**
 * Bursts through the built filter on two workers, driven by fast-check: random
 * arrivals (priorities, workers), ends, resets of waiting streams and time
 * steps. Invariants after every step: no endpoint above its limit, no task
 * resumed twice or both resumed and rejected, the queued gauge equals the
 * streams actually waiting; after the burst drains, in-flight, rq_active and
 * the queue are back to 0 and every request got exactly one answer.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Stream } from "../../host/index.js";
import { Sidecar, compile, endpointMetric } from "../support/filter-host.js";
import { admissionConfig, admitted, destinationStat, endpointOf, rejection, waiting } from "../support/admission.js";

const ENDPOINTS = 3;
const LIMIT = 2;
const TICK_MS = 10;

type Step =
  | { kind: "arrive"; worker: number; priority: string | undefined }
  | { kind: "end"; pick: number; code: number }
  | { kind: "reset"; pick: number }
  | { kind: "advance"; ms: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("arrive" as const), worker: fc.integer({ min: 0, max: 1 }), priority: fc.constantFrom(undefined, "high", "normal", "low", "bogus") }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("end" as const), pick: fc.nat(), code: fc.constantFrom(200, 200, 503) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("reset" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 60 }) }) },
);

interface Tracked {
  s: Stream;
  worker: number;
  endpoint?: string;
}

function inFlight(sc: Sidecar, i: number): number {
  return sc.sharedInFlight(`catalog_ep${i}`);
}

describe("a burst", () => {
  it("keeps every invariant and drains back to zero", async () => {
    await compile();
    const seen = { resumed: 0, full: 0, timeout: 0, reset: 0 };
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 20, maxLength: 200 }), async (steps) => {
        const sc = await Sidecar.start(admissionConfig(ENDPOINTS, { maxInFlight: LIMIT, maxQueue: 4, queueTimeoutMs: 100, tickMs: TICK_MS }, "least_load"), 2);
        const all: Tracked[] = [];
        const check = (): void => {
          for (let i = 0; i < ENDPOINTS; i++) expect(inFlight(sc, i)).toBeLessThanOrEqual(LIMIT);
          let waitingNow = 0;
          for (const t of all) {
            expect(t.s.continueCount).toBeLessThanOrEqual(1);
            if (t.s.localReply) expect(t.s.continueCount).toBe(0);
            if (!t.s.ended && waiting(t.s)) waitingNow++;
            // Once scheduled, a stream keeps its endpoint.
            const ep = endpointOf(t.s);
            if (t.endpoint !== undefined) expect(ep).toBe(t.endpoint);
            if (ep !== undefined) t.endpoint = ep;
          }
          expect(destinationStat(sc, "admission_queued")).toBe(waitingNow);
          // In flight = admitted streams that did not end.
          const running = all.filter((t) => !t.s.ended && admitted(t.s)).length;
          let shared = 0;
          for (let i = 0; i < ENDPOINTS; i++) shared += inFlight(sc, i);
          expect(shared).toBe(running);
        };
        for (const st of steps) {
          if (st.kind === "arrive") {
            const vm = sc.vms[st.worker]!;
            const s = sc.request("catalog", st.priority === undefined ? [] : [["x-priority", st.priority]], "/", vm);
            all.push({ s, worker: st.worker });
          } else if (st.kind === "end") {
            const live = all.filter((t) => !t.s.ended && (admitted(t.s) || t.s.localReply));
            if (live.length > 0) {
              const t = live[st.pick % live.length]!;
              sc.finish(t.s, t.s.localReply ? t.s.localReply.status : st.code);
            }
          } else if (st.kind === "reset") {
            const queued = all.filter((t) => !t.s.ended && waiting(t.s));
            if (queued.length > 0) queued[st.pick % queued.length]!.s.end({ responseCode: 0 });
          } else {
            sc.envoy.advance(st.ms);
          }
          check();
        }
        // Drain: finish whatever runs or was answered, let ticks serve and expire the rest.
        for (let round = 0; round < 100; round++) {
          const live = all.filter((t) => !t.s.ended && !waiting(t.s));
          for (const t of live) sc.finish(t.s, t.s.localReply ? t.s.localReply.status : 200);
          check();
          if (all.every((t) => t.s.ended)) break;
          sc.envoy.advance(TICK_MS);
          check();
        }
        expect(all.every((t) => t.s.ended)).toBe(true);
        // Every request got exactly one answer: scheduled once, or a local reply, or it went away while waiting.
        for (const t of all) {
          const scheduled = t.endpoint !== undefined;
          const replied = t.s.localReply !== undefined;
          expect(scheduled && replied).toBe(false);
          if (replied) expect(["queue-full", "queue-timeout"]).toContain(rejection(t.s));
        }
        for (let i = 0; i < ENDPOINTS; i++) expect(inFlight(sc, i)).toBe(0);
        expect(destinationStat(sc, "admission_queued")).toBe(0);
        sc.envoy.advance(TICK_MS); // rq_active is batched per worker; a tick publishes it
        for (let i = 0; i < ENDPOINTS; i++) expect(sc.stat(endpointMetric("catalog", `catalog-${i}_9090`, "rq_active")) ?? 0).toBe(0);
        // Counter bookkeeping matches what the streams saw.
        const scheduled = all.filter((t) => t.endpoint !== undefined).length;
        const resumed = all.filter((t) => t.s.continueCount === 1).length;
        expect(destinationStat(sc, "admission_admitted")).toBe(scheduled);
        expect(destinationStat(sc, "admission_delayed")).toBe(resumed);
        const full = all.filter((t) => rejection(t.s) === "queue-full").length;
        const timeout = all.filter((t) => rejection(t.s) === "queue-timeout").length;
        expect(destinationStat(sc, "admission_rejected_queue_full") ?? 0).toBe(full);
        expect(destinationStat(sc, "admission_rejected_queue_timeout") ?? 0).toBe(timeout);
        seen.resumed += resumed;
        seen.full += full;
        seen.timeout += timeout;
        seen.reset += all.filter((t) => t.endpoint === undefined && !t.s.localReply).length;
      }),
      { numRuns: 60, seed: 8 },
    );
    // The generated bursts did reach every path.
    expect(seen.resumed).toBeGreaterThan(0);
    expect(seen.full).toBeGreaterThan(0);
    expect(seen.timeout).toBeGreaterThan(0);
    expect(seen.reset).toBeGreaterThan(0);
  }, 120_000);
});
