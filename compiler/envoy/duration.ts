/**
 * Milliseconds → proto3 JSON Duration (`"2s"`, `"0.500s"`, `"0.000250s"`).
 *
 * Fractions use 3, 6 or 9 digits, like protobuf's canonical JSON output.
 */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`duration: ${ms} ms is not a non-negative finite number`);
  const totalNanos = BigInt(Math.round(ms * 1_000_000));
  const seconds = totalNanos / 1_000_000_000n;
  const nanos = Number(totalNanos % 1_000_000_000n);
  if (nanos === 0) return `${seconds}s`;
  let fraction = String(nanos).padStart(9, "0");
  if (fraction.endsWith("000000")) fraction = fraction.slice(0, 3);
  else if (fraction.endsWith("000")) fraction = fraction.slice(0, 6);
  return `${seconds}.${fraction}s`;
}
