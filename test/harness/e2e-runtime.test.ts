/**
 * The e2e check's runtime handling, runnable without Envoy or Docker:
 * detection order, the exit-2 path, validation of every compiled config and
 * teardown on success, failure, timeout and signals (fake runtimes), plus the
 * two real runtimes against a fake `envoy` executable and a fake `docker`.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { E2eAssertionError } from "../../e2e/assertions.js";
import type { CompiledMesh } from "../../e2e/compile-mesh.js";
import { detectRuntime, type Detection } from "../../e2e/detect.js";
import { CONTAINER_WASM_PATH, DockerComposeRuntime } from "../../e2e/docker-compose.js";
import { EnvoyBinaryRuntime } from "../../e2e/envoy-binary.js";
import { execProcess, whichOnPath, type Exec, type ExecResult } from "../../e2e/exec.js";
import type { ExerciseContext } from "../../e2e/exercise.js";
import { EXIT, runE2e, type E2eDeps } from "../../e2e/run.js";
import type { Runtime, SidecarConfig, ValidateResult } from "../../e2e/runtime.js";

const temps: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "lightsub-e2e-test-"));
  temps.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

// ------------------------------------------------------------------ fakes

const ok = (stdout = ""): ExecResult => ({ code: 0, stdout, stderr: "" });
const fail = (stderr: string): ExecResult => ({ code: 1, stdout: "", stderr });

/** An exec that answers by "command arg arg…" and records every call. */
function fakeExec(answers: Record<string, ExecResult>): Exec & { calls: string[] } {
  const calls: string[] = [];
  const exec = (async (command: string, args: readonly string[]) => {
    const key = [command, ...args].join(" ");
    calls.push(key);
    return answers[key] ?? { code: -1, stdout: "", stderr: `spawn ${command} ENOENT` };
  }) as Exec & { calls: string[] };
  exec.calls = calls;
  return exec;
}

const fakeWhich = (found: Record<string, string>) => async (name: string) => found[name] ?? null;

const DOCKER_OK = {
  "/usr/bin/docker compose version": ok("Docker Compose version v2.29.0"),
  "/usr/bin/docker info --format {{.ServerVersion}}": ok("27.1.0\n"),
};

// ------------------------------------------------------------------ detection

