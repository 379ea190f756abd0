/** Service-time distributions: a sampler per spec, and its mean (the oracle's estimate). */
import type { Random } from "./random.js";
import type { LatencySpec } from "./workload/model.js";

export type Sampler = (rng: Random) => number;

export function samplerFor(spec: LatencySpec): Sampler {
  switch (spec.distribution) {
    case "constant": {
      const value = spec.valueMs;
      return () => value;
    }
    case "exponential": {
      const mean = spec.meanMs;
      return (rng) => rng.exponential(mean);
    }
    case "lognormal": {
      const mu = Math.log(spec.medianMs);
      const sigma = spec.sigma;
      return (rng) => Math.exp(mu + sigma * rng.normal());
    }
    case "bimodal": {
      const fast = samplerFor(spec.fast);
      const slow = samplerFor(spec.slow);
      const p = spec.slowFraction;
      return (rng) => (rng.next() < p ? slow(rng) : fast(rng));
    }
  }
}

export function meanOf(spec: LatencySpec): number {
  switch (spec.distribution) {
    case "constant":
      return spec.valueMs;
    case "exponential":
      return spec.meanMs;
    case "lognormal":
      return spec.medianMs * Math.exp((spec.sigma * spec.sigma) / 2);
    case "bimodal":
      return (1 - spec.slowFraction) * meanOf(spec.fast) + spec.slowFraction * meanOf(spec.slow);
  }
}
