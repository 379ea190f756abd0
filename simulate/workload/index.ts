/**
 * Finding and checking the workload: a separate file (wins) or the policy's
 * `simulation:` section → schema check → resolution against the policy model.
 */
import { Diag, diagnosticAt, type Diagnostic } from "../../compiler/diagnostics/index.js";
import type { MeshModel } from "../../compiler/model/mesh.js";
import type { WorkloadModel } from "./model.js";
import { resolveWorkload } from "./resolve.js";
import { checkWorkloadSchema } from "./schema-check.js";
import { parseWorkloadText, type SplitPolicy, type WorkloadSource } from "./yaml-source.js";

export { splitPolicy } from "./yaml-source.js";
export type { WorkloadModel } from "./model.js";

export interface WorkloadText {
  text: string;
  file: string;
}

export interface LocatedWorkload {
  source: WorkloadSource;
  /** How paths are shown in messages: "simulation" for a policy section, "" for a file. */
  rootLabel: string;
}

/** The workload to use, or diagnostics saying why there is none. */
export function locateWorkload(policyFile: string, split: SplitPolicy, separate: WorkloadText | undefined): { workload?: LocatedWorkload; diagnostics: Diagnostic[] } {
  if (separate) {
    const { source, diagnostics } = parseWorkloadText(separate.text, separate.file);
    return source ? { workload: { source, rootLabel: "" }, diagnostics } : { diagnostics };
  }
  if (split.section) return { workload: { source: split.section, rootLabel: "simulation" }, diagnostics: [] };
  // A policy that does not parse gets its syntax errors from the policy checker, not this.
  if (!split.parsed) return { diagnostics: [] };
  return {
    diagnostics: [diagnosticAt({ file: policyFile, line: 1, column: 1 }, Diag.NoWorkload)],
  };
}

/** Schema, then resolution against the model (only when the schema check passed). */
export function checkWorkload(located: LocatedWorkload, model: MeshModel): { workload?: WorkloadModel; diagnostics: Diagnostic[] } {
  const schemaProblems = checkWorkloadSchema(located.source, located.rootLabel);
  if (schemaProblems.length > 0) return { diagnostics: schemaProblems };
  return resolveWorkload(located.source, located.rootLabel, model);
}
