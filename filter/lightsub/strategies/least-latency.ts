// least_latency: power of two choices on peak-EWMA latency x (in flight + 1),
// the cost Finagle's "peak EWMA" balancer uses, drawn only from the endpoints
// that are not clearly slower than the rest (issue 16).
//
// Plain P2C (what tower and Linkerd do) has a blind spot: when k of n
// endpoints are slow it draws two slow ones with probability
// k(k-1) / (n(n-1)) -- one request in six with two slow endpoints of four --
// and then has to send the request to a slow one. So:
//
// 1. Screening (screening.ts), per worker every 20 ms: read every endpoint's
//    record and take the lower median m of the measured EWMAs (as seen now).
//    An endpoint whose EWMA is above SLOW_FACTOR x m is set aside. At most
//    half can be, so the rest always has room for the load, and many callers
//    acting on the same stale information still spread over at least half of
//    the endpoints (no herding onto the single fastest one).
// 2. P2C among the others, exactly as before (two records read per request,
//    the less costly one claimed with the CAS of that read; an ejected one
//    only if both are: strategy.ts).
// 3. Probing: a set-aside endpoint gets one request per probeIntervalMs
//    across all workers (screening.ts). A probe's latency replaces the
//    endpoint's EWMA (records/shared.ts release), so an endpoint that became
//    fast again is back in the draw at the next screening, not after the EWMA
//    decayed for tens of seconds.
//
// Per-request cost stays that of P2C (two record reads and one CAS); the
// screening reads n records once per interval per worker.
//
// An endpoint without a latency sample yet costs nothing while idle (so it gets
// measured) and a large penalty while it has requests in flight (so it is not
// flooded before the first answer); it is never screened out.
import { Pick } from "../base/pick";
import { randomBelow } from "../base/random";
import { Destination, Endpoint } from "../destination";
import { readState } from "../records/shared";
import { claim, claimEither } from "./claim";
import { Screening } from "./screening";

const UNMEASURED_PENALTY_US: f64 = 1e12;
/** An endpoint whose EWMA is more than this many times the lower median is screened out. */
const SLOW_FACTOR: f64 = 3;

function cost(ep: Endpoint, nowNs: u64, decayNs: f64): f64 {
  const state = ep.state;
  const inFlight = <f64>(state.inFlight > 0 ? state.inFlight : 0);
  const ewma = state.ewmaAt(nowNs, decayNs);
  if (ewma == 0) return inFlight == 0 ? 0 : UNMEASURED_PENALTY_US + inFlight;
  return ewma * (inFlight + 1);
}

export class LeastLatency extends Screening {
  /** EWMA of each endpoint at the last screening (0: unmeasured). */
  ewma: StaticArray<f64>;

  constructor(destination: Destination) {
    super(destination);
    this.ewma = new StaticArray<f64>(destination.endpoints.length);
  }

  /**
   * Reads every record, recomputes the draw; returns a claimed probe's index,
   * -1 for none, or Pick.SharedDataFailed.
   */
  screen(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    const ewma = this.ewma;
    let measured = 0;
    for (let i = 0; i < n; i++) {
      const ep = endpoints[i];
      if (!readState(ep)) return Pick.SharedDataFailed;
      const e = ep.state.ewmaAt(nowNs, destination.decayNs);
      unchecked((ewma[i] = e));
      if (e > 0) this.insertSorted(measured++, e);
    }
    const limit = measured >= 2 ? SLOW_FACTOR * this.lowerMedian(measured) : Infinity;
    for (let i = 0; i < n; i++) unchecked((this.aside[i] = unchecked(ewma[i]) > limit));
    this.partition(n);
    return this.probeSetAside(destination, nowNs);
  }

  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    const endpoints = destination.endpoints;
    const n = endpoints.length;
    if (n == 1) return claim(destination, 0, false);
    if (this.screenDue(nowNs)) {
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
    if (!readState(endpoints[a]) || !readState(endpoints[b])) return Pick.SharedDataFailed;
    // The less costly of the pair, unless it is ejected (strategy.ts).
    if (cost(endpoints[b], nowNs, destination.decayNs) < cost(endpoints[a], nowNs, destination.decayNs)) return claimEither(destination, b, a);
    return claimEither(destination, a, b);
  }
}
