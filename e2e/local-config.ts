/**
 * The one change the e2e check makes to a compiled sidecar config before a
 * local Envoy process runs it: the Wasm filter's file name. Compiled configs
 * name the container mount (`/etc/lightsub/lightsub.wasm`, docker-compose.yaml
 * mounts the filter there); a process on the host reads the file the compiler
 * wrote next to the configs instead. Done on the parsed YAML, not on text.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";

/**
 * A copy of `bootstrap` with every `vm_config.code.local.filename` set to
 * `wasmFile`; returns how many were replaced too, so a caller can tell a
 * config without a filter from a rewritten one.
 */
export function withLocalWasm(bootstrap: unknown, wasmFile: string): { bootstrap: unknown; replaced: number } {
  let replaced = 0;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== "object" || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) out[key] = visit(value);
    const local = ((out.vm_config as Record<string, unknown> | undefined)?.code as Record<string, unknown> | undefined)?.local as
      | Record<string, unknown>
      | undefined;
    if (local && typeof local.filename === "string") {
      local.filename = wasmFile;
      replaced++;
    }
    return out;
  };
  return { bootstrap: visit(bootstrap), replaced };
}

/** Writes the rewritten copy of `configFile` to `outFile`; returns the number of filters pointed at `wasmFile`. */
export function writeLocalConfig(configFile: string, wasmFile: string, outFile: string): number {
  const { bootstrap, replaced } = withLocalWasm(parse(readFileSync(configFile, "utf8")), wasmFile);
  writeFileSync(outFile, stringify(bootstrap, { lineWidth: 0 }));
  return replaced;
}
