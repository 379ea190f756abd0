/**
 * YAML text for JSON-shaped data (objects, arrays, strings, numbers, booleans).
 *
 * Written here rather than using `yaml`'s stringify because the compiler must
 * emit 10,000 sidecar configs in well under 5 s and the general-purpose
 * document builder is several times slower on this simple, tree-shaped data
 * (bench/compiler measures both). Output is deterministic: key order is the
 * object's insertion order. Strings that could be read as anything but a
 * string are double-quoted with JSON escapes, which YAML 1.2 reads the same.
 *
 * Speed and memory on big meshes: the text of a frozen object at a given
 * indent is remembered (compiler/envoy shares a called service's clusters and
 * route config deep-frozen between all its callers, so each is written once),
 * and a document's text is its own lines joined into flat strings, linked
 * with `+` to those remembered texts: 10,000 sidecars' texts share the
 * repeated parts in memory instead of holding a copy each, and there is no
 * rope of millions of tiny concatenations for the GC to trace.
 */

const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|~)$/i;

/** `^[A-Za-z_/][A-Za-z0-9_./@+-]*$` as a loop over char codes (no regex run per scalar). */
function isPlain(value: string): boolean {
  const n = value.length;
  if (n === 0) return false;
  const first = value.charCodeAt(0);
  if (!(isLetter(first) || first === 95 /* _ */ || first === 47) /* / */) return false;
  for (let i = 1; i < n; i++) {
    const c = value.charCodeAt(i);
    if (isLetter(c) || (c >= 48 && c <= 57)) continue;
    // _ . / @ + -
    if (c === 95 || c === 46 || c === 47 || c === 64 || c === 43 || c === 45) continue;
    return false;
  }
  return true;
}

function isLetter(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
}

function stringText(value: string): string {
  // Only short words can be reserved (the longest is "false").
  return isPlain(value) && (value.length > 5 || !RESERVED.test(value)) ? value : JSON.stringify(value);
}

/**
 * Text of mapping keys, remembered: a config repeats the same few hundred
 * field names millions of times. Bounded, since map keys (compose service
 * names, labels) can be many and unique.
 */
const keyTexts = new Map<string, string>();
const MAX_KEY_TEXTS = 4096;

function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = stringText(key);
    if (keyTexts.size < MAX_KEY_TEXTS) keyTexts.set(key, text);
  }
  return text;
}

