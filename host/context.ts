/**
 * Host-side contexts: what a host call acts on. Mirrors proxy-wasm-cpp-host's
 * ContextBase and Envoy's Context: the VM context (id 0, used for _initialize
 * and allocations), root contexts (one per configured plugin) and stream
 * contexts (host/http-stream.ts). The defaults here are the answers Envoy gives when
 * a context has no HTTP stream behind it.
 */
import {
  BufferType,
  StreamType,
  WasmResult,
  type WasmResultCode,
} from "./abi.js";
import type { HeaderMap } from "./header-map.js";
import type { HeaderPairs } from "./pairs.js";
import { resolveProperty, type PropertyContext, type StreamInfo } from "./properties.js";

/**
 * What contexts (and HTTP streams) use of the VM they run on. host/vm.ts's Vm
 * is the one implementation; the interface keeps this file, and the streams
 * built on it, below vm.ts (the VM creates contexts, so it imports them).
 */
export interface ContextVm {
  readonly vmId: string;
  readonly vmConfig: Uint8Array;
  /** Properties every context of the VM can read. */
  readonly properties: ReadonlyMap<string, Uint8Array>;
  /** The VM trapped or failed to start or configure. */
  readonly failed: boolean;
  /** Live contexts by id. */
  readonly contexts: Map<number, ContextBase>;
  /** Work Envoy defers until the outer VM call returns. */
  readonly afterCall: (() => void)[];
  /** proxy_send_local_response forced the running callback to stop iteration. */
  readonly stopIteration: boolean;
  /** The process's virtual clock. */
  readonly envoy: { nowMs(): number };
  exports(name: string): boolean;
  invoke(ctx: ContextBase, name: string, a0?: number, a1?: number, a2?: number, a3?: number, a4?: number): number | undefined;
  finishCall(): void;
  allocContextId(): number;
  /** Fires proxy_on_tick on a root context of this VM. */
  tick(root: RootContext): void;
}

/** A buffer a host call can read (and for bodies, write). */
export interface HostBuffer {
  bytes(): Uint8Array;
  /** proxy_set_buffer_bytes. */
  copyFrom(start: number, length: number, data: Uint8Array): WasmResultCode;
}

/** A read-only string buffer (configuration): writes are refused as in BufferBase. */
function constBuffer(bytes: Uint8Array): HostBuffer {
  return { bytes: () => bytes, copyFrom: () => WasmResult.BadArgument };
}

export const EMPTY_BUFFER: HostBuffer = constBuffer(new Uint8Array(0));

export abstract class ContextBase implements PropertyContext {
  abstract readonly id: number;
  /** 0 for root contexts (and the VM context). */
  abstract readonly parentId: number;
  abstract readonly vm: ContextVm;

  /** The root context this context belongs to (a root context is its own root). */
  abstract rootContext(): RootContext | null;

  /** Map for reads (get value, get pairs); null when not available now. */
  constMap(_type: number): HeaderMap | null {
    return null;
  }

  /** Map for writes and size; null when not available now. */
  mutableMap(_type: number): HeaderMap | null {
    return null;
  }

  /** proxy_get_header_map_value on a missing map: BadArgument, NotFound in the log phase. */
  missingMapResult(): WasmResultCode {
    return WasmResult.BadArgument;
  }

  /** Called after a successful header mutation. */
  headersModified(_type: number): void {}

  getBuffer(type: number): HostBuffer | null {
    switch (type) {
      case BufferType.VmConfiguration:
        return constBuffer(this.vm.vmConfig);
      case BufferType.PluginConfiguration:
        return null;
      case BufferType.HttpCallResponseBody:
        return null;
      default:
        // Envoy hands out an empty buffer when it holds no data of that kind.
        return EMPTY_BUFFER;
    }
  }

  lookupProperty(path: string): Uint8Array | WasmResultCode {
    return resolveProperty(path, this);
  }

  /** Without a stream there is no filter state to write into. */
  storeProperty(_path: string, _value: Uint8Array): WasmResultCode {
    return WasmResult.NotFound;
  }

  continueStream(type: number): WasmResultCode {
    if (type === StreamType.Upstream) return WasmResult.Unimplemented;
    return WasmResult.Ok;
  }

  closeStream(_type: number): WasmResultCode {
    return WasmResult.Ok;
  }

  sendLocalResponse(_status: number, _details: string, _body: Uint8Array, _headers: HeaderPairs, _grpcStatus: number): void {}

  clearRouteCache(): void {}

  // PropertyContext
  driverProperty(key: string): Uint8Array | undefined {
    return this.vm.properties.get(key);
  }
  pluginName(): string | undefined {
    return this.rootContext()?.plugin.name;
  }
  rootId(): string {
    return this.rootContext()?.plugin.rootId ?? "";
  }
  vmId(): string {
    return this.vm.vmId;
  }
  streamInfo(): StreamInfo | null {
    return null;
  }
  celRequestHeaders(): HeaderMap | null {
    return null;
  }
  celResponseHeaders(): HeaderMap | null {
    return null;
  }
  celResponseTrailers(): HeaderMap | null {
    return null;
  }
  filterState(_name: string): Uint8Array | undefined {
    return undefined;
  }
}

/** Context 0: runs _initialize and the allocator. */
export class VmContext extends ContextBase {
  readonly id = 0;
  readonly parentId = 0;
  constructor(readonly vm: ContextVm) {
    super();
  }
  rootContext(): RootContext | null {
    return null;
  }
}

export interface PluginOptions {
  /** root_id of the plugin (Envoy config `root_id`). */
  rootId: string;
  /** Plugin name (Envoy config `name`), property plugin_name. */
  name: string;
  /** Envoy's fail_open: a failed VM lets requests through (true) or answers 503 (false). */
  failOpen: boolean;
}

export class RootContext extends ContextBase {
  readonly parentId = 0;
  /** proxy_on_context_create has run for this root. */
  inVmContextCreated = false;
  configured = false;
  pluginConfig: Uint8Array = new Uint8Array(0);
  /** Set while on_context_create / on_configure run: the plugin configuration buffer is readable then. */
  configuring = false;

  constructor(
    readonly vm: ContextVm,
    readonly id: number,
    public plugin: PluginOptions,
  ) {
    super();
  }

  rootContext(): RootContext {
    return this;
  }

  override pluginName(): string {
    return this.plugin.name;
  }

  override rootId(): string {
    return this.plugin.rootId;
  }

  override getBuffer(type: number): HostBuffer | null {
    if (type === BufferType.PluginConfiguration) return this.configuring ? constBuffer(this.pluginConfig) : null;
    return super.getBuffer(type);
  }
}
