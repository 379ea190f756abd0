/**
 * Durations in workloads: lightsub's one duration grammar
 * (compiler/policy/duration.ts, shared with policies), in milliseconds with
 * microsecond resolution (`250us` → 0.25).
 */
import { parseDurationUs } from "../compiler/policy/duration.js";

export { DURATION_PATTERN, POSITIVE_DURATION_PATTERN, durationHint, formatDuration, suggestDuration } from "../compiler/policy/duration.js";

/** `"250ms"` → 250, `"1m30s"` → 90,000, `"250us"` → 0.25; undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const parsed = parseDurationUs(text);
  return parsed.ok ? parsed.us / 1_000 : undefined;
}
