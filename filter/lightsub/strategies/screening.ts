// The base of the strategies that screen (least_load, least_latency; issue 16):
// plain P2C draws two bad endpoints out of k bad of n with probability
// k(k-1) / (n(n-1)) and then must send the request to one. So each worker, at
// most every SCREEN_INTERVAL_NS (2 ms per endpoint beyond 10), reads every
// endpoint's record and sets aside the endpoints clearly worse than the lower
// median (the subclass says what "worse" means); the P2C then draws from the
// rest. At least half of the endpoints are at or below the median, so at most
// half can be set aside. A set-aside endpoint can be probed: one request per
// probeIntervalMs across all workers, claimed with CAS on its record.
import { Pick } from "../base/pick";
import { Destination } from "../destination";
import { Update, acquire, acquireUnlessEjected } from "../records/shared";
import { Strategy } from "./strategy";

/**
 * How often each worker re-screens (reads every record): every 20 ms, and for
 * more than 10 endpoints every 2 ms per endpoint, so that screening costs at
 * most one record read per request at 500 requests/s per worker, whatever n.
 */
const SCREEN_INTERVAL_NS: u64 = 20_000_000;
const SCREEN_INTERVAL_PER_ENDPOINT_NS: u64 = 2_000_000;

export abstract class Screening extends Strategy {
  /** Endpoint i is set aside until the next screening (the subclass's screen sets it). */
  aside: StaticArray<bool>;
  /** Indexes of the endpoints in the draw (the first `drawCount`, ascending), then the set-aside ones (descending). */
  draw: StaticArray<i32>;
  drawCount: i32;
  /** Scratch: the values screened, sorted ascending (insertSorted). */
  sorted: StaticArray<f64>;
  nextScreenNs: u64 = 0;
  screened: bool = false;
  screenIntervalNs: u64;
  /** Where the probe search starts next time (fairness between set-aside endpoints). */
  probeCursor: i32 = 0;

  constructor(destination: Destination) {
    super();
    const n = destination.endpoints.length;
    this.aside = new StaticArray<bool>(n);
    this.draw = new StaticArray<i32>(n);
    this.sorted = new StaticArray<f64>(n);
    for (let i = 0; i < n; i++) this.draw[i] = i;
    this.drawCount = n;
    const perEndpoint = <u64>n * SCREEN_INTERVAL_PER_ENDPOINT_NS;
    this.screenIntervalNs = perEndpoint > SCREEN_INTERVAL_NS ? perEndpoint : SCREEN_INTERVAL_NS;
  }

  /** Whether this worker's screening is due; if so, the next one is an interval from now. */
  screenDue(nowNs: u64): bool {
    if (this.screened && nowNs < this.nextScreenNs) return false;
    this.screened = true;
    this.nextScreenNs = nowNs + this.screenIntervalNs;
    return true;
  }

  /** Inserts `v` into sorted[0..count) (insertion sort: n is small, and this runs once per interval). */
  insertSorted(count: i32, v: f64): void {
    const sorted = this.sorted;
    let j = count - 1;
    while (j >= 0 && unchecked(sorted[j]) > v) {
      unchecked((sorted[j + 1] = sorted[j]));
      j--;
    }
    unchecked((sorted[j + 1] = v));
  }

  /** Lower median of sorted[0..count); count >= 1. */
  lowerMedian(count: i32): f64 {
    return unchecked(this.sorted[(count - 1) >> 1]);
  }

  /** Rebuilds the draw from `aside` (n endpoints). */
  partition(n: i32): void {
    let front = 0;
    let back = n;
    for (let i = 0; i < n; i++) {
      if (!unchecked(this.aside[i])) unchecked((this.draw[front++] = i));
      else unchecked((this.draw[--back] = i));
    }
    this.drawCount = front;
  }

  /**
   * After a screening (every record just read: the CAS is current), a
   * set-aside endpoint whose probe is due gets this request. Returns the
   * claimed probe's index, -1 for none, or Pick.SharedDataFailed.
   */
  probeSetAside(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const front = this.drawCount;
    if (front == n) return -1;
    const nowMs = nowNs / 1000000;
    const out = n - front;
    for (let k = 0; k < out; k++) {
      const i = this.draw[front + (this.probeCursor + k) % out];
      const ep = endpoints[i];
      // An ejected endpoint (records/shared.ts Ejection) is probed once per ejection time instead.
      const ejectedUntil = ep.state.ejectedUntilMs;
      if (ejectedUntil != 0 ? nowMs < ejectedUntil : nowMs < ep.state.lastProbeMs + destination.probeIntervalMs) continue;
      this.probeCursor = (this.probeCursor + k + 1) % out;
      let result: Update;
      if (ejectedUntil != 0) {
        result = acquireUnlessEjected(ep, true, nowMs, destination.ejection);
        if (result == Update.Ejected) break; // another worker probes it
      } else result = acquire(ep, true, nowMs > 0 ? nowMs : 1);
      if (result == Update.Ok) {
        this.probed = true;
        return i;
      }
      if (result == Update.HostFailure) return Pick.SharedDataFailed;
      break; // another worker probes it; the records read are still good for the draw
    }
    return -1;
  }
}
