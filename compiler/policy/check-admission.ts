/**
 * Semantic checks of a service's `admission` (task admission, issue 8): what
 * the schema cannot say. Like check.ts it reads the raw parsed policy through
 * type guards and skips what is malformed (the schema reports that), so one
 * run reports everything.
 *
 * Codes LS080–LS089; durations that are zero, below a millisecond or above
 * 24h are LS050, reported by check.ts with every other duration of the policy.
 */
import { ADMISSION_DEFAULTS } from "../model/mesh.js";
import { clip, describeValue, fieldName } from "./describe.js";
import { formatDuration, MAX_DURATION_MS } from "./duration.js";
import { Diag } from "../diagnostics/index.js";
import { finding, type Finding } from "./findings.js";
import type { Path } from "./positions.js";
import { durationMs, rec, type Rec } from "./raw-values.js";
import { POLICY_SCHEMA } from "./schema.js";

// The schema's own shape, so a value the schema rejected is not judged again.
const LEVEL_NAME = new RegExp(String(POLICY_SCHEMA.$defs!["levelName"]!["pattern"]));

/** Upper bounds beyond which an admission duration stops making sense (LS088). */
const ADMISSION_DURATION_LIMITS_MS = { queueTimeout: 60_000, tick: 1_000, window: 60_000 } as const;

function count(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

/** Findings for the `admission` of each service (`path`: the service's, `rec`: its raw value). */
export function checkAdmission(services: readonly { path: Path; rec: Rec }[], findings: Finding[]): void {
  for (const service of services) {
    const admission = rec(service.rec["admission"]);
    if (admission !== undefined) checkService(service.path, service.rec, admission, findings);
  }
}

function checkService(servicePath: Path, service: Rec, admission: Rec, findings: Finding[]): void {
  const at: Path = [...servicePath, "admission"];
  const queueTimeout = limitedDuration(admission, at, "queueTimeout", findings);
  const tick = limitedDuration(admission, at, "tick", findings);
  checkLevels(admission, at, findings);
  checkAdaptive(admission, at, findings);
  checkQueueUse(admission, at, findings);
  // Unset durations take their defaults; malformed ones (reported elsewhere) skip the comparisons.
  const queueMs = queueTimeout ?? (admission["queueTimeout"] === undefined ? ADMISSION_DEFAULTS.queueTimeoutMs : undefined);
  const tickMs = tick ?? (admission["tick"] === undefined ? ADMISSION_DEFAULTS.tickMs : undefined);
  checkTick(admission, at, queueMs, tickMs, findings);
  checkConnector(servicePath, service, admission, at, queueMs, findings);
}

/** LS087: a tick as long as the queue timeout lets requests overstay it and miss freed slots. */
function checkTick(admission: Rec, at: Path, queueMs: number | undefined, tickMs: number | undefined, findings: Finding[]): void {
  if (queueMs === undefined || tickMs === undefined || tickMs < queueMs || count(admission["maxQueue"]) === 0) return;
  const where: Path = admission["tick"] !== undefined ? [...at, "tick"] : [...at, "queueTimeout"];
  findings.push(finding(Diag.TickTooLong, where, { tick: formatDuration(tickMs), queueTimeout: formatDuration(queueMs) }));
}

/**
 * An admission duration's milliseconds when it is valid, else undefined:
 * malformed (the schema's finding), LS050 (check.ts), or above its admission
 * bound (LS088, reported here).
 */
function limitedDuration(container: Rec, at: Path, key: keyof typeof ADMISSION_DURATION_LIMITS_MS, findings: Finding[]): number | undefined {
  const ms = durationMs(container[key]);
  if (ms === undefined || ms === 0 || ms > MAX_DURATION_MS) return undefined;
  const limitMs = ADMISSION_DURATION_LIMITS_MS[key];
  if (ms <= limitMs) return ms;
  const path: Path = [...at, key];
  findings.push(
    finding(Diag.AdmissionDurationTooLong, path, { field: fieldName(path), limit: formatDuration(limitMs), got: describeValue(container[key]), reason: LIMIT_REASONS[key] }),
  );
  return undefined;
}

const LIMIT_REASONS: Record<keyof typeof ADMISSION_DURATION_LIMITS_MS, string> = {
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
      else findings.push(finding(Diag.RepeatedLevel, [...at, "levels", i], { level: describeValue(name), earlier }));
    });
  }
  const defaultLevel = admission["defaultLevel"];
  if (typeof defaultLevel === "string" && LEVEL_NAME.test(defaultLevel) && (written === undefined || names.length === written.length) && !names.includes(defaultLevel)) {
    const which = written === undefined ? ` (the default levels, as admission.levels is not set)` : "";
    const levels = [...new Set(names)].map((n) => clip(n)).join(", ");
    findings.push(finding(Diag.UnknownDefaultLevel, [...at, "defaultLevel"], { level: describeValue(defaultLevel), levels, which }));
  }
  if (admission["priorityFrom"] === undefined && (written !== undefined || defaultLevel !== undefined)) {
    const key = written !== undefined ? "levels" : "defaultLevel";
    findings.push(finding(Diag.LevelsWithoutPriority, [...at, key], { key }));
  }
}

