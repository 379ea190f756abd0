/**
 * Envoy's native load balancers, as Envoy documents them
 * (intro/arch_overview/upstream/load_balancing/load_balancers), one instance
 * per worker like Envoy's thread-local LBs; active request counts are shared
 * across workers like Envoy's host stats.
 *
 * - ROUND_ROBIN: equal weights → rotation from a random start; otherwise
 *   weighted round robin by an earliest-deadline-first schedule.
 * - RANDOM: a uniformly random host (weights are not used).
 * - LEAST_REQUEST: equal weights → power of two choices: two random hosts
 *   (drawn with replacement), the one with fewer active requests wins; unequal
 *   weights → EDF with weight / (active + 1) (active_request_bias 1.0),
 *   re-weighted when a host is picked.
 * - RING_HASH / MAGLEV: a hash ring over the hosts (weights as virtual
 *   nodes); requests without a key go to a random host.
 */
import type { LbPolicy } from "./cluster-table.js";

/**
 * The balancers' source of randomness: a uniform whole number in [0, n).
 * The simulator's seeded Random (simulate/random.ts) is one.
 */
export interface RandomInt {
  int(n: number): number;
}

export interface LoadBalancer {
  /** A host position in the cluster; positions in `avoid` are skipped when another exists. */
  pick(hashKey: string | undefined, avoid: readonly number[] | undefined): number;
}

export interface LbHosts {
  weights: readonly number[];
  /** Endpoint index of each host position (into `active`). */
  endpointOf: readonly number[];
  /** Active (in-flight) requests per endpoint, shared by all workers. */
  active: Int32Array;
}

export function createNativeLb(policy: LbPolicy, hosts: LbHosts, rng: RandomInt): LoadBalancer {
  const n = hosts.weights.length;
  if (n === 1) return { pick: () => 0 };
  const equal = hosts.weights.every((w) => w === hosts.weights[0]);
  switch (policy) {
    case "ROUND_ROBIN":
      return equal ? new Rotation(n, rng) : new EarliestDeadlineFirst(hosts, () => 1);
    case "RANDOM":
      return new Uniform(n, rng);
    case "LEAST_REQUEST":
      return equal
        ? new PowerOfTwoChoices(hosts, rng)
        : new EarliestDeadlineFirst(hosts, (position) => 1 / (hosts.active[hosts.endpointOf[position]!]! + 1));
    case "RING_HASH":
    case "MAGLEV":
      return new HashRing(hosts, rng);
  }
}

/** Retries that must avoid earlier hosts re-draw a few times (host_selection_retry_max_attempts). */
function avoiding(draw: () => number, avoid: readonly number[] | undefined, attempts = 4): number {
  let choice = draw();
  for (let i = 1; avoid && i < attempts && avoid.includes(choice); i++) choice = draw();
  return choice;
}

class Rotation implements LoadBalancer {
  private next: number;
  constructor(
    private readonly n: number,
    rng: RandomInt,
  ) {
    this.next = rng.int(n);
  }
  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    return avoiding(() => this.next++ % this.n, avoid);
  }
}

class Uniform implements LoadBalancer {
  constructor(
    private readonly n: number,
    private readonly rng: RandomInt,
  ) {}
  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    return avoiding(() => this.rng.int(this.n), avoid);
  }
}

class PowerOfTwoChoices implements LoadBalancer {
  constructor(
    private readonly hosts: LbHosts,
    private readonly rng: RandomInt,
  ) {}
  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    return avoiding(() => {
      const n = this.hosts.weights.length;
      const a = this.rng.int(n);
      const b = this.rng.int(n);
      const { active, endpointOf } = this.hosts;
      return active[endpointOf[b]!]! < active[endpointOf[a]!]! ? b : a;
    }, avoid);
  }
}

/**
 * Earliest deadline first: each host is due at its last deadline + 1/weight;
 * the earliest is picked (ties: lower position). `factor` scales a host's
 * weight when it is rescheduled (least-request's 1/(active+1)).
 */
class EarliestDeadlineFirst implements LoadBalancer {
  private readonly deadlines: Float64Array;
  constructor(
    private readonly hosts: LbHosts,
    private readonly factor: (position: number) => number,
  ) {
    this.deadlines = new Float64Array(hosts.weights.length);
    hosts.weights.forEach((w, i) => (this.deadlines[i] = 1 / w));
  }
  pick(_key: string | undefined, avoid: readonly number[] | undefined): number {
    let best = -1;
    for (let i = 0; i < this.deadlines.length; i++) {
      if (avoid && avoid.includes(i) && avoid.length < this.deadlines.length) continue;
      if (best < 0 || this.deadlines[i]! < this.deadlines[best]!) best = i;
    }
    this.deadlines[best] = this.deadlines[best]! + 1 / (this.hosts.weights[best]! * this.factor(best));
    return best;
  }
}

/** A ring of 64 × weight points per host, keyed by FNV-1a hashes. */
class HashRing implements LoadBalancer {
  private readonly points: Uint32Array;
  private readonly owners: Int32Array;
  constructor(
    hosts: LbHosts,
    private readonly rng: RandomInt,
  ) {
    const entries: [number, number][] = [];
    hosts.weights.forEach((w, host) => {
      for (let v = 0; v < 64 * w; v++) entries.push([fnv1a(`${host}-${v}`), host]);
    });
    entries.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    this.points = Uint32Array.from(entries.map((e) => e[0]));
    this.owners = Int32Array.from(entries.map((e) => e[1]));
  }
  pick(key: string | undefined, _avoid: readonly number[] | undefined): number {
    if (key === undefined) return this.owners[this.rng.int(this.owners.length)]!;
    const h = fnv1a(key);
    let low = 0;
    let high = this.points.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (this.points[mid]! < h) low = mid + 1;
      else high = mid;
    }
    return this.owners[low === this.points.length ? 0 : low]!;
  }
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
