// Byte comparisons against host memory (the host returns values as ptr/size).

/** Whether `bytes` equals the size bytes at ptr. */
export function sameBytes(bytes: ArrayBuffer, ptr: usize, size: usize): bool {
  return <usize>bytes.byteLength == size && memory.compare(changetype<usize>(bytes), ptr, size) == 0;
}
