/**
 * One compiled sidecar on a real Envoy on this host's loopback, for the
 * real-Envoy tests (test/e2e/). It compiles a policy with the real compiler,
 * makes the one change a local process needs (the Wasm file name,
 * ../local-config.ts), starts Envoy with `--disable-hot-restart` and waits
 * until it is ready. Everything a test starts is stopped by `stop()`, which
 * is safe to call twice; `stopAllSidecars()` stops whatever is still running
 * (an afterAll / signal safety net).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { compile, DEFAULT_WASM } from "../../compiler/compile.js";
import { sdsResourceFiles } from "../../compiler/envoy/tls.js";
import { CERTS_DIR_IN_CONTAINER } from "../../compiler/model/mesh.js";
import { fetchPrometheus, waitReady } from "../admin.js";
import { parsePrometheus, type PromSample } from "../assertions.js";
import { writeLocalConfig } from "../local-config.js";
import { readSidecarView, type SidecarView } from "../sidecar-view.js";

export interface SidecarOptions {
  /** The Envoy binary (test/support/real-envoy.ts gives it). */
  envoy: string;
  /** The policy text (YAML). */
  policy: string;
  /** The service whose sidecar runs (the caller). */
  service: string;
  /** Worker threads (default 2, so cross-worker shared state is used). */
  concurrency?: number;
  /** The filter to load (default build/lightsub.wasm). */
  wasm?: string;
  /** Envoy's log level (default "warning"; the Wasm logger's lines need "info" or lower). */
  logLevel?: string;
  /**
   * A policy with `spec.security`: this service's certificate directory as
   * `lightsub certs --out <dir>` wrote it (`<dir>/<service>`). The compiled
   * config names the container mount (/etc/lightsub/certs); the harness
   * points it at this directory instead (SDS resource files rewritten into
   * the work directory; the certificate files and their watched directory
   * stay in `certsDir`, so a rotation there reaches Envoy as in a container).
   */
  certsDir?: string;
  /** Changes the parsed bootstrap before Envoy runs it (tests of deliberately broken set-ups only, and benchmarks). */
  editBootstrap?: (bootstrap: Record<string, unknown>) => void;
  readyTimeoutMs?: number;
}

