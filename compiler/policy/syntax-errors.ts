/**
 * YAML syntax errors as a person wants them: one wrong indentation makes the
 * yaml package report the line itself and then every later line that no
 * longer fits the structure (one space gave 6 errors, a tab 11 to 14). When
 * the first error is structural (indentation, a tab, a key that became
 * multi-line), only that one is reported, with a fix hint and the count of
 * the errors left out; fixing it usually makes the others go away. Errors
 * that stand on their own (say, duplicate keys) are all reported.
 */
import type { YAMLError } from "yaml";
import { Diag, messageText } from "../diagnostics/index.js";

/** yaml package error codes that mean "the structure broke here"; what follows is usually a consequence. */
const STRUCTURAL = new Set([
  "TAB_AS_INDENT",
  "BAD_INDENT",
  "MULTILINE_IMPLICIT_KEY",
  "BLOCK_AS_IMPLICIT_KEY",
  "MISSING_CHAR",
  "UNEXPECTED_TOKEN",
  "BLOCK_IN_FLOW",
]);

export interface SyntaxErrorReport {
  offset: number;
  message: string;
}

/**
 * The errors to report, in source order: the first structural one alone
 * (with a hint), or, when the first is not structural, each (up to `max`).
 * `describe` turns a yaml message into ours.
 */
export function reportedSyntaxErrors(
  errors: readonly YAMLError[],
  source: string,
  max: number,
  describe: (message: string) => string,
): SyntaxErrorReport[] {
  const sorted = [...errors].sort((a, b) => a.pos[0] - b.pos[0]);
  const first = sorted[0];
  if (first === undefined) return [];
  if (!STRUCTURAL.has(first.code)) return sorted.slice(0, max).map((e) => ({ offset: e.pos[0], message: describe(e.message) }));
  const rest = sorted.length - 1;
  const leftOut = rest === 0 ? "" : ` (${rest} more syntax error${rest === 1 ? "" : "s"} after it left out: they usually follow from this one)`;
  const tab = firstTabIndent(source, first.pos[0]);
  if (tab !== undefined) {
    return [{ offset: tab.offset, message: messageText(Diag.TabIndent, { line: tab.line, leftOut }) }];
  }
  const atSamePlace = sorted.filter((e) => e.pos[0] === first.pos[0]).map((e) => e.code);
  if (atSamePlace.includes("MULTILINE_IMPLICIT_KEY") || atSamePlace.includes("BLOCK_AS_IMPLICIT_KEY")) {
    // A line indented deeper than the keys beside it continues the key of the line above: the error points
    // at that key, the mistake is on the next line.
    const keyLine = lineAt(source, first.pos[0]);
    const next = nextContentLine(source, keyLine);
    if (next !== undefined && indentOf(next.text) > keyColumn(keyLine.text)) {
      const message = messageText(Diag.IndentedIntoKey, {
        line: next.number,
        indent: spaces(indentOf(next.text)),
        keyLine: keyLine.number,
        keyIndent: spaces(keyColumn(keyLine.text)),
        leftOut,
      });
      return [{ offset: next.start + indentOf(next.text), message }];
    }
  }
  return [{ offset: first.pos[0], message: indentHint(source, first.pos[0], describe(first.message), leftOut) }];
}

function nextContentLine(source: string, line: Line): Line | undefined {
  let start = line.start + line.text.length + 1;
  let number = line.number + 1;
  while (start < source.length) {
    const end = source.indexOf("\n", start);
    const text = source.slice(start, end === -1 ? source.length : end);
    if (text.trim() !== "" && !text.trim().startsWith("#")) return { number, start, text };
    if (end === -1) break;
    start = end + 1;
    number++;
  }
  return undefined;
}

/** Where a line's key starts: after the indentation and any "- " of sequence items. */
function keyColumn(text: string): number {
  return /^ *(?:- +)*/.exec(text)![0].length;
}

interface Line {
  number: number;
  start: number;
  text: string;
}

function lineAt(source: string, offset: number): Line {
  const start = source.lastIndexOf("\n", Math.max(0, offset - 1)) + 1;
  const end = source.indexOf("\n", offset);
  let number = 1;
  for (let i = source.indexOf("\n"); i !== -1 && i < start; i = source.indexOf("\n", i + 1)) number++;
  return { number, start, text: source.slice(start, end === -1 ? source.length : end) };
}

/** A tab in the indentation of a line up to the one holding `offset` (the first such line). */
function firstTabIndent(source: string, offset: number): { line: number; offset: number } | undefined {
  const upTo = lineAt(source, offset);
  const lines = source.slice(0, upTo.start + upTo.text.length).split("\n");
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const indent = /^[ \t]*/.exec(lines[i]!)![0];
    const tab = indent.indexOf("\t");
    // Only where content follows: a tab on a blank line is harmless.
    if (tab !== -1 && lines[i]!.trim() !== "") return { line: i + 1, offset: start + tab };
    start += lines[i]!.length + 1;
  }
  return undefined;
}

/** The syntax error, and how its line is indented against the content line above it. */
function indentHint(source: string, offset: number, syntax: string, leftOut: string): string {
  const line = lineAt(source, offset);
  const own = indentOf(line.text);
  let previous: Line | undefined;
  for (let start = line.start - 1; start > 0; ) {
    const candidate = lineAt(source, start - 1);
    if (candidate.text.trim() !== "" && !candidate.text.trim().startsWith("#")) {
      previous = candidate;
      break;
    }
    start = candidate.start - 1;
  }
  if (previous === undefined) return messageText(Diag.CheckIndentation, { syntax, line: line.number, leftOut });
  const above = indentOf(previous.text);
  return messageText(Diag.CheckIndentationAgainst, { syntax, line: line.number, indent: spaces(own), above: previous.number, aboveIndent: spaces(above), leftOut });
}

function indentOf(text: string): number {
  return /^ */.exec(text)![0].length;
}

function spaces(n: number): string {
  return `${n} space${n === 1 ? "" : "s"}`;
}
