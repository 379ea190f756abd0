/**
 * Every diagnostic code at its exact line:column. Policies are inline; `«`
 * marks where each expected diagnostic points, in order. Each case asserts the
 * complete list of diagnostics, so extra or missing ones fail too.
 */
import { describe, expect, it } from "vitest";
import { DIAGNOSTIC_CODES, formatDiagnostic } from "../../compiler/diagnostics/index.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { check, expectMarkedDiagnostics, where } from "../support/policy-marks.js";

interface Case {
  name: string;
  source: string;
  /** One code per `«` marker, in source order. */
  expect: string[];
  /** Substrings the messages must contain, in the same order (optional). */
  messages?: string[];
}

const HEAD = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: test }
spec:`;

const cases: Case[] = [
  { name: "LS001 empty policy", source: "«\n\n  \n", expect: ["LS001"], messages: ["empty"] },
  { name: "LS002 YAML syntax error", source: "apiVersion: lightsub/v1\nkind: Mesh\nmetadata:\n  name: x\n« spec: 1\n", expect: ["LS002"] },
  { name: "LS002 duplicate key", source: `${HEAD}\n  services: []\n  «services: []\n`, expect: ["LS002"], messages: ["duplicate key"] },
  { name: "LS002 several documents", source: `${HEAD}\n  services: []\n«---\nother: 1\n`, expect: ["LS002"], messages: ["more than one YAML document"] },
  { name: "LS003 wrong apiVersion", source: "apiVersion: «lightsub/v2\nkind: Mesh\n", expect: ["LS003"], messages: ['apiVersion must be "lightsub/v1"'] },
  { name: "LS003 wrong kind and missing apiVersion", source: "«kind: «Service\nmetadata: { name: x }\n", expect: ["LS003", "LS003"], messages: ["apiVersion is missing", 'kind must be "Mesh"'] },
  { name: "LS003 not a mapping", source: "«- apiVersion: lightsub/v1\n", expect: ["LS003"], messages: ["must be a mapping"] },
  {
    name: "LS004 wrong types",
    source: `${HEAD}\n  services:\n    - name: a\n      port: «"80"\n      endpoints: «{ address: a, port: 1 }\n      calls: [«7]\n`,
    expect: ["LS004", "LS004", "LS004"],
    messages: ['port must be a whole number, got "80" (remove the quotes)', "endpoints must be a list", "calls[0] must be a service name or a mapping"],
  },
  {
    name: "LS005 missing required properties",
    source: `${HEAD}\n  services:\n    - «name: a\n      endpoints: [{ address: a, port: 1 }]\n      connector:\n        healthCheck: «{ interval: 5s }\n`,
    expect: ["LS005", "LS005"],
    messages: ['missing required property "port" in service "a"', 'missing required property "path" in connector.healthCheck'],
  },
  {
    name: "LS006 unknown properties with suggestions",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      «protocl: grpc\n      endpoints: [{ address: a, port: 2, «wieght: 2 }]\n      connector:\n        «timout: 2s\n  «colour: blue\n`,
    expect: ["LS006", "LS006", "LS006", "LS006"],
    messages: [
      'unknown property "protocl" in service "a" (did you mean "protocol"?)',
      'unknown property "wieght" in endpoints[0] (did you mean "weight"?)',
      'unknown property "timout" in connector (did you mean "timeout"?)',
      'unknown property "colour" in spec',
    ],
  },
  {
    name: "LS007 values outside their enum",
    source: `${HEAD}\n  scheduler: { strategy: «least_laency }\n  failMode: «half-open\n  services:\n    - name: a\n      port: 1\n      protocol: «HTTP\n      endpoints: [{ address: a, port: 2 }]\n      connector: { retries: { on: [«5XX] } }\n`,
    expect: ["LS007", "LS007", "LS007", "LS007"],
    messages: ['(did you mean "least_latency"?)', "spec.failMode must be one of open, closed", '(did you mean "http"?)', '(did you mean "5xx"?)'],
  },
  {
    name: "LS008 bad formats",
    source: `${HEAD}\n  services:\n    - name: «Catalog\n      port: 1\n      endpoints: [{ address: «10.0.0.256, port: 2 }, { address: «"bad host", port: 3 }]\n      scheduler: { strategy: consistent_hash, hashOn: { header: «"x user" } }\n      image: «"no spaces please"\n      connector: { healthCheck: { path: «healthz } }\n`,
    expect: ["LS008", "LS008", "LS008", "LS008", "LS008", "LS008"],
    messages: ["(names are lowercase)", "not a valid IPv4 address", "hostname or an IP address", "HTTP header name", "container image", 'path starting with "/"'],
  },
  {
    name: "LS009 out of range",
    source: `${HEAD}\n  scheduler: { strategy: availability, errorThreshold: «1.5, minRequests: «0 }\n  services:\n    - name: a\n      port: «70000\n      endpoints: [{ address: a, port: 2 }]\n      connector: { retries: { attempts: «11, on: [reset, «reset] }, outlierDetection: { maxEjectionPercent: «101 } }\n`,
    expect: ["LS009", "LS009", "LS009", "LS009", "LS009", "LS009"],
    messages: ["more than 0 and at most 1", "from 1 to 1000000", "from 1 to 65535, got 70000", "from 0 to 10", 'lists "reset" twice', "from 0 to 100"],
  },
  {
    name: "LS009 empty list of services",
    source: `${HEAD}\n  services: «[]\n`,
    expect: ["LS009"],
    messages: ["spec.services must list at least 1 item"],
  },
  {
    name: "LS010 duplicate service name",
    source: `${HEAD}\n  services:\n    - { name: a, port: 1, endpoints: [{ address: a, port: 2 }] }\n    - { name: «a, port: 1, endpoints: [{ address: b, port: 2 }] }\n`,
    expect: ["LS010"],
    messages: ['duplicate service name "a" (already used by spec.services[0])'],
  },
  {
    name: "LS012 LS013 LS014 calls",
    source: `${HEAD}\n  services:\n    - name: frontend\n      port: 8080\n      endpoints: [{ address: frontend, port: 15006 }]\n      calls: [«catalg, «frontend, catalog, { service: «catalog, port: 7001 }, «zzz]\n    - { name: catalog, port: 9090, endpoints: [{ address: catalog, port: 15006 }] }\n`,
    expect: ["LS012", "LS013", "LS014", "LS012"],
    messages: ['service "catalg" in calls is not defined (did you mean "catalog"?)', 'service "frontend" calls itself', 'service "catalog" is already in calls (calls[2])', 'service "zzz" in calls is not defined'],
  },
  {
    name: "LS020 two services on one address and port, LS021 duplicate endpoint",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: host-1, port: 2 }, «{ address: HOST-1, port: 2 }]\n    - name: b\n      port: 1\n      endpoints: [«{ address: host-1, port: 2 }]\n`,
    expect: ["LS021", "LS020"],
    messages: ["endpoint HOST-1:2 is listed twice (also endpoints[0])", 'endpoint host-1:2 is also an endpoint of service "a"'],
  },
  {
    name: "LS020 ports of one sidecar",
    source: `${HEAD}\n  sidecar: { adminPort: 9901 }\n  services:\n    - name: a\n      port: «15006\n      endpoints: [{ address: a, port: 2 }]\n      calls: [«b, c, { service: d, port: «8080 }]\n    - name: b\n      port: «9901\n      endpoints: [{ address: b, port: 2 }]\n    - { name: c, port: 8080, endpoints: [{ address: c, port: 2 }] }\n    - { name: d, port: 7000, endpoints: [{ address: d, port: 2 }] }\n`,
    expect: ["LS020", "LS020", "LS020", "LS020"],
    messages: [
      "port 15006 is used twice in the sidecar of \"a\": the inbound mesh port (default 15006, set meshPort to move it) and the app port (port)",
      'port 9901 is used twice in the sidecar of "a": the admin port (spec.sidecar.adminPort) and the outbound port for calls to "b" (its port 9901; choose another with { service: b, port: <free port> })',
      'the outbound port for calls to "c" (its port 8080; choose another with { service: c, port: <free port> }) and the outbound port for calls to "d"',
      'port 9901 is used twice in the sidecar of "b": the admin port (spec.sidecar.adminPort) and the app port (port)',
    ],
  },
  {
    name: "LS030 weights out of range",
    source: `${HEAD}\n  scheduler: { strategy: weighted }\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2, weight: «0 }, { address: b, port: 2, weight: «1001 }, { address: c, port: 2, weight: «1.5 }]\n`,
    expect: ["LS030", "LS030", "LS030"],
    messages: ["from 1 to 1000, got 0", "from 1 to 1000, got 1001", "must be a whole number, got 1.5"],
  },
  {
    name: "LS031 weights ignored, LS032 equal weights",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }, { address: b, port: 2, weight: «3 }]\n    - name: b\n      port: 1\n      endpoints: [{ address: c, port: 3 }, { address: d, port: 3 }]\n      scheduler: { strategy: «weighted }\n`,
    expect: ["LS031", "LS032"],
    messages: ["endpoint weights are ignored by strategy round_robin", "behaves like round_robin"],
  },
  {
    name: "LS040 LS041 LS042 hashOn",
    source: `${HEAD}\n  scheduler: { strategy: «consistent_hash }\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      scheduler: { strategy: least_load, hashOn: «{ cookie: s } }\n    - name: b\n      port: 1\n      endpoints: [{ address: b, port: 2 }]\n      scheduler: { strategy: consistent_hash, hashOn: «{ header: h, path: true } }\n    - name: c\n      port: 1\n      endpoints: [{ address: c, port: 2 }]\n      scheduler: { hashOn: «{} }\n`,
    expect: ["LS041", "LS040", "LS042", "LS042"],
    messages: ["strategy consistent_hash needs hashOn", "hashOn is only used by strategy consistent_hash, but calls to this service use least_load", "not header, path", "it names none"],
  },
  {
    name: "LS041 on a service's own strategy; the mesh hashOn is a default, not an error",
    source: `${HEAD}\n  scheduler: { strategy: random, hashOn: { header: x-user } }\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n    - name: b\n      port: 1\n      endpoints: [{ address: b, port: 2 }]\n      scheduler: { strategy: consistent_hash }\n`,
    expect: [],
  },
  {
    name: "LS041 on a service without any hashOn to inherit",
    source: `${HEAD}\n  services:\n    - name: b\n      port: 1\n      endpoints: [{ address: b, port: 2 }]\n      scheduler: { strategy: «consistent_hash }\n`,
    expect: ["LS041"],
  },
  {
    name: "LS043 parameters the service's strategy does not read",
    source: `${HEAD}\n  scheduler: { strategy: least_latency, window: 5s }\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      scheduler: { strategy: least_load, decay: «5s, minRequests: «3 }\n`,
    expect: ["LS043", "LS043"],
    messages: ["decay is only used by strategy least_latency, but calls to this service use least_load", "minRequests is only used by strategy availability"],
  },
  {
    name: "LS050 bad durations",
    source: `${HEAD}\n  scheduler: { strategy: least_latency, decay: «10, window: «2sec, probeInterval: «-1s }\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      connector: { timeout: 0s, connectTimeout: «0ms, retries: { perTryTimeout: «0.5ms }, healthCheck: { path: /, interval: «25h } }\n`,
    expect: ["LS050", "LS050", "LS050", "LS050", "LS050", "LS050"],
    messages: ['add a unit: "10s" or "10ms"', 'got "2sec"', 'got "-1s"', "connector.connectTimeout must be longer than 0", "not a whole number of milliseconds", "at most 24h"],
  },
  {
    name: "LS051 LS052 LS060 connector warnings",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      connector:\n        timeout: 2s\n        retries: { perTryTimeout: «2s, on: [reset, «unavailable] }\n        healthCheck: { path: /healthz, interval: 1s, timeout: «1500ms }\n`,
    expect: ["LS051", "LS060", "LS052"],
    messages: ["retries.perTryTimeout (2s) is not shorter than timeout (2s)", 'retry condition "unavailable" only matches gRPC', "healthCheck.timeout (1.5s) is not shorter than healthCheck.interval (1s)"],
  },
  {
    name: "LS053 a health-check path on a grpc service; LS005 an http service's health check without one",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      protocol: grpc\n      endpoints: [{ address: a, port: 2 }]\n      connector:\n        healthCheck: { path: «/healthz }\n    - name: b\n      port: 1\n      endpoints: [{ address: b, port: 2 }]\n      connector:\n        healthCheck: «{ interval: 5s }\n    - name: c\n      port: 1\n      protocol: grpc\n      endpoints: [{ address: c, port: 2 }]\n      connector:\n        healthCheck: { interval: 5s }\n`,
    expect: ["LS053", "LS005"],
    messages: ["healthCheck.path has no effect on a grpc service", 'missing required property "path" in connector.healthCheck (the HTTP path an http health check requests'],
  },
  {
    name: "LS061 retriable-status-codes without statusCodes, and statusCodes without the condition",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      connector:\n        retries: { on: [reset, «retriable-status-codes] }\n    - name: b\n      port: 1\n      endpoints: [{ address: b, port: 2 }]\n      connector:\n        retries: { on: [reset], statusCodes: «[503] }\n    - name: c\n      port: 1\n      endpoints: [{ address: c, port: 2 }]\n      connector:\n        retries: { on: [retriable-status-codes], statusCodes: [503, 429] }\n`,
    expect: ["LS061", "LS061"],
    messages: ['retry condition "retriable-status-codes" needs the codes: add retries.statusCodes', 'retries.statusCodes only applies with the retry condition "retriable-status-codes"'],
  },
  {
    // web and edge call api and auth; auth's endpoint is named "API", a name both map to 127.0.0.1, and so is api's second one.
    name: "LS071 endpoint hostname that its callers map to 127.0.0.1",
    source: `${HEAD}\n  services:\n    - name: web\n      port: 8080\n      endpoints: [{ address: web-1, port: 15006 }]\n      calls: [api, auth]\n    - name: edge\n      port: 8081\n      endpoints: [{ address: edge-1, port: 15006 }]\n      calls: [auth, api]\n    - name: api\n      port: 9090\n      endpoints: [{ address: api-1, port: 15006 }, { address: «api, port: 15007 }]\n    - name: auth\n      port: 9091\n      endpoints: [{ address: «API, port: 15008 }]\n`,
    expect: ["LS071", "LS071"],
    messages: [
      'endpoint api:15007 of service "api" is dialed by "web", "edge", which also call a service named "api"',
      'endpoint API:15008 of service "auth" is dialed by "web", "edge", which also call a service named "api"',
    ],
  },
  {
    name: "LS070 compose conflicts of the whole mesh, at the node that conflicts",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: box, port: 2 }, { address: 10.0.0.1, port: 2 }]\n    - name: b\n      port: 1\n      endpoints: [{ address: «box, port: 3 }, { address: «fd00::1, port: 3 }, { address: «11.0.0.1, port: 3 }]\n`,
    expect: ["LS070", "LS070", "LS070"],
    messages: [
      'container name "box" is used by service "a" and service "b"',
      'service "b": IPv6 endpoint fd00::1 is not supported in docker compose',
      "IPv4 endpoints 10.0.0.1, 11.0.0.1 do not fit in one /8 compose network",
    ],
  },
  {
    name: "LS091 allow and public without identities (no security, mtls off)",
    source: `${HEAD}\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      «public: true\n      calls: [b]\n    - name: b\n      port: 3\n      endpoints: [{ address: b, port: 4 }]\n      «allow: [a]\n`,
    expect: ["LS091", "LS091"],
    messages: ["public needs caller identities, but the policy has no spec.security", "allow needs caller identities"],
  },
  {
    name: "LS091 allow with mtls off",
    source: `${HEAD}\n  security: { mtls: off }\n  services:\n    - name: a\n      port: 1\n      endpoints: [{ address: a, port: 2 }]\n      «allow: [{ principal: "spiffe://x/y" }]\n`,
    expect: ["LS091"],
    messages: ["spec.security.mtls is off"],
  },
  {
    name: "LS092 LS093 LS094 allow entries and an unreachable service under strict",
    source: `${HEAD}\n  security: {}\n  services:\n    - name: «edge\n      port: 1\n      endpoints: [{ address: e, port: 2 }]\n      calls: [api]\n    - name: api\n      port: 3\n      endpoints: [{ address: a, port: 4 }]\n      allow: [«edg, «api, { principal: "spiffe://shop/ingress" }, «{ principal: "spiffe://shop/ingress" }]\n`,
    expect: ["LS094", "LS093", "LS093", "LS092"],
    messages: ['service "edge" is called by no service and allows no caller', 'service "edg" in allow is not defined (did you mean "edge"?)', 'service "api" allows itself', 'allow lists "spiffe://shop/ingress" twice'],
  },
  {
    name: "LS095 permissive; schema errors in security and allow",
    source: `${HEAD}\n  security: { mtls: «permissive, trustDomain: «Shop.Example }\n  services:\n    - name: a\n      port: 1\n      public: true\n      endpoints: [{ address: a, port: 2 }]\n      allow: [{ principal: «"http://x/y" }, «7]\n`,
    expect: ["LS095", "LS008", "LS008", "LS004"],
    messages: ["mtls permissive accepts plaintext callers", "must be a trust domain", "must be a SPIFFE ID", "must be a service name or a mapping { principal"],
  },
  {
    name: "LS007 unknown mtls mode",
    source: `${HEAD}\n  security: { mtls: «strikt }\n  services:\n    - name: a\n      port: 1\n      public: true\n      endpoints: [{ address: a, port: 2 }]\n`,
    expect: ["LS007"],
    messages: ['(did you mean "strict"?)'],
  },
];

