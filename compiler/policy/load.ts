/**
 * Policy text → JS value plus a Locator (path → source offset).
 *
 * YAML 1.2 is a superset of JSON, so one loader reads both. Three parsers, in
 * order of speed, all giving the same value for the same text:
 *  1. text starting with `{`: our strict JSON parser (json.ts);
 *  2. otherwise our fast block-YAML parser (fast-yaml.ts) when the text stays
 *     in its subset;
 *  3. the `yaml` package for everything else, and for every syntax error.
 * Problems here carry offsets; index.ts turns them into line:column.
 */
import { readFile, stat } from "node:fs/promises";
import { parseDocument, visit, type Document } from "yaml";
import { Diag, messageText, type DiagMessage, type MessageArgs, type Severity } from "../diagnostics/index.js";
import { clip } from "./describe.js";
import { parseFastYaml } from "./fast-yaml.js";
import { parseJson } from "./json.js";
import { MAX_ALIAS_COUNT, MAX_FILE_BYTES, MAX_SYNTAX_ERRORS } from "./limits.js";
import { MAX_NESTING_DEPTH, ParseFailure } from "./parse-failure.js";
import { reportedSyntaxErrors } from "./syntax-errors.js";
import type { Locator } from "./positions.js";
import { YamlDocumentLocator } from "./yaml-locator.js";

export interface SourceProblem {
  offset: number;
  severity: Severity;
  code: string;
  message: string;
}

export interface LoadedPolicy {
  value: unknown;
  locator: Locator;
  /** Which parser read the text (for tests and benchmarks). */
  parser: "json" | "fast-yaml" | "yaml";
}

export interface LoadResult {
  policy?: LoadedPolicy;
  problems: SourceProblem[];
}

const MIB = 1024 * 1024;

/** A catalogue message at a source offset, its template filled with `args`. */
function problem<T extends string>(diag: DiagMessage<T>, offset: number, ...args: MessageArgs<T>): SourceProblem {
  return { offset, severity: diag.severity, code: diag.code, message: messageText(diag, ...args) };
}

/**
 * What the loader reads: policies, and workload files (simulate/workload),
 * which go through the same loader with the same limits and messages.
 */
export type SourceKind = "policy" | "workload";

/** Reads a policy (or workload) file as UTF-8 text; problems are LS001. */
export async function readPolicyFile(path: string, kind: SourceKind = "policy"): Promise<{ text?: string; problems: SourceProblem[] }> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return { problems: [problem(Diag.NotARegularFile, 0, { path })] };
    if (info.size > MAX_FILE_BYTES) return { problems: [tooLarge(info.size, kind)] };
    const bytes = await readFile(path);
    try {
      return { text: new TextDecoder("utf-8", { fatal: true }).decode(bytes), problems: [] };
    } catch {
      return { problems: [problem(Diag.FileNotUtf8, 0)] };
    }
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (e as Error).message;
    return { problems: [problem(Diag.CannotRead, 0, { path, reason })] };
  }
}

/** The file name diagnostics carry for a policy read from standard input (`lightsub compile -`). */
export const STDIN_FILE_NAME = "<stdin>";

/** Reads a policy from standard input (the policy path `-`) as UTF-8 text; problems are LS001. */
export async function readPolicyStdin(input: NodeJS.ReadableStream = process.stdin): Promise<{ text?: string; problems: SourceProblem[] }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of input) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
      size += bytes.length;
      if (size > MAX_FILE_BYTES) return { problems: [tooLarge(size, "policy")] };
      chunks.push(bytes);
    }
  } catch (e) {
    return { problems: [problem(Diag.CannotReadStdin, 0, { reason: (e as Error).message })] };
  }
  try {
    return { text: new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks)), problems: [] };
  } catch {
    return { problems: [problem(Diag.StdinNotUtf8, 0)] };
  }
}

function tooLarge(bytes: number, kind: SourceKind): SourceProblem {
  return problem(Diag.FileTooLarge, 0, { kind, mib: (bytes / MIB).toFixed(1), limit: MAX_FILE_BYTES / MIB });
}

