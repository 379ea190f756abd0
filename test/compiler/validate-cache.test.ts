/**
 * compiler/validate caches cluster results: a called service's clusters are
 * the same in every caller's sidecar and are checked once (by identity when
 * frozen, as compiler/envoy shares them; by JSON text otherwise).
 */
import { describe, expect, it } from "vitest";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import type { MeshModel } from "../../compiler/model/mesh.js";
import { createEnvoyValidator } from "../../compiler/validate/index.js";
import type { Node } from "../support/envoy-nav.js";
import { mesh, type ServiceSpec } from "../support/models.js";

/** `callers` services that each call every one of `callees` services (2 endpoints each). */
function fanIn(callers: number, callees: number): MeshModel {
  const specs: ServiceSpec[] = [];
  for (let i = 0; i < callees; i++) {
    specs.push({ name: `callee-${i}`, port: 9000 + i, endpoints: [{ address: `callee-${i}-a`, port: 15006 }, { address: `callee-${i}-b`, port: 15006 }] });
  }
  for (let i = 0; i < callers; i++) {
    specs.push({
      name: `caller-${i}`,
      port: 8000,
      endpoints: [{ address: `caller-${i}`, port: 15006 }],
      calls: specs.slice(0, callees).map((c) => c.name),
    });
  }
  return mesh("fan-in", specs);
}

describe("cluster result cache", () => {
  const model = fanIn(20, 5);
  const bootstraps = [...sidecarBootstraps(model).values()];
  const allClusters: unknown[] = bootstraps.flatMap((b) => (b as Node).static_resources.clusters);
  // 3 per callee (aggregate + 2 endpoints) + local_app: callees listen on 5 ports, callers all on 8000.
  const distinct = new Set(allClusters.map((c) => JSON.stringify(c))).size;
  const total = allClusters.length;

  it("checks each distinct shared (frozen) cluster once", () => {
    const validator = createEnvoyValidator();
    for (const b of bootstraps) expect(validator.validateBootstrap(b)).toEqual([]);
    expect(validator.cacheStats).toEqual({ checked: distinct, hits: total - distinct });
    expect(distinct).toBe(5 * 3 + 5 + 1);
  });

  it("checks each distinct unfrozen cluster once, keyed by its JSON", () => {
    const validator = createEnvoyValidator();
    for (const b of bootstraps) expect(validator.validateBootstrap(JSON.parse(JSON.stringify(b)))).toEqual([]);
    expect(validator.cacheStats).toEqual({ checked: distinct, hits: total - distinct });
  });

  it("never returns a stale result for a changed cluster", () => {
    const validator = createEnvoyValidator();
    const b = JSON.parse(JSON.stringify(bootstraps[7])) as Node;
    expect(validator.validateBootstrap(b)).toEqual([]);
    b.static_resources.clusters[1].lb_policy = "WRONG";
    expect(validator.validateBootstrap(b).map((e) => e.path)).toEqual(["static_resources.clusters[1].lb_policy"]);
    b.static_resources.clusters[1].lb_policy = "ROUND_ROBIN";
    expect(validator.validateBootstrap(b)).toEqual([]);
  });

  it("reports a cached problem at every position it occurs", () => {
    const validator = createEnvoyValidator();
    const bad = JSON.parse(JSON.stringify(bootstraps[5])) as Node; // caller-0
    const c = bad.static_resources.clusters[1];
    c.connect_timeout = "soon";
    bad.static_resources.clusters.push({ ...c, name: "copy" });
    const paths = validator.validateBootstrap(bad).map((e) => e.path);
    expect(paths).toEqual(["static_resources.clusters[1].connect_timeout", "static_resources.clusters[16].connect_timeout"]);
    expect(validator.cacheStats.checked).toBe(bad.static_resources.clusters.length);
    // The same bad cluster in another bootstrap: from the cache, with that bootstrap's index.
    const other = JSON.parse(JSON.stringify(bootstraps[6])) as Node; // caller-1
    other.static_resources.clusters.splice(2, 0, structuredClone(c));
    const before = validator.cacheStats.hits;
    const errors = validator.validateBootstrap(other);
    expect(errors.map((e) => e.path)).toContain("static_resources.clusters[2].connect_timeout");
    expect(validator.cacheStats.hits).toBeGreaterThan(before);
  });

  it("starts counting afresh after clearCache", () => {
    const validator = createEnvoyValidator();
    validator.validateBootstrap(bootstraps[0]!);
    validator.clearCache();
    expect(validator.cacheStats).toEqual({ checked: 0, hits: 0 });
    validator.validateBootstrap(bootstraps[0]!);
    expect(validator.cacheStats.hits).toBe(0);
  });
});
