/**
 * Shared data that Envoys in several threads share for real: the values live
 * in a SharedArrayBuffer, and every get and set takes one process-wide lock,
 * as proxy-wasm-cpp-host's SharedData does with its mutex. So worker VMs in
 * different threads race for the same records the way Envoy's workers do, and
 * their compare-and-swap updates fail (CasMismatch) when another thread wrote
 * in between. Counts CAS mismatches and contended lock acquisitions.
 *
 * The keys are fixed when the buffer is made (the benchmark knows its
 * endpoints); other keys and other vm_ids stay in this thread (the base class).
 */
import { WasmResult, type WasmResultCode } from "../host/abi.js";
import { SharedData, type SharedValue } from "../host/shared-data.js";

const LOCK = 0;
const NEXT_CAS = 1;
const CAS_MISMATCHES = 2;
const CONTENDED_LOCKS = 3;
const HEADER_WORDS = 4;
/** Per slot: cas, size (-1: no value), then the value's bytes. */
const SLOT_HEADER_WORDS = 2;
const SPINS = 64;

export interface AtomicLayout {
  buffer: SharedArrayBuffer;
  keys: readonly string[];
  vmId: string;
  maxValueBytes: number;
}

export function createAtomicLayout(keys: readonly string[], vmId: string, maxValueBytes = 256): AtomicLayout {
  const slotBytes = SLOT_HEADER_WORDS * 4 + align4(maxValueBytes);
  const buffer = new SharedArrayBuffer(HEADER_WORDS * 4 + keys.length * slotBytes);
  const i32 = new Int32Array(buffer);
  Atomics.store(i32, NEXT_CAS, 1);
  for (let k = 0; k < keys.length; k++) Atomics.store(i32, (HEADER_WORDS * 4 + k * slotBytes) / 4 + 1, -1);
  return { buffer, keys: [...keys], vmId, maxValueBytes };
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

export class AtomicSharedData extends SharedData {
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  private readonly slotOf = new Map<string, number>();
  private readonly slotBytes: number;
  /** This thread's copies of what it read (read() hands out a live entry, copied by the caller at once). */
  private readonly readBuffers: Uint8Array[];
  private readonly vmId: string;
  private readonly maxValueBytes: number;

  constructor(layout: AtomicLayout) {
    super(() => layout.vmId);
    this.i32 = new Int32Array(layout.buffer);
    this.u8 = new Uint8Array(layout.buffer);
    this.vmId = layout.vmId;
    this.maxValueBytes = layout.maxValueBytes;
    this.slotBytes = SLOT_HEADER_WORDS * 4 + align4(layout.maxValueBytes);
    layout.keys.forEach((key, i) => this.slotOf.set(key, i));
    this.readBuffers = layout.keys.map(() => new Uint8Array(layout.maxValueBytes));
  }

  /** CAS mismatches so far, all threads. */
  casMismatches(): number {
    return Atomics.load(this.i32, CAS_MISMATCHES);
  }

  /** Lock acquisitions that found the lock taken, all threads. */
  contendedLocks(): number {
    return Atomics.load(this.i32, CONTENDED_LOCKS);
  }

  private slotWord(slot: number): number {
    return (HEADER_WORDS * 4 + slot * this.slotBytes) / 4;
  }

  override read(vmId: string, key: string): SharedValue | undefined {
    const slot = vmId === this.vmId ? this.slotOf.get(key) : undefined;
    if (slot === undefined) return super.read(vmId, key);
    const word = this.slotWord(slot);
    this.lock();
    const cas = this.i32[word]! >>> 0;
    const size = this.i32[word + 1]!;
    let value: Uint8Array | undefined;
    if (size >= 0) {
      const start = (word + SLOT_HEADER_WORDS) * 4;
      value = this.readBuffers[slot]!.subarray(0, size);
      value.set(this.u8.subarray(start, start + size));
    }
    this.unlock();
    return value === undefined ? undefined : { value, cas };
  }

  override write(vmId: string, key: string, value: Uint8Array, cas: number): WasmResultCode {
    const slot = vmId === this.vmId ? this.slotOf.get(key) : undefined;
    if (slot === undefined) return super.write(vmId, key, value, cas);
    if (value.byteLength > this.maxValueBytes) throw new RangeError(`value of ${key} is larger than ${this.maxValueBytes} bytes`);
    const word = this.slotWord(slot);
    this.lock();
    try {
      const exists = this.i32[word + 1]! >= 0;
      if (exists && cas !== 0 && cas !== this.i32[word]! >>> 0) {
        Atomics.add(this.i32, CAS_MISMATCHES, 1);
        return WasmResult.CasMismatch;
      }
      this.u8.set(value, (word + SLOT_HEADER_WORDS) * 4);
      this.i32[word + 1] = value.byteLength;
      this.i32[word] = this.takeCas();
      return WasmResult.Ok;
    } finally {
      this.unlock();
    }
  }

  override keys(vmId: string = this.vmId): string[] {
    if (vmId !== this.vmId) return super.keys(vmId);
    return [...this.slotOf.keys()].filter((key) => this.read(vmId, key) !== undefined);
  }

  override get(key: string, vmId: string = this.vmId): SharedValue | undefined {
    const v = this.read(vmId, key);
    return v ? { value: v.value.slice(), cas: v.cas } : undefined;
  }

  override vmIds(): string[] {
    return [...new Set([this.vmId, ...super.vmIds()])];
  }

  /** The next CAS token (never 0), under the lock. */
  private takeCas(): number {
    let cas = this.i32[NEXT_CAS]! >>> 0;
    if (cas === 0) cas = 1;
    this.i32[NEXT_CAS] = (cas + 1) | 0;
    return cas;
  }

  // A futex-style mutex: 0 free, 1 taken, 2 taken with possible waiters.
  private lock(): void {
    const i32 = this.i32;
    if (Atomics.compareExchange(i32, LOCK, 0, 1) === 0) return;
    Atomics.add(i32, CONTENDED_LOCKS, 1);
    for (let spin = 0; spin < SPINS; spin++) {
      if (Atomics.load(i32, LOCK) === 0 && Atomics.compareExchange(i32, LOCK, 0, 1) === 0) return;
    }
    while (Atomics.exchange(i32, LOCK, 2) !== 0) Atomics.wait(i32, LOCK, 2);
  }

  private unlock(): void {
    const i32 = this.i32;
    if (Atomics.sub(i32, LOCK, 1) !== 1) {
      Atomics.store(i32, LOCK, 0);
      Atomics.notify(i32, LOCK, 1);
    }
  }
}
