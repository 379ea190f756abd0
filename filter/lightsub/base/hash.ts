// 32-bit hashing for consistent_hash: FNV-1a over the bytes, then murmur3's
// finalizer so that similar keys land far apart on the ring.

export function fnv1a(ptr: usize, size: usize): u32 {
  let h: u32 = 0x811c9dc5;
  for (let i: usize = 0; i < size; i++) {
    h ^= <u32>load<u8>(ptr + i);
    h *= 0x01000193;
  }
  return h;
}

function mix32(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}

/** Hash of a key's bytes (a header value, cookie value or path). */
export function hashKey(ptr: usize, size: usize): u32 {
  return mix32(fnv1a(ptr, size));
}

/** Position of virtual node `replica` of a ring member whose name hashes to `nameHash`. */
export function ringPoint(nameHash: u32, replica: u32): u32 {
  return mix32(nameHash + (replica + 1) * 0x9e3779b9);
}
