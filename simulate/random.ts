/**
 * Seeded pseudo-random numbers (xoshiro128**), one independent stream per
 * purpose. Every run of one simulation derives the same streams from the seed,
 * so all strategies see the same arrivals and the same backend draws (common
 * random numbers): differences between runs come from the strategy alone.
 */

/** splitmix32 step: spreads a seed over 32 bits, used only to seed streams. */
function mix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

export class Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal = NaN;

  /** `seed` selects the simulation, `stream` the purpose within it. */
  constructor(seed: number, stream = 0) {
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    let s = mix32(lo ^ mix32(hi ^ mix32(stream)));
    this.a = s = mix32(s);
    this.b = s = mix32(s);
    this.c = s = mix32(s);
    this.d = mix32(s) | 1; // never all zero
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    return (this.nextU32() * 2 ** 21 + (this.nextU32() >>> 11)) / 2 ** 53;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Exponentially distributed with the given mean. */
  exponential(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal (Box–Muller, the second value kept for the next call). */
  normal(): number {
    if (!Number.isNaN(this.spareNormal)) {
      const value = this.spareNormal;
      this.spareNormal = NaN;
      return value;
    }
    const u = 1 - this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Stream numbers: fixed, so adding a stream never shifts another. */
export const STREAM = {
  arrivals: 1,
  workers: 2,
  keys: 3,
  balancer: 4,
  retries: 5,
  /** the value of request.mix's header per request */
  mix: 6,
  /** which caller sidecar sends each request (only with several callers) */
  callers: 7,
  /** the workload's overhead: each try's request and response legs (only when it has one) */
  overhead: 8,
  /** per endpoint i: endpointBase + i */
  endpointBase: 1000,
} as const;
