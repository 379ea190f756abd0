/**
 * The policy front end: text → diagnostics and, when there is no error, the
 * MeshModel.
 *
 *   load (parse, positions) → document gate (LS003) → limits (LS011)
 *   → schema (ajv) + semantic checks, both always run → model
 *   → docker compose warnings (LS070, LS071; they need the model)
 *
 * Everything a run finds is reported together, sorted by position.
 */
import { Diag, hasErrors, sortDiagnostics, type Diagnostic } from "./diagnostics/index.js";
import type { MeshModel } from "./model/mesh.js";
import { checkSemantics } from "./policy/check.js";
import { composeFindings } from "./compose/findings.js";
import { describeValue } from "./policy/describe.js";
import { finding, type Finding } from "./policy/findings.js";
import { MAX_ENDPOINTS_PER_SERVICE, MAX_SERVICES } from "./policy/limits.js";
import { loadPolicyText, readPolicyFile, type SourceProblem } from "./policy/load.js";
import { outputSizeFindings } from "./policy/output-size.js";
import { LineIndex, type Locator } from "./policy/positions.js";
import { schemaFindings } from "./policy/schema.js";
import { toModel } from "./policy/to-model.js";
import { API_VERSION, KIND, type PolicyDocument } from "./policy/types.js";

export interface CheckResult {
  /** Present only when no diagnostic is an error. */
  model?: MeshModel;
  diagnostics: Diagnostic[];
}

/** Checks policy text (YAML or JSON). `file` is the name diagnostics carry. */
export function checkPolicy(text: string, file: string): CheckResult {
  const lines = new LineIndex(text);
  const fromProblem = (p: SourceProblem): Diagnostic => ({ file, ...lines.position(p.offset), severity: p.severity, code: p.code, message: p.message });

  const loaded = loadPolicyText(text, file);
  const diagnostics = loaded.problems.map(fromProblem);
  if (loaded.policy === undefined) return { diagnostics: sortDiagnostics(diagnostics) };

  const { value, locator } = loaded.policy;
  const locate = (f: Finding): Diagnostic => locateFinding(f, locator, lines, file);

  const gate = documentFindings(value);
  if (gate.length > 0) return { diagnostics: sortDiagnostics([...diagnostics, ...gate.map(locate)]) };
  const limits = limitFindings(value);
  if (limits.length > 0) return { diagnostics: sortDiagnostics([...diagnostics, ...limits.map(locate)]) };

  for (const f of schemaFindings(value)) diagnostics.push(locate(f));
  for (const f of checkSemantics(value)) diagnostics.push(locate(f));
  const sorted = sortDiagnostics(diagnostics);
  if (hasErrors(sorted)) return { diagnostics: sorted };
  const model = toModel(value as PolicyDocument);
  const compose = composeFindings(model);
  if (compose.length === 0) return { model, diagnostics: sorted };
  return { model, diagnostics: sortDiagnostics([...sorted, ...compose.map(locate)]) };
}

/** Reads and checks a policy file; unreadable or oversized files give LS001. */
export async function checkPolicyFile(path: string): Promise<CheckResult> {
  const read = await readPolicyFile(path);
  if (read.text === undefined) {
    return { diagnostics: read.problems.map((p) => ({ file: path, line: 1, column: 1, severity: p.severity, code: p.code, message: p.message })) };
  }
  return checkPolicy(read.text, path);
}

function locateFinding(f: Finding, locator: Locator, lines: LineIndex, file: string): Diagnostic {
  const offset = locator.offsetOf(f.path, f.target ?? "value");
  return { file, ...lines.position(offset), severity: f.severity, code: f.code, message: f.message };
}

/** Is this a lightsub/v1 Mesh document at all? If not, nothing else is worth reporting. */
function documentFindings(value: unknown): Finding[] {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return [finding(Diag.PolicyNotAMapping, [], { got: describeValue(value) })];
  }
  const doc = value as Record<string, unknown>;
  const findings: Finding[] = [];
  if (doc["apiVersion"] === undefined) findings.push(finding(Diag.ApiVersionMissing, [], { apiVersion: API_VERSION }));
  else if (doc["apiVersion"] !== API_VERSION) {
    findings.push(finding(Diag.ApiVersionWrong, ["apiVersion"], { expected: JSON.stringify(API_VERSION), got: describeValue(doc["apiVersion"]) }));
  }
  if (doc["kind"] === undefined) findings.push(finding(Diag.KindMissing, [], { kind: KIND }));
  else if (doc["kind"] !== KIND) findings.push(finding(Diag.KindWrong, ["kind"], { expected: JSON.stringify(KIND), got: describeValue(doc["kind"]) }));
  return findings;
}

/** Sizes that would make the later checks slow; refused before they run. */
function limitFindings(value: unknown): Finding[] {
  const services = (value as { spec?: { services?: unknown } }).spec?.services;
  if (!Array.isArray(services)) return [];
  if (services.length > MAX_SERVICES) {
    return [finding(Diag.TooManyServices, ["spec", "services"], { count: services.length, limit: MAX_SERVICES })];
  }
  const findings: Finding[] = [];
  services.forEach((service, index) => {
    const endpoints = (service as { endpoints?: unknown } | null)?.endpoints;
    if (Array.isArray(endpoints) && endpoints.length > MAX_ENDPOINTS_PER_SERVICE) {
      findings.push(finding(Diag.TooManyEndpoints, ["spec", "services", index, "endpoints"], { count: endpoints.length, limit: MAX_ENDPOINTS_PER_SERVICE }));
    }
  });
  if (findings.length > 0) return findings;
  return outputSizeFindings(services);
}

export { DIAGNOSTIC_CODES, formatDiagnostic, sortDiagnostics, type Diagnostic } from "./diagnostics/index.js";
export { POLICY_SCHEMA } from "./policy/schema.js";
export type { PolicyDocument } from "./policy/types.js";
