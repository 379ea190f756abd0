/**
 * Results of resource checks, so a mesh of 10,000 services checks each
 * distinct cluster once (a called service's clusters are identical in every
 * caller's sidecar). Frozen resources (compiler/envoy shares them deep-frozen
 * between bootstraps) are keyed by identity; others by their JSON text.
 */
import type { ValidationError } from "./errors.js";

/** Entries kept before the cache starts over (bounds memory on huge meshes). */
const MAX_ENTRIES = 200_000;

export interface CacheStats {
  /** Resources checked against the protos (cache misses). */
  checked: number;
  /** Resources whose result came from the cache. */
  hits: number;
}

export class ResultCache {
  private readonly results = new Map<string, ValidationError[]>();
  private frozen = new WeakMap<object, ValidationError[]>();
  readonly stats: CacheStats = { checked: 0, hits: 0 };

  /** Errors of `resource` with paths relative to it (`""` = the resource itself). */
  get(resource: object, check: () => ValidationError[]): ValidationError[] {
    if (Object.isFrozen(resource)) {
      let errors = this.frozen.get(resource);
      if (errors) {
        this.stats.hits++;
        return errors;
      }
      errors = this.run(check);
      this.frozen.set(resource, errors);
      return errors;
    }
    const key = JSON.stringify(resource);
    let errors = this.results.get(key);
    if (errors) {
      this.stats.hits++;
      return errors;
    }
    errors = this.run(check);
    if (this.results.size >= MAX_ENTRIES) this.results.clear();
    this.results.set(key, errors);
    return errors;
  }

  private run(check: () => ValidationError[]): ValidationError[] {
    this.stats.checked++;
    return check();
  }

  clear(): void {
    this.results.clear();
    this.frozen = new WeakMap();
    this.stats.checked = 0;
    this.stats.hits = 0;
  }
}
