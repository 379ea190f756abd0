/**
 * docker compose checks, as policy warnings: names that cannot work under the
 * generated docker-compose.yaml (compiler/compose/compose.ts). The Envoy
 * configs are still fine, so these never stop a compile; compile leaves
 * docker-compose.yaml out when one is reported.
 *
 *   LS071  an endpoint hostname that a caller maps to 127.0.0.1 (it also calls a
 *          service of that name), so that caller's sidecar would dial itself;
 *   LS070  whole-mesh conflicts: a container name used twice, IPv6 endpoints,
 *          IPv4 endpoints that fit no /8 network.
 *
 * They read the model (instance names follow from defaults and images), so
 * they run once the policy has no errors.
 */
import type { MeshModel } from "../model/mesh.js";
import { composeConflicts, type ComposeConflict } from "./compose.js";
import { Code, Diag } from "../diagnostics/index.js";
import { finding, type Finding } from "../policy/findings.js";
import type { Path } from "../policy/positions.js";

export const COMPOSE_CONFLICT_CODES: ReadonlySet<string> = new Set([Code.ComposeConflict, Code.ComposeLoopback]);

export function composeFindings(model: MeshModel): Finding[] {
  return composeConflicts(model).map(toFinding);
}

function toFinding(conflict: ComposeConflict): Finding {
  const service: Path = ["spec", "services", conflict.service];
  const path: Path = conflict.endpoint === undefined ? [...service, "name"] : [...service, "endpoints", conflict.endpoint, "address"];
  return finding(conflict.kind === "loopback" ? Diag.ComposeLoopback : Diag.ComposeConflict, path, { detail: conflict.message });
}
