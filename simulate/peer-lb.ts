/**
 * Peer balancers the filter is measured against (issue 16), on the aggregate
 * cluster without the filter, like Envoy's native runs:
 *
 * - peer:P2C_PEAK_EWMA — power of two choices on peak-EWMA latency ×
 *   (pending + 1), as tower's `p2c` + `PeakEwma` (and Linkerd, built on them)
 *   balance: the estimate starts at a default RTT (Linkerd's 30 ms), a slower
 *   response replaces it at once, a faster one moves it with weight
 *   1 − exp(−elapsed / decay), and reading the cost decays it toward 0 with the
 *   time since the last update (tower `RttEstimate::decay`). Two distinct
 *   endpoints are drawn; the lower cost wins, ties the first. The decay is the
 *   destination scheduler's `decay` (default 10 s, tower's and Linkerd's), so
 *   the row also stands for lightsub's least_latency before issue 16 (the same
 *   P2C on the same peak EWMA; lightsub's shared state across workers is
 *   modelled by one estimate per caller sidecar).
 * - peer:FASTEST — the same estimates, but every request goes to the endpoint
 *   whose latency estimate is the lowest of all (full scoring, no sampling, no
 *   load term): what a balancer that "always picks the fastest" does, to show
 *   herding when many callers act on their own stale view. (With the load term,
 *   estimate × (pending + 1), full scoring did not herd in many-callers.yaml:
 *   peak EWMA sees a queue with its first slow answer; docs/design.md has the
 *   numbers.)
 *
 * One estimate table per caller sidecar, shared by its workers (one balancer
 * per proxy); pending = that caller's requests in flight to the endpoint.
 */
import type { LoadBalancer } from "../envoy-model/native-lb.js";
import type { Random } from "./random.js";

/** Linkerd's default RTT for an endpoint without a response yet. */
const DEFAULT_RTT_MS = 30;

export class PeakEwmaTable {
  private readonly estimate: Float64Array;
  private readonly updatedAt: Float64Array;

  constructor(
    endpoints: number,
    private readonly decayMs: number,
    private readonly clock: () => number,
    defaultRttMs = DEFAULT_RTT_MS,
  ) {
    this.estimate = new Float64Array(endpoints).fill(defaultRttMs);
    this.updatedAt = new Float64Array(endpoints);
  }

  /** tower `RttEstimate::update`: peak, else an EWMA weighted by the time since the last update. */
  observe(endpoint: number, rttMs: number): void {
    const now = this.clock();
    const current = this.estimate[endpoint]!;
    if (current < rttMs) this.estimate[endpoint] = rttMs;
    else {
      const decay = Math.exp(-Math.max(0, now - this.updatedAt[endpoint]!) / this.decayMs);
      this.estimate[endpoint] = current * decay + rttMs * (1 - decay);
    }
    this.updatedAt[endpoint] = now;
  }

  /** tower `PeakEwma::load`: the estimate decayed to now (stored), × (pending + 1). */
  cost(endpoint: number, pending: number): number {
    const now = this.clock();
    const decay = Math.exp(-Math.max(0, now - this.updatedAt[endpoint]!) / this.decayMs);
    const estimate = this.estimate[endpoint]! * decay;
    this.estimate[endpoint] = estimate;
    this.updatedAt[endpoint] = now;
    return estimate * (pending + 1);
  }
}

export interface PeerHosts {
  /** Endpoint index of each host position. */
  endpointOf: readonly number[];
  /** This caller's requests in flight per endpoint. */
  pending: Int32Array;
  table: PeakEwmaTable;
}

/** A balancer that learns from responses. */
export interface LearningLoadBalancer extends LoadBalancer {
  observe(position: number, rttMs: number): void;
}

function avoided(position: number, avoid: readonly number[] | undefined, n: number): boolean {
  return avoid !== undefined && avoid.length < n && avoid.includes(position);
}

export class P2cPeakEwma implements LearningLoadBalancer {
  constructor(
    private readonly hosts: PeerHosts,
    private readonly rng: Random,
  ) {}

  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    const { endpointOf, pending, table } = this.hosts;
    const n = endpointOf.length;
    if (n === 1) return 0;
    let a = this.rng.int(n);
    let b = this.rng.int(n - 1);
    if (b >= a) b++;
    // Retries avoiding earlier hosts re-draw a few times, as Envoy's host selection does.
    for (let i = 1; i < 4 && (avoided(a, avoid, n) || avoided(b, avoid, n)); i++) {
      a = this.rng.int(n);
      b = this.rng.int(n - 1);
      if (b >= a) b++;
    }
    const costA = table.cost(endpointOf[a]!, pending[endpointOf[a]!]!);
    const costB = table.cost(endpointOf[b]!, pending[endpointOf[b]!]!);
    return costB < costA ? b : a;
  }

  observe(position: number, rttMs: number): void {
    this.hosts.table.observe(this.hosts.endpointOf[position]!, rttMs);
  }
}

export class FullScanPeakEwma implements LearningLoadBalancer {
  constructor(
    private readonly hosts: PeerHosts,
    private readonly rng: Random,
  ) {}

  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    const { endpointOf, table } = this.hosts;
    const n = endpointOf.length;
    let best = -1;
    let bestCost = Infinity;
    let ties = 0;
    for (let position = 0; position < n; position++) {
      if (avoided(position, avoid, n)) continue;
      // The latency estimate alone (pending = 0 for all): "the currently fastest backend".
      const cost = table.cost(endpointOf[position]!, 0);
      if (cost < bestCost) {
        best = position;
        bestCost = cost;
        ties = 1;
      } else if (cost === bestCost && this.rng.int(++ties) === 0) best = position;
    }
    return best >= 0 ? best : this.rng.int(n);
  }

  observe(position: number, rttMs: number): void {
    this.hosts.table.observe(this.hosts.endpointOf[position]!, rttMs);
  }
}
