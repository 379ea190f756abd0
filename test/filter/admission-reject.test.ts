/**
 * Admission rejections and the cross-worker side: a task past queueTimeoutMs
 * gets 503 queue-timeout, one beyond maxQueue gets 503 queue-full (a more urgent
 * arrival evicts the least urgent, newest task), a stream reset while waiting
 * just leaves, the limit holds across workers, and other workers' slots reach a
 * waiting task on its worker's tick.
 */
import { describe, expect, it } from "vitest";
import { RESPONSE_FLAGS } from "../../host/index.js";
import { Sidecar } from "../support/filter-host.js";
import {
  admissionConfig, admitted, call, destinationStat, endpointOf, rejection, waitHistogram, waiting,
} from "../support/admission.js";

describe("queue-timeout", () => {
  it("answers a task still waiting after queueTimeoutMs with 503 and x-lightsub-reason: queue-timeout", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, queueTimeoutMs: 200, tickMs: 10 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const early = call(sc, vm);
    sc.envoy.advance(50);
    const late = call(sc, vm);
    sc.envoy.advance(149);
    expect(waiting(early)).toBe(true);
    sc.envoy.advance(1); // early's deadline (t = 200) is a tick instant
    expect(early.localReply?.status).toBe(503);
    expect(early.localReply?.details).toBe("lightsub_queue_timeout");
    expect(rejection(early)).toBe("queue-timeout");
    expect(early.continueCount).toBe(0);
    expect(endpointOf(early)).toBeUndefined();
    expect(waiting(late)).toBe(true);
    expect(destinationStat(sc, "admission_rejected_queue_timeout")).toBe(1);
    expect(destinationStat(sc, "admission_queued")).toBe(1);
    sc.envoy.advance(50); // late's deadline: 250
    expect(rejection(late)).toBe("queue-timeout");
    expect(waitHistogram(sc)).toEqual([200, 200]);
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    // The rejected streams end like any local reply: nothing is released for them.
    sc.finish(early, 503);
    sc.finish(late, 503);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1);
    sc.finish(running, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
    expect(destinationStat(sc, "admission_rejected_queue_full")).toBe(0);
  });

  it("rejects instead of resuming a best task whose deadline passed between ticks", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, queueTimeoutMs: 5, tickMs: 1000 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const stale = call(sc, vm);
    sc.envoy.advance(3);
    const fresh = call(sc, vm);
    sc.envoy.advance(3); // stale is past its deadline (5), fresh is not (8); no tick yet
    sc.finish(running, 200);
    expect(rejection(stale)).toBe("queue-timeout");
    expect(admitted(fresh)).toBe(true);
    expect(fresh.continueCount).toBe(1);
    expect(waitHistogram(sc)).toEqual([6, 3]);
  });
});

describe("queue-full", () => {
  it("rejects an arrival beyond maxQueue at once, with 503 queue-full", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, maxQueue: 2 }), 1);
    const vm = sc.vms[0]!;
    call(sc, vm);
    const queued = [call(sc, vm), call(sc, vm)];
    const third = call(sc, vm);
    expect(third.localReply?.status).toBe(503);
    expect(third.localReply?.details).toBe("lightsub_queue_full");
    expect(rejection(third)).toBe("queue-full");
    expect(third.lastStatus).not.toBe("Continue");
    for (const s of queued) expect(waiting(s)).toBe(true);
    expect(destinationStat(sc, "admission_rejected_queue_full")).toBe(1);
    expect(destinationStat(sc, "admission_queued")).toBe(2);
    // An arrival never queued has no wait to record.
    expect(waitHistogram(sc)).toEqual([]);
  });

  it("with maxQueue 0 nothing waits", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, maxQueue: 0 }), 1);
    const vm = sc.vms[0]!;
    expect(admitted(call(sc, vm))).toBe(true);
    expect(rejection(call(sc, vm))).toBe("queue-full");
    expect(destinationStat(sc, "admission_queued")).toBe(0);
  });

  it("a more urgent arrival evicts the least urgent, newest waiting task; an equal one is rejected", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1, maxQueue: 3 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const normal = call(sc, vm, "normal");
    const lowOld = call(sc, vm, "low");
    sc.envoy.advance(4);
    const lowNew = call(sc, vm, "low");
    const anotherLow = call(sc, vm, "low");
    expect(rejection(anotherLow)).toBe("queue-full"); // not more urgent than anyone: rejected itself
    const high = call(sc, vm, "high");
    expect(waiting(high)).toBe(true);
    expect(rejection(lowNew)).toBe("queue-full");
    expect(lowNew.localReply?.status).toBe(503);
    expect(waiting(lowOld)).toBe(true);
    expect(waiting(normal)).toBe(true);
    expect(destinationStat(sc, "admission_rejected_queue_full")).toBe(2);
    expect(destinationStat(sc, "admission_queued")).toBe(3);
    expect(waitHistogram(sc)).toEqual([0]); // the evicted task waited; the rejected arrival did not
    sc.finish(running, 200);
    expect(admitted(high)).toBe(true);
  });
});