function checkAdaptive(admission: Rec, at: Path, findings: Finding[]): void {
  const adaptive = rec(admission["adaptive"]);
  if (adaptive === undefined) return;
  const path: Path = [...at, "adaptive"];
  limitedDuration(adaptive, path, "window", findings);
  const min = positive(adaptive["minLimit"]);
  const max = positive(adaptive["maxLimit"]);
  if (min === undefined || max === undefined) return;
  if (min > max) {
    findings.push(finding(Diag.AdaptiveMinAboveMax, [...path, "minLimit"], { min, max }));
    return;
  }
  const start = positive(admission["maxInFlightPerEndpoint"]);
  if (start !== undefined && (start < min || start > max)) {
    findings.push(finding(Diag.AdaptiveStartOutside, [...at, "maxInFlightPerEndpoint"], { start, min, max }));
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
    finding(Diag.QueueSettingsUnused, [...at, "maxQueue"], {
      settings: unused.map((k) => `admission.${k}`).join(", "),
      verb: unused.length === 1 ? "has" : "have",
    }),
  );
}

/** Against the same service's connector: its timeout (LS085) and its circuit breaker (LS086). */
function checkConnector(servicePath: Path, service: Rec, admission: Rec, at: Path, queueMs: number | undefined, findings: Finding[]): void {
  const connector = rec(service["connector"]);
  if (connector === undefined) return;
  const timeoutMs = durationMs(connector["timeout"]);
  if (queueMs !== undefined && count(admission["maxQueue"]) !== 0 && timeoutMs !== undefined) {
    // timeout 0s disables Envoy's route timeout: nothing to compare with.
    if (timeoutMs > 0 && queueMs >= timeoutMs) {
      const where: Path = admission["queueTimeout"] !== undefined ? [...at, "queueTimeout"] : at;
      const shown = admission["queueTimeout"] !== undefined ? "admission.queueTimeout" : "admission.queueTimeout (default)";
      findings.push(
        finding(Diag.QueueTimeoutTooLong, where, {
          shown,
          queueTimeout: formatDuration(queueMs),
          timeout: formatDuration(timeoutMs),
          total: formatDuration(queueMs + timeoutMs),
        }),
      );
    }
  }
  const maxRequests = count(rec(connector["circuitBreaker"])?.["maxRequests"]);
  const limit = positive(admission["maxInFlightPerEndpoint"]);
  const adaptiveMax = positive(rec(admission["adaptive"])?.["maxLimit"]);
  const highest = adaptiveMax !== undefined && limit !== undefined ? Math.max(limit, adaptiveMax) : limit;
  if (maxRequests !== undefined && maxRequests > 0 && highest !== undefined && maxRequests < highest) {
    const what = highest === limit ? `admission.maxInFlightPerEndpoint (${highest})` : `admission.adaptive.maxLimit (${highest})`;
    findings.push(finding(Diag.CircuitBreakerBelowAdmission, [...servicePath, "connector", "circuitBreaker", "maxRequests"], { maxRequests, what, highest }));
  }
}