function scalarText(value: string | number | boolean | null): string {
  if (typeof value === "string") return stringText(value);
  if (value === null) return "null";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as YAML`);
    return String(value);
  }
  return value ? "true" : "false";
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function isEmptyContainer(value: Json): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.length === 0;
  for (const _ in value) return false;
  return true;
}

function emptyText(value: Json): string {
  return Array.isArray(value) ? "[]" : "{}";
}

/**
 * Text of frozen containers by `lead`: frozen values cannot change, so their
 * text cannot either. (`lead` also fixes the indent: both have the same length,
 * and the indent is all spaces.)
 */
let frozenTexts = new WeakMap<object, Map<string, string>>();

/**
 * Appends the text of `value` at `indent` to `parts`. `lead` replaces the
 * indent of the first line (an array item's "- "), which is how "- name: x" is
 * written without re-slicing lines afterwards. `doc` is the document being
 * written when `parts` are its own (not those of a text being remembered).
 */
function writeValue(value: Json, indent: string, lead: string, parts: string[], doc?: DocumentText): void {
  // Only the outermost frozen value is remembered: one entry per shared resource, not per nested object.
  if (!doc || typeof value !== "object" || value === null || !Object.isFrozen(value)) return writeFresh(value, indent, lead, parts, doc);
  let byLead = frozenTexts.get(value);
  if (byLead === undefined) {
    byLead = new Map();
    frozenTexts.set(value, byLead);
  }
  let text = byLead.get(lead);
  if (text === undefined) {
    const own: string[] = [];
    writeFresh(value, indent, lead, own);
    text = own.join("");
    byLead.set(lead, text);
  }
  doc.share(text);
}

/**
 * A document's text under construction: its own pieces are collected in
 * `parts` and joined flat; a remembered text is linked in without a copy.
 */
class DocumentText {
  readonly parts: string[] = [];
  private text = "";
  /** Set in pieces mode (toYamlPieces): the finished pieces, own texts and shared resources' texts. */
  private readonly pieces: YamlPieces | undefined;

  constructor(pieces: boolean) {
    this.pieces = pieces ? [] : undefined;
  }

  share(remembered: string): void {
    this.flush();
    if (this.pieces) {
      if (this.text !== "") this.pieces.push(this.text);
      this.text = "";
      this.pieces.push(remembered);
    } else this.text += remembered;
  }

  finish(): string {
    this.flush();
    return this.text;
  }

  finishPieces(): YamlPieces {
    this.flush();
    const pieces = this.pieces!;
    if (this.text !== "") pieces.push(this.text);
    return pieces;
  }

  /**
   * Joins the pieces collected so far when there are many. Small batches: V8
   * joins 2,048 short pieces several times faster per piece than 16,384
   * (measured: 80k pieces in ~2 ms as 2k batches, ~26 ms as 16k batches).
   */
  flushIfLong(): void {
    if (this.parts.length >= 2_048) this.flush();
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    this.text += this.parts.join("");
    this.parts.length = 0;
  }
}

/** Indents of every depth as flat strings, built once (not a fresh concatenation per nested value). */
const INDENTS: string[] = Array.from({ length: 64 }, (_, i) => " ".repeat(i));

function deeper(indent: string): string {
  return INDENTS[indent.length + 2] ?? indent + "  ";
}

function writeFresh(value: Json, indent: string, lead: string, parts: string[], doc?: DocumentText): void {
  let prefix = lead;
  if (Array.isArray(value)) {
    const itemIndent = deeper(indent);
    for (const item of value) {
      if (typeof item === "object" && item !== null && !isEmptyContainer(item)) {
        writeValue(item, itemIndent, prefix + "- ", parts, doc);
      } else {
        parts.push(prefix, "- ", isEmptyContainer(item) ? emptyText(item) : scalarText(item as string), "\n");
      }
      prefix = indent;
    }
    doc?.flushIfLong();
    return;
  }
  if (typeof value === "object" && value !== null) {
    for (const key in value) {
      const child = value[key];
      if (child === undefined) continue;
      const name = keyText(key);
      if (typeof child === "object" && child !== null && !isEmptyContainer(child)) {
        parts.push(prefix, name, ":\n");
        if (Array.isArray(child)) writeValue(child, indent, indent, parts, doc);
        else {
          const inner = deeper(indent);
          writeValue(child, inner, inner, parts, doc);
        }
      } else {
        parts.push(prefix, name, ": ", isEmptyContainer(child) ? emptyText(child) : scalarText(child as string), "\n");
      }
      prefix = indent;
    }
    return;
  }
  parts.push(prefix, scalarText(value), "\n");
}

export function toYaml(value: unknown, header?: string): string {
  return writeDocument(new DocumentText(false), value, header).finish();
}

/**
 * A document's text as pieces whose concatenation is exactly toYaml(value,
 * header): the document's own lines joined into flat strings, and the
 * remembered texts of shared frozen resources as they are. For a writer that
 * encodes piece by piece (compiler/output/background-writer.ts): the text is
 * never joined into one string, which encoding it whole would first do (a copy
 * of every config, ~0.4 GB for 10,000 sidecars, and as much garbage).
 */
export type YamlPieces = string[];

export function toYamlPieces(value: unknown, header?: string): YamlPieces {
  return writeDocument(new DocumentText(true), value, header).finishPieces();
}

function writeDocument(doc: DocumentText, value: unknown, header: string | undefined): DocumentText {
  if (header) for (const line of header.split("\n")) doc.parts.push(`# ${line}`.trimEnd(), "\n");
  // An empty container writes no lines of its own; at the top it needs its flow form.
  if (isEmptyContainer(value as Json)) doc.parts.push(emptyText(value as Json), "\n");
  else writeValue(value as Json, "", "", doc.parts, doc);
  return doc;
}


/**
 * The text of one mapping entry `key: value` at `indent` (as inside a larger
 * document at that depth), for writing a big document piece by piece.
 */
export function yamlMappingEntry(key: string, value: unknown, indent: string): string {
  const parts: string[] = [];
  writeFresh({ [key]: value as Json }, indent, indent, parts);
  return parts.join("");
}

/** Forgets the remembered texts (tests; a long-lived process between unrelated meshes). */
export function clearYamlCaches(): void {
  frozenTexts = new WeakMap();
}
