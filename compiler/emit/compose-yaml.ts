/**
 * docker-compose.yaml as text, in pieces (compiler/compose/compose.ts builds
 * the services and networks).
 */
import type { MeshModel } from "../model/mesh.js";
import { composeNetworks, composeServices, type ComposeOptions, type ComposeInstance } from "../compose/compose.js";
import { toYaml, yamlMappingEntry } from "./yaml-text.js";

/**
 * The same file as YAML text in pieces: `name`, then one piece per compose
 * service, then `networks`. Joined, the pieces are exactly
 * toYaml(composeFileOfCheckedModel(model), header); written one after
 * another they never hold a 10,000-service mesh's file (17 MB) in memory.
 */
export function* composeYamlPieces(model: MeshModel, header: string, opts: ComposeOptions = {}): Generator<string> {
  yield toYaml({ name: model.name }, header);
  const instances: ComposeInstance[] = [];
  let first = true;
  for (const [name, service] of composeServices(model, opts, instances)) {
    if (first) yield "services:\n";
    first = false;
    yield yamlMappingEntry(name, service, "  ");
  }
  if (first) yield "services: {}\n";
  yield toYaml({ networks: composeNetworks(instances, opts) });
}

