/**
 * A fast parser for the plain block-style YAML that policies are written in.
 *
 * Why: the `yaml` package needs ~3.5 s for a 10,000-service policy (4 MB), and
 * the whole compile must take < 5 s. This parser reads the common subset in one
 * linear pass (~20× faster) and records where every value starts.
 *
 * It is deliberately partial: block mappings and sequences (including the
 * `key:\n- item` compact form and `- key: value` items), single-line plain and
 * quoted scalars, single-line flow collections, comments, and one leading `---`.
 * On anything else (anchors, aliases, tags, block scalars, multi-line scalars
 * or flow collections, complex keys, tabs, directives, several documents,
 * duplicate keys, anything suspicious) it returns `undefined` and the caller
 * falls back to the full `yaml` parser, which also reports syntax errors. Where
 * it does accept the text, the result equals the `yaml` package's (YAML 1.2
 * core schema); test/compiler/policy-yaml-fast.test.ts checks that property on random
 * and mutated documents.
 */
import { MAX_NESTING_DEPTH, setOwn } from "./parse-failure.js";
import { PositionTree, type PositionContainer, type PositionNode } from "./positions.js";

export interface ParsedYaml {
  value: unknown;
  positions: PositionTree;
}

/** Thrown inside the parser to abandon the fast path. */
class NotInSubset {}
const BAIL = new NotInSubset();

