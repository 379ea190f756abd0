// Replaces AssemblyScript's `env.seed` import (used once to seed Math.random):
// the host clock in nanoseconds is the only entropy ABI 0.2.1 guarantees.
import { proxy_get_current_time_nanoseconds } from "../imports";

const SEED_SLOT: usize = memory.data(8, 8);

export function seedHandler(): f64 {
  store<u64>(SEED_SLOT, 0);
  proxy_get_current_time_nanoseconds(SEED_SLOT);
  // Bit-reinterpreted by the runtime (reinterpret<i64>(seed())), so keep all 64 bits.
  return reinterpret<f64>(load<u64>(SEED_SLOT));
}
