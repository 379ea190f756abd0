// random: a uniformly random endpoint per request; if it is ejected, a new
// draw among the rest (strategy.ts).
import { Destination } from "../destination";
import { randomBelow } from "../base/random";
import { claim, claimAnyNotOut } from "./claim";
import { Strategy } from "./strategy";

export class RandomChoice extends Strategy {
  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    if (attempt > 0) return claimAnyNotOut(destination);
    return claim(destination, randomBelow(destination.endpoints.length), false);
  }
}