// Characters the subset never accepts anywhere (tabs, other controls, BOM, the
// Unicode line separators) and a lone CR. Their YAML rules are subtle; the full parser handles them.
const UNSUPPORTED_CHARS = /[\x00-\x09\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029\ufeff]|\r(?!\n)/;
const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const KEY_LOOKS_TYPED = /^(?:[Nn]ull|NULL|[Tt]rue|TRUE|[Ff]alse|FALSE)$/;
const DQ_ESCAPES: Record<string, string> = { '"': '"', "\\": "\\", "/": "/", "0": "\0", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", " ": " " };

/** Returns undefined when the text is outside the supported subset (use the full parser then). */
export function parseFastYaml(text: string): ParsedYaml | undefined {
  if (UNSUPPORTED_CHARS.test(text)) return undefined;
  try {
    return new FastYamlParser(text).parseDocument();
  } catch (e) {
    if (e === BAIL) return undefined;
    throw e;
  }
}

const SPACE = 0x20;
const HASH = 0x23;
const COLON = 0x3a;
const DASH = 0x2d;

class FastYamlParser {
  /** Significant lines (not blank, not comment-only): start offset, end offset (before \r\n), indent. */
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly indents: number[] = [];
  /** Positions of the value the last parse* call returned. */
  private positions: PositionNode = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    this.splitLines();
  }

  parseDocument(): ParsedYaml {
    const count = this.starts.length;
    if (count === 0 || this.indents[0] !== 0) throw BAIL;
    const [value, next] = this.parseMapping(0, 0, this.starts[0]!);
    if (next !== count) throw BAIL;
    return { value, positions: new PositionTree(value, this.positions) };
  }

  private splitLines(): void {
    const text = this.text;
    let lineStart = 0;
    let first = true;
    while (lineStart <= text.length) {
      let lineEnd = text.indexOf("\n", lineStart);
      const next = lineEnd === -1 ? text.length + 1 : lineEnd + 1;
      if (lineEnd === -1) lineEnd = text.length;
      if (lineEnd > lineStart && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
      let i = lineStart;
      while (i < lineEnd && text.charCodeAt(i) === SPACE) i++;
      if (i < lineEnd && text.charCodeAt(i) !== HASH) {
        const indent = i - lineStart;
        const c = text[i];
        if (indent === 0 && (c === "%" || this.isDocumentMarker(i, lineEnd))) {
          // One leading `---` (optionally with a comment) is fine; anything else is not our subset.
          if (!first || !text.startsWith("---", i) || !this.atLineEnd(i + 3, lineEnd)) throw BAIL;
        } else {
          this.starts.push(i);
          this.ends.push(lineEnd);
          this.indents.push(indent);
        }
        first = false;
      }
      lineStart = next;
    }
  }

  private isDocumentMarker(at: number, lineEnd: number): boolean {
    const text = this.text;
    return (text.startsWith("---", at) || text.startsWith("...", at)) && (at + 3 === lineEnd || text.charCodeAt(at + 3) === SPACE);
  }

  /** Only spaces and possibly a comment remain before `lineEnd`. */
  private atLineEnd(at: number, lineEnd: number): boolean {
    let i = at;
    while (i < lineEnd && this.text.charCodeAt(i) === SPACE) i++;
    return i === lineEnd || (this.text.charCodeAt(i) === HASH && i > at);
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING_DEPTH) throw BAIL;
  }

  private isSeqItem(line: number, at: number): boolean {
    const text = this.text;
    return text.charCodeAt(at) === DASH && (at + 1 === this.ends[line] || text.charCodeAt(at + 1) === SPACE);
  }

  /** A block node whose first line is `line` (its content starts at the line's indent). */
  private parseBlockNode(line: number): [unknown, number] {
    const at = this.starts[line]!;
    if (this.isSeqItem(line, at)) return this.parseSequence(line, this.indents[line]!);
    return this.parseMapping(line, this.indents[line]!, at);
  }

  /**
   * A block mapping whose entries sit at column `indent`; the first entry starts
   * at `firstAt` (inside the line after `- ` for a mapping in a sequence item).
   */
  private parseMapping(line: number, indent: number, firstAt: number): [Record<string, unknown>, number] {
    this.enter();
    const result: Record<string, unknown> = {};
    const positions: PositionContainer = [firstAt];
    const count = this.starts.length;
    let first = true;
    while (line < count) {
      let at = firstAt;
      if (!first) {
        const lineIndent = this.indents[line]!;
        if (lineIndent < indent) break;
        if (lineIndent > indent) throw BAIL;
        at = this.starts[line]!;
      }
      if (this.isSeqItem(line, at)) {
        if (first) throw BAIL;
        break; // a sequence at this indent belongs to the caller (or is an error the full parser reports)
      }
      const end = this.ends[line]!;
      const key = this.parseKey(at, end);
      if (key === undefined || Object.prototype.hasOwnProperty.call(result, key.name)) throw BAIL;
      let value: unknown;
      if (this.atLineEnd(key.after, end)) {
        const next = line + 1;
        if (next < count && this.indents[next]! > indent) {
          [value, line] = this.parseBlockNode(next);
        } else if (next < count && this.indents[next] === indent && this.isSeqItem(next, this.starts[next]!)) {
          [value, line] = this.parseSequence(next, indent);
        } else {
          value = null;
          this.positions = at; // point at the key of an empty value
          line = next;
        }
      } else {
        let valueEnd: number;
        [value, valueEnd] = this.parseInline(this.skipSpaces(key.after, end), end);
        if (!this.atLineEnd(valueEnd, end)) throw BAIL;
        line++;
      }
      setOwn(result, key.name, value);
      positions.push(key.name, at, this.positions);
      first = false;
    }
    this.positions = positions;
    this.depth--;
    return [result, line];
  }

  private parseSequence(line: number, indent: number): [unknown[], number] {
    this.enter();
    const result: unknown[] = [];
    const positions: PositionContainer = [this.starts[line]!];
    const count = this.starts.length;
    while (line < count) {
      const lineIndent = this.indents[line]!;
      if (lineIndent < indent) break;
      if (lineIndent > indent) throw BAIL;
      const dash = this.starts[line]!;
      if (!this.isSeqItem(line, dash)) break;
      const end = this.ends[line]!;
      const at = this.skipSpaces(dash + 1, end);
      let value: unknown;
      if (this.atLineEnd(dash + 1, end)) {
        const next = line + 1;
        if (next < count && this.indents[next]! > indent) {
          [value, line] = this.parseBlockNode(next);
        } else {
          value = null;
          this.positions = dash;
          line = next;
        }
      } else if (this.isSeqItem(line, at)) {
        throw BAIL; // `- - x`
      } else if (this.parseKey(at, end) !== undefined) {
        [value, line] = this.parseMapping(line, at - (dash - indent), at);
      } else {
        let valueEnd: number;
        [value, valueEnd] = this.parseInline(at, end);
        if (!this.atLineEnd(valueEnd, end)) throw BAIL;
        line++;
      }
      result.push(value);
      positions.push(this.positions);
    }
    this.positions = positions;
    this.depth--;
    return [result, line];
  }

  /** `key:` followed by a space or the line end; undefined when the text at `at` is not a mapping entry. */
  private parseKey(at: number, end: number): { name: string; after: number } | undefined {
    const text = this.text;
    const c = text[at];
    if (c === '"' || c === "'") {
      const [name, after] = c === '"' ? this.parseDoubleQuoted(at, end) : this.parseSingleQuoted(at, end);
      if (text.charCodeAt(after) !== COLON || !(after + 1 === end || text.charCodeAt(after + 1) === SPACE)) return undefined;
      if (name === "__proto__") throw BAIL;
      return { name, after: after + 1 };
    }
    if (c === "[" || c === "{") return undefined;
    for (let i = at; i < end; i++) {
      const code = text.charCodeAt(i);
      if (code === HASH && text.charCodeAt(i - 1) === SPACE) return undefined;
      if (code === COLON && (i + 1 === end || text.charCodeAt(i + 1) === SPACE)) {
        const name = text.slice(at, i).trimEnd();
        if (!PLAIN_KEY.test(name) || KEY_LOOKS_TYPED.test(name) || name === "__proto__") throw BAIL;
        return { name, after: i + 1 };
      }
    }
    return undefined;
  }

  /** A scalar or flow collection on one line; returns the value and the offset after it. */
  private parseInline(at: number, end: number): [unknown, number] {
    const c = this.text[at];
    this.positions = at; // scalars; flow collections replace it
    if (c === '"') return this.parseDoubleQuoted(at, end);
    if (c === "'") return this.parseSingleQuoted(at, end);
    if (c === "[" || c === "{") return this.parseFlow(at, end);
    return this.parseBlockPlain(at, end);
  }

  private parseBlockPlain(at: number, end: number): [unknown, number] {
    const text = this.text;
    this.checkPlainStart(at, end);
    let i = at;
    while (i < end && !(text.charCodeAt(i) === HASH && text.charCodeAt(i - 1) === SPACE)) i++;
    const raw = text.slice(at, i).trimEnd();
    if (raw.includes(": ") || raw.endsWith(":")) throw BAIL;
    return [resolvePlain(raw), at + raw.length];
  }

  private checkPlainStart(at: number, end: number): void {
    const text = this.text;
    const c = text[at];
    if (c === undefined || at >= end || "&*!|>%@`?:,[]{}#'\"".includes(c)) throw BAIL;
    if (c === "-" && (at + 1 === end || text.charCodeAt(at + 1) === SPACE)) throw BAIL;
  }

  private parseDoubleQuoted(at: number, end: number): [string, number] {
    const text = this.text;
    let out = "";
    let chunk = at + 1;
    let i = at + 1;
    for (;;) {
      if (i >= end) throw BAIL; // multi-line or unterminated
      const code = text.charCodeAt(i);
      if (code === 0x22) break;
      if (code === 0x5c) {
        out += text.slice(chunk, i);
        const e = text[i + 1]!;
        if (e === "u" || e === "x" || e === "U") {
          const digits = e === "x" ? 2 : e === "u" ? 4 : 8;
          const hex = text.slice(i + 2, i + 2 + digits);
          if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) throw BAIL;
          const point = parseInt(hex, 16);
          if (point > 0x10ffff) throw BAIL;
          out += String.fromCodePoint(point);
          i += 2 + digits;
        } else if (DQ_ESCAPES[e] !== undefined) {
          out += DQ_ESCAPES[e];
          i += 2;
        } else {
          throw BAIL;
        }
        chunk = i;
        continue;
      }
      i++;
    }
    out += text.slice(chunk, i);
    return [out, i + 1];
  }

  private parseSingleQuoted(at: number, end: number): [string, number] {
    const text = this.text;
    let out = "";
    let chunk = at + 1;
    let i = at + 1;
    for (;;) {
      if (i >= end) throw BAIL;
      if (text.charCodeAt(i) === 0x27) {
        if (text.charCodeAt(i + 1) !== 0x27 || i + 1 >= end) break;
        out += text.slice(chunk, i + 1);
        i += 2;
        chunk = i;
        continue;
      }
      i++;
    }
    out += text.slice(chunk, i);
    return [out, i + 1];
  }

  /** `[a, b]` or `{ k: v }` closed on the same line. */
  private parseFlow(at: number, end: number): [unknown, number] {
    this.enter();
    const text = this.text;
    const isMap = text[at] === "{";
    const close = isMap ? "}" : "]";
    const mapResult: Record<string, unknown> = {};
    const seqResult: unknown[] = [];
    const positions: PositionContainer = [at];
    let i = this.skipSpaces(at + 1, end);
    if (text[i] === close) {
      i++;
    } else {
      for (;;) {
        if (i >= end) throw BAIL;
        if (isMap) {
          const keyAt = i;
          const key = this.parseFlowKey(i, end);
          if (Object.prototype.hasOwnProperty.call(mapResult, key.name)) throw BAIL;
          i = this.skipSpaces(key.after, end);
          let value: unknown = null;
          this.positions = keyAt;
          if (text[i] !== "," && text[i] !== "}") [value, i] = this.parseFlowItem(i, end);
          setOwn(mapResult, key.name, value);
          positions.push(key.name, keyAt, this.positions);
        } else {
          let value: unknown;
          [value, i] = this.parseFlowItem(i, end);
          seqResult.push(value);
          positions.push(this.positions);
        }
        i = this.skipSpaces(i, end);
        const c = text[i];
        if (i >= end) throw BAIL;
        i++;
        if (c === close) break;
        if (c !== ",") throw BAIL;
        i = this.skipSpaces(i, end);
        if (text[i] === close || text[i] === ",") throw BAIL; // trailing or empty entries: leave to the full parser
      }
    }
    this.positions = positions;
    this.depth--;
    return [isMap ? mapResult : seqResult, i];
  }

  private parseFlowKey(at: number, end: number): { name: string; after: number } {
    const text = this.text;
    const c = text[at];
    let name: string;
    let after: number;
    if (c === '"' || c === "'") {
      [name, after] = c === '"' ? this.parseDoubleQuoted(at, end) : this.parseSingleQuoted(at, end);
      if (text.charCodeAt(after) !== COLON) throw BAIL;
    } else {
      after = at;
      while (after < end && text.charCodeAt(after) !== COLON && !",[]{}# ".includes(text[after]!)) after++;
      name = text.slice(at, after);
      if (text.charCodeAt(after) !== COLON || !PLAIN_KEY.test(name) || KEY_LOOKS_TYPED.test(name)) throw BAIL;
    }
    after++;
    if (after < end && text.charCodeAt(after) !== SPACE) throw BAIL;
    if (name === "__proto__") throw BAIL;
    return { name, after };
  }

  private parseFlowItem(at: number, end: number): [unknown, number] {
    const text = this.text;
    const c = text[at];
    this.positions = at;
    if (c === '"') return this.parseDoubleQuoted(at, end);
    if (c === "'") return this.parseSingleQuoted(at, end);
    if (c === "[" || c === "{") return this.parseFlow(at, end);
    this.checkPlainStart(at, end);
    let i = at;
    while (i < end) {
      const ch = text[i]!;
      if (ch === "," || ch === "[" || ch === "]" || ch === "{" || ch === "}") break;
      if (ch === ":") throw BAIL;
      if (ch === "#" && text.charCodeAt(i - 1) === SPACE) throw BAIL;
      i++;
    }
    const raw = text.slice(at, i).trimEnd();
    return [resolvePlain(raw), at + raw.length];
  }

  private skipSpaces(at: number, end: number): number {
    let i = at;
    while (i < end && this.text.charCodeAt(i) === SPACE) i++;
    return i;
  }
}

