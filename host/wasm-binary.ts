/**
 * Reads the parts of a Wasm binary that the JS WebAssembly API does not expose:
 * the function types of imports and exports. Envoy checks both when it links a
 * module, so the host needs them to refuse what Envoy refuses.
 */
import type { FuncType, ValType } from "./signatures.js";

export interface ImportEntry {
  module: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  type?: FuncType;
}

export interface ExportEntry {
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
  type?: FuncType;
}

export interface ModuleShape {
  imports: ImportEntry[];
  exports: ExportEntry[];
}

const VAL_TYPES: Record<number, ValType> = {
  0x7f: "i32",
  0x7e: "i64",
  0x7d: "f32",
  0x7c: "f64",
  0x7b: "v128",
  0x70: "funcref",
  0x6f: "externref",
};
const KINDS = ["function", "table", "memory", "global", "tag"] as const;

class Reader {
  pos = 0;
  constructor(private readonly bytes: Uint8Array) {}

  byte(): number {
    if (this.pos >= this.bytes.length) throw new Error("unexpected end of module");
    return this.bytes[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const b = this.byte();
      result += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error("LEB128 too long");
    }
  }

  name(): string {
    const len = this.u32();
    const end = this.pos + len;
    if (end > this.bytes.length) throw new Error("name past end of module");
    const s = new TextDecoder().decode(this.bytes.subarray(this.pos, end));
    this.pos = end;
    return s;
  }

  valType(): ValType {
    const b = this.byte();
    const t = VAL_TYPES[b];
    if (!t) throw new Error(`unknown value type 0x${b.toString(16)}`);
    return t;
  }

  limits(): void {
    const flags = this.byte();
    this.u32();
    if (flags & 1) this.u32();
  }
}

/** Parses type, import, function and export sections; other sections are skipped. */
export function readModuleShape(bytes: Uint8Array): ModuleShape {
  if (!hasWasmHeader(bytes)) throw new Error("not a Wasm binary (bad magic or version)");
  const r = new Reader(bytes);
  r.pos = 8;
  const types: FuncType[] = [];
  const funcTypeIndices: number[] = [];
  const imports: ImportEntry[] = [];
  const rawExports: { name: string; kind: number; index: number }[] = [];

  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const end = r.pos + size;
    if (id === 1) {
      for (let n = r.u32(); n > 0; n--) {
        const form = r.byte();
        if (form !== 0x60) throw new Error(`unsupported type form 0x${form.toString(16)}`);
        const params: ValType[] = [];
        for (let p = r.u32(); p > 0; p--) params.push(r.valType());
        const results: ValType[] = [];
        for (let q = r.u32(); q > 0; q--) results.push(r.valType());
        types.push({ params, results });
      }
    } else if (id === 2) {
      for (let n = r.u32(); n > 0; n--) {
        const module = r.name();
        const name = r.name();
        const kind = r.byte();
        if (kind === 0) {
          const typeIndex = r.u32();
          funcTypeIndices.push(typeIndex);
          imports.push({ module, name, kind: "function", type: types[typeIndex] });
        } else if (kind === 1) {
          r.byte();
          r.limits();
          imports.push({ module, name, kind: "table" });
        } else if (kind === 2) {
          r.limits();
          imports.push({ module, name, kind: "memory" });
        } else if (kind === 3) {
          r.valType();
          r.byte();
          imports.push({ module, name, kind: "global" });
        } else if (kind === 4) {
          r.byte();
          r.u32();
          imports.push({ module, name, kind: "tag" });
        } else {
          throw new Error(`unknown import kind ${kind}`);
        }
      }
    } else if (id === 3) {
      for (let n = r.u32(); n > 0; n--) funcTypeIndices.push(r.u32());
    } else if (id === 7) {
      for (let n = r.u32(); n > 0; n--) {
        const name = r.name();
        const kind = r.byte();
        const index = r.u32();
        rawExports.push({ name, kind, index });
      }
    }
    r.pos = end;
  }

  const exports: ExportEntry[] = rawExports.map(({ name, kind, index }) => {
    const k = KINDS[kind];
    if (!k) throw new Error(`unknown export kind ${kind}`);
    if (k !== "function") return { name, kind: k };
    const typeIndex = funcTypeIndices[index];
    return { name, kind: k, type: typeIndex === undefined ? undefined : types[typeIndex] };
  });
  return { imports, exports };
}

/** "\0asm" followed by binary format version 1. */
function hasWasmHeader(b: Uint8Array): boolean {
  return (
    b.length >= 8 &&
    b[0] === 0x00 && b[1] === 0x61 && b[2] === 0x73 && b[3] === 0x6d &&
    b[4] === 0x01 && b[5] === 0x00 && b[6] === 0x00 && b[7] === 0x00
  );
}
