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
import type { MeshModel, ServiceModel } from "../model/mesh.js";
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
    this.perCalleeKinds.add(kind);
    return this.shared(kind, calleeName, () => build(this.service(calleeName)));
  }

  /**
   * Tells the index that `caller`'s sidecar is done. Once every caller of a
   * service is, the index forgets what it built for that service (another
   * caller would get a fresh copy): rendering a mesh sidecar by sidecar then
   * keeps only the called services still ahead in memory, not all of them.
   * On the machines measured, memory a process touches for the first time
   * costs more than building a resource again would.
   */
  doneWith(caller: ServiceModel): void {
    this.callersLeft ??= countCallers(this.model);
    for (const call of caller.calls) {
      const left = (this.callersLeft.get(call.service) ?? 1) - 1;
      this.callersLeft.set(call.service, left);
      if (left > 0) continue;
      for (const kind of this.perCalleeKinds) this.memo.get(kind)?.delete(call.service);
    }
  }

  private readonly perCalleeKinds = new Set<string>();
  private callersLeft: Map<string, number> | undefined;
}

function countCallers(model: MeshModel): Map<string, number> {
  const callers = new Map<string, number>();
  for (const s of model.services) for (const call of s.calls) callers.set(call.service, (callers.get(call.service) ?? 0) + 1);
  return callers;
}