describe("detectRuntime", () => {
  it("takes ENVOY_BIN first, before an envoy on PATH", async () => {
    const exec = fakeExec({
      "/opt/envoy --version": ok("envoy  version: abc/1.40.0/Clean/RELEASE/BoringSSL"),
      "/usr/bin/envoy --version": ok("envoy 1.39"),
    });
    const d = await detectRuntime({ env: { ENVOY_BIN: "/opt/envoy" }, which: fakeWhich({ envoy: "/usr/bin/envoy" }), exec });
    expect(d).toEqual({ kind: "envoy-binary", envoy: "/opt/envoy", version: "envoy  version: abc/1.40.0/Clean/RELEASE/BoringSSL" });
    expect(exec.calls).toEqual(["/opt/envoy --version"]);
  });

  it("reports a broken ENVOY_BIN instead of silently using something else", async () => {
    const exec = fakeExec({ ...DOCKER_OK, "/usr/bin/envoy --version": ok("envoy 1.40") });
    const d = await detectRuntime({
      env: { ENVOY_BIN: "/nope/envoy" },
      which: fakeWhich({ envoy: "/usr/bin/envoy", docker: "/usr/bin/docker" }),
      exec,
    });
    expect(d.kind).toBe("missing");
    expect((d as Extract<Detection, { kind: "missing" }>).problems[0]).toMatch(/ENVOY_BIN=\/nope\/envoy does not run.*ENOENT/);
  });

  it("uses envoy on PATH when ENVOY_BIN is unset or empty", async () => {
    const exec = fakeExec({ ...DOCKER_OK, "/usr/bin/envoy --version": ok("envoy 1.40.0\n") });
    const d = await detectRuntime({ env: { ENVOY_BIN: "" }, which: fakeWhich({ envoy: "/usr/bin/envoy", docker: "/usr/bin/docker" }), exec });
    expect(d).toEqual({ kind: "envoy-binary", envoy: "/usr/bin/envoy", version: "envoy 1.40.0" });
    expect(exec.calls.some((c) => c.startsWith("/usr/bin/docker"))).toBe(false);
  });

  it("falls back to docker compose when there is no envoy binary and the engine runs", async () => {
    const exec = fakeExec(DOCKER_OK);
    const d = await detectRuntime({ env: {}, which: fakeWhich({ docker: "/usr/bin/docker" }), exec });
    expect(d).toEqual({ kind: "docker-compose", docker: "/usr/bin/docker", engine: "27.1.0" });
  });

  it("falls back to docker compose when the envoy on PATH does not run", async () => {
    const exec = fakeExec({ ...DOCKER_OK, "/usr/bin/envoy --version": fail("cannot execute binary file") });
    const d = await detectRuntime({ env: {}, which: fakeWhich({ envoy: "/usr/bin/envoy", docker: "/usr/bin/docker" }), exec });
    expect(d.kind).toBe("docker-compose");
  });

  it("is missing when docker has no running engine, and says so", async () => {
    const exec = fakeExec({
      "/usr/bin/docker compose version": ok("Docker Compose version v2.29.0"),
      "/usr/bin/docker info --format {{.ServerVersion}}": fail(
        "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      ),
    });
    const d = await detectRuntime({ env: {}, which: fakeWhich({ docker: "/usr/bin/docker" }), exec });
    expect(d).toEqual({
      kind: "missing",
      problems: [
        "no envoy binary on PATH and ENVOY_BIN is not set",
        "docker compose is installed but no Docker engine answers: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      ],
    });
  });

  it("is missing when docker has no compose plugin (never asks the engine)", async () => {
    const exec = fakeExec({ "/usr/bin/docker compose version": fail("docker: unknown command: docker compose") });
    const d = await detectRuntime({ env: {}, which: fakeWhich({ docker: "/usr/bin/docker" }), exec });
    expect(d.kind).toBe("missing");
    expect(JSON.stringify(d)).toContain("unknown command: docker compose");
    expect(exec.calls).toEqual(["/usr/bin/docker compose version"]);
  });

  it("is missing when there is neither envoy nor docker", async () => {
    const d = await detectRuntime({ env: {}, which: fakeWhich({}), exec: fakeExec({}) });
    expect(d).toEqual({ kind: "missing", problems: ["no envoy binary on PATH and ENVOY_BIN is not set", "no docker on PATH"] });
  });

  it("whichOnPath finds only executable files", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "envoy"), "#!/bin/sh\n");
    chmodSync(join(dir, "envoy"), 0o644);
    expect(await whichOnPath(dir)("envoy")).toBeNull();
    chmodSync(join(dir, "envoy"), 0o755);
    expect(await whichOnPath(`/nonexistent:${dir}`)("envoy")).toBe(join(dir, "envoy"));
    mkdirSync(join(dir, "docker"));
    expect(await whichOnPath(dir)("docker")).toBeNull();
  });
});

// ------------------------------------------------------------------ the run, with a fake runtime

class FakeRuntime implements Runtime {
  readonly description = "fake runtime";
  validated: string[] = [];
  upCalls = 0;
  downCalls = 0;
  constructor(private readonly invalid = new Set<string>(), private readonly downThrows = false) {}
  async validate(config: SidecarConfig): Promise<ValidateResult> {
    this.validated.push(config.file);
    return this.invalid.has(config.file) ? { ok: false, output: "error initializing configuration" } : { ok: true, output: "OK" };
  }
  async up(): Promise<void> {
    this.upCalls++;
  }
  failure(): string | undefined {
    return undefined;
  }
  async down(): Promise<void> {
    this.downCalls++;
    if (this.downThrows) throw new Error("docker compose down failed: boom");
  }
  async logs(): Promise<string> {
    return "[2025-01-01 00:00:00.000][1][info][main] fake envoy log line";
  }
}

