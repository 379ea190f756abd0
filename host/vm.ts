/**
 * One worker's Wasm VM: an instance of the module plus its contexts, like
 * proxy-wasm-cpp-host's WasmBase with Envoy's Wasm. Every call into the module
 * goes through `invoke`, which sets the current context (and clears the
 * effective one) for the host calls it makes, and turns a trap into a failed VM
 * instead of an exception.
 */
import { METRIC_ID_INCREMENT, MetricType, type LogLevelName } from "./abi.js";
import type { CompiledModule } from "./compile.js";
import { ContextBase, RootContext, VmContext, type ContextVm } from "./context.js";
import { WasmMemory } from "./memory.js";
import type { Prng } from "./prng.js";
import { encodeProperties, type PropertyValues } from "./properties.js";
import type { SharedData } from "./shared-data.js";
import type { SharedQueues } from "./shared-queues.js";
import type { Stat } from "./stat.js";
import type { StatsStore } from "./stats.js";
import { Stream, type StreamOptions } from "./http-stream.js";
import { toBytes, utf8Length } from "./utf8.js";

/**
 * What a VM and its host functions use of the Envoy process it runs in:
 * host/envoy.ts's Envoy is the one implementation (it creates VMs, so it
 * imports this file, not the other way round).
 */
export interface VmHost {
  /** Host function calls made by all VMs. */
  hostCalls: number;
  /** Host calls by name and property reads by path, when a test asks for them (host/envoy.ts). */
  hostCallCounts: Map<string, number> | null;
  readonly logLevel: LogLevelName;
  /** Appends to the log if `level` passes the log level. */
  emitLog(vm: number, level: LogLevelName, message: string): void;
  nowMs(): number;
  nowNs(): bigint;
  monotonicNs(): bigint;
  readonly random: Prng;
  readonly sharedData: SharedData;
  readonly sharedQueues: SharedQueues;
  readonly stats: StatsStore;
  setTickPeriod(root: RootContext, periodMs: number): void;
}

/** Builds the import object (every host function) a VM is instantiated with: host/imports/index.ts. */
export type ImportsFactory = (vm: Vm) => WebAssembly.Imports;

export interface VmOptions {
  /** Envoy's vm_config.vm_id: VMs with the same id share shared data. Default "". */
  vmId?: string;
  /** Envoy's vm_config.configuration (bytes the module reads as VmConfiguration). */
  vmConfig?: string | Uint8Array;
  /** Properties every context of this VM can read (e.g. "node.id"); streams can override. */
  properties?: PropertyValues;
  /** Default of ConfigureOptions.failOpen for this VM. Default true. */
  failOpen?: boolean;
}

export interface ConfigureOptions {
  /** Envoy config root_id. Default "". */
  rootId?: string;
  /** Envoy config name (property plugin_name). Default: rootId. */
  name?: string;
  /** Envoy config fail_open. Default: VmOptions.failOpen, else true. */
  failOpen?: boolean;
}

/** Where a failed VM stands (proxy-wasm-cpp-host FailState). */
export type FailState = "UnableToInitializeCode" | "StartFailed" | "ConfigureFailed" | "RuntimeError";

/** The module functions the host calls. */
type ModuleFn = (...args: number[]) => number | undefined;

/** Host functions callable while Envoy starts the VM (WasmBase::startVm). */
const STARTUP_ALLOWED = new Set<string>([
  "env.emscripten_notify_memory_growth",
  "env.proxy_log",
  ...[
    "fd_write", "args_sizes_get", "args_get", "environ_sizes_get", "environ_get", "clock_time_get",
    "clock_res_get", "random_get", "poll_oneoff", "fd_fdstat_get", "fd_fdstat_set_flags", "fd_advise",
    "fd_allocate", "fd_datasync", "fd_fdstat_set_rights", "fd_filestat_get", "fd_filestat_set_size",
    "fd_filestat_set_times", "fd_pread", "fd_prestat_dir_name", "fd_prestat_get", "fd_pwrite", "fd_readdir",
    "fd_renumber", "fd_sync", "fd_tell", "path_create_directory", "path_filestat_get",
    "path_filestat_set_times", "path_link", "path_readlink", "path_remove_directory", "path_rename",
    "path_symlink", "path_unlink_file", "sock_accept", "sock_recv", "sock_send", "sock_shutdown",
  ].flatMap((f) => [`wasi_unstable.${f}`, `wasi_snapshot_preview1.${f}`]),
]);

