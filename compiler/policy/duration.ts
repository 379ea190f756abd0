/**
 * Policy durations: `250ms`, `2s`, `1.5s`, `1m`, `1h`, or sums like `1m30s`.
 * Computed exactly (no floating point rounding) in whole milliseconds.
 */

export const MAX_DURATION_MS = 24 * 3_600_000;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /([0-9]+)(?:\.([0-9]+))?(ms|s|m|h)/y;

export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

export function parseDuration(text: string): DurationResult {
  if (text.length === 0) return { ok: false, reason: "is empty" };
  let total = 0;
  let at = 0;
  PART.lastIndex = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const match = PART.exec(text);
    if (match === null) return { ok: false, reason: "is not a number followed by ms, s, m or h" };
    const [whole, integer, fraction = "", unit] = match as unknown as [string, string, string | undefined, string];
    const unitMs = UNIT_MS[unit]!;
    // Anything past 24h is rejected below; stop early so huge digit strings never lose precision.
    if (integer.length > 12 || fraction.length > 9) return { ok: false, reason: "has too many digits" };
    const scale = 10 ** fraction.length;
    const fractionMs = (Number(fraction || "0") * unitMs) / scale;
    if (!Number.isInteger(fractionMs)) return { ok: false, reason: "is not a whole number of milliseconds" };
    total += Number(integer) * unitMs + fractionMs;
    at += whole.length;
  }
  return { ok: true, ms: total };
}

/** 60000 → "1m", 1500 → "1.5s", 250 → "250ms": a short policy spelling, for messages. */
export function formatDuration(ms: number): string {
  if (ms !== 0 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms !== 0 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  if (ms > 1_000) return `${ms / 1_000}s`;
  return `${ms}ms`;
}
