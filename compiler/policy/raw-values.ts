/**
 * Readers of the raw parsed policy for the semantic checks (check.ts,
 * check-admission.ts): they run even when the schema failed, so every value is
 * read through a guard and what is malformed reads as undefined (the schema
 * reports that).
 */
import { parseDuration } from "./duration.js";
import { POLICY_SCHEMA } from "./schema.js";

export type Rec = Record<string, unknown>;

// The schema's own pattern, so a duration the schema rejected is never judged again.
export const DURATION_SHAPE = new RegExp(String(POLICY_SCHEMA.$defs!["duration"]!["pattern"]));

export function rec(value: unknown): Rec | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Rec) : undefined;
}

/** Milliseconds of a well-formed duration (zero and above 24h included: LS050 judges those), else undefined. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value !== "string" || !DURATION_SHAPE.test(value)) return undefined;
  const parsed = parseDuration(value);
  return parsed.ok ? parsed.ms : undefined;
}