/** Host functions callable from inside the allocator (WasmBase::allocMemory). */
const ALLOC_ALLOWED = new Set<string>([
  "env.proxy_log",
  ...["fd_write", "clock_time_get", "poll_oneoff"].flatMap((f) => [`wasi_unstable.${f}`, `wasi_snapshot_preview1.${f}`]),
]);

/** Thrown by a host function called where Envoy forbids it; it becomes a trap. */
class RestrictedCallbackError extends Error {
  constructor(name: string) {
    super(`restricted_callback (${name})`);
    this.name = "RestrictedCallbackError";
  }
}

export class Vm implements ContextVm {
  readonly vmId: string;
  readonly vmConfig: Uint8Array;
  readonly properties = new Map<string, Uint8Array>();
  readonly mem = new WasmMemory();
  readonly abiVersion: CompiledModule["abiVersion"];

  /** True once the VM trapped or failed to start/configure; later calls into it are skipped. */
  failed = false;
  failState: FailState | undefined;
  /** The error of the trap that failed the VM. */
  trap: unknown;

  /** @internal Contexts by id (0: the VM context). */
  readonly contexts = new Map<number, ContextBase>();
  /** @internal */
  readonly vmContext: VmContext;
  /** @internal The context of the running call, and the id set by proxy_set_effective_context. */
  current: ContextBase;
  effectiveId = 0;
  /** @internal Non-null while only some host functions may be called. */
  restricted: ReadonlySet<string> | null = null;
  /** @internal proxy_send_local_response forces the running callback to stop iteration. */
  stopIteration = false;
  /** @internal Work Envoy defers until the outer VM call returns (local replies). */
  readonly afterCall: (() => void)[] = [];
  /** @internal Metric ids handed to the module → the process-wide stat. */
  readonly metrics = new Map<number, Stat>();

  private readonly roots = new Map<string, RootContext>();
  private readonly defaultFailOpen: boolean;
  private defaultRoot: RootContext | null = null;
  private nextContextId = 1;
  private readonly nextMetricId: number[] = [MetricType.Counter, MetricType.Gauge, MetricType.Histogram];
  private readonly fns: Record<string, ModuleFn | undefined>;
  /** The allocator Envoy uses: malloc if exported, else proxy_on_memory_allocate. */
  private readonly allocName: string;
  private readonly allocFn: ModuleFn | undefined;

  /** @internal Use Envoy.createVm. */
  constructor(
    readonly envoy: VmHost,
    readonly index: number,
    compiled: CompiledModule,
    options: VmOptions,
    buildImports: ImportsFactory,
  ) {
    this.vmId = options.vmId ?? "";
    this.vmConfig = toBytes(options.vmConfig ?? "");
    this.abiVersion = compiled.abiVersion;
    this.defaultFailOpen = options.failOpen ?? true;
    encodeProperties(options.properties, this.properties);
    this.vmContext = new VmContext(this);
    this.contexts.set(0, this.vmContext);
    this.current = this.vmContext;

    const instance = new WebAssembly.Instance(compiled.module, buildImports(this));
    const exports = instance.exports as Record<string, unknown>;
    this.mem.attach(exports.memory as WebAssembly.Memory);
    this.fns = {};
    for (const name of compiled.functions) this.fns[name] = exports[name] as ModuleFn;
    this.allocName = this.fns.malloc ? "malloc" : "proxy_on_memory_allocate";
    this.allocFn = this.fns[this.allocName];
    this.start();
  }

  /** WasmBase::startVm: _initialize (then main/__main_void), else _start, with restricted host calls. */
  private start(): void {
    this.restricted = STARTUP_ALLOWED;
    try {
      if (this.fns._initialize) {
        this.invoke(this.vmContext, "_initialize");
        if (this.fns.main) this.invoke(this.vmContext, "main", 0, 0);
        else if (this.fns.__main_void) this.invoke(this.vmContext, "__main_void");
      } else if (this.fns._start) {
        this.invoke(this.vmContext, "_start");
      }
    } finally {
      this.restricted = null;
    }
    if (this.failed) this.failState = "UnableToInitializeCode";
  }

  /** Whether the module exports a function. */
  exports(name: string): boolean {
    return this.fns[name] !== undefined;
  }

