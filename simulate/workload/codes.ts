/**
 * Diagnostic codes of workload files and `simulation:` sections (LS2xx).
 * Stable like the policy codes: add, never renumber.
 */
import type { DiagnosticCodeInfo } from "../../compiler/diagnostics/index.js";

export const WORKLOAD_CODES = {
  noWorkload: "LS200",
  unreadable: "LS201",
  syntax: "LS202",
  wrongType: "LS203",
  missing: "LS204",
  unknownProperty: "LS205",
  notAllowed: "LS206",
  outOfRange: "LS207",
  badDuration: "LS208",
  exactlyOne: "LS209",
  unknownCaller: "LS210",
  unknownDestination: "LS211",
  unknownEndpoint: "LS212",
  duplicateEndpoint: "LS213",
  eventOrder: "LS214",
  cannotCompare: "LS215",
  tooLarge: "LS216",
} as const;

export const WORKLOAD_DIAGNOSTIC_CODES: readonly DiagnosticCodeInfo[] = [
  { code: "LS200", severity: "error", summary: "no workload: the policy has no simulation: section and no --workload file was given" },
  { code: "LS201", severity: "error", summary: "the workload file cannot be read, is not UTF-8, is empty, or is larger than 16 MiB (the policy's limits; alias and nesting limits are LS011, as in a policy)" },
  { code: "LS202", severity: "error", summary: "YAML or JSON syntax error in the workload" },
  { code: "LS203", severity: "error", summary: "a workload value has the wrong type, or apiVersion/kind is not lightsub/v1 Workload" },
  { code: "LS204", severity: "error", summary: "a required workload property is missing" },
  { code: "LS205", severity: "error", summary: "unknown workload property" },
  { code: "LS206", severity: "error", summary: "a workload value is not one of the allowed values" },
  { code: "LS207", severity: "error", summary: "a workload number or list is out of its allowed range" },
  { code: "LS208", severity: "error", summary: "bad duration in the workload (not like 250us, 20ms, 1.5s, 1m, 1m30s; or zero where it must be positive)" },
  { code: "LS209", severity: "error", summary: "exactly one of two properties must be set (arrivals requests/duration, lognormal p99/sigma), or an event changes nothing" },
  { code: "LS210", severity: "error", summary: "from names no service of the policy, or a service that calls nobody" },
  { code: "LS211", severity: "error", summary: "to is not a service the caller calls" },
  { code: "LS212", severity: "error", summary: "an endpoint entry matches no endpoint of the destination, or matches several" },
  { code: "LS213", severity: "error", summary: "two endpoint entries select the same endpoint" },
  { code: "LS214", severity: "error", summary: "an event's or a burst's until is not after its at, or two arrival bursts overlap" },
  { code: "LS215", severity: "error", summary: "compare names consistent_hash but the destination has no hashOn, or no_admission/circuit_breaker but the destination has no admission" },
  { code: "LS216", severity: "error", summary: "the workload asks for more than 10,000,000 requests" },
];
