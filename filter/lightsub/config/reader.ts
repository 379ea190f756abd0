// Field readers for the plugin configuration, over the generic JSON values of
// json.ts: each reports the first problem as one message naming the field by
// its path. Paths are passed as (parent, key) and joined only when a message
// is built, so valid configurations build no path strings for their fields.
import { JsonKind, JsonValue } from "./json";

// Character classes of the names we accept.
export const SERVICE_CHARS = 1;   // [A-Za-z0-9_-]
export const CLUSTER_CHARS = 2;   // [A-Za-z0-9_.:-]
export const STAT_CHARS = 3;      // [A-Za-z0-9_-]
export const TOKEN_CHARS = 4;     // HTTP token: [A-Za-z0-9!#$%&'*+.^_`|~-]
/** A header name: HTTP token characters after an optional leading ':' (a pseudo-header). */
export const HEADER_CHARS = 5;

/** ASCII lowercase (names here are ASCII; String#toLowerCase would pull in Unicode tables). */
export function asciiLower(s: string): string {
  let out = s;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) {
      out = "";
      for (let j = 0; j < s.length; j++) {
        const d = s.charCodeAt(j);
        out += String.fromCharCode(d >= 0x41 && d <= 0x5a ? d + 0x20 : d);
      }
      break;
    }
  }
  return out;
}

function isAlnum(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** One of the token symbols !#$%&'*+.^`|~ ('-' and '_' are allowed by every class). */
function isTokenSymbol(c: i32): bool {
  // Bit (c - 0x20) of 0x4cfa is set for ! # $ % & ' * + . (the symbols below 0x40).
  if (c >= 0x20 && c < 0x40) return ((0x4cfa >> (c - 0x20)) & 1) != 0;
  return c == 0x5e || c == 0x60 || c == 0x7c || c == 0x7e;
}

function charAllowed(c: i32, charset: i32): bool {
  if (isAlnum(c) || c == 0x2d || c == 0x5f) return true; // alnum - _
  if (charset == CLUSTER_CHARS) return c == 0x2e || c == 0x3a;
  if (charset >= TOKEN_CHARS) return isTokenSymbol(c);
  return false;
}

function describeCharset(charset: i32): string {
  if (charset == CLUSTER_CHARS) return "[A-Za-z0-9_.:-]";
  if (charset == TOKEN_CHARS) return "HTTP token characters";
  if (charset == HEADER_CHARS) return "HTTP token characters (after an optional leading ':')";
  return "[A-Za-z0-9_-]";
}

/** "<parent>.<key>", or whichever of the two is not empty. */
function joinPath(parent: string, key: string): string {
  if (parent.length == 0) return key;
  if (key.length == 0) return parent;
  return parent + "." + key;
}

/**
 * Field readers. Each takes the field's value (null: absent) and its path as
 * (parent, key); a value read from an array element passes its whole path as
 * parent and key "". Only the first problem is kept.
 */
export class Reader {
  error: string = "";

  get failed(): bool { return this.error.length > 0; }

  fail(message: string): void {
    if (this.error.length == 0) this.error = message;
  }

  /** Reports "<parent.key><problem>", e.g. problem " must be a string". */
  failAt(parent: string, key: string, problem: string): void {
    if (this.error.length == 0) this.error = joinPath(parent, key) + problem;
  }

  /** Member `key` of an object; reports "<path> is required" when it is missing and required. */
  field(obj: JsonValue, parent: string, key: string, required: bool): JsonValue | null {
    const v = obj.get(key);
    if (v == null && required) this.failAt(parent, key, " is required");
    return v;
  }

  name(v: JsonValue | null, parent: string, key: string, charset: i32, maxLength: i32): string {
    if (v == null) return "";
    if (v.kind != JsonKind.String) {
      this.failAt(parent, key, " must be a string");
      return "";
    }
    const s = v.str;
    const start = charset == HEADER_CHARS && s.length > 0 && s.charCodeAt(0) == 0x3a ? 1 : 0;
    if (s.length - start < 1 || s.length > maxLength) {
      this.failAt(parent, key, " must be 1 to " + maxLength.toString() + " characters long");
      return "";
    }
    for (let i = start; i < s.length; i++) {
      if (!charAllowed(s.charCodeAt(i), charset)) {
        this.failAt(parent, key, " must contain only " + describeCharset(charset));
        return "";
      }
    }
    return s;
  }

  /** An integer in [min, max] (min is 0 or 1); `fallback` when absent or invalid. */
  integer(v: JsonValue | null, parent: string, key: string, min: i32, max: i32, fallback: i32): i32 {
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number || !isFinite(v.num) || v.num != Math.floor(v.num) || v.num < <f64>min) {
      this.failAt(parent, key, min > 0 ? " must be a positive integer" : " must be a non-negative integer");
      return fallback;
    }
    if (v.num > <f64>max) {
      this.failAt(parent, key, " must be at most " + max.toString());
      return fallback;
    }
    return <i32>v.num;
  }

  fraction(v: JsonValue | null, parent: string, key: string, fallback: f64): f64 {
    if (v == null) return fallback;
    if (v.kind != JsonKind.Number || !(v.num >= 0 && v.num <= 1)) {
      this.failAt(parent, key, " must be a number between 0 and 1");
      return fallback;
    }
    return v.num;
  }

  array(v: JsonValue | null, parent: string, key: string, max: i32, allowEmpty: bool): JsonValue | null {
    if (v == null) return null;
    if (v.kind != JsonKind.Array || (!allowEmpty && v.length == 0)) {
      this.failAt(parent, key, allowEmpty ? " must be an array" : " must be a non-empty array");
      return null;
    }
    if (v.length > max) {
      this.failAt(parent, key, " must have at most " + max.toString() + " entries");
      return null;
    }
    return v;
  }

  object(v: JsonValue | null, parent: string, key: string): JsonValue | null {
    if (v == null) return null;
    if (v.kind != JsonKind.Object) {
      this.failAt(parent, key, " must be an object");
      return null;
    }
    return v;
  }
}

/** "<parent>[<index>]" */
export function elementPath(parent: string, index: i32): string {
  return parent + "[" + index.toString() + "]";
}