/** Parses policy (or workload) text. `file` only decides which syntax error to show for text that is neither valid JSON nor valid YAML. */
export function loadPolicyText(text: string, file: string, kind: SourceKind = "policy"): LoadResult {
  // Cheap bound first: UTF-8 needs at least one byte per UTF-16 unit and at most three.
  if (text.length > MAX_FILE_BYTES || (text.length * 3 > MAX_FILE_BYTES && Buffer.byteLength(text, "utf8") > MAX_FILE_BYTES)) {
    return { problems: [tooLarge(Buffer.byteLength(text, "utf8"), kind)] };
  }
  // A BOM is not part of the document; blank it out so offsets still match the text.
  const source = text.charCodeAt(0) === 0xfeff ? ` ${text.slice(1)}` : text;
  const first = source.search(/\S/);
  if (first === -1) return { problems: [problem(Diag.FileEmpty, 0, { kind })] };

  let jsonFailure: ParseFailure | undefined;
  if (source[first] === "{") {
    try {
      const { value, positions } = parseJson(source);
      return { policy: { value, locator: positions, parser: "json" }, problems: [] };
    } catch (e) {
      if (!(e instanceof ParseFailure)) throw e;
      if (e.kind === "limit") return { problems: [problem(Diag.ParserLimit, e.offset, { detail: e.message })] };
      jsonFailure = e; // maybe YAML flow style or JSON with comments: let the YAML parser try
    }
  } else {
    const fast = parseFastYaml(source);
    if (fast !== undefined) return { policy: { value: fast.value, locator: fast.positions, parser: "fast-yaml" }, problems: [] };
  }

  const result = loadWithYamlPackage(source, kind);
  if (jsonFailure !== undefined && result.policy === undefined && /\.json$/i.test(file)) {
    return { problems: [problem(Diag.JsonSyntax, jsonFailure.offset, { detail: jsonFailure.message })] };
  }
  return result;
}

function loadWithYamlPackage(source: string, kind: SourceKind): LoadResult {
  let doc: Document;
  try {
    doc = parseDocument(source, { prettyErrors: false, uniqueKeys: true, strict: true });
  } catch (e) {
    return { problems: [thrownProblem(e, 0)] };
  }
  const problems: SourceProblem[] = [];
  // The yaml package turns a stack overflow on absurd nesting into (many) errors: report one limit instead.
  const overflow = doc.errors.find((e) => /call stack/i.test(e.message));
  if (overflow !== undefined) return { problems: [problem(Diag.NestedTooDeeply, deepFlowOffset(source) ?? overflow.pos[0])] };
  // A broken structure is reported once, with a hint, not with every line it makes unparseable.
  for (const e of reportedSyntaxErrors(doc.errors, source, MAX_SYNTAX_ERRORS, syntaxMessage)) problems.push(problem(Diag.YamlSyntaxReport, e.offset, { text: e.message }));
  if (problems.length > 0) return { problems };
  for (const w of doc.warnings) problems.push(problem(Diag.YamlWarning, w.pos[0], { text: syntaxMessage(w.message) }));

  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (e) {
    return { problems: [...problems, thrownProblem(e, firstAliasOffset(doc))] };
  }
  if (value === null || value === undefined) return { problems: [...problems, problem(Diag.FileEmpty, 0, { kind })] };
  return { policy: { value, locator: new YamlDocumentLocator(doc, source), parser: "yaml" }, problems };
}

/**
 * Where flow collections (`[`, `{`) first nest deeper than MAX_NESTING_DEPTH,
 * skipping quoted strings and comments; undefined when they never do (deep
 * block nesting). Only asked after the yaml package ran out of stack: its
 * own error position depends on how much stack the caller left, and the same
 * file must get the same position from validate and simulate.
 */
function deepFlowOffset(text: string): number | undefined {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "[" || c === "{") {
      if (++depth > MAX_NESTING_DEPTH) return i;
    } else if (c === "]" || c === "}") depth = Math.max(0, depth - 1);
    else if (c === '"') {
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === "\\") i++;
    } else if (c === "'") {
      for (i++; i < text.length; i++) if (text[i] === "'" && text[++i] !== "'") break;
      i--;
    } else if (c === "#" && (i === 0 || /\s/.test(text[i - 1]!))) {
      while (i < text.length && text[i] !== "\n") i++;
    }
  }
  return undefined;
}

function syntaxMessage(message: string): string {
  if (message === "Map keys must be unique") return messageText(Diag.DuplicateKey);
  if (message.startsWith("Source contains multiple documents")) return messageText(Diag.MultipleDocuments);
  // Some of the yaml package's messages quote the offending source, which can be the whole document.
  return messageText(Diag.YamlSyntax, { detail: clip(message, 200) });
}

/** The yaml package throws on alias bombs, undefined aliases and very deep nesting. */
function thrownProblem(e: unknown, offset: number): SourceProblem {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof RangeError) return problem(Diag.NestedTooDeeply, offset);
  if (/alias count/i.test(message)) {
    return problem(Diag.AliasesTooLarge, offset, { limit: MAX_ALIAS_COUNT });
  }
  return problem(Diag.YamlError, offset, { detail: clip(message, 200) });
}

function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}
