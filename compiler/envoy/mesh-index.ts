/**
 * Lookups over one MeshModel shared by the generators of all its sidecars:
 * services by name, and resources that several bootstraps contain identically
 * (a called service's clusters, route config and plugin destination; the
 * admin block; listener addresses), built once and deep-frozen.
 *
 * Why share: a mesh of 10,000 services must compile in seconds, and most of a
 * sidecar's config is about the services it calls. Shared objects keep the
 * heap small, and the validator checks a frozen object once.
 */
import type { MeshModel, ServiceModel } from "../model.js";
import { deepFreeze } from "./freeze.js";
import type { JsonValue } from "./json.js";

export class MeshIndex {
  private readonly byName = new Map<string, ServiceModel>();
  private readonly memo = new Map<string, Map<string | number, JsonValue>>();

  constructor(readonly model: MeshModel) {
    for (const s of model.services) this.byName.set(s.name, s);
  }

  service(name: string): ServiceModel {
    const s = this.byName.get(name);
    if (!s) throw new Error(`model "${this.model.name}": no service named "${name}"`);
    return s;
  }

  /** `build()` once per (kind, key); the result is deep-frozen and shared. */
  shared<T extends JsonValue>(kind: string, key: string | number, build: () => T): T {
    let byKey = this.memo.get(kind);
    if (!byKey) {
      byKey = new Map();
      this.memo.set(kind, byKey);
    }
    let value = byKey.get(key) as T | undefined;
    if (value === undefined) {
      value = deepFreeze(build());
      byKey.set(key, value);
    }
    return value;
  }

  /** `build(callee)` once per (kind, called service), deep-frozen and shared by all callers. */
  perCallee<T extends JsonValue>(kind: string, calleeName: string, build: (callee: ServiceModel) => T): T {
    return this.shared(kind, calleeName, () => build(this.service(calleeName)));
  }
}
