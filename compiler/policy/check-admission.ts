/**
 * Semantic checks of a service's `admission` (task admission, issue 8): what
 * the schema cannot say. Like check.ts it reads the raw parsed policy through
 * type guards and skips what is malformed (the schema reports that), so one
 * run reports everything.
 *
 * Codes LS080–LS089; durations that are zero, below a millisecond or above
 * 24h are LS050 like every other duration of the policy.
 */
import { ADMISSION_DEFAULTS } from "../model.js";
import { clip, describeValue, fieldName } from "./describe.js";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "./duration.js";
import { error, warning, type Finding } from "./findings.js";
import type { Path } from "./positions.js";
import { POLICY_SCHEMA } from "./schema.js";

type Rec = Record<string, unknown>;

// The schema's own shapes, so a value the schema rejected is not judged again.
const DURATION_SHAPE = new RegExp(String(POLICY_SCHEMA.$defs!["duration"]!["pattern"]));
const LEVEL_NAME = new RegExp(String(POLICY_SCHEMA.$defs!["levelName"]!["pattern"]));

/** Upper bounds beyond which an admission duration stops making sense (LS088). */
export const ADMISSION_DURATION_LIMITS_MS = { queueTimeout: 60_000, tick: 1_000, window: 60_000 } as const;

function rec(value: unknown): Rec | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Rec) : undefined;
}
function count(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

/** Findings for the `admission` of every service in `spec.services`. */
export function checkAdmission(policy: unknown): Finding[] {
  const findings: Finding[] = [];
  const services = rec(rec(policy)?.["spec"])?.["services"];
  if (!Array.isArray(services)) return findings;
  services.forEach((value, index) => {
    const service = rec(value);
    const admission = rec(service?.["admission"]);
    if (service === undefined || admission === undefined) return;
    checkService(service, admission, ["spec", "services", index, "admission"], findings);
  });
  return findings;
}

function checkService(service: Rec, admission: Rec, at: Path, findings: Finding[]): void {
  const queueTimeout = duration(admission, at, "queueTimeout", findings);
  const tick = duration(admission, at, "tick", findings);
  checkLevels(admission, at, findings);
  checkAdaptive(admission, at, findings);
  checkQueueUse(admission, at, findings);
  // Unset durations take their defaults; malformed ones (reported above) skip the comparisons.
  const queueMs = queueTimeout ?? (admission["queueTimeout"] === undefined ? ADMISSION_DEFAULTS.queueTimeoutMs : undefined);
  const tickMs = tick ?? (admission["tick"] === undefined ? ADMISSION_DEFAULTS.tickMs : undefined);
  checkTick(admission, at, queueMs, tickMs, findings);
  checkConnector(service, admission, at, queueMs, findings);
}

/** LS087: a tick as long as the queue timeout lets requests overstay it and miss freed slots. */
function checkTick(admission: Rec, at: Path, queueMs: number | undefined, tickMs: number | undefined, findings: Finding[]): void {
  if (queueMs === undefined || tickMs === undefined || tickMs < queueMs || count(admission["maxQueue"]) === 0) return;
  const where: Path = admission["tick"] !== undefined ? [...at, "tick"] : [...at, "queueTimeout"];
  findings.push(
    warning(
      "LS087",
      where,
      `admission.tick (${formatDuration(tickMs)}) is not shorter than admission.queueTimeout (${formatDuration(queueMs)}): a waiting request is looked at only once per tick, so it may be rejected late and miss slots freed on other workers; make tick a small fraction of queueTimeout`,
    ),
  );
}

/** A well-formed duration's milliseconds; LS050 (zero, bad precision, > 24h) and LS088 (too long for admission) reported here. */
function duration(admission: Rec, at: Path, key: "queueTimeout" | "tick", findings: Finding[]): number | undefined {
  return durationAt(admission, [...at, key], key, ADMISSION_DURATION_LIMITS_MS[key], findings);
}

function durationAt(container: Rec, path: Path, key: string, limitMs: number, findings: Finding[]): number | undefined {
  const value = container[key];
  if (typeof value !== "string" || !DURATION_SHAPE.test(value)) return undefined;
  const parsed = parseDuration(value);
  const name = fieldName(path);
  if (!parsed.ok) {
    findings.push(error("LS050", path, `${name} ${parsed.reason}: ${describeValue(value)}`));
    return undefined;
  }
  if (parsed.ms === 0) {
    findings.push(error("LS050", path, `${name} must be longer than 0`));
    return undefined;
  }
  if (parsed.ms > MAX_DURATION_MS) {
    findings.push(error("LS050", path, `${name} must be at most 24h, got ${describeValue(value)}`));
    return undefined;
  }
  if (parsed.ms > limitMs) {
    findings.push(error("LS088", path, `${name} must be at most ${formatDuration(limitMs)}, got ${describeValue(value)}${LIMIT_REASONS[key] ?? ""}`));
    return undefined;
  }
  return parsed.ms;
}

const LIMIT_REASONS: Record<string, string> = {
  queueTimeout: ": a request parked longer holds its caller's connection and the worker's memory; fail it and let the caller decide",
  tick: ": a waiting request would notice slots freed on other workers and its own deadline only that rarely",
  window: ": the limit would adapt too slowly to follow the endpoints",
};

function checkLevels(admission: Rec, at: Path, findings: Finding[]): void {
  const written = Array.isArray(admission["levels"]) ? (admission["levels"] as unknown[]) : undefined;
  const names = (written ?? ADMISSION_DEFAULTS.levels).filter((n): n is string => typeof n === "string" && LEVEL_NAME.test(n));
  if (written !== undefined) {
    const first = new Map<string, number>();
    written.forEach((name, i) => {
      if (typeof name !== "string" || !LEVEL_NAME.test(name)) return;
      const earlier = first.get(name);
      if (earlier === undefined) first.set(name, i);
      else findings.push(error("LS081", [...at, "levels", i], `admission.levels names level ${describeValue(name)} twice (also levels[${earlier}]); each level needs its own name`));
    });
  }
  const defaultLevel = admission["defaultLevel"];
  if (typeof defaultLevel === "string" && LEVEL_NAME.test(defaultLevel) && (written === undefined || names.length === written.length) && !names.includes(defaultLevel)) {
    const which = written === undefined ? ` (the default levels, as admission.levels is not set)` : "";
    findings.push(
      error("LS080", [...at, "defaultLevel"], `admission.defaultLevel ${describeValue(defaultLevel)} is not one of the levels: ${[...new Set(names)].map((n) => clip(n)).join(", ")}${which}`),
    );
  }
  if (admission["priorityFrom"] === undefined && (written !== undefined || defaultLevel !== undefined)) {
    const key = written !== undefined ? "levels" : "defaultLevel";
    findings.push(
      warning(
        "LS082",
        [...at, key],
        `admission.${key} has no effect without admission.priorityFrom: every request gets the default level; add priorityFrom: { header: x-priority } to read each request's level from a header`,
      ),
    );
  }
}

function checkAdaptive(admission: Rec, at: Path, findings: Finding[]): void {
  const adaptive = rec(admission["adaptive"]);
  if (adaptive === undefined) return;
  const path: Path = [...at, "adaptive"];
  durationAt(adaptive, [...path, "window"], "window", ADMISSION_DURATION_LIMITS_MS.window, findings);
  const min = positive(adaptive["minLimit"]);
  const max = positive(adaptive["maxLimit"]);
  if (min === undefined || max === undefined) return;
  if (min > max) {
    findings.push(error("LS083", [...path, "minLimit"], `admission.adaptive.minLimit (${min}) is above adaptive.maxLimit (${max}); the limit must be able to lie between them`));
    return;
  }
  const start = positive(admission["maxInFlightPerEndpoint"]);
  if (start !== undefined && (start < min || start > max)) {
    findings.push(
      error(
        "LS084",
        [...at, "maxInFlightPerEndpoint"],
        `admission.maxInFlightPerEndpoint (${start}) is the adaptive limit's starting value and must lie between adaptive.minLimit (${min}) and adaptive.maxLimit (${max})`,
      ),
    );
  }
}

function positive(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 1_000_000 ? (value as number) : undefined;
}

/** maxQueue 0: nothing ever waits, so the settings about waiting are dead weight. */
function checkQueueUse(admission: Rec, at: Path, findings: Finding[]): void {
  if (count(admission["maxQueue"]) !== 0) return;
  const unused = ["queueTimeout", "priorityFrom", "levels", "defaultLevel"].filter((key) => admission[key] !== undefined);
  if (unused.length === 0) return;
  findings.push(
    warning(
      "LS089",
      [...at, "maxQueue"],
      `admission.maxQueue is 0, so no request ever waits and ${unused.map((k) => `admission.${k}`).join(", ")} ${unused.length === 1 ? "has" : "have"} no effect; a request that finds every endpoint full is rejected at once`,
    ),
  );
}

/** Against the same service's connector: its timeout (LS085) and its circuit breaker (LS086). */
function checkConnector(service: Rec, admission: Rec, at: Path, queueMs: number | undefined, findings: Finding[]): void {
  const connector = rec(service["connector"]);
  if (connector === undefined) return;
  const timeoutText = connector["timeout"];
  if (queueMs !== undefined && count(admission["maxQueue"]) !== 0 && typeof timeoutText === "string" && DURATION_SHAPE.test(timeoutText)) {
    const parsed = parseDuration(timeoutText);
    // timeout 0s disables Envoy's route timeout: nothing to compare with.
    if (parsed.ok && parsed.ms > 0 && queueMs >= parsed.ms) {
      const where: Path = admission["queueTimeout"] !== undefined ? [...at, "queueTimeout"] : at;
      const shown = admission["queueTimeout"] !== undefined ? "admission.queueTimeout" : "admission.queueTimeout (default)";
      findings.push(
        warning(
          "LS085",
          where,
          `${shown} (${formatDuration(queueMs)}) is not shorter than connector.timeout (${formatDuration(parsed.ms)}): the route timeout starts only when a request leaves the queue, so a caller may wait up to ${formatDuration(queueMs + parsed.ms)} in all; shorten queueTimeout`,
        ),
      );
    }
  }
  const maxRequests = count(rec(connector["circuitBreaker"])?.["maxRequests"]);
  const limit = positive(admission["maxInFlightPerEndpoint"]);
  const adaptiveMax = positive(rec(admission["adaptive"])?.["maxLimit"]);
  const highest = adaptiveMax !== undefined && limit !== undefined ? Math.max(limit, adaptiveMax) : limit;
  if (maxRequests !== undefined && maxRequests > 0 && highest !== undefined && maxRequests < highest) {
    const what = highest === limit ? `admission.maxInFlightPerEndpoint (${highest})` : `admission.adaptive.maxLimit (${highest})`;
    findings.push(
      warning(
        "LS086",
        ["spec", "services", at[2]!, "connector", "circuitBreaker", "maxRequests"],
        `circuitBreaker.maxRequests (${maxRequests}) is below ${what}: Envoy answers 503 (overflow) once an endpoint has ${maxRequests} requests in flight, before the admission queue can hold them; raise maxRequests to at least ${highest}`,
      ),
    );
  }
}
