/**
 * Helpers for policy tests: policies written inline with `«` markers where a
 * diagnostic is expected. The markers are removed and their line:column kept,
 * so an expectation is written next to the text it is about.
 */
import { expect } from "vitest";
import { checkPolicy, type CheckResult } from "../../compiler/check-policy.js";
import { formatDiagnostic, type Diagnostic } from "../../compiler/diagnostics/index.js";

export interface Marked {
  text: string;
  marks: Array<{ line: number; column: number }>;
}

export function marked(source: string): Marked {
  const marks: Marked["marks"] = [];
  let text = "";
  let line = 1;
  let column = 1;
  for (const ch of source) {
    if (ch === "«") {
      marks.push({ line, column });
      continue;
    }
    text += ch;
    if (ch === "\n") {
      line++;
      column = 1;
    } else {
      column += ch.length;
    }
  }
  return { text, marks };
}

/** Removes the common indentation of a template literal (and its first empty line). */
export function dedent(text: string): string {
  const lines = text.replace(/^\n/, "").split("\n");
  const indents = lines.filter((l) => l.trim() !== "").map((l) => l.length - l.trimStart().length);
  const cut = Math.min(...indents);
  return lines.map((l) => l.slice(cut)).join("\n");
}

export function check(source: string, file = "policy.yaml"): CheckResult & Marked {
  const m = marked(dedent(source));
  return { ...checkPolicy(m.text, file), ...m };
}

/**
 * Asserts the complete diagnostics of a marked policy: one per `«`, in order,
 * with these codes; messages containing `messages` (in the same order); and a
 * model exactly when there is no error.
 */
export function expectMarkedDiagnostics(source: string, codes: readonly string[], messages: readonly string[] = []): void {
  const result = check(source);
  expect(result.marks.length, "one marker per expected code").toBe(codes.length);
  const expected = result.marks.map((m, i) => `${m.line}:${m.column} ${codes[i]}`);
  expect(result.diagnostics.map(where), result.diagnostics.map(formatDiagnostic).join("\n")).toEqual(expected);
  messages.forEach((text, i) => expect(result.diagnostics[i]!.message).toContain(text));
  const hasError = result.diagnostics.some((d) => d.severity === "error");
  expect(result.model === undefined).toBe(hasError);
}

function codes(diagnostics: Diagnostic[]): string[] {
  return diagnostics.map((d) => d.code);
}

export function where(d: Diagnostic): string {
  return `${d.line}:${d.column} ${d.code}`;
}

/** A policy with services written as YAML under `services:` (indented by the caller's template). */
function policyWith(services: string, extraSpec = ""): string {
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: test }
spec:
${extraSpec}  services:
${services}`;
}
