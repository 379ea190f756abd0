// random: a uniformly random endpoint per request.
import { Destination } from "../destination";
import { randomBelow } from "../base/random";
import { claim } from "./claim";
import { Strategy } from "./strategy";

export class RandomChoice extends Strategy {
  override pick(destination: Destination, nowNs: u64): i32 {
    return claim(destination, randomBelow(destination.endpoints.length), false);
  }
}
