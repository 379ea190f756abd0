/**
 * Runtime: local `envoy` processes on this host's loopback. Each config is
 * first rewritten to read the filter from the compiled output (local-config.ts,
 * the only change), then run with `--disable-hot-restart` so several Envoys
 * (and any other on the machine) never share hot-restart memory.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Exec } from "./exec.js";
import { writeLocalConfig } from "./local-config.js";
import type { Runtime, SidecarConfig, ValidateResult } from "./runtime.js";

/** Worker threads per Envoy: more than one, so the filter's cross-worker shared state is exercised. */
export const ENVOY_CONCURRENCY = 2;
const STOP_GRACE_MS = 5_000;

interface Running {
  service: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<void>;
  exit?: string;
}

export class EnvoyBinaryRuntime implements Runtime {
  readonly description: string;
  private readonly running: Running[] = [];
  private counter = 0;

  constructor(
    private readonly envoy: string,
    version: string,
    /** Where rewritten configs and logs go; created if missing. */
    private readonly workDir: string,
    private readonly exec: Exec,
  ) {
    this.description = `local envoy process (${envoy}: ${version})`;
    mkdirSync(workDir, { recursive: true });
  }

  /** A sidecar that calls no service has no Wasm filter: its copy is then unchanged. */
  private localConfig(config: SidecarConfig): string {
    const file = join(this.workDir, `${config.service}-${++this.counter}.envoy.yaml`);
    writeLocalConfig(config.file, config.wasmFile, file);
    return file;
  }

  async validate(config: SidecarConfig): Promise<ValidateResult> {
    const file = this.localConfig(config);
    const result = await this.exec(this.envoy, ["--mode", "validate", "-c", file], { timeoutMs: 120_000 });
    return { ok: result.code === 0, output: (result.stdout + result.stderr).trim() };
  }

  async up(configs: readonly SidecarConfig[]): Promise<void> {
    for (const config of configs) {
      const file = this.localConfig(config);
      const logFile = join(this.workDir, `${config.service}.log`);
      const fd = openSync(logFile, "a");
      const args = ["-c", file, "--concurrency", String(ENVOY_CONCURRENCY), "--disable-hot-restart"];
      const child = spawn(this.envoy, args, { stdio: ["ignore", fd, fd] });
      closeSync(fd); // the child holds its own copy
      const entry: Running = { service: config.service, child, logFile, exited: Promise.resolve() };
      entry.exited = new Promise((resolve) => {
        child.once("exit", (code, signal) => {
          entry.exit = `envoy of "${config.service}" exited (${signal ?? `code ${code}`})`;
          resolve();
        });
        child.once("error", (error) => {
          entry.exit = `envoy of "${config.service}" did not start: ${error.message}`;
          resolve();
        });
      });
      this.running.push(entry);
    }
  }

  failure(): string | undefined {
    return this.running.find((r) => r.exit !== undefined)?.exit;
  }

  async down(): Promise<void> {
    await Promise.all(
      this.running.map(async (r) => {
        if (r.exit !== undefined) return;
        r.child.kill("SIGTERM");
        const stopped = await Promise.race([r.exited.then(() => true), delay(STOP_GRACE_MS).then(() => false)]);
        if (!stopped) {
          r.child.kill("SIGKILL");
          await r.exited;
        }
      }),
    );
  }

  async logs(): Promise<string> {
    return this.running
      .map((r) => {
        let text = "";
        try {
          text = readFileSync(r.logFile, "utf8");
        } catch {
          text = "(no log written)\n";
        }
        return `==> ${r.service} (${r.logFile})\n${text}`;
      })
      .join("\n");
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
