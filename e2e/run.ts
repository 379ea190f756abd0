/**
 * `npm run e2e`: the end-to-end check on a real Envoy.
 *
 *   1. find a runtime (detect.ts); none → explain and exit 2, never a silent pass;
 *   2. compile every policy in examples/ with the lightsub CLI and run
 *      `envoy --mode validate` on every sidecar config;
 *   3. compile e2e/mesh.yaml, start its Node upstream servers, bring up the
 *      client's sidecar and send the scenario's traffic through it (exercise.ts);
 *   4. tear everything down — on success, failure, timeout and Ctrl-C.
 *
 * Exit codes: 0 passed, 1 failed (validation, assertions, deadline), 2 no
 * runtime, 130/143 interrupted by SIGINT/SIGTERM.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { SIDECAR_DEFAULTS } from "../compiler/model/mesh.js";
import { E2eAssertionError } from "./assertions.js";
import { compileMesh, type CompiledMesh } from "./compile-mesh.js";
import { detectRuntime, missingRuntimeMessage, type Detection } from "./detect.js";
import { DockerComposeRuntime } from "./docker-compose.js";
import { EnvoyBinaryRuntime } from "./envoy-binary.js";
import { execProcess, whichOnPath } from "./exec.js";
import { exerciseMesh, type ExerciseContext } from "./exercise.js";
import type { Runtime } from "./runtime.js";

export type FoundRuntime = Exclude<Detection, { kind: "missing" }>;

export const EXIT = { passed: 0, failed: 1, noRuntime: 2 } as const;
const SIGNAL_EXIT: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 130, SIGTERM: 143 };

/** How long a sidecar may take to answer /ready: docker may pull the image first. */
export const READY_TIMEOUT_MS: Record<FoundRuntime["kind"], number> = { "envoy-binary": 60_000, "docker-compose": 240_000 };
export const DEFAULT_DEADLINE_MS = 5 * 60_000;
/** Longest wait for a runtime's logs when reporting a failure. */
const LOGS_TIMEOUT_MS = 15_000;
const LOG_TAIL_LINES = 80;

export interface E2eDeps {
  detect(): Promise<Detection>;
  createRuntime(found: FoundRuntime, workDir: string): Runtime;
  compile(policy: string, outDir: string): Promise<CompiledMesh>;
  exercise(runtime: Runtime, mesh: CompiledMesh, ctx: ExerciseContext): Promise<void>;
  /** Policies whose every compiled config must pass `envoy --mode validate`. */
  examples: readonly string[];
  /** The policy of the mesh the check runs. */
  meshPolicy: string;
  makeWorkDir(): string;
  removeWorkDir(dir: string): void;
  /** Calls `handler` on SIGINT/SIGTERM until the returned function is called. */
  onSignal(handler: (signal: NodeJS.Signals) => void): () => void;
  log(line: string): void;
  /** After this the run tears down and fails, whatever it is doing. */
  deadlineMs: number;
}

type Ending = { kind: "passed" } | { kind: "failed"; error: unknown } | { kind: "timeout" } | { kind: "signal"; signal: NodeJS.Signals };

function withTimeout<T>(promise: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(fallback), ms);
    promise.then(
      (value) => (clearTimeout(timer), resolve(value)),
      () => (clearTimeout(timer), resolve(fallback)),
    );
  });
}

/** Compiles every example and validates every config it yields; returns one problem per failure. */
async function validateAll(deps: E2eDeps, runtime: Runtime, workDir: string, policies: readonly string[]): Promise<{ problems: string[]; meshes: CompiledMesh[] }> {
  const problems: string[] = [];
  const meshes: CompiledMesh[] = [];
  for (const [i, policy] of policies.entries()) {
    const mesh = await deps.compile(policy, join(workDir, `compiled-${i}-${basename(policy).replace(/\.[^.]*$/, "")}`));
    meshes.push(mesh);
    for (const sidecar of mesh.sidecars) {
      const result = await runtime.validate(sidecar);
      deps.log(`${result.ok ? "ok  " : "FAIL"} envoy --mode validate ${policy} → ${sidecar.service}`);
      if (!result.ok) problems.push(`${policy}: the config of "${sidecar.service}" fails envoy --mode validate:\n${result.output}`);
    }
  }
  return { problems, meshes };
}