  /**
   * Calls a module function with `ctx` as the current context. Returns its
   * result, or undefined when the VM has failed, the function is missing, or
   * it trapped (the VM is then failed).
   */
  invoke(ctx: ContextBase, name: string, a0?: number, a1?: number, a2?: number, a3?: number, a4?: number): number | undefined {
    if (this.failed) return undefined;
    const fn = this.fns[name];
    if (!fn) return undefined;
    const savedCurrent = this.current;
    const savedEffective = this.effectiveId;
    this.current = ctx;
    this.effectiveId = 0;
    try {
      // Fixed arity (no spread): callbacks take at most five arguments; a missing one reaches Wasm as 0.
      return fn(a0!, a1!, a2!, a3!, a4!);
    } catch (e) {
      this.fail("RuntimeError", `Function: ${name} failed: ${trapMessage(e)}`, e);
      return undefined;
    } finally {
      this.current = savedCurrent;
      this.effectiveId = savedEffective;
    }
  }

  /** Envoy's DeferAfterCallActions: runs when a host-initiated callback returns. */
  finishCall(): void {
    this.stopIteration = false;
    while (this.afterCall.length > 0) this.afterCall.shift()!();
  }

  /** @internal Marks the VM failed and logs like Envoy ("Wasm VM failed"-style error line). */
  fail(state: FailState, message: string, error?: unknown): void {
    if (!this.failed) {
      this.failed = true;
      this.failState = state;
      this.trap = error ?? new Error(message);
    }
    this.envoy.emitLog(this.index, "error", message);
  }

  /** @internal The context host calls act on (proxy_set_effective_context, else the current one). */
  ctx(): ContextBase {
    if (this.effectiveId === 0) return this.current;
    return this.contexts.get(this.effectiveId) ?? this.current;
  }

  /** @internal Every host function starts here: counts the call, and traps when `name` may not be called now. */
  enterHostCall(name: string): void {
    this.envoy.hostCalls++;
    const counts = this.envoy.hostCallCounts;
    if (counts !== null) counts.set(name, (counts.get(name) ?? 0) + 1);
    if (this.restricted !== null) this.checkRestricted(name);
  }

  /** @internal Throws (→ trap) when `name` may not be called now. */
  checkRestricted(name: string): void {
    if (this.restricted !== null && !this.restricted.has(name)) throw new RestrictedCallbackError(name);
  }

  /**
   * @internal WasmBase::allocMemory: the module's allocator, 0 on failure.
   * Called for every buffer a host call returns, so it skips invoke()'s
   * lookups: same context switch (the VM context), same trap handling.
   */
  alloc(size: number): number {
    if (this.failed) return 0;
    const fn = this.allocFn;
    if (!fn) return 0;
    const savedRestricted = this.restricted;
    const savedCurrent = this.current;
    const savedEffective = this.effectiveId;
    this.restricted = ALLOC_ALLOWED;
    this.current = this.vmContext;
    this.effectiveId = 0;
    try {
      const ptr = fn(size);
      return ptr === undefined ? 0 : ptr >>> 0;
    } catch (e) {
      this.fail("RuntimeError", `Function: ${this.allocName} failed: ${trapMessage(e)}`, e);
      return 0;
    } finally {
      this.restricted = savedRestricted;
      this.current = savedCurrent;
      this.effectiveId = savedEffective;
    }
  }

  /** @internal copyToPointerSize: allocate, copy, write pointer and size. False → InvalidMemoryAccess. */
  copyOut(data: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let ptr = 0;
    const size = data.byteLength;
    if (size > 0) {
      ptr = this.alloc(size);
      if (ptr === 0 || !this.mem.write(ptr, data)) return false;
    }
    return this.mem.writeU32(ptrPtr, ptr) && this.mem.writeU32(sizePtr, size);
  }

  /** @internal copyOut for a string, encoded straight into module memory. */
  copyOutString(s: string, ptrPtr: number, sizePtr: number): boolean {
    let ptr = 0;
    const size = utf8Length(s);
    if (size > 0) {
      ptr = this.alloc(size);
      if (ptr === 0 || !this.mem.writeString(ptr, s, size)) return false;
    }
    return this.mem.writeU32(ptrPtr, ptr) && this.mem.writeU32(sizePtr, size);
  }

  /** @internal A new metric id of the given type (Envoy numbers each type separately). */
  nextMetric(type: number): number {
    const id = (this.nextMetricId[type]! + METRIC_ID_INCREMENT) >>> 0;
    this.nextMetricId[type] = id;
    return id;
  }

  /** @internal */
  allocContextId(): number {
    while (this.contexts.has(this.nextContextId)) this.nextContextId++;
    return this.nextContextId++;
  }

  /** @internal Logs at `level` if the Envoy log level lets it through. */
  log(level: LogLevelName, message: string): void {
    this.envoy.emitLog(this.index, level, message);
  }

