/**
 * The oracle: a balancer that sees every backend's true state — requests in
 * service and queued, its concurrency limit, its current mean service time
 * (× slowdown), outages and error rate — and sends each request where it
 * expects the earliest successful completion:
 *
 *     cost = (expected wait + mean service time) / (1 − error rate)
 *
 * where the wait is (requests ahead of it beyond the limit) × mean / limit.
 * Unreachable endpoints cost ∞; ties go to a random one. No real balancer can
 * know this much, so it is the yardstick the others are read against.
 */
import type { Backend, BackendTry } from "./backend.js";
import type { LoadBalancer } from "../envoy-model/native-lb.js";
import type { Random } from "./random.js";

export class OracleLb implements LoadBalancer {
  constructor(
    private readonly endpointOf: readonly number[],
    private readonly backends: readonly Backend<BackendTry>[],
    private readonly rng: Random,
  ) {}

  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    let best = -1;
    let bestCost = Infinity;
    let ties = 0;
    for (let position = 0; position < this.endpointOf.length; position++) {
      if (avoid && avoid.includes(position) && avoid.length < this.endpointOf.length) continue;
      const cost = expectedCost(this.backends[this.endpointOf[position]!]!);
      if (cost < bestCost) {
        best = position;
        bestCost = cost;
        ties = 1;
      } else if (cost === bestCost) {
        // Reservoir choice among equals keeps the pick uniform and deterministic.
        ties++;
        if (this.rng.int(ties) === 0) best = position;
      }
    }
    return best >= 0 ? best : this.rng.int(this.endpointOf.length);
  }
}

function expectedCost(b: Backend<BackendTry>): number {
  if (b.state.outage !== undefined) return Infinity;
  if (b.queueFull && !b.hasRoom) return Infinity;
  const mean = b.meanServiceMs * b.state.slowdown;
  const ahead = b.serving + b.waiting + 1 - b.concurrency;
  const wait = ahead > 0 ? (ahead * mean) / b.concurrency : 0;
  const success = 1 - b.state.errorRate;
  return success <= 0 ? Infinity : (wait + mean) / success;
}
