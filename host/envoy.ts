/**
 * One Envoy process: the virtual clock, the stats store, shared data and
 * queues, the log, and the worker VMs created from compiled modules.
 */
import { LOG_LEVELS, type LogLevelName } from "./abi.js";
import { compileModule, type CompiledModule } from "./compile.js";
import type { RootContext } from "./context.js";
import type { LogEntry } from "./log.js";
import { Prng } from "./prng.js";
import { msToNs } from "./time.js";
import { SharedData } from "./shared-data.js";
import { SharedQueues } from "./shared-queues.js";
import { StatsStore } from "./stats.js";
import { TickScheduler } from "./ticks.js";
import { buildImports } from "./imports/index.js";
import { Vm, type VmHost, type VmOptions } from "./vm.js";

export interface EnvoyOptions {
  /** Wall-clock time at virtual time 0, in ms since the epoch (proxy_get_current_time_nanoseconds). Default 0. */
  startTimeMs?: number;
  /** Envoy's log level for the wasm logger: messages below it are dropped; proxy_get_log_level reports it. Default "info". */
  logLevel?: LogLevelName;
  /** Seed of the PRNG behind WASI random_get. Default 1. */
  seed?: number;
  /**
   * The shared-data store (default: a new in-process SharedData). A subclass
   * can keep the data elsewhere, e.g. in a SharedArrayBuffer that Envoys in
   * several threads share, so that their workers contend for real.
   */
  sharedData?: SharedData;
  /** Keep every value recorded into a histogram (stats.histogram(name)); default true. Bucket counts, count and sum are always kept. */
  keepHistogramValues?: boolean;
}

export class Envoy implements VmHost {
  /** Compiles a module as Envoy loads one; throws ImportError / ModuleError for what Envoy refuses. */
  static compile(bytes: Uint8Array | ArrayBuffer): Promise<CompiledModule> {
    return compileModule(bytes);
  }

  readonly stats: StatsStore;
  readonly sharedData: SharedData;
  /** @internal */
  readonly sharedQueues = new SharedQueues();
  readonly logs: LogEntry[] = [];
  /** Host function calls made by all VMs (for benchmarks). */
  hostCalls = 0;
  /**
   * When set (a test sets it), every host call counted by name ("env.proxy_get_property"),
   * and every property read also by its dotted path ("property response.code").
   */
  hostCallCounts: Map<string, number> | null = null;
  readonly vms: Vm[] = [];
  logLevel: LogLevelName;
  /** @internal */
  readonly random: Prng;

  private readonly startTimeMs: number;
  private readonly startNs: bigint;
  private elapsedMs = 0;
  private nowNsAtMs = -1;
  private nowNsValue = 0n;
  private readonly ticks = new TickScheduler();

  constructor(options: EnvoyOptions = {}) {
    this.startTimeMs = options.startTimeMs ?? 0;
    this.startNs = msToNs(this.startTimeMs);
    this.logLevel = options.logLevel ?? "info";
    this.random = new Prng(options.seed ?? 1);
    this.sharedData = options.sharedData ?? new SharedData(() => this.vms[0]?.vmId ?? "");
    this.stats = new StatsStore(options.keepHistogramValues ?? true);
  }

  /** A new worker VM running `module` (instantiated, _initialize run). */
  createVm(module: CompiledModule, options: VmOptions = {}): Vm {
    const vm = new Vm(this, this.vms.length, module, options, buildImports);
    this.vms.push(vm);
    return vm;
  }

  /** Virtual wall-clock time in ms since the epoch. */
  nowMs(): number {
    return this.startTimeMs + this.elapsedMs;
  }

  /** @internal Wall clock in ns (proxy_get_current_time_nanoseconds, WASI realtime). */
  nowNs(): bigint {
    // Time only moves in advance(): compute the BigInt once per instant, not per host call.
    if (this.nowNsAtMs !== this.elapsedMs) {
      this.nowNsAtMs = this.elapsedMs;
      this.nowNsValue = this.startNs + msToNs(this.elapsedMs);
    }
    return this.nowNsValue;
  }

  /** @internal Monotonic clock in ns: time since this Envoy started. */
  monotonicNs(): bigint {
    return msToNs(this.elapsedMs);
  }

  /**
   * Moves virtual time forward by `ms`, firing every due tick (all VMs, all
   * root contexts) in time order; ties fire in the order their timers were armed.
   */
  advance(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) throw new RangeError(`advance(${ms}): need a finite ms >= 0`);
    const target = this.elapsedMs + ms;
    for (;;) {
      const timer = this.ticks.nextDue(target);
      if (!timer) break;
      this.elapsedMs = Math.max(this.elapsedMs, timer.dueMs);
      const root = timer.owner as RootContext;
      root.vm.tick(root);
      this.ticks.rearm(root, this.elapsedMs);
    }
    this.elapsedMs = target;
  }

  /** @internal proxy_set_tick_period_milliseconds on a root context (0 stops its ticks). */
  setTickPeriod(root: RootContext, periodMs: number): void {
    this.ticks.set(root, periodMs, this.elapsedMs);
  }

  /**
   * Milliseconds from now until the next tick of any root context is due
   * (0 when one is due now); undefined when no tick is armed. With
   * advanceToNextTick, a driver with its own event clock can stop at every tick.
   */
  nextTickInMs(): number | undefined {
    const timer = this.ticks.nextDue(Infinity);
    return timer === undefined ? undefined : Math.max(0, timer.dueMs - this.elapsedMs);
  }

  /**
   * Moves virtual time exactly to the next armed tick and fires it (and every
   * other tick due at that instant, in arming order). Returns false when no
   * tick is armed. Exact, unlike advance(nextTickInMs()), whose sum may round
   * below the due time.
   */
  advanceToNextTick(): boolean {
    const timer = this.ticks.nextDue(Infinity);
    if (!timer) return false;
    if (timer.dueMs > this.elapsedMs) this.elapsedMs = timer.dueMs;
    this.advance(0);
    return true;
  }

  /** The tick period set by a root context, if any. */
  tickPeriod(root: RootContext): number | undefined {
    return this.ticks.periodOf(root);
  }

  /** @internal Appends to `logs` if `level` passes the log level. */
  emitLog(vm: number, level: LogLevelName, message: string): void {
    if (LOG_LEVELS.indexOf(level) < LOG_LEVELS.indexOf(this.logLevel)) return;
    this.logs.push({ vm, level, message });
  }
}
