/**
 * One compiler measurement in a process of its own (bench/compiler-cost.ts
 * starts it), so that the process's peak memory is the compile's:
 *
 *   compiler-child.ts compile <services> <calls> <out>   compile a generated policy into the new directory <out>
 *                                                        (what `lightsub compile --out` does), then serialize the same output alone
 *   compiler-child.ts baseline                     load the compiler, compile nothing (the process's own memory)
 *
 * Prints one JSON line (ChildReport). Peak memory is process.resourceUsage().maxRSS,
 * taken right after the compile (before the serialization floor runs).
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { compileToDirectory } from "../compiler/compile.js";
import { sidecarBootstraps } from "../compiler/envoy/index.js";
import { composeFile } from "../compiler/compose/compose.js";
import { toYaml } from "../compiler/emit/yaml-text.js";
import type { MeshModel } from "../compiler/model/mesh.js";
import { generatePolicy } from "./policy-gen.js";

export interface ChildReport {
  mode: "compile" | "baseline";
  services: number;
  /**
   * Wall time of compileToDirectory(text): check, generate, validate against
   * Envoy's protos, render YAML and write every file, i.e. `lightsub compile
   * --out` without process start-up and reading the file.
   */
  compileMs: number;
  /** Wall time of only rendering the same bootstraps and compose file as YAML (the floor). */
  serializeMs: number;
  /** Peak resident set size of the process, MiB. */
  peakRssMiB: number;
  files: number;
  outputBytes: number;
}

function rssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

async function main(args: string[]): Promise<ChildReport> {
  const [mode, servicesArg, callsArg, out] = args;
  if (mode === "baseline") {
    return { mode, services: 0, compileMs: 0, serializeMs: 0, peakRssMiB: rssMiB(), files: 0, outputBytes: 0 };
  }
  if (mode !== "compile" || out === undefined) throw new Error(`usage: compiler-child.ts compile <services> <calls> <out> | baseline`);
  const policy = generatePolicy(Number(servicesArg), Number(callsArg ?? 5));
  const file = `bench-${policy.services}.yaml`;

  const started = performance.now();
  const result = await compileToDirectory(policy.text, file, out);
  const compileMs = performance.now() - started;
  const peakRssMiB = rssMiB();
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (!result.written || !result.model || errors.length > 0) {
    throw new Error(`the generated policy does not compile: ${result.diagnostics.slice(0, 3).map((d) => `${d.code} ${d.message}`).join("; ")}`);
  }
  const { files, outputBytes } = sizeOf(out);
  const serializeMs = serializeFloor(result.model);
  return { mode, services: policy.services, compileMs, serializeMs, peakRssMiB, files, outputBytes };
}

/** Files (without lightsub's marker) and bytes under `dir`. */
function sizeOf(dir: string): { files: number; outputBytes: number } {
  let files = 0;
  let outputBytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || entry.name === ".lightsub-output") continue;
    files++;
    outputBytes += statSync(join(entry.parentPath, entry.name)).size;
  }
  return { files, outputBytes };
}

function serializeFloor(model: MeshModel): number {
  // The floor: the same objects, only turned into text in memory (built beforehand, untimed).
  const bootstraps = [...sidecarBootstraps(model)];
  const compose = composeFile(model);
  const serializeStarted = performance.now();
  let serializedBytes = 0;
  for (const [service, bootstrap] of bootstraps) serializedBytes += toYaml(bootstrap, service).length;
  serializedBytes += toYaml(compose).length;
  const serializeMs = performance.now() - serializeStarted;
  if (serializedBytes === 0) throw new Error("nothing serialized");
  return serializeMs;
}

main(process.argv.slice(2)).then(
  (report) => {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack ?? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