function fakeMesh(policy: string, services: string[]): CompiledMesh {
  return {
    policy,
    dir: `/out/${policy}`,
    composeFile: `/out/${policy}/docker-compose.yaml`,
    sidecars: services.map((service) => ({ service, file: `/out/${policy}/${service}/envoy.yaml`, wasmFile: `/out/${policy}/lightsub.wasm` })),
  };
}

const MESHES: Record<string, string[]> = {
  "shop.yaml": ["catalog", "frontend"],
  "bookstore.yaml": ["cart", "catalog", "frontend", "inventory", "ratings", "reviews", "search"],
  "mesh.yaml": ["client", "flaky", "slow"],
};

interface Harness {
  deps: E2eDeps;
  runtime: FakeRuntime;
  lines: string[];
  removed: string[];
  exercised: string[];
  created: number;
  emitSignal?: (signal: NodeJS.Signals) => void;
}

function harness(
  overrides: Partial<E2eDeps> & { runtime?: FakeRuntime; exercise?: E2eDeps["exercise"] } = {},
  detection: Detection = { kind: "envoy-binary", envoy: "/usr/bin/envoy", version: "1.40.0" },
): Harness {
  const h: Harness = {
    runtime: overrides.runtime ?? new FakeRuntime(),
    lines: [],
    removed: [],
    exercised: [],
    created: 0,
    deps: undefined as unknown as E2eDeps,
  };
  h.deps = {
    detect: async () => detection,
    createRuntime: () => {
      h.created++;
      return h.runtime;
    },
    compile: async (policy) => fakeMesh(policy, MESHES[policy]!),
    exercise: async (runtime, mesh) => {
      h.exercised.push(mesh.policy);
      await runtime.up(mesh.sidecars.filter((s) => s.service === "client"));
    },
    examples: ["shop.yaml", "bookstore.yaml"],
    meshPolicy: "mesh.yaml",
    makeWorkDir: () => "/tmp/work",
    removeWorkDir: (dir) => h.removed.push(dir),
    onSignal: (handler) => {
      h.emitSignal = handler;
      return () => (h.emitSignal = undefined);
    },
    log: (line) => h.lines.push(line),
    deadlineMs: 5_000,
    ...overrides,
  };
  return h;
}