export async function runE2e(deps: E2eDeps): Promise<number> {
  const detection = await deps.detect();
  if (detection.kind === "missing") {
    deps.log(missingRuntimeMessage(detection.problems, SIDECAR_DEFAULTS.image));
    return EXIT.noRuntime;
  }

  const workDir = deps.makeWorkDir();
  const runtime = deps.createRuntime(detection, join(workDir, "runtime"));
  const cleanups: (() => Promise<void>)[] = [];
  let tornDown: Promise<void> | undefined;
  const teardown = () =>
    (tornDown ??= (async () => {
      const steps = [() => runtime.down(), ...cleanups.reverse()];
      for (const step of steps) {
        try {
          await step();
        } catch (error) {
          deps.log(`teardown: ${(error as Error).message}`);
        }
      }
      deps.removeWorkDir(workDir);
      deps.log("torn down");
    })());

  const body = async () => {
    deps.log(`runtime: ${runtime.description}`);
    const { problems, meshes } = await validateAll(deps, runtime, workDir, [...deps.examples, deps.meshPolicy]);
    if (problems.length > 0) throw new E2eAssertionError(problems);
    await deps.exercise(runtime, meshes[meshes.length - 1]!, {
      defer: (cleanup) => cleanups.push(cleanup),
      log: deps.log,
      readyTimeoutMs: READY_TIMEOUT_MS[detection.kind],
    });
  };

  let timer: NodeJS.Timeout | undefined;
  let stopListening: (() => void) | undefined;
  const ending = await Promise.race<Ending>([
    body().then(
      () => ({ kind: "passed" }),
      (error: unknown) => ({ kind: "failed", error }),
    ),
    new Promise<Ending>((resolve) => (timer = setTimeout(() => resolve({ kind: "timeout" }), deps.deadlineMs))),
    new Promise<Ending>((resolve) => (stopListening = deps.onSignal((signal) => resolve({ kind: "signal", signal })))),
  ]);
  clearTimeout(timer);
  stopListening?.();

  try {
    if (ending.kind !== "passed") {
      if (ending.kind === "failed") deps.log(`e2e FAILED: ${ending.error instanceof Error ? ending.error.message : String(ending.error)}`);
      if (ending.kind === "timeout") deps.log(`e2e FAILED: not done after ${deps.deadlineMs} ms; tearing down`);
      if (ending.kind === "signal") deps.log(`e2e interrupted by ${ending.signal}; tearing down`);
      const logs = await withTimeout(runtime.logs(), LOGS_TIMEOUT_MS, "(logs unavailable)");
      if (logs.trim() !== "") deps.log(`last lines of Envoy's log:\n${logs.trimEnd().split("\n").slice(-LOG_TAIL_LINES).join("\n")}`);
    }
  } finally {
    await teardown();
  }
  switch (ending.kind) {
    case "passed":
      deps.log("e2e passed");
      return EXIT.passed;
    case "signal":
      return SIGNAL_EXIT[ending.signal] ?? EXIT.failed;
    default:
      return EXIT.failed;
  }
}

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Every policy directly in examples/ (subfolders hold other inputs, such as simulator workloads). */
export function examplePolicies(dir = join(ROOT, "examples")): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && /\.ya?ml$/.test(e.name))
    .map((e) => join(dir, e.name))
    .sort();
}

export function productionDeps(): E2eDeps {
  const exec = execProcess;
  const log = (line: string) => process.stdout.write(line + "\n");
  return {
    detect: () => detectRuntime({ env: process.env, which: whichOnPath(), exec }),
    createRuntime: (found, dir) =>
      found.kind === "envoy-binary"
        ? new EnvoyBinaryRuntime(found.envoy, found.version, dir, exec)
        : new DockerComposeRuntime(found.docker, found.engine, SIDECAR_DEFAULTS.image, dir, exec),
    compile: (policy, outDir) => compileMesh(exec, policy, outDir),
    exercise: exerciseMesh,
    examples: examplePolicies(),
    meshPolicy: join(ROOT, "e2e", "mesh.yaml"),
    makeWorkDir: () => mkdtempSync(join(tmpdir(), "lightsub-e2e-")),
    removeWorkDir: (dir) => {
      if (process.env.E2E_KEEP) log(`kept ${dir} (E2E_KEEP is set)`);
      else rmSync(dir, { recursive: true, force: true });
    },
    onSignal: (handler) => {
      process.on("SIGINT", handler);
      process.on("SIGTERM", handler);
      return () => {
        process.off("SIGINT", handler);
        process.off("SIGTERM", handler);
      };
    },
    log,
    deadlineMs: Number(process.env.E2E_DEADLINE_MS) || DEFAULT_DEADLINE_MS,
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await runE2e(productionDeps());
  // Exit now: a timed-out step may still hold sockets or timers open.
  process.exit(code);
}
