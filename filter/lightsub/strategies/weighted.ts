// weighted: smooth weighted round robin (per worker). Every pick adds each
// endpoint's weight to its running score, takes the highest score and lowers it
// by the total weight: shares match the weights exactly over every cycle of
// sum(weights) picks, and heavy endpoints are interleaved, not bunched. An
// ejected endpoint's turn goes to the next in the schedule (after n such
// turns in one request, a uniform draw among the rest: strategy.ts).
import { Destination } from "../destination";
import { claim, claimAnyNotOut } from "./claim";
import { Strategy } from "./strategy";

export class Weighted extends Strategy {
  scores: StaticArray<i64>;
  /** The endpoints' weights, copied so the per-request loop reads one flat array. */
  weights: StaticArray<i64>;
  totalWeight: i64 = 0;

  constructor(destination: Destination) {
    super();
    const n = destination.endpoints.length;
    this.scores = new StaticArray<i64>(n);
    this.weights = new StaticArray<i64>(n);
    for (let i = 0; i < n; i++) {
      const w = <i64>destination.endpoints[i].weight;
      this.weights[i] = w;
      this.totalWeight += w;
    }
  }

  override choose(destination: Destination, nowNs: u64, attempt: i32): i32 {
    if (attempt >= destination.endpoints.length) return claimAnyNotOut(destination);
    const scores = this.scores;
    const weights = this.weights;
    const n = scores.length;
    let best = 0;
    let bestScore = i64.MIN_VALUE;
    // O(endpoints) per request; indexes are in range by construction (both arrays have n entries).
    for (let i = 0; i < n; i++) {
      const score = unchecked(scores[i]) + unchecked(weights[i]);
      unchecked((scores[i] = score));
      if (score > bestScore) {
        bestScore = score;
        best = i;
      }
    }
    unchecked((scores[best] = bestScore - this.totalWeight));
    return claim(destination, best, false);
  }
}
