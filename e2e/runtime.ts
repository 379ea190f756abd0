/**
 * How the e2e check runs Envoy. Two implementations: envoy-binary.ts (local
 * processes) and docker-compose.ts (the pinned official image). Everything
 * else in e2e/ talks to this interface only, so it runs under test with fakes.
 */

/** One compiled sidecar: `<out>/<service>/envoy.yaml` and the `<out>/lightsub.wasm` the compiler wrote next to it. */
export interface SidecarConfig {
  service: string;
  /** The compiled bootstrap, unchanged. */
  file: string;
  /** The filter the config's `vm_config.code.local.filename` (the container mount path) stands for. */
  wasmFile: string;
}

export interface ValidateResult {
  ok: boolean;
  /** Envoy's output, for the report when not ok. */
  output: string;
}

export interface Runtime {
  /** One line for the log: which Envoy and how it runs. */
  readonly description: string;
  /** `envoy --mode validate` on a compiled config. */
  validate(config: SidecarConfig): Promise<ValidateResult>;
  /** Starts one Envoy per config, on this host's loopback; returns when they were started (not yet ready). */
  up(configs: readonly SidecarConfig[]): Promise<void>;
  /** A reason when a started Envoy has already stopped, else undefined. */
  failure(): string | undefined;
  /** Stops and removes everything `up` started. Safe to call more than once, and before or without `up`. */
  down(): Promise<void>;
  /** Everything the started Envoys logged so far. */
  logs(): Promise<string>;
}