describe("streams that end while waiting", () => {
  it("leave the queue: never resumed, never counted in flight", async () => {
    const sc = await Sidecar.start(admissionConfig(1, { maxInFlight: 1 }), 1);
    const vm = sc.vms[0]!;
    const running = call(sc, vm);
    const gone = call(sc, vm, "high");
    const next = call(sc, vm, "low");
    gone.end({ responseCode: 0, responseFlags: RESPONSE_FLAGS.DownstreamConnectionTermination });
    expect(destinationStat(sc, "admission_queued")).toBe(1);
    sc.finish(running, 200);
    expect(gone.continueCount).toBe(0);
    expect(admitted(next)).toBe(true);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(1);
    sc.finish(next, 200);
    expect(sc.sharedInFlight("catalog_ep0")).toBe(0);
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    expect(destinationStat(sc, "admission_delayed")).toBe(1);
    expect(destinationStat(sc, "admission_rejected_queue_timeout")).toBe(0);
    // A stream deleted without a log leaves as well.
    const blocker = call(sc, vm);
    const silent = call(sc, vm);
    expect(waiting(silent)).toBe(true);
    expect(destinationStat(sc, "admission_queued")).toBe(1);
    silent.end();
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    sc.finish(blocker, 200);
    expect(silent.continueCount).toBe(0);
  });
});

describe("across workers", () => {
  it("the limit is global: a slot taken on one worker is full for the other", async () => {
    const sc = await Sidecar.start(admissionConfig(2, { maxInFlight: 1 }), 2);
    const [a, b] = sc.vms as [typeof sc.vms[0], typeof sc.vms[0]];
    const onA = call(sc, a!);
    const onB = call(sc, b!);
    expect(admitted(onA) && admitted(onB)).toBe(true);
    expect(new Set([endpointOf(onA), endpointOf(onB)]).size).toBe(2);
    const waitingOnB = call(sc, b!);
    const waitingOnA = call(sc, a!);
    expect(waiting(waitingOnA) && waiting(waitingOnB)).toBe(true);
    // A's request ends: A's own waiting task takes the slot at once; B's keeps waiting.
    sc.finish(onA, 200);
    expect(admitted(waitingOnA)).toBe(true);
    expect(endpointOf(waitingOnA)).toBe(endpointOf(onA));
    expect(waiting(waitingOnB)).toBe(true);
    // Then A's second request ends: nothing waits on A, so the slot stays free until B's tick.
    sc.finish(waitingOnA, 200);
    expect(waiting(waitingOnB)).toBe(true);
    sc.envoy.advance(10);
    expect(admitted(waitingOnB)).toBe(true);
    expect(waitingOnB.continueCount).toBe(1);
    expect(endpointOf(waitingOnB)).toBe(endpointOf(onA));
    expect(destinationStat(sc, "admission_queued")).toBe(0);
    expect(destinationStat(sc, "admission_delayed")).toBe(2);
    sc.finish(onB, 200);
    sc.finish(waitingOnB, 200);
    expect(sc.sharedInFlight("catalog_ep0") + sc.sharedInFlight("catalog_ep1")).toBe(0);
  });
});
