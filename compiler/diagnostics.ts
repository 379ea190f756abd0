/**
 * Diagnostics: problems found in a policy, as plain data.
 *
 * Printed as `file:line:column: severity CODE: message` (the format compilers
 * use, so editors and CI annotate the right line). Lines and columns start at
 * 1; a column counts UTF-16 code units from the start of the line.
 *
 * Codes are stable: once published a code keeps its meaning. Add new codes,
 * never renumber. `DIAGNOSTIC_CODES` is the reference table (docs render it).
 */

export type Severity = "error" | "warning";

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: Severity;
  code: string;
  message: string;
}

export interface DiagnosticCodeInfo {
  code: string;
  severity: Severity;
  summary: string;
}

/** Every code the policy checker emits, with its usual severity and a one-line description. */
export const DIAGNOSTIC_CODES: readonly DiagnosticCodeInfo[] = [
  { code: "LS001", severity: "error", summary: "the policy file cannot be read, is not UTF-8, is empty, or is larger than 16 MiB" },
  { code: "LS002", severity: "error", summary: "YAML or JSON syntax error (including duplicate keys and more than one document)" },
  { code: "LS003", severity: "error", summary: "not a lightsub policy: the document is not a mapping, or apiVersion/kind is missing or not lightsub/v1 Mesh" },
  { code: "LS004", severity: "error", summary: "a value has the wrong type (for example a list where a mapping is expected)" },
  { code: "LS005", severity: "error", summary: "a required property is missing" },
  { code: "LS006", severity: "error", summary: "unknown property (usually a typo; a suggestion is given when one is close)" },
  { code: "LS007", severity: "error", summary: "a value is not one of the allowed values (strategy, protocol, failMode, retry condition...)" },
  { code: "LS008", severity: "error", summary: "a value has the wrong format (DNS label, address, header or cookie name, path, image)" },
  { code: "LS009", severity: "error", summary: "a number, text length or list length is out of its allowed range, or a list repeats an item" },
  { code: "LS010", severity: "error", summary: "two services have the same name" },
  { code: "LS011", severity: "error", summary: "a resource limit is exceeded (number of services or endpoints, YAML alias expansion, nesting depth, size of the generated configs)" },
  { code: "LS012", severity: "error", summary: "calls names a service that is not defined" },
  { code: "LS013", severity: "error", summary: "a service calls itself" },
  { code: "LS014", severity: "error", summary: "a service lists the same called service twice" },
  { code: "LS020", severity: "error", summary: "port clash: two services' endpoints share an address:port, or one sidecar uses a port twice (app port, meshPort, outbound call ports, admin port)" },
  { code: "LS021", severity: "error", summary: "a service lists the same endpoint (address:port) twice" },
  { code: "LS030", severity: "error", summary: "an endpoint weight is not a whole number from 1 to 1000" },
  { code: "LS031", severity: "warning", summary: "endpoint weights are set but the service's strategy ignores them (only weighted, consistent_hash, least_load and availability use weights)" },
  { code: "LS032", severity: "warning", summary: "strategy weighted with all endpoints at the same weight behaves like round_robin" },
  { code: "LS040", severity: "error", summary: "a service's scheduler sets hashOn but calls to the service do not use consistent_hash (spec.scheduler.hashOn is a default and never an error)" },
  { code: "LS041", severity: "error", summary: "strategy consistent_hash without hashOn (no key to hash)" },
  { code: "LS042", severity: "error", summary: "hashOn must name exactly one of header, cookie or path" },
  { code: "LS043", severity: "warning", summary: "a service's scheduler sets a parameter its strategy does not read (e.g. decay without least_latency)" },
  { code: "LS050", severity: "error", summary: "bad duration: not a string like 250ms, 2s, 1.5m, 1h or 1m30s; zero where zero makes no sense; below 1ms precision; or above 24h" },
  { code: "LS051", severity: "warning", summary: "retries.perTryTimeout is not shorter than the connector timeout, so no retry can happen in time" },
  { code: "LS052", severity: "warning", summary: "healthCheck.timeout is not shorter than healthCheck.interval" },
  { code: "LS053", severity: "warning", summary: "healthCheck.path is set on a grpc service, which is checked with the gRPC health service and never requests the path" },
  { code: "LS060", severity: "warning", summary: "a retry condition only applies to gRPC but the service's protocol is not grpc" },
  { code: "LS061", severity: "error", summary: 'retries.statusCodes and the retry condition "retriable-status-codes" go together: one is given without the other' },
  { code: "LS070", severity: "warning", summary: "the mesh cannot run under the generated docker compose as named (a container name used twice, IPv6 endpoints, IPv4 endpoints in more than one /8); docker-compose.yaml is not written (the Envoy configs are)" },
  { code: "LS071", severity: "warning", summary: "an endpoint's hostname is also the name of a service its caller calls, which compose maps to 127.0.0.1 in that caller, so its sidecar would dial itself; docker-compose.yaml is not written (the Envoy configs are)" },
  { code: "LS080", severity: "error", summary: "admission.defaultLevel is not one of the admission levels" },
  { code: "LS081", severity: "error", summary: "admission.levels names the same level twice" },
  { code: "LS082", severity: "warning", summary: "admission sets levels or defaultLevel without priorityFrom, so every request gets the default level" },
  { code: "LS083", severity: "error", summary: "admission.adaptive.minLimit is above adaptive.maxLimit" },
  { code: "LS084", severity: "error", summary: "with admission.adaptive, maxInFlightPerEndpoint (the starting limit) is outside [minLimit, maxLimit]" },
  { code: "LS085", severity: "warning", summary: "admission.queueTimeout is not shorter than the connector timeout, so a request may wait in the queue longer than it may take in all" },
  { code: "LS086", severity: "warning", summary: "the connector's circuitBreaker.maxRequests is below admission.maxInFlightPerEndpoint, so Envoy rejects requests before the admission queue can hold them" },
  { code: "LS087", severity: "warning", summary: "admission.tick is not shorter than admission.queueTimeout, so queued requests are re-checked too rarely" },
  { code: "LS088", severity: "error", summary: "an admission duration is too long (queueTimeout and adaptive.window at most 1m, tick at most 1s)" },
  { code: "LS089", severity: "warning", summary: "admission.maxQueue is 0 (no request ever waits) but queue settings are given; they have no effect" },
];

const CODE_INFO = new Map(DIAGNOSTIC_CODES.map((info) => [info.code, info]));

export function describeCode(code: string): DiagnosticCodeInfo | undefined {
  return CODE_INFO.get(code);
}

/** `policy.yaml:14:9: error LS012: service "catalg" in calls is not defined (did you mean "catalog"?)` */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`;
}

export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  if (a.severity !== b.severity) return a.severity === "error" ? -1 : 1;
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/** Sorted by file, line, column (errors before warnings at one spot); exact duplicates removed. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...diagnostics].sort(compareDiagnostics);
  return sorted.filter((d, i) => i === 0 || compareDiagnostics(d, sorted[i - 1]!) !== 0);
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
