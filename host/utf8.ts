/**
 * UTF-8 helpers tuned for the short ASCII strings (header names, values, keys)
 * that dominate host calls: plain loops beat TextDecoder/TextEncoder there.
 */
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/**
 * Short strings that host calls decode again and again (header names, shared
 * data keys, property paths, endpoint names) are interned: one decoded string
 * per place and byte sequence. A module passes such names from the same
 * addresses every time, so the table is indexed by address and length and a
 * hit is checked byte by byte (memory may have changed); a collision just
 * replaces the slot. Reusing the same string also lets V8 reuse its cached
 * hash in Map lookups.
 */
const INTERN_MAX_BYTES = 64;
const INTERN_SLOTS = 1024; // power of two
/** Slot i's bytes at i * INTERN_MAX_BYTES, its length (-1: empty) and string. */
const internBytes = new Uint8Array(INTERN_SLOTS * INTERN_MAX_BYTES);
const internLengths = new Int32Array(INTERN_SLOTS).fill(-1);
const internStrings: string[] = new Array<string>(INTERN_SLOTS).fill("");

/** UTF-8 decode of u8[start, start+length), interned when short. */
export function decodeUtf8Interned(u8: Uint8Array, start: number, length: number): string {
  if (length > INTERN_MAX_BYTES) return decodeUtf8(u8, start, length);
  const slot = Math.imul(start ^ (length << 24), 0x9e3779b1) >>> 22; // 10 bits: < INTERN_SLOTS
  const base = slot * INTERN_MAX_BYTES;
  if (internLengths[slot] === length) {
    let i = 0;
    while (i < length && internBytes[base + i] === u8[start + i]) i++;
    if (i === length) return internStrings[slot]!;
  }
  const s = decodeUtf8(u8, start, length);
  internBytes.set(u8.subarray(start, start + length), base);
  internLengths[slot] = length;
  internStrings[slot] = s;
  return s;
}

export function decodeUtf8(u8: Uint8Array, start: number, length: number): string {
  if (length <= 32) {
    let s = "";
    for (let i = 0; i < length; i++) {
      const c = u8[start + i]!;
      if (c >= 0x80) return decoder.decode(u8.subarray(start, start + length));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(u8.subarray(start, start + length));
}

/** Number of bytes `s` takes in UTF-8 (lone surrogates count as U+FFFD, as TextEncoder writes them). */
export function utf8Length(s: string): number {
  const n = s.length;
  let bytes = n;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      bytes += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        bytes += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else {
        bytes += 2;
      }
    } else {
      bytes += 2;
    }
  }
  return bytes;
}

/** Writes `s` at `at`; the caller has made room for utf8Length(s) bytes. Returns bytes written. */
export function writeUtf8(s: string, u8: Uint8Array, at: number): number {
  const n = s.length;
  let i = 0;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) break;
    u8[at + i] = c;
  }
  if (i === n) return n;
  return i + encoder.encodeInto(s.slice(i), u8.subarray(at + i)).written;
}

export function encodeUtf8(s: string): Uint8Array {
  return encoder.encode(s);
}

export function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === "string" ? encoder.encode(value) : value;
}
