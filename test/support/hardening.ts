/**
 * Helpers shared by the hardening tests (test/guarantees/hardening-*.test.ts): reading
 * the filter's shared records, a seeded random source, the sizes CI runs
 * with (raised through environment variables for long runs).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { compile, hasErrors } from "../../compiler/compile.js";
import { formatDiagnostic } from "../../compiler/diagnostics/index.js";
import type { MeshModel } from "../../compiler/model/mesh.js";
import type { Envoy } from "../../host/index.js";
import { splitPolicy } from "../../simulate/workload/index.js";

/** A positive integer from the environment, else `fallback`. */
export function sizeFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return n;
}

/** Deterministic random numbers (a 32-bit LCG), so a failing run can be replayed. */
export function lcg(seed: number): { next(): number; below(n: number): number } {
  let state = seed >>> 0 || 1;
  const next = () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  return { next, below: (n: number) => Math.floor(next() * n) };
}

const VM_ID = "lightsub";

export function sharedKeys(envoy: Envoy): string[] {
  return envoy.sharedData.keys(VM_ID);
}

function record(envoy: Envoy, key: string): DataView {
  const v = envoy.sharedData.get(key, VM_ID);
  if (!v) throw new Error(`no shared record ${key}`);
  return new DataView(v.value.buffer, v.value.byteOffset, v.value.byteLength);
}

/**
 * The record layout is the filter's private business (filter/lightsub/records/state.ts);
 * the tests rely on two facts of it only: the in-flight count is the i32 at
 * offset 4, and everything from offset 8 on is history (EWMA, window, probe time).
 */
export function inFlightOf(envoy: Envoy, key: string): number {
  return record(envoy, key).getInt32(4, true);
}

export function historyIsEmpty(envoy: Envoy, key: string): boolean {
  const view = record(envoy, key);
  for (let i = 8; i < view.byteLength; i++) if (view.getUint8(i) !== 0) return false;
  return true;
}

const EXAMPLES_DIR = fileURLToPath(new URL("../../examples/", import.meta.url));

/** Every policy under examples/ (recursively), as paths relative to examples/. */
export function exampleFiles(dir = EXAMPLES_DIR): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => relative(EXAMPLES_DIR, join(e.parentPath, e.name)))
    .sort();
}

export interface CompiledExample {
  file: string;
  model: MeshModel;
  /** Parsed `<service>/envoy.yaml` of every sidecar, as written. */
  bootstraps: Map<string, unknown>;
  /** Parsed docker-compose.yaml, when written. */
  compose?: unknown;
}

/**
 * Compiles an example the way `lightsub compile` does and parses the YAML it
 * would write. Simulation scenarios (examples/simulate/) carry a `simulation:`
 * section next to the mesh; only the mesh part is compiled.
 */
export async function compileExample(file: string): Promise<CompiledExample> {
  const text = splitPolicy(readFileSync(join(EXAMPLES_DIR, file), "utf8"), file).policyText;
  const result = await compile(text, file, { withoutWasm: true });
  if (hasErrors(result.diagnostics) || !result.model || !result.files) {
    throw new Error(`examples/${file} does not compile:\n${result.diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const bootstraps = new Map<string, unknown>();
  for (const service of result.model.services) bootstraps.set(service.name, parse(String(result.files.get(`${service.name}/envoy.yaml`))));
  const compose = result.files.get("docker-compose.yaml");
  return { file, model: result.model, bootstraps, compose: compose === undefined ? undefined : parse(String(compose)) };
}
