/** Envoy bootstraps of every sidecar of a mesh. */
import type { MeshModel } from "../model/mesh.js";
import { sidecarBootstrap } from "./bootstrap.js";
import type { JsonObject } from "./json.js";
import { MeshIndex } from "./mesh-index.js";

export { sidecarBootstrap } from "./bootstrap.js";
export { sidecarPluginJson } from "./plugin-config.js";
export type { JsonObject, JsonValue } from "./json.js";

/**
 * Service name → bootstrap, in the model's service order. Parts that several
 * bootstraps contain identically are shared, deep-frozen objects (read-only).
 */
export function sidecarBootstraps(model: MeshModel): Map<string, JsonObject> {
  return new Map(eachSidecarBootstrap(model));
}

/**
 * The same bootstraps one at a time: for big meshes, a caller that checks and
 * writes each bootstrap before taking the next keeps only one sidecar's
 * unshared objects alive at a time (less heap, less GC).
 */
export function* eachSidecarBootstrap(model: MeshModel): Generator<[string, JsonObject]> {
  const index = new MeshIndex(model);
  for (const service of model.services) yield [service.name, sidecarBootstrap(model, service, index)];
}
