// weighted: smooth weighted round robin (per worker). Every pick adds each
// endpoint's weight to its running score, takes the highest score and lowers it
// by the total weight: shares match the weights exactly over every cycle of
// sum(weights) picks, and heavy endpoints are interleaved, not bunched.
import { Destination, Strategy } from "../model";
import { claim } from "./claim";

export class Weighted extends Strategy {
  scores: StaticArray<i64>;
  totalWeight: i64 = 0;

  constructor(destination: Destination) {
    super();
    this.scores = new StaticArray<i64>(destination.endpoints.length);
    for (let i = 0; i < destination.endpoints.length; i++) this.totalWeight += destination.endpoints[i].weight;
  }

  override pick(destination: Destination, nowNs: u64): i32 {
    const endpoints = destination.endpoints;
    let best = 0;
    for (let i = 0; i < endpoints.length; i++) {
      this.scores[i] += endpoints[i].weight;
      if (this.scores[i] > this.scores[best]) best = i;
    }
    this.scores[best] -= this.totalWeight;
    return claim(destination, best, false);
  }
}
