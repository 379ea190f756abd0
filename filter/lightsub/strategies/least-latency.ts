// least_latency: power of two choices on peak-EWMA latency x (in flight + 1),
// the cost Finagle's "peak EWMA" balancer uses, drawn only from the endpoints
// that are not clearly slower than the rest (issue 16).
//
// Plain P2C (what tower and Linkerd do) has a blind spot: when k of n
// endpoints are slow it draws two slow ones with probability
// k(k-1) / (n(n-1)) -- one request in six with two slow endpoints of four --
// and then has to send the request to a slow one. So:
//
// 1. Screening, per worker every SCREEN_INTERVAL_NS: read every endpoint's
//    record and take the lower median m of the measured EWMAs (as seen now).
//    An endpoint whose EWMA is above SLOW_FACTOR x m is screened out. At least
//    half of the endpoints are at or below the median, so at most half can be
//    screened out: the rest always has room for the load, and many callers
//    acting on the same stale information still spread over at least half of
//    the endpoints (no herding onto the single fastest one).
// 2. P2C among the others, exactly as before (two records read per request,
//    the less costly one claimed with the CAS of that read).
// 3. Probing: a screened-out endpoint gets one request per probeIntervalMs
//    across all workers (claimed with CAS on its record's probe time, as in
//    availability). A probe's latency replaces the endpoint's EWMA
//    (shared.ts release), so an endpoint that became fast again is back in the
//    draw at the next screening, not after the EWMA decayed for tens of seconds.
//
// Per-request cost stays that of P2C (two record reads and one CAS); the
// screening reads n records once per interval per worker (20 ms, or 2 ms per
// endpoint beyond 10).
// An endpoint without a latency sample yet costs nothing while idle (so it gets
// measured) and a large penalty while it has requests in flight (so it is not
// flooded before the first answer); it is never screened out.
import { Destination, Endpoint, PICK_SHARED_DATA_FAILED, Strategy } from "../destination";
import { randomBelow } from "../base/random";
import { Update, acquire, readState } from "../records/shared";
import { claim } from "./claim";

const UNMEASURED_PENALTY_US: f64 = 1e12;
/** An endpoint whose EWMA is more than this many times the lower median is screened out. */
export const SLOW_FACTOR: f64 = 3;
/**
 * How often each worker re-screens (reads every record): every 20 ms, and for
 * more than 10 endpoints every 2 ms per endpoint, so that screening costs at
 * most one record read per request at 500 requests/s per worker, whatever n.
 */
const SCREEN_INTERVAL_NS: u64 = 20_000_000;
const SCREEN_INTERVAL_PER_ENDPOINT_NS: u64 = 2_000_000;

function cost(ep: Endpoint, nowNs: u64, decayNs: f64): f64 {
  const state = ep.state;
  const inFlight = <f64>(state.inFlight > 0 ? state.inFlight : 0);
  const ewma = state.ewmaAt(nowNs, decayNs);
  if (ewma == 0) return inFlight == 0 ? 0 : UNMEASURED_PENALTY_US + inFlight;
  return ewma * (inFlight + 1);
}

export class LeastLatency extends Strategy {
  /** Indexes of the endpoints in the draw (the first `drawCount`), then the screened-out ones. */
  draw: StaticArray<i32>;
  drawCount: i32 = 0;
  /** EWMA of each endpoint at the last screening (0: unmeasured); scratch for the median. */
  ewma: StaticArray<f64>;
  sorted: StaticArray<f64>;
  nextScreenNs: u64 = 0;
  screened: bool = false;
  /** Where the probe search starts next time (fairness between screened-out endpoints). */
  probeCursor: i32 = 0;
  screenIntervalNs: u64;

  constructor(destination: Destination) {
    super();
    const n = destination.endpoints.length;
    this.draw = new StaticArray<i32>(n);
    this.ewma = new StaticArray<f64>(n);
    this.sorted = new StaticArray<f64>(n);
    for (let i = 0; i < n; i++) this.draw[i] = i;
    this.drawCount = n;
    const perEndpoint = <u64>n * SCREEN_INTERVAL_PER_ENDPOINT_NS;
    this.screenIntervalNs = perEndpoint > SCREEN_INTERVAL_NS ? perEndpoint : SCREEN_INTERVAL_NS;
  }

  /**
   * Reads every record, recomputes the draw; returns a claimed probe's index,
   * -1 for none, or PICK_SHARED_DATA_FAILED.
   */
  screen(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const ewma = this.ewma;
    const sorted = this.sorted;
    let measured = 0;
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i];
      if (!readState(ep)) return PICK_SHARED_DATA_FAILED;
      const e = ep.state.ewmaAt(nowNs, destination.decayNs);
      unchecked((ewma[i] = e));
      if (e > 0) unchecked((sorted[measured++] = e));
    }
    let limit = Infinity;
    if (measured >= 2) {
      // Lower median of the measured EWMAs (insertion sort: n is small, and this runs once per interval).
      for (let i = 1; i < measured; i++) {
        const v = unchecked(sorted[i]);
        let j = i - 1;
        while (j >= 0 && unchecked(sorted[j]) > v) {
          unchecked((sorted[j + 1] = sorted[j]));
          j--;
        }
        unchecked((sorted[j + 1] = v));
      }
      limit = SLOW_FACTOR * unchecked(sorted[(measured - 1) >> 1]);
    }
    let front = 0;
    let back = n;
    for (let i = 0; i < n; i++) {
      if (unchecked(ewma[i]) <= limit) unchecked((this.draw[front++] = i));
      else unchecked((this.draw[--back] = i));
    }
    this.drawCount = front;
    if (front == n) return -1;
    // A screened-out endpoint whose probe is due gets this request (its record was just read: the CAS is current).
    const nowMs = nowNs / 1000000;
    const out = n - front;
    for (let k = 0; k < out; k++) {
      const i = this.draw[front + (this.probeCursor + k) % out];
      const ep = endpoints[i];
      if (nowMs < ep.state.lastProbeMs + destination.probeIntervalMs) continue;
      this.probeCursor = (this.probeCursor + k + 1) % out;
      const result = acquire(ep, true, nowMs > 0 ? nowMs : 1);
      if (result == Update.Ok) {
        this.probed = true;
        return i;
      }
      if (result == Update.HostFailure) return PICK_SHARED_DATA_FAILED;
      break; // another worker probes it; the records read are still good for the draw below
    }
    return -1;
  }

  override pick(destination: Destination, nowNs: u64): i32 {
    this.probed = false;
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    if (n == 1) return claim(destination, 0, false);
    if (!this.screened || nowNs >= this.nextScreenNs) {
      this.screened = true;
      this.nextScreenNs = nowNs + this.screenIntervalNs;
      const probe = this.screen(destination, nowNs);
      if (probe != -1) return probe;
    }
    const count = this.drawCount;
    const draw = this.draw;
    if (count == 1) return claim(destination, unchecked(draw[0]), false);
    const first = randomBelow(count);
    let second = randomBelow(count - 1);
    if (second >= first) second++;
    const a = unchecked(draw[first]);
    const b = unchecked(draw[second]);
    if (!readState(endpoints[a]) || !readState(endpoints[b])) return PICK_SHARED_DATA_FAILED;
    const chosen = cost(endpoints[b], nowNs, destination.decayNs) < cost(endpoints[a], nowNs, destination.decayNs) ? b : a;
    return claim(destination, chosen, true);
  }
}
