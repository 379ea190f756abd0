/**
 * The proxy-wasm "pairs" wire format (proxy-wasm-cpp-host src/pairs_util.cc):
 *
 *   u32 count
 *   count × (u32 key length, u32 value length)
 *   count × (key bytes, 0x00, value bytes, 0x00)
 *
 * all little-endian. Envoy treats a malformed buffer, more than 1024 pairs or
 * more than 1 MiB as "no pairs".
 */
import { decodeUtf8, utf8Length, writeUtf8 } from "./utf8.js";

export type HeaderPairs = [string, string][];

const PAIRS_MAX_BYTES = 1024 * 1024;
const PAIRS_MAX_COUNT = 1024;

/** UTF-8 lengths of every key and value, in order (key0, value0, key1, ...). */
export function pairLengths(pairs: readonly (readonly [string, string])[]): number[] {
  const lengths = new Array<number>(pairs.length * 2);
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    lengths[2 * i] = utf8Length(p[0]);
    lengths[2 * i + 1] = utf8Length(p[1]);
  }
  return lengths;
}

export function pairsByteLength(lengths: readonly number[]): number {
  let size = 4;
  for (let i = 0; i < lengths.length; i++) size += 4 + lengths[i]! + 1;
  return size;
}

/** Serializes into u8 at `at`; the caller has reserved pairsByteLength(lengths) bytes. */
export function writePairs(
  pairs: readonly (readonly [string, string])[],
  lengths: readonly number[],
  u8: Uint8Array,
  at: number,
): void {
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  dv.setUint32(at, pairs.length, true);
  let pos = at + 4;
  for (let i = 0; i < lengths.length; i++) {
    dv.setUint32(pos, lengths[i]!, true);
    pos += 4;
  }
  for (let i = 0; i < pairs.length; i++) {
    const p = pairs[i]!;
    pos += writeUtf8(p[0], u8, pos);
    u8[pos++] = 0;
    pos += writeUtf8(p[1], u8, pos);
    u8[pos++] = 0;
  }
}

/** Parses a pairs buffer; null when Envoy would reject it (and use no pairs). */
export function readPairs(u8: Uint8Array, start: number, size: number): HeaderPairs | null {
  if (size > PAIRS_MAX_BYTES || size < 4) return null;
  const end = start + size;
  const dv = new DataView(u8.buffer, u8.byteOffset, u8.byteLength);
  const count = dv.getUint32(start, true);
  if (count > PAIRS_MAX_COUNT) return null;
  let sizesPos = start + 4;
  let pos = sizesPos + count * 8;
  if (pos > end) return null;
  const pairs: HeaderPairs = new Array(count);
  for (let i = 0; i < count; i++) {
    const keyLength = dv.getUint32(sizesPos, true);
    const valueLength = dv.getUint32(sizesPos + 4, true);
    sizesPos += 8;
    if (pos + keyLength + 1 > end) return null;
    const key = decodeUtf8(u8, pos, keyLength);
    pos += keyLength;
    if (u8[pos++] !== 0) return null;
    if (pos + valueLength + 1 > end) return null;
    const value = decodeUtf8(u8, pos, valueLength);
    pos += valueLength;
    if (u8[pos++] !== 0) return null;
    pairs[i] = [key, value];
  }
  return pos === end ? pairs : null;
}

export function encodePairs(pairs: readonly (readonly [string, string])[]): Uint8Array {
  const lengths = pairLengths(pairs);
  const out = new Uint8Array(pairsByteLength(lengths));
  writePairs(pairs, lengths, out, 0);
  return out;
}

export function decodePairs(bytes: Uint8Array): HeaderPairs | null {
  return readPairs(bytes, 0, bytes.byteLength);
}