describe("diagnostic codes at their positions", () => {
  for (const c of cases) {
    it(c.name, () => expectMarkedDiagnostics(c.source, c.expect, c.messages));
  }

  it("gives each code the severity listed in the code table", () => {
    const table = new Map(DIAGNOSTIC_CODES.map((c) => [c.code, c.severity]));
    for (const c of cases) {
      for (const d of check(c.source).diagnostics) expect(d.severity, `${d.code} in ${c.name}`).toBe(table.get(d.code));
    }
  });

  it("covers every code of the table except the file-level limits (tested with the loader)", () => {
    const seen = new Set(cases.flatMap((c) => c.expect));
    // Admission's LS080–LS089 have their own case table (admission-compiler-diagnostics.test.ts, which checks it covers them all).
    const untested = DIAGNOSTIC_CODES.map((c) => c.code).filter((code) => !seen.has(code) && !/^LS08\d$/.test(code));
    expect(untested.sort()).toEqual(["LS011"]);
  });
});

describe("reporting", () => {
  it("prints the compiler format with the did-you-mean suggestion", () => {
    const text = [
      "apiVersion: lightsub/v1", //  1
      "kind: Mesh", //  2
      "metadata:", //  3
      "  name: shop", //  4
      "spec:", //  5
      "  services:", //  6
      "    - name: catalog", //  7
      "      port: 9090", //  8
      "      endpoints:", //  9
      "        - { address: catalog-1, port: 15006 }", // 10
      "    - name: frontend", // 11
      "      port: 8080", // 12
      "      calls:", // 13
      "        catalg", // 14: a plain scalar, not a list: LS004 at 14:9
      "      endpoints: [{ address: frontend, port: 15006 }]", // 15
      "    - name: admin", // 16
      "      port: 8000", // 17
      "      endpoints: [{ address: admin, port: 15006 }]", // 18
      "      calls:", // 19
      "      - catalg", // 20
      "",
    ].join("\n");
    const result = checkPolicy(text, "policy.yaml");
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "policy.yaml:14:9: error LS004: calls must be a list, got \"catalg\"",
      'policy.yaml:20:9: error LS012: service "catalg" in calls is not defined (did you mean "catalog"?)',
    ]);
  });

  it("reports all problems of a policy in one run, sorted by position", () => {
    const result = check(`
      apiVersion: lightsub/v1
      kind: Mesh
      metadata: { name: Bad_Name }
      spec:
        scheduler: { strategy: fastest }
        services:
          - name: a
            port: 0
            endpoints: [{ address: a, port: 2, weight: 0 }]
            calls: [b, b, nowhere]
            connector: { timout: 1s, connectTimeout: 1 }
          - name: a
            port: 8080
            endpoints: [{ address: a, port: 2 }]
    `);
    const found = new Set(result.diagnostics.map((d) => d.code));
    for (const code of ["LS008", "LS007", "LS009", "LS030", "LS014", "LS012", "LS006", "LS050", "LS010", "LS020"]) expect(found, code).toContain(code);
    const positions = result.diagnostics.map((d) => d.line * 1000 + d.column);
    expect(positions).toEqual([...positions].sort((x, y) => x - y));
    expect(result.model).toBeUndefined();
  });

  it("keeps diagnostics of an invalid part while checking the valid rest", () => {
    // services[0] is not even a mapping; services[1] still gets its own problems reported.
    const result = check(`
      apiVersion: lightsub/v1
      kind: Mesh
      metadata: { name: x }
      spec:
        services:
          - «just-a-string
          - name: b
            port: 1
            endpoints: [{ address: b, port: 2 }]
            calls: [«nope]
    `);
    expect(result.diagnostics.map(where)).toEqual([`${result.marks[0]!.line}:${result.marks[0]!.column} LS004`, `${result.marks[1]!.line}:${result.marks[1]!.column} LS012`]);
  });
});
