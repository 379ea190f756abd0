/**
 * Compiles a policy with the project's own CLI (`lightsub compile <policy> --out <dir>`),
 * exactly as a user would, and lists what it wrote.
 */
import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import type { Exec } from "./exec.js";
import type { SidecarConfig } from "./runtime.js";

const LIGHTSUB_CLI = fileURLToPath(new URL("../bin/lightsub.js", import.meta.url));

export interface CompiledMesh {
  policy: string;
  dir: string;
  /** One per service, sorted by service name. */
  sidecars: SidecarConfig[];
  composeFile: string;
}

/** The sidecar configs in a compile output directory: every `<dir>/<service>/envoy.yaml`. */
export function listCompiled(policy: string, dir: string): CompiledMesh {
  const out = resolve(dir);
  const wasmFile = join(out, "lightsub.wasm");
  const sidecars = readdirSync(out, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(out, e.name, "envoy.yaml")))
    .map((e) => e.name)
    .sort()
    .map((service) => ({ service, file: join(out, service, "envoy.yaml"), wasmFile }));
  if (sidecars.length === 0) throw new Error(`${dir}: the compiler wrote no <service>/envoy.yaml`);
  return { policy, dir: out, sidecars, composeFile: join(out, "docker-compose.yaml") };
}

/** Runs the CLI; throws with its output unless it exits 0. */
export async function compileMesh(exec: Exec, policy: string, outDir: string): Promise<CompiledMesh> {
  const result = await exec(process.execPath, [LIGHTSUB_CLI, "compile", policy, "--out", outDir], { timeoutMs: 120_000 });
  if (result.code !== 0) {
    throw new Error(`lightsub compile ${policy} exited ${result.code}:\n${(result.stderr + result.stdout).trim()}`);
  }
  return listCompiled(policy, outDir);
}