/** The YAML 1.2 core schema's reading of a plain scalar, as the `yaml` package resolves it. */
export function resolvePlain(raw: string): unknown {
  if (raw.length === 0) return null;
  const c = raw.charCodeAt(0);
  // Numbers start with a digit, sign or dot; the words null/true/false with n, t, f; `~` is null.
  if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) return resolveNumber(raw);
  const lower = c | 0x20;
  if (lower === 0x6e /* n */ || c === 0x7e /* ~ */) return /^(?:~|[Nn]ull|NULL)$/.test(raw) ? null : raw;
  if (lower === 0x74 /* t */) return /^(?:[Tt]rue|TRUE)$/.test(raw) ? true : raw;
  if (lower === 0x66 /* f */) return /^(?:[Ff]alse|FALSE)$/.test(raw) ? false : raw;
  return raw;
}

const DECIMAL_INT = /^[-+]?[0-9]+$/;

function resolveNumber(raw: string): unknown {
  if (DECIMAL_INT.test(raw)) return parseInt(raw, 10);
  if (/^0o[0-7]+$/.test(raw)) return parseInt(raw.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(raw)) return parseInt(raw.slice(2), 16);
  if (/^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/.test(raw)) {
    return raw.slice(-3).toLowerCase() === "nan" ? NaN : raw[0] === "-" ? -Infinity : Infinity;
  }
  if (/^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/.test(raw)) return parseFloat(raw);
  if (/^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/.test(raw)) return parseFloat(raw);
  return raw;
}