export interface LiveSidecar {
  readonly view: SidecarView;
  readonly adminPort: number;
  /** The parsed bootstrap Envoy runs. */
  readonly bootstrap: Record<string, unknown>;
  readonly workDir: string;
  /** http://127.0.0.1:<port> of the outbound listener for `service`. */
  url(service: string, path?: string): string;
  /** GET /stats/prometheus, parsed. */
  prometheus(): Promise<PromSample[]>;
  /** GET /stats?format=json as name → value (counters and gauges). */
  stats(filter?: string): Promise<Map<string, number>>;
  /** POST to an admin path (e.g. /reset_counters). */
  admin(path: string, method?: "GET" | "POST"): Promise<string>;
  /** Envoy's log so far. */
  log(): string;
  /** The exit, if Envoy exited. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

const running = new Set<LiveSidecar>();

export async function startSidecar(options: SidecarOptions): Promise<LiveSidecar> {
  const workDir = mkdtempSync(join(tmpdir(), `lightsub-live-${options.service}-`));
  const policyFile = join(workDir, "policy.yaml");
  writeFileSync(policyFile, options.policy);
  const result = await compile(options.policy, policyFile, { withoutWasm: true, withoutCompose: true });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || !result.files) {
    rmSync(workDir, { recursive: true, force: true });
    throw new Error(`policy does not compile:\n${errors.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join("\n")}`);
  }
  const configText = result.files.get(`${options.service}/envoy.yaml`);
  if (typeof configText !== "string") {
    rmSync(workDir, { recursive: true, force: true });
    throw new Error(`no sidecar compiled for "${options.service}"`);
  }
  const compiledFile = join(workDir, "compiled.envoy.yaml");
  writeFileSync(compiledFile, configText);
  const runFile = join(workDir, "envoy.yaml");
  writeLocalConfig(compiledFile, options.wasm ?? DEFAULT_WASM, runFile);
  let bootstrap = parse(readFileSync(runFile, "utf8")) as Record<string, unknown>;
  if (options.certsDir !== undefined) {
    try {
      localCerts(bootstrap, resolve(options.certsDir), join(workDir, "sds"));
    } catch (error) {
      rmSync(workDir, { recursive: true, force: true });
      throw error;
    }
  }
  if (options.editBootstrap || options.certsDir !== undefined) {
    options.editBootstrap?.(bootstrap);
    writeFileSync(runFile, JSON.stringify(bootstrap));
    bootstrap = parse(readFileSync(runFile, "utf8")) as Record<string, unknown>;
  }
  const view = readSidecarView(bootstrap);
  mkdirSync(workDir, { recursive: true });
  const logFile = join(workDir, "envoy.log");
  const fd = openSync(logFile, "a");
  const args = ["-c", runFile, "--concurrency", String(options.concurrency ?? 2), "--disable-hot-restart", "-l", options.logLevel ?? "warning"];
  const child: ChildProcess = spawn(options.envoy, args, { stdio: ["ignore", fd, fd] });
  closeSync(fd);
  let exit: string | undefined;
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => ((exit = `envoy exited (${signal ?? `code ${code}`})`), resolve()));
    child.once("error", (error) => ((exit = `envoy did not start: ${error.message}`), resolve()));
  });
  const readLog = () => {
    try {
      return readFileSync(logFile, "utf8");
    } catch {
      return "";
    }
  };
  let stopped = false;
  const sidecar: LiveSidecar = {
    view,
    adminPort: view.adminPort,
    bootstrap,
    workDir,
    url(service, path = "/") {
      const dest = view.destinations.find((d) => d.service === service);
      if (!dest) throw new Error(`"${options.service}" has no outbound listener for "${service}"`);
      return `http://127.0.0.1:${dest.listenerPort}${path}`;
    },
    async prometheus() {
      return parsePrometheus(await fetchPrometheus(view.adminPort));
    },
    async stats(filter) {
      const query = filter ? `?format=json&filter=${encodeURIComponent(filter)}` : "?format=json";
      const response = await fetch(`http://127.0.0.1:${view.adminPort}/stats${query}`);
      const body = (await response.json()) as { stats: Array<{ name: string; value?: number }> };
      const out = new Map<string, number>();
      for (const s of body.stats) if (typeof s.value === "number") out.set(s.name, s.value);
      return out;
    },
    async admin(path, method = "POST") {
      const response = await fetch(`http://127.0.0.1:${view.adminPort}${path}`, { method });
      return response.text();
    },
    log: readLog,
    exited: () => exit,
    async stop() {
      if (stopped) return;
      stopped = true;
      running.delete(sidecar);
      if (exit === undefined) {
        child.kill("SIGTERM");
        const done = await Promise.race([exitedPromise.then(() => true), sleep(5_000).then(() => false)]);
        if (!done) {
          child.kill("SIGKILL");
          await exitedPromise;
        }
      }
      if (!process.env.LIGHTSUB_KEEP_LIVE) rmSync(workDir, { recursive: true, force: true });
    },
  };
  running.add(sidecar);
  try {
    await waitReady(view.adminPort, { timeoutMs: options.readyTimeoutMs ?? 30_000, failure: () => exit });
    // A stale Envoy on the same admin port would answer /ready while this one
    // fails to bind and exits: make sure the admin is this process's.
    const info = (await (await fetch(`http://127.0.0.1:${view.adminPort}/server_info`)).json()) as {
      command_line_options?: { config_path?: string };
    };
    const configPath = info.command_line_options?.config_path;
    if (configPath !== runFile) throw new Error(`admin 127.0.0.1:${view.adminPort} belongs to another Envoy (config ${configPath ?? "unknown"})`);
  } catch (error) {
    const log = readLog();
    await sidecar.stop();
    throw new Error(`${(error as Error).message}\n--- envoy log ---\n${log.split("\n").slice(-40).join("\n")}`);
  }
  return sidecar;
}

/**
 * Points a compiled mTLS sidecar at a local certificate directory: the SDS
 * resources Envoy reads (path_config_source) are written into `sdsDir` naming
 * the files in `certsDir`; every other mention of the container mount
 * becomes `certsDir`. Throws when the bootstrap names no certificates.
 */
export function localCerts(bootstrap: Record<string, unknown>, certsDir: string, sdsDir: string): void {
  mkdirSync(sdsDir, { recursive: true });
  for (const [name, content] of Object.entries(sdsResourceFiles(certsDir))) writeFileSync(join(sdsDir, name), JSON.stringify(content));
  let found = 0;
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node === "string" && (node === CERTS_DIR_IN_CONTAINER || node.startsWith(`${CERTS_DIR_IN_CONTAINER}/`))) {
      found++;
      return certsDir + node.slice(CERTS_DIR_IN_CONTAINER.length);
    }
    if (typeof node !== "object" || node === null) return node;
    const record = node as Record<string, unknown>;
    const source = record.path_config_source as { path?: unknown; watched_directory?: unknown } | undefined;
    if (source && typeof source.path === "string" && source.path.startsWith(`${CERTS_DIR_IN_CONTAINER}/`)) {
      found++;
      record.path_config_source = { ...source, path: join(sdsDir, source.path.slice(CERTS_DIR_IN_CONTAINER.length + 1)), watched_directory: { path: sdsDir } };
      return record;
    }
    for (const [key, value] of Object.entries(record)) record[key] = visit(value);
    return record;
  };
  visit(bootstrap);
  if (found === 0) throw new Error(`certsDir given but the compiled sidecar names no certificates under ${CERTS_DIR_IN_CONTAINER} (policy without spec.security?)`);
}

/** Stops every sidecar this process started and has not stopped yet. */
export async function stopAllSidecars(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
