/**
 * The filter a compile ships (`--wasm`, default build/lightsub.wasm) and the
 * simulator runs: read it and check, before any work, that Envoy can load it.
 *
 * Envoy loads a proxy-wasm module only when it exports an ABI version marker
 * and imports nothing its Wasm host lacks; anything else fails when the
 * sidecar starts, far from the compile that shipped it. The host's import
 * list is envoy/wasm-imports-abi-0.2.1.json (from proxy-wasm-cpp-host's
 * registerCallbacks, as Envoy 1.40 embeds it; see envoy/README.md).
 */
import { readFileSync, statSync } from "node:fs";

/** The filter file is missing, not a file, or not a module Envoy can load (exit code 2: the user's file, not a lightsub bug). */
export class FilterFileError extends Error {}

/** The proxy-wasm ABI lightsub's filter and the compiled configs use. */
const ABI_VERSION_EXPORT = "proxy_abi_version_0_2_1";

interface ImportList {
  [module: string]: string[] | string;
}

let provided: Map<string, Set<string>> | undefined;

/** What Envoy's Wasm host provides, by import module (env, wasi_snapshot_preview1, wasi_unstable). */
function envoyProvidedImports(): Map<string, Set<string>> {
  if (provided === undefined) {
    const list = JSON.parse(readFileSync(new URL("../envoy/wasm-imports-abi-0.2.1.json", import.meta.url), "utf8")) as ImportList;
    provided = new Map(
      Object.entries(list)
        .filter((entry): entry is [string, string[]] => Array.isArray(entry[1]))
        .map(([module, names]) => [module, new Set(names)]),
    );
  }
  return provided;
}

/**
 * What is wrong with `bytes` as a proxy-wasm filter for Envoy, or undefined
 * when nothing is. Compiles the module (no instance, nothing runs).
 */
export function filterModuleProblem(bytes: Uint8Array): string | undefined {
  const magic = [0x00, 0x61, 0x73, 0x6d];
  if (bytes.length < 8 || magic.some((b, i) => bytes[i] !== b)) return "is not a WebAssembly module (it does not start with \\0asm)";
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (error) {
    return `is not a valid WebAssembly module (${(error as Error).message.replace(/^WebAssembly\.Module\(\): /, "")})`;
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get(ABI_VERSION_EXPORT) !== "function") {
    return `is not a proxy-wasm filter for ABI 0.2.1 (it does not export the function ${ABI_VERSION_EXPORT})`;
  }
  if (exports.get("memory") !== "memory") return "is not a proxy-wasm filter (it exports no memory)";
  if (exports.get("proxy_on_memory_allocate") !== "function" && exports.get("malloc") !== "function") {
    return "is not a proxy-wasm filter (it exports neither proxy_on_memory_allocate nor malloc)";
  }
  const host = envoyProvidedImports();
  const missing = WebAssembly.Module.imports(module)
    .filter((i) => i.kind !== "function" || !host.get(i.module)?.has(i.name))
    .map((i) => (i.kind === "function" ? `${i.module}.${i.name}` : `${i.module}.${i.name} (a ${i.kind})`));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(", ") + (missing.length > 5 ? ` and ${missing.length - 5} more` : "");
    return `imports ${shown}, which Envoy's Wasm host does not provide, so Envoy would refuse to load it`;
  }
  return undefined;
}

/**
 * Reads and checks the filter at `path`. `isDefault`: the path was not given
 * by the user (build/lightsub.wasm), so a missing file means "not built".
 */
export function readFilterFile(path: string, isDefault: boolean): Uint8Array {
  let bytes: Uint8Array;
  try {
    if (statSync(path).isDirectory()) throw new FilterFileError(`the filter ${path} is a directory, not a .wasm file`);
    bytes = readFileSync(path);
  } catch (error) {
    if (error instanceof FilterFileError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new FilterFileError(isDefault ? `the filter ${path} is not built: run "npm run build" first` : `the filter ${path} does not exist`);
    }
    throw new FilterFileError(`cannot read the filter ${path}: ${(error as Error).message}`);
  }
  const problem = filterModuleProblem(bytes);
  if (problem !== undefined) throw new FilterFileError(`the filter ${path} ${problem}`);
  return bytes;
}
