/**
 * UTF-8 helpers tuned for the short ASCII strings (header names, values, keys)
 * that dominate host calls: plain loops beat TextDecoder/TextEncoder there.
 */
const decoder = new TextDecoder();
const encoder = new TextEncoder();

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
