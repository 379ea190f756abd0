/**
 * Compiling a module the way Envoy loads one: ABI version from the exports,
 * every import must be a host function Envoy registers (with the same type),
 * and the exports Envoy calls must exist with the types it expects.
 */
import { readFileSync } from "node:fs";
import { readModuleShape, type ModuleShape } from "./wasm-binary.js";
import {
  ENV_IMPORT_TYPES,
  EXPORT_TYPES,
  WASI_IMPORT_TYPES,
  formatType,
  sameType,
  type FuncType,
} from "./signatures.js";

export type AbiVersion = "0.2.0" | "0.2.1";

/** A module Envoy would refuse to load (bad ABI, missing export, wrong export type). */
export class ModuleError extends Error {
  constructor(
    message: string,
    readonly problems: string[] = [message],
  ) {
    super(message);
    this.name = "ModuleError";
  }
}

/** The module imports something Envoy does not provide; `imports` names each one. */
export class ImportError extends ModuleError {
  constructor(readonly imports: string[]) {
    super(`Envoy does not provide ${imports.length === 1 ? "this import" : "these imports"}: ${imports.join("; ")}`, imports);
    this.name = "ImportError";
  }
}

export interface CompiledModule {
  readonly module: WebAssembly.Module;
  readonly abiVersion: AbiVersion;
  readonly shape: ModuleShape;
  /** Exported function names. */
  readonly functions: ReadonlySet<string>;
}

interface ImportList {
  env: string[];
  wasi_snapshot_preview1: string[];
  wasi_unstable: string[];
}

const IMPORT_LIST: ImportList = JSON.parse(
  readFileSync(new URL("./envoy-imports.json", import.meta.url), "utf8"),
) as ImportList;

/** What Envoy registers for a module of this ABI version: name → type. */
function providedImports(abi: AbiVersion): Map<string, FuncType> {
  const provided = new Map<string, FuncType>();
  for (const name of IMPORT_LIST.env) {
    // proxy_get_log_level is registered for ABI 0.2.1 only.
    if (abi === "0.2.0" && name === "proxy_get_log_level") continue;
    const type = ENV_IMPORT_TYPES[name];
    if (type) provided.set(`env.${name}`, type);
  }
  for (const module of ["wasi_snapshot_preview1", "wasi_unstable"] as const) {
    for (const name of IMPORT_LIST[module]) {
      const type = WASI_IMPORT_TYPES[name];
      if (type) provided.set(`${module}.${name}`, type);
    }
  }
  return provided;
}

const PROVIDED = { "0.2.0": providedImports("0.2.0"), "0.2.1": providedImports("0.2.1") };

/** Every import this host can satisfy for the ABI, for building import objects. */
function providedImportNames(abi: AbiVersion): ReadonlyMap<string, FuncType> {
  return PROVIDED[abi];
}

export async function compileModule(bytes: Uint8Array | ArrayBuffer): Promise<CompiledModule> {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(view as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new ModuleError(`Failed to load Wasm bytecode: ${(e as Error).message}`);
  }
  const shape = readModuleShape(view);
  const exportNames = new Set(shape.exports.map((e) => e.name));

  const abiVersion: AbiVersion | undefined = exportNames.has("proxy_abi_version_0_2_1")
    ? "0.2.1"
    : exportNames.has("proxy_abi_version_0_2_0")
      ? "0.2.0"
      : undefined;
  if (!abiVersion) {
    throw new ModuleError(
      "Missing or unknown Proxy-Wasm ABI version: the module must export proxy_abi_version_0_2_1 (or proxy_abi_version_0_2_0)",
    );
  }

  const provided = PROVIDED[abiVersion];
  const refused: string[] = [];
  for (const imp of shape.imports) {
    const key = `${imp.module}.${imp.name}`;
    const type = provided.get(key);
    if (imp.kind !== "function" || !type) {
      refused.push(imp.kind === "function" ? key : `${key} (${imp.kind})`);
    } else if (imp.type && !sameType(imp.type, type)) {
      refused.push(`${key} (type mismatch: module wants ${formatType(imp.type)}, Envoy provides ${formatType(type)})`);
    }
  }
  if (refused.length > 0) throw new ImportError(refused);

  const problems: string[] = [];
  const memory = shape.exports.find((e) => e.name === "memory");
  if (!memory || memory.kind !== "memory") problems.push("the module must export its memory as \"memory\"");
  const functions = new Set(shape.exports.filter((e) => e.kind === "function").map((e) => e.name));
  if (!functions.has("malloc") && !functions.has("proxy_on_memory_allocate")) {
    problems.push("Wasm module is missing malloc function (export malloc or proxy_on_memory_allocate)");
  }
  for (const exp of shape.exports) {
    const want = EXPORT_TYPES[exp.name];
    if (!want || exp.kind !== "function" || !exp.type) continue;
    if (!sameType(exp.type, want)) {
      problems.push(`Bad function signature for: ${exp.name}, want: ${formatType(want)}, but the module exports: ${formatType(exp.type)}`);
    }
  }
  if (problems.length > 0) throw new ModuleError(problems.join("; "), problems);

  return { module, abiVersion, shape, functions };
}
