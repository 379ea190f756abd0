/**
 * The one duration grammar of lightsub, for policies and workloads alike:
 * numbers with a unit, `us`, `ms`, `s`, `m` or `h`, fractions allowed, summed
 * when several follow each other (`250us`, `20ms`, `1.5s`, `1m30s`, `1h`), or
 * a bare `0`. Computed exactly in whole microseconds (no floating point
 * rounding). The policy asks for whole milliseconds on top (Envoy's and the
 * filter's settings are milliseconds); workloads take microseconds.
 *
 * The JSON schemas (schemas/policy.schema.json, schemas/workload.schema.json)
 * repeat DURATION_PATTERN; a test keeps them equal.
 */

export const MAX_DURATION_MS = 24 * 3_600_000;

/** The grammar as a JSON Schema pattern. */
export const DURATION_PATTERN = "^(?:0|(?:[0-9]+(?:\\.[0-9]+)?(?:us|ms|s|m|h))+)$";
/** The same, above zero (some digit other than 0 somewhere). */
export const POSITIVE_DURATION_PATTERN = "^(?=[^1-9]*[1-9])(?:[0-9]+(?:\\.[0-9]+)?(?:us|ms|s|m|h))+$";

const UNIT_US: Record<string, number> = { us: 1, ms: 1_000, s: 1_000_000, m: 60_000_000, h: 3_600_000_000 };
const PART = /([0-9]+)(?:\.([0-9]+))?(us|ms|s|m|h)/y;

export type DurationUsResult = { ok: true; us: number } | { ok: false; reason: string };
export type DurationResult = { ok: true; ms: number } | { ok: false; reason: string };

/** `"1m30s"` → 90,000,000 µs; a reason when the text is not a duration. */
export function parseDurationUs(text: string): DurationUsResult {
  if (text.length === 0) return { ok: false, reason: "is empty" };
  if (text === "0") return { ok: true, us: 0 };
  let total = 0;
  let at = 0;
  while (at < text.length) {
    PART.lastIndex = at;
    const match = PART.exec(text);
    if (match === null) return { ok: false, reason: "is not a number followed by us, ms, s, m or h" };
    const [whole, integer, fraction = "", unit] = match as unknown as [string, string, string | undefined, string];
    const unitUs = UNIT_US[unit]!;
    // Anything past 24h is rejected by the callers; stop early so huge digit strings never lose precision.
    if (integer.length > 12 || fraction.length > 9) return { ok: false, reason: "has too many digits" };
    const fractionUs = (Number(fraction || "0") * unitUs) / 10 ** fraction.length;
    if (!Number.isInteger(fractionUs)) return { ok: false, reason: "is finer than a microsecond" };
    total += Number(integer) * unitUs + fractionUs;
    at += whole.length;
  }
  return { ok: true, us: total };
}

/** Policy durations: the grammar above, in whole milliseconds. */
export function parseDuration(text: string): DurationResult {
  const parsed = parseDurationUs(text);
  if (!parsed.ok) return parsed;
  if (parsed.us % 1_000 !== 0) return { ok: false, reason: `is not a whole number of milliseconds (policy durations are; ${formatDuration(parsed.us / 1_000)} is not)` };
  return { ok: true, ms: parsed.us / 1_000 };
}

/** 60000 → "1m", 1500 → "1.5s", 250 → "250ms", 0.25 → "250us": a short spelling in the grammar, for messages and reports. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "∞";
  if (ms === 0) return "0s";
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1_000) return `${trim(ms / 1_000)}s`;
  if (ms >= 1) return `${trim(ms)}ms`;
  return `${trim(ms * 1_000)}us`;
}

function trim(value: number): string {
  return String(Number(value.toFixed(3)));
}

/** Unit words people write, to the grammar's units. */
const UNIT_WORDS: Record<string, string> = {
  us: "us", µs: "us", usec: "us", usecs: "us", micro: "us", micros: "us", microsecond: "us", microseconds: "us",
  ms: "ms", msec: "ms", msecs: "ms", milli: "ms", millis: "ms", millisecond: "ms", milliseconds: "ms",
  s: "s", sec: "s", secs: "s", second: "s", seconds: "s",
  m: "m", min: "m", mins: "m", minute: "m", minutes: "m",
  h: "h", hr: "h", hrs: "h", hour: "h", hours: "h",
};

/**
 * What the writer probably meant, in the grammar, for text that is not a
 * duration: `"5 sec"` → `"5s"`, `"2 s"` → `"2s"`, `"1 min 30 sec"` → `"1m30s"`,
 * `"250 µs"` → `"250us"`; undefined when there is no clear reading.
 */
export function suggestDuration(text: string): string | undefined {
  const words = /^\s*(?:([0-9]+(?:\.[0-9]+)?)\s*([a-zµ]+)\s*,?\s*(?:and\s+)?)+$/i;
  if (!words.test(text)) return undefined;
  let out = "";
  for (const [, number, unit] of text.matchAll(/([0-9]+(?:\.[0-9]+)?)\s*([a-zµ]+)/gi)) {
    const canonical = UNIT_WORDS[unit!.toLowerCase()];
    if (canonical === undefined) return undefined;
    out += `${number}${canonical}`;
  }
  return out !== text && parseDurationUs(out).ok ? out : undefined;
}

/** A hint for text that is not a duration, for messages: ` (did you mean "5s"?)`, ` (add a unit: "5s" or "5ms")`, or "". */
export function durationHint(text: unknown): string {
  if (typeof text !== "string") return "";
  if (/^\s*[0-9]+(?:\.[0-9]+)?\s*$/.test(text)) return ` (add a unit: "${text.trim()}s" or "${text.trim()}ms")`;
  const meant = suggestDuration(text);
  return meant === undefined ? "" : ` (did you mean ${JSON.stringify(meant)}?)`;
}
