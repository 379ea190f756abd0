/**
 * The diagnostic catalogue: every code lightsub reports, as data (after
 * TypeScript's diagnosticMessages.json). For each code: its severity, which
 * input it is about, a one-line summary, an example and a fix for
 * docs/diagnostics.md, and the messages reported under it. A message is a
 * template whose `{name}` placeholders the call site fills (`{` followed by a
 * space is plain text, as in "{ service: <name> }").
 *
 * Call sites never spell a code or a severity: they take a message by name
 * (`Diag.UnknownProperty`, from ./index.ts) and fill it. Codes are stable:
 * once published a code keeps its meaning. Add new codes, never renumber.
 * docs/diagnostics.md is generated from this file (`npm run docs:diagnostics`;
 * a test checks it is current), and a test checks every code is exercised.
 *
 * A new diagnostic: add its message (under an existing code, or a new code
 * with summary, example and fix), report it with `finding(Diag.Name, path,
 * { ... })` (policy checks) or `diagnosticAt(at, Diag.Name, { ... })`, run
 * `npm run docs:diagnostics`, and add a test that gets it. The template's
 * placeholders are typed: a missing or unknown value does not compile.
 */

export type Severity = "error" | "warning";

/** Which input a code is about: a policy, or a workload of `lightsub simulate`. */
export type DiagnosticArea = "policy" | "workload";

/** A message: its template, and a severity when it differs from its code's. */
export type MessageSpec = string | { readonly template: string; readonly severity: Severity };

export interface CodeSpec {
  readonly code: string;
  readonly severity: Severity;
  readonly area: DiagnosticArea;
  readonly summary: string;
  /** A policy excerpt (YAML) or a command that gets this diagnostic (docs/diagnostics.md shows it). */
  readonly example?: string;
  /** How to fix it, in a sentence or two. */
  readonly fix?: string;
  /** Reports the messages of this other code (by name) for a workload file, under its own code. */
  readonly messagesOf?: string;
  readonly messages: Readonly<Record<string, MessageSpec>>;
}

