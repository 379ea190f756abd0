/**
 * Where the real Envoy is, synchronously, for the e2e check and the tests:
 *   1. ENVOY_BIN, when set (it must run: a broken ENVOY_BIN is an error, not a fallback);
 *   2. the project-local Envoy 1.40 that scripts/install-test-deps.sh installs (.tools/bin/envoy);
 *   3. `envoy` on PATH.
 */
import { execFileSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

const PROJECT_ROOT = join(import.meta.dirname, "..");
/** The Envoy that `scripts/install-test-deps.sh` installs (a link into its venv). */
export const PROJECT_ENVOY = join(PROJECT_ROOT, ".tools", "bin", "envoy");

export type EnvoyLocation = { found: true; envoy: string; version: string } | { found: false; problems: string[] };

function versionOf(envoy: string): { ok: true; version: string } | { ok: false; why: string } {
  try {
    const out = execFileSync(envoy, ["--version"], { encoding: "utf8", timeout: 30_000, stdio: ["ignore", "pipe", "pipe"] });
    const line = out.split("\n").find((l) => l.trim() !== "") ?? "";
    return { ok: true, version: line.trim() };
  } catch (error) {
    return { ok: false, why: (error as Error).message.split("\n")[0] ?? "failed" };
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function locateEnvoy(env: Readonly<Record<string, string | undefined>> = process.env): EnvoyLocation {
  const problems: string[] = [];
  const fromEnv = env.ENVOY_BIN;
  if (fromEnv !== undefined && fromEnv !== "") {
    const v = versionOf(fromEnv);
    return v.ok ? { found: true, envoy: fromEnv, version: v.version } : { found: false, problems: [`ENVOY_BIN=${fromEnv} does not run (${v.why}); fix it or unset it`] };
  }
  const candidates = [PROJECT_ENVOY, ...(env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, "envoy"))];
  for (const candidate of candidates) {
    if (!executable(candidate)) continue;
    const v = versionOf(candidate);
    if (v.ok) return { found: true, envoy: candidate, version: v.version };
    problems.push(`${candidate} --version failed: ${v.why}`);
  }
  problems.push("no Envoy: ENVOY_BIN is not set, scripts/install-test-deps.sh has not installed one, and none is on PATH");
  return { found: false, problems };
}

let cached: EnvoyLocation | undefined;
/** locateEnvoy() for this process, computed once. */
export function projectEnvoy(): EnvoyLocation {
  cached ??= locateEnvoy();
  return cached;
}

/** The Envoy binary's path, or undefined when there is none. */
export function envoyPath(): string | undefined {
  const found = projectEnvoy();
  return found.found ? found.envoy : undefined;
}
