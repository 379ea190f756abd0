/**
 * Workload text → value with source positions (the `yaml` package; workloads
 * are small), and the `simulation:` section of a policy file: taken out of the
 * policy text before the policy checker sees it, by overwriting it with spaces
 * so every other line and column stays where it was.
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from "yaml";
import type { Diagnostic } from "../../compiler/diagnostics.js";
import { WORKLOAD_CODES } from "./codes.js";

export type PathSegment = string | number;

/** A parsed workload value and how to find positions in its source. */
export interface WorkloadSource {
  file: string;
  value: unknown;
  /** Line and column of the node at `path` (relative to the workload root), or of its key. */
  position(path: readonly PathSegment[], target?: "value" | "key"): { line: number; column: number };
}

interface ParsedText {
  doc: Document.Parsed;
  lines: LineCounter;
}

function parse(text: string): ParsedText {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true, prettyErrors: false });
  return { doc, lines };
}

function syntaxDiagnostics(parsed: ParsedText, file: string): Diagnostic[] {
  return parsed.doc.errors.map((error) => {
    const at = parsed.lines.linePos(error.pos[0]);
    return { file, line: at.line, column: at.col, severity: "error", code: WORKLOAD_CODES.syntax, message: error.message.split("\n")[0]! };
  });
}

function sourceAt(parsed: ParsedText, root: Node | null | undefined, file: string, value: unknown): WorkloadSource {
  return {
    file,
    value,
    position(path, target = "value") {
      const offset = offsetOf(root, path, target);
      const at = parsed.lines.linePos(offset);
      return { line: at.line, column: at.col };
    },
  };
}

function offsetOf(root: Node | null | undefined, path: readonly PathSegment[], target: "value" | "key"): number {
  let node: Node | null | undefined = root;
  let offset = node?.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    const last = i === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return offset;
      const key = pair.key as Node;
      if (last && target === "key") return key.range?.[0] ?? offset;
      node = pair.value as Node | null;
      offset = node?.range?.[0] ?? key.range?.[0] ?? offset;
    } else if (isSeq(node)) {
      const item = node.items[Number(segment)] as Node | undefined;
      if (!item) return offset;
      node = item;
      offset = item.range?.[0] ?? offset;
    } else {
      return offset;
    }
  }
  return offset;
}

/** A separate workload file. */
export function parseWorkloadText(text: string, file: string): { source?: WorkloadSource; diagnostics: Diagnostic[] } {
  const parsed = parse(text);
  const diagnostics = syntaxDiagnostics(parsed, file);
  if (diagnostics.length > 0) return { diagnostics };
  return { source: sourceAt(parsed, parsed.doc.contents, file, parsed.doc.toJS({ maxAliasCount: 100 })), diagnostics };
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

/** Separates the `simulation:` section from the policy. Unparseable text is returned unchanged for the policy checker to report. */
export function splitPolicy(text: string, file: string): SplitPolicy {
  if (!text.includes("simulation")) return { policyText: text, parsed: true };
  const parsed = parse(text);
  if (parsed.doc.errors.length > 0 || !isMap(parsed.doc.contents)) return { policyText: text, parsed: false };
  const root = parsed.doc.contents;
  const pair = root.items.find((p) => isScalar(p.key) && p.key.value === "simulation");
  if (!pair) return { policyText: text, parsed: true };
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
  const blanked = text.slice(0, blankFrom) + text.slice(blankFrom, end).replace(/[^\n\r]/g, " ") + text.slice(end);
  const at = parsed.lines.linePos(start);
  const sectionValue = value ? (value as unknown as { toJS(doc: Document): unknown }).toJS(parsed.doc) : null;
  return {
    policyText: blanked,
    section: sourceAt(parsed, value, file, sectionValue),
    sectionKey: { line: at.line, column: at.col },
    parsed: true,
  };
}
