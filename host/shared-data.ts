/**
 * Process-wide shared data, keyed per vm_id like proxy-wasm-cpp-host's
 * src/shared_data.cc: one CAS counter for the whole process starting at 1
 * (0 is never a valid CAS), set with cas 0 is unconditional, set with a cas
 * that differs from the stored one fails with CasMismatch.
 */
import { WasmResult, type WasmResultCode } from "./abi.js";

export interface SharedValue {
  value: Uint8Array;
  cas: number;
}

export class SharedData {
  private readonly byVm = new Map<string, Map<string, SharedValue>>();
  private nextCasValue = 1;
  /** The map of the vm_id used last: workers of one plugin all use the same id. */
  private lastVmId: string | undefined;
  private lastMap: Map<string, SharedValue> | undefined;

  constructor(private readonly defaultVmId: () => string) {}

  private nextCas(): number {
    const cas = this.nextCasValue;
    this.nextCasValue = (this.nextCasValue + 1) >>> 0;
    if (this.nextCasValue === 0) this.nextCasValue = 1;
    return cas;
  }

  private mapOf(vmId: string, create: boolean): Map<string, SharedValue> | undefined {
    if (vmId === this.lastVmId) return this.lastMap;
    let map = this.byVm.get(vmId);
    if (!map) {
      if (!create) return undefined;
      map = new Map();
      this.byVm.set(vmId, map);
    }
    this.lastVmId = vmId;
    this.lastMap = map;
    return map;
  }

  /**
   * Host side of proxy_get_shared_data. The entry is live: the caller copies
   * what it needs before the next write (a same-size write updates it in place).
   */
  read(vmId: string, key: string): SharedValue | undefined {
    return this.mapOf(vmId, false)?.get(key);
  }

  /** Host side of proxy_set_shared_data; `value` is copied. */
  write(vmId: string, key: string, value: Uint8Array, cas: number): WasmResultCode {
    const map = this.mapOf(vmId, true)!;
    const existing = map.get(key);
    if (existing) {
      if (cas !== 0 && cas !== existing.cas) return WasmResult.CasMismatch;
      // Fixed-size records are the common case: overwrite in place, no allocation.
      if (existing.value.byteLength === value.byteLength) existing.value.set(value);
      else existing.value = value.slice();
      existing.cas = this.nextCas();
      return WasmResult.Ok;
    }
    map.set(key, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  /** Keys stored under vmId (default: the vm_id of the first VM created on this Envoy). */
  keys(vmId: string = this.defaultVmId()): string[] {
    return [...(this.byVm.get(vmId)?.keys() ?? [])];
  }

  /** The stored value and its CAS (a copy), or undefined. */
  get(key: string, vmId: string = this.defaultVmId()): SharedValue | undefined {
    const v = this.byVm.get(vmId)?.get(key);
    return v ? { value: v.value.slice(), cas: v.cas } : undefined;
  }

  /** vm_ids that hold data. */
  vmIds(): string[] {
    return [...this.byVm.keys()];
  }
}
