/**
 * Bounds-checked access to a module's linear memory. Views are cached and
 * refreshed only when the memory grew (growing detaches the old ArrayBuffer,
 * so the cached view's length drops to 0). Pointers arrive from Wasm as signed
 * i32 and are read as unsigned here.
 */
import { decodeUtf8Interned, utf8Length, writeUtf8 } from "./utf8.js";

export class WasmMemory {
  private memory: WebAssembly.Memory | null = null;
  private u8 = new Uint8Array(0);
  private dv = new DataView(new ArrayBuffer(0));

  /** Binds the instance's memory (host functions are built before the instance exists). */
  attach(memory: WebAssembly.Memory): void {
    this.memory = memory;
    this.refresh();
  }

  /** The current byte view (refreshed after growth). */
  bytes(): Uint8Array {
    if (this.u8.byteLength === 0) this.refresh();
    return this.u8;
  }

  private view(): DataView {
    if (this.u8.byteLength === 0) this.refresh();
    return this.dv;
  }

  private refresh(): void {
    if (!this.memory) return;
    const buffer = this.memory.buffer;
    this.u8 = new Uint8Array(buffer);
    this.dv = new DataView(buffer);
  }

  get size(): number {
    return this.bytes().byteLength;
  }

  /** True when [ptr, ptr+size) lies inside memory (ptr, size as unsigned 32-bit). */
  inRange(ptr: number, size: number): boolean {
    return (ptr >>> 0) + (size >>> 0) <= this.bytes().byteLength;
  }

  /** A view (not a copy) of the range, or null when out of bounds. */
  slice(ptr: number, size: number): Uint8Array | null {
    const p = ptr >>> 0;
    const end = p + (size >>> 0);
    const u8 = this.bytes();
    if (end > u8.byteLength) return null;
    return u8.subarray(p, end);
  }

  /** A copy of the range, or null when out of bounds. */
  copy(ptr: number, size: number): Uint8Array | null {
    const s = this.slice(ptr, size);
    return s === null ? null : s.slice();
  }

  string(ptr: number, size: number): string | null {
    const p = ptr >>> 0;
    const n = size >>> 0;
    const u8 = this.bytes();
    if (p + n > u8.byteLength) return null;
    return decodeUtf8Interned(u8, p, n);
  }

  readU32(ptr: number): number | null {
    const p = ptr >>> 0;
    if (p + 4 > this.bytes().byteLength) return null;
    return this.view().getUint32(p, true);
  }

  writeU32(ptr: number, value: number): boolean {
    const p = ptr >>> 0;
    if (p + 4 > this.bytes().byteLength) return false;
    this.view().setUint32(p, value >>> 0, true);
    return true;
  }

  writeU64(ptr: number, value: bigint): boolean {
    const p = ptr >>> 0;
    if (p + 8 > this.bytes().byteLength) return false;
    this.view().setBigUint64(p, value, true);
    return true;
  }

  writeU16(ptr: number, value: number): boolean {
    const p = ptr >>> 0;
    if (p + 2 > this.bytes().byteLength) return false;
    this.view().setUint16(p, value, true);
    return true;
  }

  write(ptr: number, data: Uint8Array): boolean {
    const p = ptr >>> 0;
    const u8 = this.bytes();
    if (p + data.byteLength > u8.byteLength) return false;
    u8.set(data, p);
    return true;
  }

  /** Writes `s` as UTF-8 at ptr; false when it does not fit. */
  writeString(ptr: number, s: string, byteLength = utf8Length(s)): boolean {
    const p = ptr >>> 0;
    const u8 = this.bytes();
    if (p + byteLength > u8.byteLength) return false;
    writeUtf8(s, u8, p);
    return true;
  }
}
