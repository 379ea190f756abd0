/**
 * Variants of the built filter for tests of what happens when the host or the
 * VM misbehaves on a real Envoy, which a healthy Envoy never does on request:
 * one of the module's proxy-wasm host imports is replaced by a function inside
 * the module that returns a fixed status (a host call that fails) or traps
 * (`unreachable`). Everything else is the unchanged build/lightsub.wasm.
 *
 * Binaryen (the optimizer AssemblyScript itself builds with) reads and writes
 * the module, so the rewrite is a real Wasm transformation rather than a byte
 * patch; the result is validated before it is written.
 */
import binaryen from "binaryen";
import { readFileSync, writeFileSync } from "node:fs";

export type ImportReplacement = { returns: number } | { trap: true };

/**
 * Writes `outFile`: `wasmFile` with each named `env` import (e.g.
 * `proxy_get_shared_data`) replaced as given. Throws if an import is missing.
 */
export function replaceHostImports(wasmFile: string, replacements: Record<string, ImportReplacement>, outFile: string): void {
  const module = binaryen.readBinary(readFileSync(wasmFile));
  try {
    // The build already uses post-MVP features (bulk memory, saturating
    // conversions, ...); the rewrite keeps whatever the module uses.
    module.setFeatures(binaryen.Features.All);
    const wanted = new Map(Object.entries(replacements));
    const found = new Set<string>();
    for (let i = module.getNumFunctions() - 1; i >= 0; i--) {
      const info = binaryen.getFunctionInfo(module.getFunctionByIndex(i));
      const replacement = info.module === "env" && info.base ? wanted.get(info.base) : undefined;
      if (!replacement || !info.base) continue;
      found.add(info.base);
      // Calls name the function, so a defined function with the import's
      // internal name takes its place everywhere.
      module.removeFunction(info.name);
      const body = "trap" in replacement ? module.unreachable() : module.i32.const(replacement.returns);
      module.addFunction(info.name, info.params, info.results, [], body);
    }
    const missing = [...wanted.keys()].filter((name) => !found.has(name));
    if (missing.length > 0) throw new Error(`${wasmFile} does not import ${missing.join(", ")}`);
    if (!module.validate()) throw new Error("the rewritten module does not validate");
    writeFileSync(outFile, module.emitBinary());
  } finally {
    module.dispose();
  }
}