describe("runE2e", () => {
  it("exits 2 with what is missing and how to get it when there is no runtime, and starts nothing", async () => {
    const h = harness({}, { kind: "missing", problems: ["no envoy binary on PATH and ENVOY_BIN is not set", "no docker on PATH"] });
    expect(await runE2e(h.deps)).toBe(EXIT.noRuntime);
    expect(EXIT.noRuntime).toBe(2);
    const text = h.lines.join("\n");
    expect(text).toContain("no Envoy runtime found");
    expect(text).toContain("not a pass");
    expect(text).toContain("no docker on PATH");
    expect(text).toMatch(/ENVOY_BIN=\/path\/to\/envoy/);
    expect(text).toMatch(/Docker Engine with the compose plugin/);
    expect(h.created).toBe(0);
    expect(h.exercised).toEqual([]);
  });

  it("validates every config compiled from the examples and the e2e mesh, runs the mesh, then tears down", async () => {
    const h = harness();
    expect(await runE2e(h.deps)).toBe(EXIT.passed);
    const expected = ["shop.yaml", "bookstore.yaml", "mesh.yaml"].flatMap((p) => MESHES[p]!.map((s) => `/out/${p}/${s}/envoy.yaml`));
    expect(h.runtime.validated).toEqual(expected);
    expect(h.exercised).toEqual(["mesh.yaml"]);
    expect(h.runtime.upCalls).toBe(1);
    expect(h.runtime.downCalls).toBe(1);
    expect(h.removed).toEqual(["/tmp/work"]);
    expect(h.lines.at(-1)).toBe("e2e passed");
  });

  it("fails without running the mesh when a config does not validate, and still tears down", async () => {
    const runtime = new FakeRuntime(new Set(["/out/bookstore.yaml/search/envoy.yaml"]));
    const h = harness({ runtime });
    expect(await runE2e(h.deps)).toBe(EXIT.failed);
    expect(runtime.validated).toHaveLength(12); // all of them are still checked and reported
    expect(h.exercised).toEqual([]);
    expect(runtime.downCalls).toBe(1);
    expect(h.lines.join("\n")).toMatch(/bookstore\.yaml: the config of "search" fails envoy --mode validate/);
  });

  it("tears down and prints Envoy's log when an assertion fails", async () => {
    const cleaned: string[] = [];
    const h = harness({
      exercise: async (runtime, _mesh, ctx: ExerciseContext) => {
        ctx.defer(async () => void cleaned.push("upstreams"));
        await runtime.up([]);
        throw new E2eAssertionError(["slow (least_latency): 127_0_0_1_17102 got 50.0% of 120 requests"]);
      },
    });
    expect(await runE2e(h.deps)).toBe(EXIT.failed);
    expect(h.runtime.downCalls).toBe(1);
    expect(cleaned).toEqual(["upstreams"]);
    expect(h.removed).toEqual(["/tmp/work"]);
    const text = h.lines.join("\n");
    expect(text).toContain("e2e FAILED: 1 check failed");
    expect(text).toContain("127_0_0_1_17102 got 50.0%");
    expect(text).toContain("fake envoy log line");
  });

  it("tears down at the deadline when a step hangs", async () => {
    const cleaned: string[] = [];
    const h = harness({
      deadlineMs: 50,
      exercise: (_runtime, _mesh, ctx) => {
        ctx.defer(async () => void cleaned.push("upstreams"));
        return new Promise<void>(() => {}); // never settles
      },
    });
    const started = Date.now();
    expect(await runE2e(h.deps)).toBe(EXIT.failed);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(h.runtime.downCalls).toBe(1);
    expect(cleaned).toEqual(["upstreams"]);
    expect(h.lines.join("\n")).toContain("not done after 50 ms");
  });

  it("tears down on SIGINT and exits 130; stops listening for signals afterwards", async () => {
    let h!: Harness;
    h = harness({
      exercise: () =>
        new Promise<void>(() => {
          setTimeout(() => h.emitSignal?.("SIGINT"), 10);
        }),
    });
    expect(await runE2e(h.deps)).toBe(130);
    expect(h.runtime.downCalls).toBe(1);
    expect(h.emitSignal).toBeUndefined();
    expect(h.lines.join("\n")).toContain("interrupted by SIGINT");
  });

  it("still cleans up the rest when stopping the runtime fails", async () => {
    const cleaned: string[] = [];
    const runtime = new FakeRuntime(new Set(), true);
    const h = harness({
      runtime,
      exercise: async (_r, _m, ctx) => ctx.defer(async () => void cleaned.push("upstreams")),
    });
    expect(await runE2e(h.deps)).toBe(EXIT.passed);
    expect(cleaned).toEqual(["upstreams"]);
    expect(h.removed).toEqual(["/tmp/work"]);
    expect(h.lines).toContain("teardown: docker compose down failed: boom");
  });

  it("fails (and tears down) when compiling a policy fails", async () => {
    const h = harness({
      compile: async (policy) => {
        if (policy === "bookstore.yaml") throw new Error("lightsub compile bookstore.yaml exited 1");
        return fakeMesh(policy, MESHES[policy]!);
      },
    });
    expect(await runE2e(h.deps)).toBe(EXIT.failed);
    expect(h.runtime.downCalls).toBe(1);
    expect(h.lines.join("\n")).toContain("lightsub compile bookstore.yaml exited 1");
  });
});

// ------------------------------------------------------------------ the local-process runtime, with a fake envoy

