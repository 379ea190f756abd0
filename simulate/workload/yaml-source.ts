/**
 * Workload text → value with source positions, and the `simulation:` section
 * of a policy file. Both go through the policy's own loader
 * (compiler/policy/load.ts): the same parsers, limits (size, UTF-8, YAML alias
 * expansion, nesting), messages and positions. The section is taken out of
 * the policy text before the policy checker sees it, by overwriting it with
 * spaces so every other line and column stays where it was.
 */
import { isMap, isScalar, parseDocument, type Node } from "yaml";
import { workloadCodeOf, type Diagnostic } from "../../compiler/diagnostics/index.js";
import { loadPolicyText, type SourceProblem } from "../../compiler/policy/load.js";
import { LineIndex, type Locator } from "../../compiler/policy/positions.js";

export type PathSegment = string | number;

/** A parsed workload value and how to find positions in its source. */
export interface WorkloadSource {
  file: string;
  value: unknown;
  /** Line and column of the node at `path` (relative to the workload root), or of its key. */
  position(path: readonly PathSegment[], target?: "value" | "key"): { line: number; column: number };
}

function sourceAt(locator: Locator, lines: LineIndex, prefix: readonly PathSegment[], file: string, value: unknown): WorkloadSource {
  return {
    file,
    value,
    position(path, target = "value") {
      return lines.position(locator.offsetOf([...prefix, ...path], target));
    },
  };
}

/** A separate workload file. */
export function parseWorkloadText(text: string, file: string): { source?: WorkloadSource; diagnostics: Diagnostic[] } {
  const lines = new LineIndex(text);
  const toDiagnostic = (p: SourceProblem): Diagnostic => ({
    file,
    ...lines.position(p.offset),
    severity: p.severity,
    // The loader's problems under the workload's codes where it has its own (unreadable, syntax).
    code: workloadCodeOf(p.code),
    message: p.message,
  });
  const loaded = loadPolicyText(text, file, "workload");
  const diagnostics = loaded.problems.map(toDiagnostic);
  if (loaded.policy === undefined || diagnostics.some((d) => d.severity === "error")) return { diagnostics };
  return { source: sourceAt(loaded.policy.locator, lines, [], file, loaded.policy.value), diagnostics };
}

export interface SplitPolicy {
  /** The policy text with the simulation section blanked (same length, same line breaks). */
  policyText: string;
  /** The simulation section, when the policy has one. */
  section?: WorkloadSource;
  /** Where the section's key is (for messages about it). */
  sectionKey?: { line: number; column: number };
  /** False when the policy text does not parse (the policy checker reports why). */
  parsed: boolean;
}

/**
 * Separates the `simulation:` section from the policy. Text the loader refuses
 * (syntax errors, limits) is returned unchanged for the policy checker, which
 * loads it the same way, to report.
 */
export function splitPolicy(text: string, file: string): SplitPolicy {
  if (!text.includes("simulation")) return { policyText: text, parsed: true };
  const loaded = loadPolicyText(text, file);
  if (loaded.policy === undefined || loaded.problems.some((p) => p.severity === "error")) return { policyText: text, parsed: false };
  const whole = loaded.policy.value;
  if (whole === null || typeof whole !== "object" || Array.isArray(whole) || !Object.hasOwn(whole, "simulation")) return { policyText: text, parsed: true };
  const sectionValue = (whole as Record<string, unknown>)["simulation"] ?? null;
  const lines = new LineIndex(text);
  const { locator } = loaded.policy;
  const section = sourceAt(locator, lines, ["simulation"], file, sectionValue);
  const sectionKey = lines.position(locator.offsetOf(["simulation"], "key"));
  return { policyText: blankSection(text), section, sectionKey, parsed: true };
}

/**
 * The text with the top-level `simulation` member overwritten by spaces. Only
 * called on text the loader accepted (within its size, alias and nesting
 * limits), so parsing it again into a syntax tree (no alias expansion) is safe.
 */
function blankSection(text: string): string {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const root = doc.contents;
  if (!isMap(root)) return text;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === "simulation");
  if (!pair) return text;
  const key = pair.key as Node;
  const value = pair.value as Node | null;
  const start = key.range![0];
  let end = value?.range?.[1] ?? key.range![1];
  let blankFrom = start;
  if (root.flow) {
    // A JSON policy: drop the comma that separated this member from its neighbour.
    let after = end;
    while (after < text.length && /\s/.test(text[after]!)) after++;
    if (text[after] === ",") end = after + 1;
    else {
      let before = start - 1;
      while (before >= 0 && /\s/.test(text[before]!)) before--;
      if (text[before] === ",") blankFrom = before;
    }
  }
  return text.slice(0, blankFrom) + text.slice(blankFrom, end).replace(/[^\n\r]/g, " ") + text.slice(end);
}
