/**
 * Strict check of Envoy bootstrap objects against Envoy's own v3 protos.
 *
 *     const validator = await loadEnvoyValidator();
 *     const errors = validator.validateBootstrap(bootstrap); // [] when valid
 *     // errors: [{ path: "static_resources.clusters[3].outlier_detection.max_ejection_pct",
 *     //            message: 'unknown field "max_ejection_pct" in envoy.config.cluster.v3.OutlierDetection (did you mean "max_ejection_percent"?)' }]
 */
import { crossReferenceErrors } from "./cross-refs.js";
import { fieldPath, indexPath, isPlainObject, rebase, type ValidationError } from "./errors.js";
import { MessageChecker } from "./message-checker.js";
import { envoyProtoTree } from "./proto-tree.js";
import { ResultCache, type CacheStats } from "./result-cache.js";

export type { ValidationError } from "./errors.js";
export type { CacheStats } from "./result-cache.js";

const BOOTSTRAP_TYPE = "envoy.config.bootstrap.v3.Bootstrap";
const CLUSTER_TYPE = "envoy.config.cluster.v3.Cluster";

export class EnvoyValidator {
  private readonly cache = new ResultCache();

  constructor(private readonly checker: MessageChecker) {}

  /** Proto check of every field plus the cross-resource checks; [] when Envoy would accept it. */
  validateBootstrap(bootstrap: unknown): ValidationError[] {
    const errors = this.protoErrors(bootstrap);
    errors.push(...crossReferenceErrors(bootstrap));
    return errors;
  }

  /** Checks `value` as the JSON of any message of Envoy's API, e.g. "envoy.config.cluster.v3.Cluster". */
  validateMessage(typeName: string, value: unknown, path = ""): ValidationError[] {
    return this.checker.check(typeName, value, path);
  }

  /** How many clusters were checked and how many came from the cache. */
  get cacheStats(): Readonly<CacheStats> {
    return this.cache.stats;
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** Clusters go through the cache one by one; the rest of the bootstrap is checked directly. */
  private protoErrors(bootstrap: unknown): ValidationError[] {
    const resources = isPlainObject(bootstrap) ? bootstrap.static_resources : undefined;
    if (!isPlainObject(bootstrap) || !isPlainObject(resources) || !Array.isArray(resources.clusters)) {
      return this.checker.check(BOOTSTRAP_TYPE, bootstrap);
    }
    const { clusters, ...otherResources } = resources;
    const errors = this.checker.check(BOOTSTRAP_TYPE, { ...bootstrap, static_resources: otherResources });
    const base = fieldPath("static_resources", "clusters");
    clusters.forEach((cluster: unknown, i: number) => {
      const path = indexPath(base, i);
      if (typeof cluster !== "object" || cluster === null) {
        errors.push(...this.checker.check(CLUSTER_TYPE, cluster, path));
        return;
      }
      const relative = this.cache.get(cluster, () => this.checker.check(CLUSTER_TYPE, cluster));
      if (relative.length > 0) errors.push(...rebase(path, relative));
    });
    return errors;
  }
}

let shared: EnvoyValidator | undefined;

function newChecker(): MessageChecker {
  const tree = envoyProtoTree();
  return new MessageChecker((name) => tree.messageType(name));
}

/** The process-wide validator (protos load once, ~0.3 s; compiled checks and the cluster cache are shared). */
function loadEnvoyValidatorSync(): EnvoyValidator {
  shared ??= new EnvoyValidator(newChecker());
  return shared;
}

export async function loadEnvoyValidator(): Promise<EnvoyValidator> {
  return loadEnvoyValidatorSync();
}

/** A validator with its own cache (and counters), sharing the loaded protos. */
export function createEnvoyValidator(): EnvoyValidator {
  return new EnvoyValidator(newChecker());
}