/** A stand-in `envoy`: answers --version, checks --mode validate, else logs and runs until signalled. */
function writeFakeEnvoy(dir: string, behaviour: "run" | "crash"): string {
  const file = join(dir, "envoy");
  writeFileSync(
    file,
    `#!${process.execPath}
const fs = require("node:fs");
process.on("SIGTERM", () => { console.error("[info][main] caught SIGTERM"); process.exit(0); });
const args = process.argv.slice(2);
if (args[0] === "--version") { console.log("envoy  version: fake/1.40.0"); process.exit(0); }
const config = fs.readFileSync(args[args.indexOf("-c") + 1], "utf8");
const wasm = /filename: (\\S+)/.exec(config);
if (!wasm || !fs.existsSync(wasm[1])) { console.error("[critical][main] wasm file not found: " + (wasm && wasm[1])); process.exit(1); }
if (args.includes("validate")) { console.log("configuration '" + args[args.indexOf("-c") + 1] + "' OK"); process.exit(0); }
console.error("[2025-01-01 00:00:00.000][1][info][main] starting, args " + args.join(" "));
${behaviour === "crash" ? 'console.error("[critical][main] error initializing configuration"); process.exit(1);' : "setInterval(() => {}, 1000);"}
`,
  );
  chmodSync(file, 0o755);
  return file;
}

function compiledFixture(dir: string): SidecarConfig {
  mkdirSync(join(dir, "out", "client"), { recursive: true });
  const wasmFile = join(dir, "out", "lightsub.wasm");
  writeFileSync(wasmFile, new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  const file = join(dir, "out", "client", "envoy.yaml");
  writeFileSync(
    file,
    [
      "static_resources:",
      "  listeners:",
      "    - name: outbound_slow",
      "      filter_chains:",
      "        - filters:",
      "            - name: envoy.filters.network.http_connection_manager",
      "              typed_config:",
      "                http_filters:",
      "                  - name: envoy.filters.http.wasm",
      "                    typed_config:",
      "                      config:",
      "                        vm_config:",
      "                          runtime: envoy.wasm.runtime.v8",
      `                          code: { local: { filename: ${CONTAINER_WASM_PATH} } }`,
      "",
    ].join("\n"),
  );
  return { service: "client", file, wasmFile };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("EnvoyBinaryRuntime (fake envoy executable)", () => {
  it("validates a rewritten copy that points at the compiled wasm; the compiled file stays unchanged", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    const before = readFileSync(config.file, "utf8");
    const runtime = new EnvoyBinaryRuntime(writeFakeEnvoy(dir, "run"), "fake", join(dir, "work"), execProcess);
    const result = await runtime.validate(config);
    expect(result).toMatchObject({ ok: true });
    expect(result.output).toContain("OK");
    expect(readFileSync(config.file, "utf8")).toBe(before);
  });

  it("reports a config Envoy rejects", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    rmSync(config.wasmFile);
    const runtime = new EnvoyBinaryRuntime(writeFakeEnvoy(dir, "run"), "fake", join(dir, "work"), execProcess);
    const result = await runtime.validate(config);
    expect(result.ok).toBe(false);
    expect(result.output).toContain("wasm file not found");
  });

  it("starts one process per config and stops every one of them on down()", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    const runtime = new EnvoyBinaryRuntime(writeFakeEnvoy(dir, "run"), "fake", join(dir, "work"), execProcess);
    await runtime.up([config, { ...config, service: "other" }]);
    const pids = (runtime as unknown as { running: { child: { pid: number } }[] }).running.map((r) => r.child.pid);
    expect(pids).toHaveLength(2);
    // Both must be running (not merely spawned) before down(), or a SIGTERM can beat Node's start-up on a busy machine.
    const started = async () => (await runtime.logs()).split("starting, args").length - 1;
    for (let i = 0; i < 100 && (await started()) < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(pids.every(alive)).toBe(true);
    expect(runtime.failure()).toBeUndefined();
    const logs = await runtime.logs();
    expect(logs).toContain("--concurrency 2 --disable-hot-restart");
    expect(logs).toContain("==> other");
    await runtime.down();
    expect(pids.some(alive)).toBe(false);
    expect(await runtime.logs()).toContain("caught SIGTERM");
    await runtime.down(); // idempotent
  });

  it("tells when an Envoy exits on its own", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    const runtime = new EnvoyBinaryRuntime(writeFakeEnvoy(dir, "crash"), "fake", join(dir, "work"), execProcess);
    await runtime.up([config]);
    for (let i = 0; i < 100 && runtime.failure() === undefined; i++) await new Promise((r) => setTimeout(r, 50));
    expect(runtime.failure()).toBe('envoy of "client" exited (code 1)');
    expect(await runtime.logs()).toContain("error initializing configuration");
    await runtime.down();
  });

  it("validates a config without a Wasm filter (a service that calls none) unchanged", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    writeFileSync(config.file, "static_resources: {}\n");
    const runtime = new EnvoyBinaryRuntime(writeFakeEnvoy(dir, "run"), "fake", join(dir, "work"), execProcess);
    await runtime.validate(config); // the fake envoy rejects it (no wasm file name); what matters is what it was given
    expect(parse(readFileSync(join(dir, "work", "client-1.envoy.yaml"), "utf8"))).toEqual({ static_resources: {} });
  });
});

