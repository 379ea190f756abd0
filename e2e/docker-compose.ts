/**
 * Runtime: the pinned official Envoy image under `docker compose`.
 *
 * Compiled configs run unchanged: the filter is mounted at the path they name
 * (`/etc/lightsub/lightsub.wasm`). The containers use the host's network, so
 * the sidecar reaches the Node upstream servers on 127.0.0.1 and its admin
 * and listener ports are the ones in the config — the same topology as the
 * local-process runtime. (The compiled docker-compose.yaml is not used to
 * bring the mesh up: it runs every service's sidecar next to its app
 * container, and the check's apps are Node servers on the host.)
 * Host networking needs a Linux Docker engine.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { firstLine, type Exec } from "./exec.js";
import { ENVOY_CONCURRENCY } from "./envoy-binary.js";
import type { Runtime, SidecarConfig, ValidateResult } from "./runtime.js";

/** Where the compiled configs expect the filter (compiler/model/mesh.ts SIDECAR_DEFAULTS.wasmPath). */
export const CONTAINER_WASM_PATH = "/etc/lightsub/lightsub.wasm";
const CONTAINER_CONFIG_PATH = "/etc/envoy/envoy.yaml";

export class DockerComposeRuntime implements Runtime {
  readonly description: string;
  readonly project: string;
  readonly composeFile: string;
  private started = false;

  constructor(
    private readonly docker: string,
    engine: string,
    /** The pinned official image (compiler/model/mesh.ts SIDECAR_DEFAULTS.image). */
    private readonly image: string,
    /** Where the generated compose file goes; created if missing. */
    workDir: string,
    private readonly exec: Exec,
    projectSuffix: string = String(process.pid),
  ) {
    this.description = `docker compose, image ${image} (engine ${engine})`;
    this.project = `lightsub-e2e-${projectSuffix}`;
    mkdirSync(workDir, { recursive: true });
    this.composeFile = join(workDir, "e2e-compose.yaml");
  }

  private mounts(config: SidecarConfig): string[] {
    return [`${resolve(config.file)}:${CONTAINER_CONFIG_PATH}:ro`, `${resolve(config.wasmFile)}:${CONTAINER_WASM_PATH}:ro`];
  }

  async validate(config: SidecarConfig): Promise<ValidateResult> {
    const volumes = this.mounts(config).flatMap((m) => ["-v", m]);
    // The image's entrypoint runs envoy when the first argument starts with "-".
    const args = ["run", "--rm", ...volumes, this.image, "--mode", "validate", "-c", CONTAINER_CONFIG_PATH];
    const result = await this.exec(this.docker, args, { timeoutMs: 300_000 });
    return { ok: result.code === 0, output: (result.stdout + result.stderr).trim() };
  }

  /** The compose file that runs `configs`: one host-network service per sidecar. */
  composeDocument(configs: readonly SidecarConfig[]): Record<string, unknown> {
    const services: Record<string, unknown> = {};
    for (const config of configs) {
      services[config.service] = {
        image: this.image,
        network_mode: "host",
        volumes: this.mounts(config),
        command: ["-c", CONTAINER_CONFIG_PATH, "--concurrency", String(ENVOY_CONCURRENCY), "--disable-hot-restart"],
      };
    }
    return { name: this.project, services };
  }

  private compose(...args: string[]): string[] {
    return ["compose", "-p", this.project, "-f", this.composeFile, ...args];
  }

  async up(configs: readonly SidecarConfig[]): Promise<void> {
    writeFileSync(this.composeFile, stringify(this.composeDocument(configs)));
    this.started = true; // even a failed `up` may have created containers: down() must run
    const result = await this.exec(this.docker, this.compose("up", "--detach", "--quiet-pull"), { timeoutMs: 300_000 });
    if (result.code !== 0) throw new Error(`docker compose up failed: ${firstLine(result)}\n${result.stderr}`);
  }

  failure(): string | undefined {
    return undefined; // a container that stops shows as an admin port that never answers
  }

  async down(): Promise<void> {
    if (!this.started) return;
    const result = await this.exec(this.docker, this.compose("down", "--remove-orphans", "--timeout", "5"), { timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`docker compose down failed: ${firstLine(result)}`);
    this.started = false;
  }

  async logs(): Promise<string> {
    if (!this.started) return "";
    const result = await this.exec(this.docker, this.compose("logs", "--no-color", "--no-log-prefix"), { timeoutMs: 60_000 });
    return result.stdout + result.stderr;
  }
}
