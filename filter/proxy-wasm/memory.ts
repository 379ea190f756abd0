// Memory handoff between the host and this module.
//
// When a host function returns bytes (a property, a header value, shared data...)
// it calls our exported proxy_on_memory_allocate, copies the bytes there and
// writes the pointer and size into two out-slots we passed. That buffer comes from
// heap.alloc (or is the one reusable block below), outside the garbage collector,
// so it cannot move or vanish while we read it; we copy what we need and free it
// with releaseReturned().
//
// The out-slots are static (no allocation per call). A host call never re-enters
// the module except for proxy_on_memory_allocate, which does not touch them.

/** 4-byte pointer slot, 4-byte size slot, then an 8-byte slot for u64/cas results. */
const SLOTS: usize = memory.data(16, 8);
export const RETURN_PTR_SLOT: usize = SLOTS;
export const RETURN_SIZE_SLOT: usize = SLOTS + 4;
/** 8 bytes, for u64 results (time, metric values) and the 4-byte CAS of shared data. */
export const RETURN_VALUE_SLOT: usize = SLOTS + 8;

/**
 * One block kept for the host's buffers: the typical returned value (a
 * property, a header value, a shared-data record) is small and released before
 * the next host call, so reusing this block saves a heap.alloc and heap.free
 * per host call. While it is held (not yet released) the heap is used.
 */
const SCRATCH_CAPACITY: usize = 512;
const SCRATCH: usize = heap.alloc(SCRATCH_CAPACITY);
let scratchInUse = false;

/** Allocator the host uses for buffers it hands to us (exported by dispatch.ts). */
export function allocateForHost(size: usize): usize {
  if (size <= SCRATCH_CAPACITY && !scratchInUse) {
    scratchInUse = true;
    return SCRATCH;
  }
  return heap.alloc(size);
}

/** Gives a block from allocateForHost back. */
function freeHostBuffer(ptr: usize): void {
  if (ptr == SCRATCH) scratchInUse = false;
  else heap.free(ptr);
}

/** Clears the out-slots before a host call, so a failed call leaves nothing to free. */
export function resetReturnSlots(): void {
  store<u32>(RETURN_PTR_SLOT, 0);
  store<u32>(RETURN_SIZE_SLOT, 0);
}

/** Pointer of the buffer the last host call returned (0 when none). */
export function returnedPtr(): usize {
  return <usize>load<u32>(RETURN_PTR_SLOT);
}

/** Size of the buffer the last host call returned. */
export function returnedSize(): usize {
  return <usize>load<u32>(RETURN_SIZE_SLOT);
}

/** Frees the buffer the last host call returned, if any. */
export function releaseReturned(): void {
  const ptr = returnedPtr();
  if (ptr != 0) freeHostBuffer(ptr);
  resetReturnSlots();
}

/** Copies the returned buffer into a new ArrayBuffer and frees it. */
export function takeReturnedBytes(): ArrayBuffer {
  const size = returnedSize();
  const out = new ArrayBuffer(<i32>size);
  const ptr = returnedPtr();
  if (ptr != 0 && size != 0) memory.copy(changetype<usize>(out), ptr, size);
  releaseReturned();
  return out;
}

/** Decodes the returned buffer as UTF-8 and frees it. */
export function takeReturnedString(): string {
  const ptr = returnedPtr();
  const s = ptr == 0 ? "" : String.UTF8.decodeUnsafe(ptr, returnedSize());
  releaseReturned();
  return s;
}

/**
 * Reads the returned buffer as a little-endian integer of up to 8 bytes (how
 * Envoy encodes integer properties such as response.code) and frees it.
 * Returns `fallback` when nothing or more than 8 bytes came back.
 */
export function takeReturnedU64(fallback: u64): u64 {
  const ptr = returnedPtr();
  const size = returnedSize();
  let value = fallback;
  if (ptr != 0 && size > 0 && size <= 8) {
    value = 0;
    for (let i: usize = 0; i < size; i++) value |= (<u64>load<u8>(ptr + i)) << (<u64>(i << 3));
  }
  releaseReturned();
  return value;
}

/** True when the returned buffer holds exactly `bytes` (no copy, does not free). */
export function returnedEquals(bytes: ArrayBuffer): bool {
  const size = returnedSize();
  if (size != <usize>bytes.byteLength) return false;
  if (size == 0) return true;
  const ptr = returnedPtr();
  return ptr != 0 && memory.compare(ptr, changetype<usize>(bytes), size) == 0;
}

/** UTF-8 bytes of a string, for host calls (precompute these off the hot path). */
export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}