export const CATALOGUE = {
  Unreadable: {
    code: "LS001",
    severity: "error",
    area: "policy",
    summary: "the policy file cannot be read, is not UTF-8, is empty, or is larger than 16 MiB",
    example: "lightsub validate missing.yaml",
    fix: "Give the path of an existing UTF-8 text file (at most 16 MiB) that is not empty; `-` reads the policy from standard input.",
    messages: {
      NotARegularFile: "cannot read {path}: not a regular file",
      CannotRead: "cannot read {path}: {reason}",
      CannotReadStdin: "cannot read standard input: {reason}",
      FileNotUtf8: "the file is not valid UTF-8 text",
      StdinNotUtf8: "the policy is not valid UTF-8 text",
      FileTooLarge: "the {kind} is {mib} MiB; the limit is {limit} MiB",
      FileEmpty: "the {kind} is empty",
    },
  },
  Syntax: {
    code: "LS002",
    severity: "error",
    area: "policy",
    summary: "YAML or JSON syntax error (including duplicate keys and more than one document)",
    example: "spec:\n  services:\n   - name: a      # indented by 3 where its siblings use 4\n    port: 80",
    fix: "Fix the YAML at the position given: indent with spaces only, keep the keys of one mapping in the same column, give each key once, and keep one document per file. An indentation mistake is reported once: fix it and run again.",
    messages: {
      JsonSyntax: "JSON syntax error: {detail}",
      DuplicateKey: "duplicate key (each key may appear only once in a mapping)",
      MultipleDocuments: "more than one YAML document (remove the extra `---`)",
      YamlSyntax: "YAML syntax error: {detail}",
      YamlError: "YAML error: {detail}",
      TabIndent: "line {line} is indented with a tab; YAML indents with spaces only: replace the tab with spaces{leftOut}",
      IndentedIntoKey:
        "line {line} is indented deeper ({indent}) than the key on line {keyLine} ({keyIndent}) and so reads as part of that key: keys of one mapping must start in the same column{leftOut}",
      CheckIndentation: "{syntax}; check the indentation of line {line}: keys of one mapping must start in the same column, one level deeper than their parent{leftOut}",
      CheckIndentationAgainst:
        "{syntax}; check the indentation of line {line} ({indent}) against line {above} above it ({aboveIndent}): keys of one mapping must start in the same column, one level deeper than their parent{leftOut}",
      /** One of the messages above, as policy/syntax-errors.ts chose and filled it. */
      YamlSyntaxReport: "{text}",
      /** The yaml package's warnings, in the words of the messages above. */
      YamlWarning: { template: "{text}", severity: "warning" },
    },
  },
  NotAPolicy: {
    code: "LS003",
    severity: "error",
    area: "policy",
    summary: "not a lightsub policy: the document is not a mapping, or apiVersion/kind is missing or not lightsub/v1 Mesh",
    example: "apiVersion: lightsub/v2\nkind: Mesh",
    fix: "Start the file with `apiVersion: lightsub/v1` and `kind: Mesh`, with the policy as a mapping (not a list).",
    messages: {
      PolicyNotAMapping: "a policy must be a mapping with apiVersion, kind, metadata and spec, got {got}",
      ApiVersionMissing: 'apiVersion is missing: a policy starts with "apiVersion: {apiVersion}"',
      ApiVersionWrong: "apiVersion must be {expected} (the version this lightsub reads), got {got}",
      KindMissing: 'kind is missing: a policy has "kind: {kind}"',
      KindWrong: "kind must be {expected}, got {got}",
      DocumentConstWrong: "{field} must be {allowed}, got {got}",
    },
  },
  WrongType: {
    code: "LS004",
    severity: "error",
    area: "policy",
    summary: "a value has the wrong type (for example a list where a mapping is expected)",
    example: "port: \"80\"                # a string\nendpoints: { address: a, port: 1 }   # a mapping",
    fix: "Give the type the reference asks for: numbers without quotes, a list (`[...]` or `- ` items) where a list is expected.",
    messages: {
      WrongType: "{field} must be {expected}, got {got}{hint}",
      CallWrongType: "{field} must be a service name or a mapping { service: <name>, port: <port> }, got {got}",
      AllowEntryWrongType: "{field} must be a service name or a mapping { principal: spiffe://... }, got {got}",
      InvalidValue: "{field} {detail}",
    },
  },
  MissingProperty: {
    code: "LS005",
    severity: "error",
    area: "policy",
    summary: "a required property is missing",
    example: "services:\n  - name: a\n    endpoints: [{ address: a, port: 15006 }]   # no port",
    fix: "Add the missing property named in the message (for example the service's `port`, or `healthCheck.path` for an http service).",
    messages: {
      MissingProperty: "missing required property {property} in {place}",
      HealthCheckPathMissing: 'missing required property "path" in connector.healthCheck (the HTTP path an {protocol} health check requests, e.g. /healthz)',
    },
  },
  UnknownProperty: {
    code: "LS006",
    severity: "error",
    area: "policy",
    summary: "unknown property (usually a typo; a suggestion is given when one is close)",
    example: "connector:\n  timout: 2s",
    fix: "Fix the spelling (the message suggests the closest known name) or remove the property; the reference in README.md lists every property.",
    messages: {
      UnknownProperty: "unknown property {property} in {place}{hint}",
    },
  },
  NotAllowedValue: {
    code: "LS007",
    severity: "error",
    area: "policy",
    summary: "a value is not one of the allowed values (strategy, protocol, failMode, retry condition...)",
    example: "scheduler: { strategy: least_laency }",
    fix: "Use one of the values the message lists (the closest one is suggested).",
    messages: {
      NotOneOf: "{field} must be one of {allowed}, got {got}{hint}",
      ConstWrong: "{field} must be {allowed}, got {got}",
    },
  },
  BadFormat: {
    code: "LS008",
    severity: "error",
    area: "policy",
    summary: "a value has the wrong format (DNS label, address, header or cookie name, path, image)",
    example: "endpoints: [{ address: \"bad host\", port: 15006 }]",
    fix: "Write the value in the format the message names: lowercase DNS labels for names, a hostname or IP address, a header or cookie name, a path starting with `/`, an image reference without spaces.",
    messages: {
      PatternMismatch: "{field} must be {expected}, got {got}{hint}",
      BadIpv4: "address {address} is not a valid IPv4 address",
      BadIpv6: "address {address} is not a valid IPv6 address",
    },
  },
  OutOfRange: {
    code: "LS009",
    severity: "error",
    area: "policy",
    summary: "a number, text length or list length is out of its allowed range, or a list repeats an item",
    example: "connector: { retries: { attempts: 11 } }",
    fix: "Bring the number or list within the range the message gives, and list each item once.",
    messages: {
      NumberOutOfRange: "{field} must be {range}, got {got}",
      TooFewItems: "{field} must list at least {limit} {items}",
      TooManyItems: "{field} may list at most {limit} items",
      RepeatedItem: "{field} lists {item} twice",
      EmptyText: "{field} must not be empty",
      TextTooLong: "{field} must be at most {limit} characters long",
    },
  },
  DuplicateService: {
    code: "LS010",
    severity: "error",
    area: "policy",
    summary: "two services have the same name",
    example: "services:\n  - { name: a, port: 80, endpoints: [{ address: a-1, port: 15006 }] }\n  - { name: a, port: 81, endpoints: [{ address: a-2, port: 15006 }] }",
    fix: "Give each service its own name.",
    messages: {
      DuplicateServiceName: "duplicate service name {name} (already used by spec.services[{earlier}])",
    },
  },
  LimitExceeded: {
    code: "LS011",
    severity: "error",
    area: "policy",
    summary: "a resource limit is exceeded (number of services or endpoints, YAML alias expansion, nesting depth, clusters in one sidecar or in all of them); alias and nesting limits apply to workload files too",
    example: "services: [ ... 20,001 services ... ]",
    fix: "Split the mesh, or remove the YAML aliases that expand to much data, or nest less deeply, or call fewer or smaller services from one sidecar; the message names the limit.",
    messages: {
      TooManyServices: "spec.services lists {count} services; the limit is {limit}",
      TooManyEndpoints: "endpoints lists {count} endpoints; the limit is {limit} per service",
      SidecarTooLarge: "the sidecar of {name} would need {clusters} Envoy clusters (each call adds the called service's endpoints + 1); the limit is {limit} per sidecar",
      MeshTooLarge: "the sidecars would need {clusters} Envoy clusters in total, about {megabytes} MB of configs to write (each call adds the called service's endpoints + 1; {name} alone needs {largest}); the limit is {limit}",
      NestedTooDeeply: "the document is nested too deeply",
      AliasesTooLarge: "YAML aliases expand to too much data (limit {limit} alias expansions weighted by size)",
      /** A limit the JSON parser hit (policy/json.ts says which). */
      ParserLimit: "{detail}",
    },
  },
  UnknownCall: {
    code: "LS012",
    severity: "error",
    area: "policy",
    summary: "calls names a service that is not defined",
    example: "calls: [catalg]",
    fix: "Name a service defined under `spec.services` (the closest name is suggested).",
    messages: {
      UnknownCalledService: "service {name} in calls is not defined{hint}",
    },
  },
  SelfCall: {
    code: "LS013",
    severity: "error",
    area: "policy",
    summary: "a service calls itself",
    example: "- name: frontend\n  calls: [frontend]",
    fix: "Remove the service from its own `calls`; a service reaches itself without the mesh.",
    messages: {
      CallsItself: "service {name} calls itself",
    },
  },
  RepeatedCall: {
    code: "LS014",
    severity: "error",
    area: "policy",
    summary: "a service lists the same called service twice",
    example: "calls: [catalog, { service: catalog, port: 7001 }]",
    fix: "List each called service once.",
    messages: {
      AlreadyCalled: "service {name} is already in calls (calls[{earlier}])",
    },
  },
  PortClash: {
    code: "LS020",
    severity: "error",
    area: "policy",
    summary: "port clash: two services' endpoints share an address:port, or one sidecar uses a port twice (app port, meshPort, outbound call ports, admin port)",
    example: "- name: a\n  port: 15006          # the app port clashes with the default meshPort 15006",
    fix: "Move one of the two ports named in the message: the app `port`, `meshPort`, `spec.sidecar.adminPort`, or the outbound port of a call (`calls: [{ service: b, port: <free port> }]`); two services' endpoints must not share an address:port.",
    messages: {
      EndpointOfTwoServices: "endpoint {endpoint} is also an endpoint of {other}: two services cannot listen on one address and port",
      PortUsedTwice: "port {port} is used twice in {owner}: {first} and {second}",
    },
  },
  DuplicateEndpoint: {
    code: "LS021",
    severity: "error",
    area: "policy",
    summary: "a service lists the same endpoint (address:port) twice",
    example: "endpoints: [{ address: host-1, port: 15006 }, { address: HOST-1, port: 15006 }]",
    fix: "Remove the duplicate endpoint (host names compare without case).",
    messages: {
      EndpointListedTwice: "endpoint {endpoint} is listed twice (also endpoints[{earlier}])",
    },
  },
  BadWeight: {
    code: "LS030",
    severity: "error",
    area: "policy",
    summary: "an endpoint weight is not a whole number from 1 to 1000",
    example: "endpoints: [{ address: a-1, port: 15006, weight: 0 }]",
    fix: "Use a whole number from 1 to 1000.",
    messages: {
      WeightWrongType: "{field} must be {expected}, got {got}{hint}",
      WeightOutOfRange: "{field} must be {range}, got {got}",
    },
  },
  WeightsIgnored: {
    code: "LS031",
    severity: "warning",
    area: "policy",
    summary: "endpoint weights are set but the service's strategy ignores them (only weighted, consistent_hash, least_load and availability use weights)",
    example: "scheduler: { strategy: round_robin }\nendpoints: [{ address: a-1, port: 15006, weight: 3 }]",
    fix: "Remove the weights, or use a strategy that follows them: weighted, consistent_hash, least_load or availability.",
    messages: {
      WeightsIgnored: "endpoint weights are ignored by strategy {strategy}; only {strategies} follow them (Envoy's fallback load balancing does too)",
    },
  },
  EqualWeights: {
    code: "LS032",
    severity: "warning",
    area: "policy",
    summary: "strategy weighted with all endpoints at the same weight behaves like round_robin",
    example: "scheduler: { strategy: weighted }\nendpoints: [{ address: a-1, port: 15006 }, { address: a-2, port: 15006 }]",
    fix: "Give the endpoints different weights, or use round_robin.",
    messages: {
      EqualWeights: "strategy weighted with the same weight on every endpoint behaves like round_robin; set weight on the endpoints",
    },
  },
  HashOnUnused: {
    code: "LS040",
    severity: "error",
    area: "policy",
    summary: "a service's scheduler sets hashOn but calls to the service do not use consistent_hash (spec.scheduler.hashOn is a default and never an error)",
    example: "scheduler: { strategy: least_load, hashOn: { cookie: session } }",
    fix: "Remove `hashOn`, or use `strategy: consistent_hash` for calls to this service.",
    messages: {
      HashOnUnused: "hashOn is only used by strategy consistent_hash, but calls to this service use {strategy}",
    },
  },
  HashOnMissing: {
    code: "LS041",
    severity: "error",
    area: "policy",
    summary: "strategy consistent_hash without hashOn (no key to hash)",
    example: "scheduler: { strategy: consistent_hash }",
    fix: "Add `hashOn: { header: <name> }`, `{ cookie: <name> }` or `{ path: true }`.",
    messages: {
      HashOnMissing: "strategy consistent_hash needs hashOn (header, cookie or path) to know what to hash",
    },
  },
  HashOnNotOne: {
    code: "LS042",
    severity: "error",
    area: "policy",
    summary: "hashOn must name exactly one of header, cookie or path",
    example: "hashOn: { header: x-user, path: true }",
    fix: "Keep exactly one of `header`, `cookie` or `path`.",
    messages: {
      HashOnNotOne: "{field} must name exactly one of header, cookie or path, {now}",
    },
  },
  ParameterUnused: {
    code: "LS043",
    severity: "warning",
    area: "policy",
    summary: "a service's scheduler sets a parameter its strategy does not read (e.g. decay without least_latency)",
    example: "scheduler: { strategy: least_load, decay: 5s }",
    fix: "Remove the parameter, or use the strategy that reads it (the message names it).",
    messages: {
      ParameterUnused: "{parameter} is only used by strategy {user}, but calls to this service use {strategy}",
    },
  },
  BadDuration: {
    code: "LS050",
    severity: "error",
    area: "policy",
    summary: "bad duration: not a string like 250ms, 2s, 1.5m, 1h or 1m30s; zero where zero makes no sense; below 1ms precision; or above 24h",
    example: "connector: { timeout: 2 seconds }",
    fix: "Write a duration such as `250ms`, `2s`, `1.5m`, `1h` or `1m30s`: longer than 0 where zero makes no sense, whole milliseconds, at most 24h.",
    messages: {
      DurationWithoutUnit: '{field} must be a duration with a unit, like "2s" or "250ms", got {got}{hint}',
      DurationMalformed: '{field} must be a duration like "250ms", "2s", "1.5m", "1h" or "1m30s", got {got}{hint}',
      DurationUnparsable: "{field} {reason}: {got}",
      DurationZero: "{field} must be longer than 0",
      DurationAbove24h: "{field} must be at most 24h, got {got}",
    },
  },
  PerTryTimeoutTooLong: {
    code: "LS051",
    severity: "warning",
    area: "policy",
    summary: "retries.perTryTimeout is not shorter than the connector timeout, so no retry can happen in time",
    example: "connector:\n  timeout: 2s\n  retries: { perTryTimeout: 2s }",
    fix: "Make `retries.perTryTimeout` shorter than `timeout` (for example a third of it), or raise `timeout`.",
    messages: {
      PerTryTimeoutTooLong: "retries.perTryTimeout ({perTry}) is not shorter than timeout ({timeout}): the first try can use up the whole timeout, leaving no time to retry",
    },
  },
  HealthCheckTimeoutTooLong: {
    code: "LS052",
    severity: "warning",
    area: "policy",
    summary: "healthCheck.timeout is not shorter than healthCheck.interval",
    example: "healthCheck: { path: /healthz, interval: 1s, timeout: 1500ms }",
    fix: "Make `healthCheck.timeout` shorter than `healthCheck.interval`.",
    messages: {
      HealthCheckTimeoutTooLong: "healthCheck.timeout ({timeout}) is not shorter than healthCheck.interval ({interval}): checks overlap",
    },
  },
  GrpcHealthCheckPath: {
    code: "LS053",
    severity: "warning",
    area: "policy",
    summary: "healthCheck.path is set on a grpc service, which is checked with the gRPC health service and never requests the path",
    example: "protocol: grpc\nconnector:\n  healthCheck: { path: /healthz, interval: 5s }",
    fix: "Remove `path`: a grpc service is checked with the standard gRPC health service (grpc.health.v1.Health/Check), which must be served by the app.",
    messages: {
      GrpcHealthCheckPath: "healthCheck.path has no effect on a grpc service: Envoy checks it with the gRPC health service (grpc.health.v1.Health/Check); remove path",
    },
  },
  GrpcOnlyRetryCondition: {
    code: "LS060",
    severity: "warning",
    area: "policy",
    summary: "a retry condition only applies to gRPC but the service's protocol is not grpc",
    example: "protocol: http\nconnector: { retries: { on: [unavailable] } }",
    fix: "Use an HTTP condition (5xx, gateway-error, reset, connect-failure, retriable-4xx, refused-stream, retriable-status-codes), or set `protocol: grpc` if the service speaks gRPC.",
    messages: {
      GrpcOnlyRetryCondition: "retry condition {condition} only matches gRPC status codes, but this service's protocol is {protocol}",
    },
  },
  StatusCodesMismatch: {
    code: "LS061",
    severity: "error",
    area: "policy",
    summary: "retries.statusCodes and the retry condition \"retriable-status-codes\" go together: one is given without the other",
    example: "retries: { on: [retriable-status-codes] }",
    fix: "Give the codes with `statusCodes: [503, 429]` next to the condition, or drop the condition; `statusCodes` alone needs `retriable-status-codes` in `on`.",
    messages: {
      StatusCodesMissing: 'retry condition "retriable-status-codes" needs the codes: add retries.statusCodes, e.g. statusCodes: [503]',
      StatusCodesWithoutCondition: 'retries.statusCodes only applies with the retry condition "retriable-status-codes": add it to retries.on',
    },
  },
  ComposeConflict: {
    code: "LS070",
    severity: "warning",
    area: "policy",
    summary: "the mesh cannot run under the generated docker compose as named (a container name used twice, IPv6 endpoints, IPv4 endpoints in more than one /8); docker-compose.yaml is not written (the Envoy configs are)",
    example: "endpoints: [{ address: \"fd00::1\", port: 15006 }]",
    fix: "Only docker-compose.yaml is skipped (the Envoy configs are written). To run under compose: give each instance its own hostname, use IPv4 in one /8, or use hostnames.",
    messages: {
      ComposeConflict: "docker-compose.yaml not written: {detail}",
    },
  },
  ComposeLoopback: {
    code: "LS071",
    severity: "warning",
    area: "policy",
    summary: "an endpoint's hostname is also the name of a service its caller calls, which compose maps to 127.0.0.1 in that caller, so its sidecar would dial itself; docker-compose.yaml is not written (the Envoy configs are)",
    example: "- name: web\n  calls: [api]\n- name: auth\n  endpoints: [{ address: api, port: 15006 }]",
    fix: "Rename the endpoint's host so it is not the name of a service its callers call (in those callers, compose maps that name to 127.0.0.1).",
    messages: {
      ComposeLoopback: "docker-compose.yaml not written: {detail}",
    },
  },
  UnknownDefaultLevel: {
    code: "LS080",
    severity: "error",
    area: "policy",
    summary: "admission.defaultLevel is not one of the admission levels",
    example: "admission: { levels: [critical, normal], defaultLevel: batch }",
    fix: "Set `defaultLevel` to one of `levels`.",
    messages: {
      UnknownDefaultLevel: "admission.defaultLevel {level} is not one of the levels: {levels}{which}",
    },
  },
  RepeatedLevel: {
    code: "LS081",
    severity: "error",
    area: "policy",
    summary: "admission.levels names the same level twice",
    example: "admission: { levels: [critical, normal, critical] }",
    fix: "List each level once.",
    messages: {
      RepeatedLevel: "admission.levels names level {level} twice (also levels[{earlier}]); each level needs its own name",
    },
  },
  LevelsWithoutPriority: {
    code: "LS082",
    severity: "warning",
    area: "policy",
    summary: "admission sets levels or defaultLevel without priorityFrom, so every request gets the default level",
    example: "admission: { levels: [critical, normal] }",
    fix: "Add `priorityFrom: { header: x-priority }` so requests can say their level, or remove `levels` and `defaultLevel`.",
    messages: {
      LevelsWithoutPriority: "admission.{key} has no effect without admission.priorityFrom: every request gets the default level; add priorityFrom: { header: x-priority } to read each request's level from a header",
    },
  },
  AdaptiveMinAboveMax: {
    code: "LS083",
    severity: "error",
    area: "policy",
    summary: "admission.adaptive.minLimit is above adaptive.maxLimit",
    example: "admission: { adaptive: { minLimit: 50, maxLimit: 10 } }",
    fix: "Make `minLimit` at most `maxLimit`.",
    messages: {
      AdaptiveMinAboveMax: "admission.adaptive.minLimit ({min}) is above adaptive.maxLimit ({max}); the limit must be able to lie between them",
    },
  },
  AdaptiveStartOutside: {
    code: "LS084",
    severity: "error",
    area: "policy",
    summary: "with admission.adaptive, maxInFlightPerEndpoint (the starting limit) is outside [minLimit, maxLimit]",
    example: "admission: { maxInFlightPerEndpoint: 500, adaptive: { minLimit: 1, maxLimit: 100 } }",
    fix: "Choose `maxInFlightPerEndpoint` (the starting limit) between `minLimit` and `maxLimit`.",
    messages: {
      AdaptiveStartOutside: "admission.maxInFlightPerEndpoint ({start}) is the adaptive limit's starting value and must lie between adaptive.minLimit ({min}) and adaptive.maxLimit ({max})",
    },
  },
  QueueTimeoutTooLong: {
    code: "LS085",
    severity: "warning",
    area: "policy",
    summary: "admission.queueTimeout is not shorter than the connector timeout, so a request may wait in the queue longer than it may take in all",
    example: "connector: { timeout: 1s }\nadmission: { maxInFlightPerEndpoint: 8, queueTimeout: 2s }",
    fix: "Make `admission.queueTimeout` shorter than the connector `timeout`.",
    messages: {
      QueueTimeoutTooLong: "{shown} ({queueTimeout}) is not shorter than connector.timeout ({timeout}): the route timeout starts only when a request leaves the queue, so a caller may wait up to {total} in all; shorten queueTimeout",
    },
  },
  CircuitBreakerBelowAdmission: {
    code: "LS086",
    severity: "warning",
    area: "policy",
    summary: "the connector's circuitBreaker.maxRequests is below admission.maxInFlightPerEndpoint, so Envoy rejects requests before the admission queue can hold them",
    example: "connector: { circuitBreaker: { maxRequests: 10 } }\nadmission: { maxInFlightPerEndpoint: 64 }",
    fix: "Raise `circuitBreaker.maxRequests` to at least `maxInFlightPerEndpoint`, or lower the admission limit.",
    messages: {
      CircuitBreakerBelowAdmission: "circuitBreaker.maxRequests ({maxRequests}) is below {what}: Envoy answers 503 (overflow) once an endpoint has {maxRequests} requests in flight, before the admission queue can hold them; raise maxRequests to at least {highest}",
    },
  },
  TickTooLong: {
    code: "LS087",
    severity: "warning",
    area: "policy",
    summary: "admission.tick is not shorter than admission.queueTimeout, so queued requests are re-checked too rarely",
    example: "admission: { maxInFlightPerEndpoint: 8, queueTimeout: 100ms, tick: 200ms }",
    fix: "Make `admission.tick` shorter than `queueTimeout` (a tenth of it is a good start).",
    messages: {
      TickTooLong: "admission.tick ({tick}) is not shorter than admission.queueTimeout ({queueTimeout}): a waiting request is looked at only once per tick, so it may be rejected late and miss slots freed on other workers; make tick a small fraction of queueTimeout",
    },
  },
  AdmissionDurationTooLong: {
    code: "LS088",
    severity: "error",
    area: "policy",
    summary: "an admission duration is too long (queueTimeout and adaptive.window at most 1m, tick at most 1s)",
    example: "admission: { maxInFlightPerEndpoint: 8, queueTimeout: 5m }",
    fix: "Use at most 1m for `queueTimeout` and `adaptive.window`, at most 1s for `tick`.",
    messages: {
      AdmissionDurationTooLong: "{field} must be at most {limit}, got {got}{reason}",
    },
  },
  QueueSettingsUnused: {
    code: "LS089",
    severity: "warning",
    area: "policy",
    summary: "admission.maxQueue is 0 (no request ever waits) but queue settings are given; they have no effect",
    example: "admission: { maxInFlightPerEndpoint: 8, maxQueue: 0, queueTimeout: 200ms }",
    fix: "Remove the queue settings, or allow a queue with `maxQueue` above 0.",
    messages: {
      QueueSettingsUnused: "admission.maxQueue is 0, so no request ever waits and {settings} {verb} no effect; a request that finds every endpoint full is rejected at once",
    },
  },
  AllowWithoutIdentities: {
    code: "LS091",
    severity: "error",
    area: "policy",
    summary: "a service sets allow or public, which need caller identities, but the mesh has no spec.security or mtls off",
    example: "spec:\n  services:\n    - name: catalog\n      allow: [frontend]    # no spec.security",
    fix: "Add `security: { mtls: strict }` (or permissive) under spec, or remove `allow`/`public`: without mutual TLS every caller is accepted anyway.",
    messages: {
      AllowWithoutIdentities: "{field} needs caller identities, but {why}; set spec.security.mtls to strict or permissive, or remove {field}",
    },
  },
  RepeatedCaller: {
    code: "LS092",
    severity: "error",
    area: "policy",
    summary: "allow lists the same caller twice",
    example: "allow: [monitoring, monitoring]",
    fix: "List each caller once.",
    messages: {
      RepeatedCaller: "allow lists {caller} twice",
    },
  },
  UnknownAllowedCaller: {
    code: "LS093",
    severity: "error",
    area: "policy",
    summary: "allow names a service that is not defined, or the service itself",
    example: "allow: [frontnd]",
    fix: "Name a service of the policy (the closest is suggested), or write a caller outside the policy as `{ principal: spiffe://<trust-domain>/<path> }`.",
    messages: {
      UnknownAllowedService: "service {name} in allow is not defined{hint} (a caller outside the policy is written { principal: spiffe://... })",
      AllowsItself: "service {name} allows itself; a service never calls itself through the mesh",
    },
  },
  Unreachable: {
    code: "LS094",
    severity: "warning",
    area: "policy",
    summary: "with mtls strict, a service that no service calls, with no allow and not public, can be reached by nothing (an edge service needs public: true)",
    example: "security: { mtls: strict }\nservices:\n  - name: frontend      # nobody calls it",
    fix: "Mark the edge service `public: true`, or list its callers in `allow`.",
    messages: {
      Unreachable: "service {name} is called by no service and allows no caller, so with mtls strict nothing can reach it; an edge service that takes outside traffic needs public: true",
    },
  },
  PermissiveMtls: {
    code: "LS095",
    severity: "warning",
    area: "policy",
    summary: "mtls permissive accepts plaintext callers without authorizing them (a migration mode)",
    example: "security: { mtls: permissive }",
    fix: "Switch to `mtls: strict` once every caller runs a sidecar with its certificate.",
    messages: {
      PermissiveMtls: "mtls permissive accepts plaintext callers and does not authorize them (a migration mode): switch to strict once every caller has its certificate",
    },
  },
  NoWorkload: {
    code: "LS200",
    severity: "error",
    area: "workload",
    summary: "no workload: the policy has no simulation: section and no --workload file was given",
    messages: {
      NoWorkload: "no workload to simulate: add a simulation: section to the policy or pass --workload <file> (see simulate/README.md)",
    },
  },
  WorkloadUnreadable: {
    code: "LS201",
    severity: "error",
    area: "workload",
    summary: "the workload file cannot be read, is not UTF-8, is empty, or is larger than 16 MiB (the policy's limits; alias and nesting limits are LS011, as in a policy)",
    messagesOf: "Unreadable",
    messages: {
    },
  },
  WorkloadSyntax: {
    code: "LS202",
    severity: "error",
    area: "workload",
    summary: "YAML or JSON syntax error in the workload",
    messagesOf: "Syntax",
    messages: {
    },
  },
  WorkloadWrongType: {
    code: "LS203",
    severity: "error",
    area: "workload",
    summary: "a workload value has the wrong type, or apiVersion/kind is not lightsub/v1 Workload",
    messages: {
      WorkloadWrongType: "{where} must be {expected}, not {got}",
      WorkloadConstWrong: "{where} must be {allowed}",
      WorkloadWrongFormat: "{where}: {got} has the wrong format ({hint})",
      WorkloadInvalid: "{where} {detail}",
    },
  },
  WorkloadMissingProperty: {
    code: "LS204",
    severity: "error",
    area: "workload",
    summary: "a required workload property is missing",
    messages: {
      WorkloadMissingProperty: '{where} needs "{property}"',
    },
  },
  WorkloadUnknownProperty: {
    code: "LS205",
    severity: "error",
    area: "workload",
    summary: "unknown workload property",
    messages: {
      WorkloadUnknownProperty: 'unknown property "{property}" in {where}{hint}',
    },
  },
  WorkloadNotAllowed: {
    code: "LS206",
    severity: "error",
    area: "workload",
    summary: "a workload value is not one of the allowed values",
    messages: {
      WorkloadNotOneOf: "{where} must be one of {allowed}{hint}",
      SeveralCallersWithAdmission: '{where}: several callers cannot be simulated for a destination with admission ("{callee}"); use callers: 1',
    },
  },
  WorkloadOutOfRange: {
    code: "LS207",
    severity: "error",
    area: "workload",
    summary: "a workload number or list is out of its allowed range",
    messages: {
      WorkloadNumberOutOfRange: "{where} must be {bound} {limit}",
      WorkloadWrongLength: "{where} {detail}",
      WorkloadPropertyCount: "{where} must name {bound} {limit} {values}",
      WorkloadRepeatedItem: "{where} lists the same item twice (items {first} and {second})",
      DurationTooShortForOne: "{where} is too short for even one request at this rate",
      P99NotAboveMedian: "{where} must be above the median",
      MixAllZero: "{where} needs at least one value with a share above 0",
    },
  },
  WorkloadBadDuration: {
    code: "LS208",
    severity: "error",
    area: "workload",
    summary: "bad duration in the workload (not like 250us, 20ms, 1.5s, 1m, 1m30s; or zero where it must be positive)",
    messages: {
      WorkloadDurationNotPositive: "{where} must be more than zero",
      WorkloadNotADurationHint: "{where}: {got} is not a duration{hint}",
      WorkloadNotADuration: "{where}: {got} is not a duration; write a number and a unit (us, ms, s, m, h), e.g. 250ms, 1.5s or 1m30s",
      WorkloadDurationUnparsable: "{where}: {got} {reason}",
    },
  },
  WorkloadExactlyOne: {
    code: "LS209",
    severity: "error",
    area: "workload",
    summary: "exactly one of two properties must be set (arrivals requests/duration, lognormal p99/sigma), or an event changes nothing",
    messages: {
      ExactlyOneOf: '{where} needs exactly one of "{first}" and "{second}"',
      EventChangesNothing: "{where} changes nothing: give slowdown, outage, errorRate or recover: true",
      RecoverWithChanges: "{where}: recover ends earlier events and takes no other change or until",
    },
  },
  WorkloadUnknownCaller: {
    code: "LS210",
    severity: "error",
    area: "workload",
    summary: "from names no service of the policy, or a service that calls nobody",
    messages: {
      NoCallingService: "no service of the policy calls another, so there is nothing to simulate",
      UnknownCaller: 'from: service "{name}" is not defined{hint}',
      CallerCallsNobody: 'from: service "{name}" calls no other service',
    },
  },
  WorkloadUnknownDestination: {
    code: "LS211",
    severity: "error",
    area: "workload",
    summary: "to is not a service the caller calls",
    messages: {
      NotCalledByCaller: 'to: "{caller}" does not call "{name}"{hint}',
    },
  },
  WorkloadUnknownEndpoint: {
    code: "LS212",
    severity: "error",
    area: "workload",
    summary: "an endpoint entry matches no endpoint of the destination, or matches several",
    messages: {
      UnknownEndpoint: "{where}: {reason}",
    },
  },
  WorkloadDuplicateEndpoint: {
    code: "LS213",
    severity: "error",
    area: "workload",
    summary: "two endpoint entries select the same endpoint",
    messages: {
      EndpointSelectedTwice: "{where} selects the same endpoint as endpoints[{earlier}]",
    },
  },
  WorkloadEventOrder: {
    code: "LS214",
    severity: "error",
    area: "workload",
    summary: "an event's or a burst's until is not after its at, or two arrival bursts overlap",
    messages: {
      UntilNotAfterAt: "{where} must be after at",
      BurstsOverlap: "{where} overlaps arrivals.bursts[{earlier}]; bursts must not overlap",
    },
  },
  WorkloadCannotCompare: {
    code: "LS215",
    severity: "error",
    area: "workload",
    summary: "compare names consistent_hash but the destination has no hashOn, or no_admission/circuit_breaker but the destination has no admission",
    messages: {
      CompareNeedsHashOn: "{where}: consistent_hash needs hashOn in the policy's scheduler for \"{callee}\"",
      CompareNeedsAdmission: '{where}: {run} compares against admission, but the policy sets no admission for "{callee}"',
    },
  },
  WorkloadTooLarge: {
    code: "LS216",
    severity: "error",
    area: "workload",
    summary: "the workload asks for more than 10,000,000 requests",
    messages: {
      TooManyRequests: "{where} asks for {requests} requests; at most {max} are simulated",
    },
  },
} as const satisfies Readonly<Record<string, CodeSpec>>;
