/**
 * An HTTP header map with Envoy's semantics (source/common/http/header_map_impl.cc):
 * names are lower-cased, pseudo-headers (":path") stay in front of the others,
 * `set` removes every entry of the name then appends one (setCopy with
 * http_set_copy_replace_all_headers), `get` returns the first value, and
 * byteSize() is the sum of name and value lengths. Stored as an array of pairs.
 */
import { utf8Length } from "./utf8.js";
import type { HeaderPairs } from "./pairs.js";

export type HeaderInit = Iterable<readonly [string, string]> | Readonly<Record<string, string>>;

function lower(name: string): string {
  // Fast path: most names are already lower-case ASCII.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if ((c >= 65 && c <= 90) || c >= 128) return name.toLowerCase();
  }
  return name;
}

export class HeaderMap {
  private entries: HeaderPairs = [];

  constructor(init?: HeaderInit) {
    if (init) this.replaceAll(init);
  }

  /** Number of entries (what Envoy passes as num_headers). */
  get size(): number {
    return this.entries.length;
  }

  get(name: string): string | undefined {
    const key = lower(name);
    for (const e of this.entries) if (e[0] === key) return e[1];
    return undefined;
  }

  getAll(name: string): string[] {
    const key = lower(name);
    return this.entries.filter((e) => e[0] === key).map((e) => e[1]);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  add(name: string, value: string): void {
    const key = lower(name);
    if (key.charCodeAt(0) === 58 /* ':' */) {
      let i = 0;
      while (i < this.entries.length && this.entries[i]![0].charCodeAt(0) === 58) i++;
      this.entries.splice(i, 0, [key, value]);
    } else {
      this.entries.push([key, value]);
    }
  }

  set(name: string, value: string): void {
    this.remove(name);
    this.add(name, value);
  }

  /**
   * Envoy's inline setters (setContentLength, setReferenceContentType, setStatus…):
   * an existing header keeps its place and takes the value (later copies go),
   * a missing one is appended.
   */
  setInPlace(name: string, value: string): void {
    const key = lower(name);
    const at = this.entries.findIndex((e) => e[0] === key);
    if (at < 0) {
      this.add(key, value);
      return;
    }
    this.entries = this.entries.filter((e, i) => i <= at || e[0] !== key);
    this.entries[at] = [key, value];
  }

  remove(name: string): void {
    const key = lower(name);
    if (!this.entries.some((e) => e[0] === key)) return;
    this.entries = this.entries.filter((e) => e[0] !== key);
  }

  replaceAll(init: HeaderInit): void {
    this.entries = [];
    const pairs: Iterable<readonly [string, string]> =
      Symbol.iterator in init
        ? (init as Iterable<readonly [string, string]>)
        : Object.entries(init as Record<string, string>);
    for (const [k, v] of pairs) this.add(k, v);
  }

  clear(): void {
    this.entries = [];
  }

  /** Sum of UTF-8 name and value lengths (Envoy's HeaderMap::byteSize). */
  byteSize(): number {
    let n = 0;
    for (const e of this.entries) n += utf8Length(e[0]) + utf8Length(e[1]);
    return n;
  }

  /** The live entries, in order; do not mutate. */
  pairs(): readonly (readonly [string, string])[] {
    return this.entries;
  }

  toPairs(): HeaderPairs {
    return this.entries.map((e) => [e[0], e[1]]);
  }

  toObject(): Record<string, string> {
    const o: Record<string, string> = {};
    for (const [k, v] of this.entries) if (!(k in o)) o[k] = v;
    return o;
  }

  [Symbol.iterator](): Iterator<readonly [string, string]> {
    return this.entries[Symbol.iterator]();
  }
}
