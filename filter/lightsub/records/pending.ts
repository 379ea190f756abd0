// Finished requests whose outcome this worker has not stored in the endpoint's
// shared record yet (records/shared.ts store applies them, in order, the next
// time it writes the record). Requests of a worker-local destination
// (records/local.ts) end here and are stored on the root's tick, or at once
// when one failed; any request whose release could not be stored waits here
// too instead of being lost.
import { Ejection } from "./ejection";

/**
 * Outcomes kept at most before a worker-local release stores them at once
 * (local.ts): bounds the memory (21 bytes each) and how far the shared record
 * can lag behind a very busy worker between two ticks.
 */
export const PENDING_CAPACITY: i32 = 32;

/** Bits of PendingOutcomes.flags. */
export const PENDING_FAILED: u8 = 1;
export const PENDING_PROBE: u8 = 2;

export class PendingOutcomes {
  /** Outcomes held (the first `count` entries of each array). */
  count: i32 = 0;
  /** When each request ended, ns (its EWMA sample's time). */
  atNs: StaticArray<u64> = new StaticArray<u64>(PENDING_CAPACITY);
  /** Its latency, µs (a failure's sample is derived when it is applied: records/shared.ts). */
  latencyUs: StaticArray<f64> = new StaticArray<f64>(PENDING_CAPACITY);
  /** Its error-window bucket (time / bucket length). */
  bucket: StaticArray<u32> = new StaticArray<u32>(PENDING_CAPACITY);
  /** PENDING_FAILED, PENDING_PROBE. */
  flags: StaticArray<u8> = new StaticArray<u8>(PENDING_CAPACITY);
  /** EWMA decay and ejection of the destination that added the latest outcome (applied to all). */
  decayNs: f64 = 1e9;
  ejection: Ejection | null = null;

  get full(): bool { return this.count >= PENDING_CAPACITY; }

  /** Adds one outcome; false (nothing kept) when full. */
  add(atNs: u64, latencyUs: f64, bucket: u32, flags: u8, decayNs: f64, ejection: Ejection | null): bool {
    const i = this.count;
    if (i >= PENDING_CAPACITY) return false;
    unchecked((this.atNs[i] = atNs));
    unchecked((this.latencyUs[i] = latencyUs));
    unchecked((this.bucket[i] = bucket));
    unchecked((this.flags[i] = flags));
    this.count = i + 1;
    this.decayNs = decayNs;
    this.ejection = ejection;
    return true;
  }

  clear(): void {
    this.count = 0;
  }
}
