/**
 * Durations in workload files: the policy's notation (`250ms`, `2s`, `1.5s`,
 * `1m`, `1h`) plus `us` for sub-millisecond service times. Values are
 * milliseconds (fractions allowed).
 */

export const DURATION_PATTERN = "^(?:0|[0-9]+(?:\\.[0-9]+)?(?:us|ms|s|m|h))$";

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const DURATION = /^([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h)$/;

/** `"250ms"` → 250; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  if (text === "0") return 0;
  const match = DURATION.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

/** 1500 → "1.5s", 0.25 → "250us": for messages and reports. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "∞";
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1_000) return `${trim(ms / 1_000)}s`;
  if (ms >= 1 || ms === 0) return `${trim(ms)}ms`;
  return `${trim(ms * 1_000)}us`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(3)));
}
