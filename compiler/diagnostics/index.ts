/**
 * Diagnostics: problems found in a policy, as plain data.
 *
 * Printed as `file:line:column: severity CODE: message` (the format compilers
 * use, so editors and CI annotate the right line). Lines and columns start at
 * 1; a column counts UTF-16 code units from the start of the line.
 *
 * Codes are stable: once published a code keeps its meaning. Add new codes,
 * never renumber. `DIAGNOSTIC_CODES` is the reference table: docs/diagnostics.md
 * is generated from it (`npm run docs:diagnostics`; a test checks it is current).
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
  /** A policy excerpt (YAML) or a command that gets this diagnostic (docs/diagnostics.md shows it). */
  example?: string;
  /** How to fix it, in a sentence or two. */
  fix?: string;
}

/** Every code the policy checker emits, with its usual severity and a one-line description. */
export const DIAGNOSTIC_CODES: readonly DiagnosticCodeInfo[] = [
  {
    code: "LS001",
    severity: "error",
    summary: "the policy file cannot be read, is not UTF-8, is empty, or is larger than 16 MiB",
    example: "lightsub validate missing.yaml",
    fix: "Give the path of an existing UTF-8 text file (at most 16 MiB) that is not empty; `-` reads the policy from standard input.",
  },
  {
    code: "LS002",
    severity: "error",
    summary: "YAML or JSON syntax error (including duplicate keys and more than one document)",
    example: "spec:\n  services:\n   - name: a      # indented by 3 where its siblings use 4\n    port: 80",
    fix: "Fix the YAML at the position given: indent with spaces only, keep the keys of one mapping in the same column, give each key once, and keep one document per file. An indentation mistake is reported once: fix it and run again.",
  },
  {
    code: "LS003",
    severity: "error",
    summary: "not a lightsub policy: the document is not a mapping, or apiVersion/kind is missing or not lightsub/v1 Mesh",
    example: "apiVersion: lightsub/v2\nkind: Mesh",
    fix: "Start the file with `apiVersion: lightsub/v1` and `kind: Mesh`, with the policy as a mapping (not a list).",
  },
  {
    code: "LS004",
    severity: "error",
    summary: "a value has the wrong type (for example a list where a mapping is expected)",
    example: "port: \"80\"                # a string\nendpoints: { address: a, port: 1 }   # a mapping",
    fix: "Give the type the reference asks for: numbers without quotes, a list (`[...]` or `- ` items) where a list is expected.",
  },
  {
    code: "LS005",
    severity: "error",
    summary: "a required property is missing",
    example: "services:\n  - name: a\n    endpoints: [{ address: a, port: 15006 }]   # no port",
    fix: "Add the missing property named in the message (for example the service's `port`, or `healthCheck.path` for an http service).",
  },
  {
    code: "LS006",
    severity: "error",
    summary: "unknown property (usually a typo; a suggestion is given when one is close)",
    example: "connector:\n  timout: 2s",
    fix: "Fix the spelling (the message suggests the closest known name) or remove the property; the reference in README.md lists every property.",
  },
  {
    code: "LS007",
    severity: "error",
    summary: "a value is not one of the allowed values (strategy, protocol, failMode, retry condition...)",
    example: "scheduler: { strategy: least_laency }",
    fix: "Use one of the values the message lists (the closest one is suggested).",
  },
  {
    code: "LS008",
    severity: "error",
    summary: "a value has the wrong format (DNS label, address, header or cookie name, path, image)",
    example: "endpoints: [{ address: \"bad host\", port: 15006 }]",
    fix: "Write the value in the format the message names: lowercase DNS labels for names, a hostname or IP address, a header or cookie name, a path starting with `/`, an image reference without spaces.",
  },
  {
    code: "LS009",
    severity: "error",
    summary: "a number, text length or list length is out of its allowed range, or a list repeats an item",
    example: "connector: { retries: { attempts: 11 } }",
    fix: "Bring the number or list within the range the message gives, and list each item once.",
  },
  {
    code: "LS010",
    severity: "error",
    summary: "two services have the same name",
    example: "services:\n  - { name: a, port: 80, endpoints: [{ address: a-1, port: 15006 }] }\n  - { name: a, port: 81, endpoints: [{ address: a-2, port: 15006 }] }",
    fix: "Give each service its own name.",
  },
  {
    code: "LS011",
    severity: "error",
    summary: "a resource limit is exceeded (number of services or endpoints, YAML alias expansion, nesting depth, clusters in one sidecar or in all of them); alias and nesting limits apply to workload files too",
    example: "services: [ ... 20,001 services ... ]",
    fix: "Split the mesh, or remove the YAML aliases that expand to much data, or nest less deeply, or call fewer or smaller services from one sidecar; the message names the limit.",
  },
  {
    code: "LS012",
    severity: "error",
    summary: "calls names a service that is not defined",
    example: "calls: [catalg]",
    fix: "Name a service defined under `spec.services` (the closest name is suggested).",
  },
  {
    code: "LS013",
    severity: "error",
    summary: "a service calls itself",
    example: "- name: frontend\n  calls: [frontend]",
    fix: "Remove the service from its own `calls`; a service reaches itself without the mesh.",
  },
  {
    code: "LS014",
    severity: "error",
    summary: "a service lists the same called service twice",
    example: "calls: [catalog, { service: catalog, port: 7001 }]",
    fix: "List each called service once.",
  },
  {
    code: "LS020",
    severity: "error",
    summary: "port clash: two services' endpoints share an address:port, or one sidecar uses a port twice (app port, meshPort, outbound call ports, admin port)",
    example: "- name: a\n  port: 15006          # the app port clashes with the default meshPort 15006",
    fix: "Move one of the two ports named in the message: the app `port`, `meshPort`, `spec.sidecar.adminPort`, or the outbound port of a call (`calls: [{ service: b, port: <free port> }]`); two services' endpoints must not share an address:port.",
  },
  {
    code: "LS021",
    severity: "error",
    summary: "a service lists the same endpoint (address:port) twice",
    example: "endpoints: [{ address: host-1, port: 15006 }, { address: HOST-1, port: 15006 }]",
    fix: "Remove the duplicate endpoint (host names compare without case).",
  },
  {
    code: "LS030",
    severity: "error",
    summary: "an endpoint weight is not a whole number from 1 to 1000",
    example: "endpoints: [{ address: a-1, port: 15006, weight: 0 }]",
    fix: "Use a whole number from 1 to 1000.",
  },
  {
    code: "LS031",
    severity: "warning",
    summary: "endpoint weights are set but the service's strategy ignores them (only weighted, consistent_hash, least_load and availability use weights)",
    example: "scheduler: { strategy: round_robin }\nendpoints: [{ address: a-1, port: 15006, weight: 3 }]",
    fix: "Remove the weights, or use a strategy that follows them: weighted, consistent_hash, least_load or availability.",
  },
  {
    code: "LS032",
    severity: "warning",
    summary: "strategy weighted with all endpoints at the same weight behaves like round_robin",
    example: "scheduler: { strategy: weighted }\nendpoints: [{ address: a-1, port: 15006 }, { address: a-2, port: 15006 }]",
    fix: "Give the endpoints different weights, or use round_robin.",
  },
  {
    code: "LS040",
    severity: "error",
    summary: "a service's scheduler sets hashOn but calls to the service do not use consistent_hash (spec.scheduler.hashOn is a default and never an error)",
    example: "scheduler: { strategy: least_load, hashOn: { cookie: session } }",
    fix: "Remove `hashOn`, or use `strategy: consistent_hash` for calls to this service.",
  },
  {
    code: "LS041",
    severity: "error",
    summary: "strategy consistent_hash without hashOn (no key to hash)",
    example: "scheduler: { strategy: consistent_hash }",
    fix: "Add `hashOn: { header: <name> }`, `{ cookie: <name> }` or `{ path: true }`.",
  },
  {
    code: "LS042",
    severity: "error",
    summary: "hashOn must name exactly one of header, cookie or path",
    example: "hashOn: { header: x-user, path: true }",
    fix: "Keep exactly one of `header`, `cookie` or `path`.",
  },
  {
    code: "LS043",
    severity: "warning",
    summary: "a service's scheduler sets a parameter its strategy does not read (e.g. decay without least_latency)",
    example: "scheduler: { strategy: least_load, decay: 5s }",
    fix: "Remove the parameter, or use the strategy that reads it (the message names it).",
  },
  {
    code: "LS050",
    severity: "error",
    summary: "bad duration: not a string like 250ms, 2s, 1.5m, 1h or 1m30s; zero where zero makes no sense; below 1ms precision; or above 24h",
    example: "connector: { timeout: 2 seconds }",
    fix: "Write a duration such as `250ms`, `2s`, `1.5m`, `1h` or `1m30s`: longer than 0 where zero makes no sense, whole milliseconds, at most 24h.",
  },
  {
    code: "LS051",
    severity: "warning",
    summary: "retries.perTryTimeout is not shorter than the connector timeout, so no retry can happen in time",
    example: "connector:\n  timeout: 2s\n  retries: { perTryTimeout: 2s }",
    fix: "Make `retries.perTryTimeout` shorter than `timeout` (for example a third of it), or raise `timeout`.",
  },
  {
    code: "LS052",
    severity: "warning",
    summary: "healthCheck.timeout is not shorter than healthCheck.interval",
    example: "healthCheck: { path: /healthz, interval: 1s, timeout: 1500ms }",
    fix: "Make `healthCheck.timeout` shorter than `healthCheck.interval`.",
  },
  {
    code: "LS053",
    severity: "warning",
    summary: "healthCheck.path is set on a grpc service, which is checked with the gRPC health service and never requests the path",
    example: "protocol: grpc\nconnector:\n  healthCheck: { path: /healthz, interval: 5s }",
    fix: "Remove `path`: a grpc service is checked with the standard gRPC health service (grpc.health.v1.Health/Check), which must be served by the app.",
  },
  {
    code: "LS060",
    severity: "warning",
    summary: "a retry condition only applies to gRPC but the service's protocol is not grpc",
    example: "protocol: http\nconnector: { retries: { on: [unavailable] } }",
    fix: "Use an HTTP condition (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes), or set `protocol: grpc` if the service speaks gRPC.",
  },
  {
    code: "LS061",
    severity: "error",
    summary: 'retries.statusCodes and the retry condition "retriable-status-codes" go together: one is given without the other',
    example: "retries: { on: [retriable-status-codes] }",
    fix: "Give the codes with `statusCodes: [503, 429]` next to the condition, or drop the condition; `statusCodes` alone needs `retriable-status-codes` in `on`.",
  },
  {
    code: "LS070",
    severity: "warning",
    summary: "the mesh cannot run under the generated docker compose as named (a container name used twice, IPv6 endpoints, IPv4 endpoints in more than one /8); docker-compose.yaml is not written (the Envoy configs are)",
    example: "endpoints: [{ address: \"fd00::1\", port: 15006 }]",
    fix: "Only docker-compose.yaml is skipped (the Envoy configs are written). To run under compose: give each instance its own hostname, use IPv4 in one /8, or use hostnames.",
  },
  {
    code: "LS071",
    severity: "warning",
    summary: "an endpoint's hostname is also the name of a service its caller calls, which compose maps to 127.0.0.1 in that caller, so its sidecar would dial itself; docker-compose.yaml is not written (the Envoy configs are)",
    example: "- name: web\n  calls: [api]\n- name: auth\n  endpoints: [{ address: api, port: 15006 }]",
    fix: "Rename the endpoint's host so it is not the name of a service its callers call (in those callers, compose maps that name to 127.0.0.1).",
  },
  {
    code: "LS080",
    severity: "error",
    summary: "admission.defaultLevel is not one of the admission levels",
    example: "admission: { levels: [critical, normal], defaultLevel: batch }",
    fix: "Set `defaultLevel` to one of `levels`.",
  },
  {
    code: "LS081",
    severity: "error",
    summary: "admission.levels names the same level twice",
    example: "admission: { levels: [critical, normal, critical] }",
    fix: "List each level once.",
  },
  {
    code: "LS082",
    severity: "warning",
    summary: "admission sets levels or defaultLevel without priorityFrom, so every request gets the default level",
    example: "admission: { levels: [critical, normal] }",
    fix: "Add `priorityFrom: { header: x-priority }` so requests can say their level, or remove `levels` and `defaultLevel`.",
  },
  {
    code: "LS083",
    severity: "error",
    summary: "admission.adaptive.minLimit is above adaptive.maxLimit",
    example: "admission: { adaptive: { minLimit: 50, maxLimit: 10 } }",
    fix: "Make `minLimit` at most `maxLimit`.",
  },
  {
    code: "LS084",
    severity: "error",
    summary: "with admission.adaptive, maxInFlightPerEndpoint (the starting limit) is outside [minLimit, maxLimit]",
    example: "admission: { maxInFlightPerEndpoint: 500, adaptive: { minLimit: 1, maxLimit: 100 } }",
    fix: "Choose `maxInFlightPerEndpoint` (the starting limit) between `minLimit` and `maxLimit`.",
  },
  {
    code: "LS085",
    severity: "warning",
    summary: "admission.queueTimeout is not shorter than the connector timeout, so a request may wait in the queue longer than it may take in all",
    example: "connector: { timeout: 1s }\nadmission: { maxInFlightPerEndpoint: 8, queueTimeout: 2s }",
    fix: "Make `admission.queueTimeout` shorter than the connector `timeout`.",
  },
  {
    code: "LS086",
    severity: "warning",
    summary: "the connector's circuitBreaker.maxRequests is below admission.maxInFlightPerEndpoint, so Envoy rejects requests before the admission queue can hold them",
    example: "connector: { circuitBreaker: { maxRequests: 10 } }\nadmission: { maxInFlightPerEndpoint: 64 }",
    fix: "Raise `circuitBreaker.maxRequests` to at least `maxInFlightPerEndpoint`, or lower the admission limit.",
  },
  {
    code: "LS087",
    severity: "warning",
    summary: "admission.tick is not shorter than admission.queueTimeout, so queued requests are re-checked too rarely",
    example: "admission: { maxInFlightPerEndpoint: 8, queueTimeout: 100ms, tick: 200ms }",
    fix: "Make `admission.tick` shorter than `queueTimeout` (a tenth of it is a good start).",
  },
  {
    code: "LS088",
    severity: "error",
    summary: "an admission duration is too long (queueTimeout and adaptive.window at most 1m, tick at most 1s)",
    example: "admission: { maxInFlightPerEndpoint: 8, queueTimeout: 5m }",
    fix: "Use at most 1m for `queueTimeout` and `adaptive.window`, at most 1s for `tick`.",
  },
  {
    code: "LS089",
    severity: "warning",
    summary: "admission.maxQueue is 0 (no request ever waits) but queue settings are given; they have no effect",
    example: "admission: { maxInFlightPerEndpoint: 8, maxQueue: 0, queueTimeout: 200ms }",
    fix: "Remove the queue settings, or allow a queue with `maxQueue` above 0.",
  },
  {
    code: "LS091",
    severity: "error",
    summary: "a service sets allow or public, which need caller identities, but the mesh has no spec.security or mtls off",
    example: "spec:\n  services:\n    - name: catalog\n      allow: [frontend]    # no spec.security",
    fix: "Add `security: { mtls: strict }` (or permissive) under spec, or remove `allow`/`public`: without mutual TLS every caller is accepted anyway.",
  },
  {
    code: "LS092",
    severity: "error",
    summary: "allow lists the same caller twice",
    example: "allow: [monitoring, monitoring]",
    fix: "List each caller once.",
  },
  {
    code: "LS093",
    severity: "error",
    summary: "allow names a service that is not defined, or the service itself",
    example: "allow: [frontnd]",
    fix: "Name a service of the policy (the closest is suggested), or write a caller outside the policy as `{ principal: spiffe://<trust-domain>/<path> }`.",
  },
  {
    code: "LS094",
    severity: "warning",
    summary: "with mtls strict, a service that no service calls, with no allow and not public, can be reached by nothing (an edge service needs public: true)",
    example: "security: { mtls: strict }\nservices:\n  - name: frontend      # nobody calls it",
    fix: "Mark the edge service `public: true`, or list its callers in `allow`.",
  },
  {
    code: "LS095",
    severity: "warning",
    summary: "mtls permissive accepts plaintext callers without authorizing them (a migration mode)",
    example: "security: { mtls: permissive }",
    fix: "Switch to `mtls: strict` once every caller runs a sidecar with its certificate.",
  },
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
