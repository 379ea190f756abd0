/** Milliseconds (possibly fractional, up to epoch scale) → exact integer nanoseconds. */
export function msToNs(ms: number): bigint {
  const whole = Math.trunc(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.round((ms - whole) * 1e6));
}
