// Uniform random choices (Math.random, seeded once from the host clock by
// proxy-wasm/runtime/seed-handler.ts).

/** Uniform integer in [0, n); n >= 1. */
export function randomBelow(n: i32): i32 {
  const r = <i32>(Math.random() * <f64>n);
  return r < n ? r : n - 1;
}

/** A second index in [0, n), different from `first`; n >= 2. */
export function randomOtherThan(first: i32, n: i32): i32 {
  const r = randomBelow(n - 1);
  return r >= first ? r + 1 : r;
}