  /** The log level proxy_get_log_level reports. */
  get logLevel(): LogLevelName {
    return this.envoy.logLevel;
  }

  /**
   * Starts (first time per root id) and configures a plugin on this VM:
   * proxy_on_context_create(root, 0), proxy_on_vm_start, then proxy_on_configure.
   * Returns false when the VM fails or the module answers false; the VM is
   * then failed (Envoy would reject the configuration).
   */
  configure(pluginConfig: string | Uint8Array | object = "", options: ConfigureOptions = {}): boolean {
    if (this.failed) return false;
    const rootId = options.rootId ?? "";
    const plugin = { rootId, name: options.name ?? rootId, failOpen: options.failOpen ?? this.defaultFailOpen };
    const config =
      typeof pluginConfig === "string" || pluginConfig instanceof Uint8Array
        ? toBytes(pluginConfig)
        : toBytes(JSON.stringify(pluginConfig));
    let root = this.roots.get(rootId);
    const first = root === undefined;
    if (!root) {
      root = new RootContext(this, this.allocContextId(), plugin);
      this.contexts.set(root.id, root);
      this.roots.set(rootId, root);
    }
    root.plugin = plugin;
    root.pluginConfig = config;
    this.defaultRoot = root;

    if (first) {
      root.configuring = true;
      this.invoke(root, "proxy_on_context_create", root.id, 0);
      root.configuring = false;
      root.inVmContextCreated = true;
      const started = this.exports("proxy_on_vm_start")
        ? this.invoke(root, "proxy_on_vm_start", root.id, this.vmConfig.byteLength)
        : 1;
      this.finishCall();
      if (this.failed) return false;
      if (started === 0) {
        this.fail("StartFailed", "Failed to start thread-local Wasm");
        return false;
      }
    }

    root.configuring = true;
    const configured = this.exports("proxy_on_configure")
      ? this.invoke(root, "proxy_on_configure", root.id, config.byteLength)
      : 1;
    root.configuring = false;
    this.finishCall();
    if (this.failed) return false;
    if (configured === 0) {
      this.fail("ConfigureFailed", "Failed to configure thread-local Wasm plugin");
      return false;
    }
    root.configured = true;
    return true;
  }

  /** A new HTTP stream through this VM's plugin (the last configured root, or options.rootId). */
  createStream(options: StreamOptions & { rootId?: string } = {}): Stream {
    const root = options.rootId !== undefined ? this.roots.get(options.rootId) : this.defaultRoot;
    if (!root) throw new Error("createStream: configure the VM (with this rootId) first");
    return new Stream(this, root, options);
  }

  /**
   * Removes root `rootId` as Envoy removes a plugin once its listener was
   * replaced or removed and drained (proxy-wasm-cpp-host startShutdown for the
   * plugin's key): its tick stops, then proxy_on_done and, when that answers
   * true, proxy_on_delete; the VM and its other roots stay. Streams still open
   * on it go on. False when the VM has no such root.
   */
  deleteRoot(rootId = ""): boolean {
    const root = this.roots.get(rootId);
    if (!root) return false;
    this.envoy.setTickPeriod(root, 0);
    this.roots.delete(rootId);
    if (this.defaultRoot === root) this.defaultRoot = null;
    if (!this.failed) {
      const done = this.exports("proxy_on_done") ? this.invoke(root, "proxy_on_done", root.id) : 1;
      this.finishCall();
      if (!this.failed && done !== 0 && this.exports("proxy_on_delete")) {
        this.invoke(root, "proxy_on_delete", root.id);
        this.finishCall();
      }
    }
    this.contexts.delete(root.id);
    return true;
  }

  /** Root context by root id, for tests. */
  root(rootId = ""): RootContext | undefined {
    return this.roots.get(rootId);
  }

  /** @internal Fires proxy_on_tick on a root context (Envoy's tickHandler). */
  tick(root: RootContext): void {
    if (this.failed || !this.exports("proxy_on_tick")) return;
    this.invoke(root, "proxy_on_tick", root.id);
    this.finishCall();
  }

  /** Stream contexts alive on this VM. */
  get activeStreams(): number {
    let n = 0;
    for (const c of this.contexts.values()) if (c instanceof Stream) n++;
    return n;
  }
}

/** The trap as Envoy's V8 reports it ("Uncaught RuntimeError: unreachable"); host-side errors as they are. */
function trapMessage(e: unknown): string {
  if (e instanceof WebAssembly.RuntimeError) return `Uncaught RuntimeError: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
