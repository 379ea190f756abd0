// round_robin: each worker cycles through the endpoints from a random start;
// an ejected endpoint's turn goes to the next one (strategy.ts).
import { Destination } from "../destination";
import { randomBelow } from "../base/random";
import { claim } from "./claim";
import { Strategy } from "./strategy";

export class RoundRobin extends Strategy {
  next: i32;

  constructor(endpointCount: i32) {
    super();
    this.next = randomBelow(endpointCount);
  }

  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    const index = this.next;
    this.next = index + 1 < destination.endpoints.length ? index + 1 : 0;
    return claim(destination, index, false);
  }
}