// ------------------------------------------------------------------ the docker runtime, with a fake docker

describe("DockerComposeRuntime (fake docker)", () => {
  const answersFor = (rt: DockerComposeRuntime): Record<string, ExecResult> => {
    const compose = `/usr/bin/docker compose -p ${rt.project} -f ${rt.composeFile}`;
    return {
      [`${compose} up --detach --quiet-pull`]: ok(),
      [`${compose} down --remove-orphans --timeout 5`]: ok(),
      [`${compose} logs --no-color --no-log-prefix`]: ok("[2025-01-01 00:00:00.000][1][info][main] hello\n"),
    };
  };

  it("validates with the pinned image, the config and the wasm mounted where the config expects them", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    const exec = fakeExec({});
    const runtime = new DockerComposeRuntime("/usr/bin/docker", "27.1.0", "envoyproxy/envoy:v1.40.0", join(dir, "work"), exec, "t1");
    await runtime.validate(config);
    expect(exec.calls).toEqual([
      `/usr/bin/docker run --rm -v ${config.file}:/etc/envoy/envoy.yaml:ro -v ${config.wasmFile}:${CONTAINER_WASM_PATH}:ro envoyproxy/envoy:v1.40.0 --mode validate -c /etc/envoy/envoy.yaml`,
    ]);
  });

  it("brings sidecars up on the host network and takes them down with the same project", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    const probe = new DockerComposeRuntime("/usr/bin/docker", "27.1.0", "envoyproxy/envoy:v1.40.0", join(dir, "work"), fakeExec({}), "t2");
    const exec = fakeExec(answersFor(probe));
    const runtime = new DockerComposeRuntime("/usr/bin/docker", "27.1.0", "envoyproxy/envoy:v1.40.0", join(dir, "work"), exec, "t2");
    await runtime.down(); // nothing started: nothing to do
    expect(exec.calls).toEqual([]);
    await runtime.up([config]);
    const compose = parse(readFileSync(runtime.composeFile, "utf8"));
    expect(compose.services.client).toEqual({
      image: "envoyproxy/envoy:v1.40.0",
      network_mode: "host",
      volumes: [`${config.file}:/etc/envoy/envoy.yaml:ro`, `${config.wasmFile}:${CONTAINER_WASM_PATH}:ro`],
      command: ["-c", "/etc/envoy/envoy.yaml", "--concurrency", "2", "--disable-hot-restart"],
    });
    expect(await runtime.logs()).toContain("hello");
    await runtime.down();
    await runtime.down();
    expect(exec.calls.filter((c) => c.includes(" down "))).toHaveLength(1);
  });

  it("still takes down what a failed `up` may have created", async () => {
    const dir = tempDir();
    const config = compiledFixture(dir);
    const probe = new DockerComposeRuntime("/usr/bin/docker", "27.1.0", "img", join(dir, "work"), fakeExec({}), "t3");
    const answers = answersFor(probe);
    const upKey = Object.keys(answers).find((k) => k.includes(" up "))!;
    answers[upKey] = fail("Error response from daemon: pull access denied");
    const exec = fakeExec(answers);
    const runtime = new DockerComposeRuntime("/usr/bin/docker", "27.1.0", "img", join(dir, "work"), exec, "t3");
    await expect(runtime.up([config])).rejects.toThrow(/pull access denied/);
    await runtime.down();
    expect(exec.calls.some((c) => c.includes(" down --remove-orphans"))).toBe(true);
    expect(existsSync(runtime.composeFile)).toBe(true);
  });
});
