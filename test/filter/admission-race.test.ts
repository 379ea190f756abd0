/**
 * Two workers racing for an endpoint's last slot. The host is single-threaded,
 * so the race is staged: a shared-data store that, just before the k-th write
 * to the endpoint's record, lets the other worker handle a whole request. The
 * first writer's compare-and-swap then fails, and whatever k is, never more
 * requests are admitted than the limit allows.
 */
import { describe, expect, it } from "vitest";
import { Envoy, SharedData, type Stream, type Vm } from "../../host/index.js";
import { compile } from "../support/filter-host.js";
import { admissionConfig, admitted, endpointOf, waiting } from "../support/admission.js";

const KEY = "lightsub/v1/catalog_ep0";

/** Runs `interleave` once, right before the `at`-th write of KEY after arm(). */
class InterleavingSharedData extends SharedData {
  private writes = 0;
  private at = 0;
  private interleave: (() => void) | undefined;

  arm(at: number, interleave: () => void): void {
    this.writes = 0;
    this.at = at;
    this.interleave = interleave;
  }

  override write(vmId: string, key: string, value: Uint8Array, cas: number) {
    if (key === KEY && this.interleave) {
      this.writes++;
      if (this.writes === this.at) {
        const run = this.interleave;
        this.interleave = undefined;
        run();
      }
    }
    return super.write(vmId, key, value, cas);
  }
}

async function twoWorkers(): Promise<{ envoy: Envoy; shared: InterleavingSharedData; a: Vm; b: Vm }> {
  let envoy: Envoy | undefined;
  const shared = new InterleavingSharedData(() => envoy?.vms[0]?.vmId ?? "");
  envoy = new Envoy({ startTimeMs: 1_700_000_000_000, sharedData: shared });
  const module = await compile();
  const config = JSON.stringify(admissionConfig(1, { maxInFlight: 1 }));
  const [a, b] = [0, 1].map(() => {
    const vm = envoy!.createVm(module, { vmId: "lightsub" });
    expect(vm.configure(config, { rootId: "lightsub" })).toBe(true);
    return vm;
  });
  return { envoy, shared, a: a!, b: b! };
}

function request(vm: Vm): Stream {
  const s = vm.createStream({ properties: { "xds.cluster_name": "catalog" } });
  s.onRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", "svc"]], true);
  return s;
}

function inFlight(envoy: Envoy): number {
  const v = envoy.sharedData.get(KEY, "lightsub")!;
  return new DataView(v.value.buffer, v.value.byteOffset, v.value.byteLength).getInt32(4, true);
}

describe("the last slot", () => {
  // Writes to the record without interleaving: A's claim (1), A's release (2).
  for (let at = 1; at <= 2; at++) {
    it(`goes to one worker only when the other writes just before write #${at} (an arrival)`, async () => {
      const { envoy, shared, a, b } = await twoWorkers();
      let fromB: Stream | undefined;
      shared.arm(at, () => {
        fromB = request(b);
      });
      const fromA = request(a);
      if (!fromB) {
        // The interleaving point lies in A's end: B arrives while A's release is being written.
        expect(admitted(fromA)).toBe(true);
        fromA.end({ responseCode: 200 });
        expect(fromB).toBeDefined();
        expect(waiting(fromB!)).toBe(true); // A still held the slot when B looked
        expect(inFlight(envoy)).toBe(0);
        envoy.advance(10); // B's tick
        expect(admitted(fromB!)).toBe(true);
        expect(inFlight(envoy)).toBe(1);
        return;
      }
      const streams = [fromA, fromB];
      const running = streams.filter(admitted);
      expect(running).toHaveLength(1);
      expect(inFlight(envoy)).toBe(1);
      const waiter = streams.find((s) => s !== running[0])!;
      expect(waiting(waiter)).toBe(true);
      // The waiter gets the slot once the runner ends (same worker at once, the other on its tick).
      running[0]!.end({ responseCode: 200 });
      envoy.advance(10);
      expect(admitted(waiter)).toBe(true);
      expect(endpointOf(waiter)).toBe("catalog_ep0");
      expect(waiter.continueCount).toBe(1);
      expect(inFlight(envoy)).toBe(1);
    });
  }

  // Writes when the holder ends: its release (1), then the drain's claim for the waiting task (2).
  for (let at = 1; at <= 2; at++) {
    it(`goes to one worker only when the other writes just before write #${at} (a waiting task resumed)`, async () => {
      const { envoy, shared, a, b } = await twoWorkers();
      const holder = request(a);
      const task = request(a);
      expect(waiting(task)).toBe(true);
      let fromB: Stream | undefined;
      shared.arm(at, () => {
        fromB = request(b);
      });
      holder.end({ responseCode: 200 });
      expect(fromB).toBeDefined();
      const contenders = [task, fromB!];
      expect(contenders.filter(admitted)).toHaveLength(1);
      expect(inFlight(envoy)).toBe(1);
      expect(contenders.filter(waiting)).toHaveLength(1);
      expect(task.continueCount + fromB!.continueCount).toBeLessThanOrEqual(1);
    });
  }
});
