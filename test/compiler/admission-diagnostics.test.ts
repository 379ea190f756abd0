/**
 * Admission (issue 8) in the policy: every admission diagnostic (LS080–LS089,
 * and LS050 for admission durations) at its exact line:column, schema
 * rejections of malformed admission blocks, and the CLI printing them.
 * Policies are inline; `«` marks where each expected diagnostic points.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DIAGNOSTIC_CODES } from "../../compiler/diagnostics/index.js";
import { check, expectMarkedDiagnostics, marked, where } from "../support/policy-marks.js";

interface Case {
  name: string;
  /** The admission block (and optionally a connector) of service "b", indented 6 spaces. */
  service: string;
  expect: string[];
  messages?: string[];
}

/** Service a calls service b; `bBody` is the rest of b's mapping. */
function policy(bBody: string): string {
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: test }
spec:
  services:
    - name: a
      port: 8080
      endpoints: [{ address: a, port: 15006 }]
      calls: [b]
    - name: b
      port: 9090
      endpoints: [{ address: b-1, port: 15006 }, { address: b-2, port: 15006 }]
${bBody}`;
}

const cases: Case[] = [
  {
    name: "a complete, consistent admission block is clean",
    service: `      connector: { timeout: 2s, circuitBreaker: { maxRequests: 100 } }
      admission:
        maxInFlightPerEndpoint: 16
        maxQueue: 64
        queueTimeout: 250ms
        tick: 5ms
        priorityFrom: { header: X-Priority }
        levels: [critical, normal, batch]
        defaultLevel: batch
        adaptive: { minLimit: 4, maxLimit: 64, window: 500ms }
`,
    expect: [],
  },
  {
    name: "LS080 defaultLevel not among the written levels",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        priorityFrom: { header: x-priority }
        levels: [gold, silver]
        defaultLevel: «bronze
`,
    expect: ["LS080"],
    messages: ['admission.defaultLevel "bronze" is not one of the levels: gold, silver'],
  },
  {
    name: "LS080 defaultLevel not among the default levels",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        priorityFrom: { header: x-priority }
        defaultLevel: «urgent
`,
    expect: ["LS080"],
    messages: ["high, normal, low (the default levels, as admission.levels is not set)"],
  },
  {
    name: "LS081 a level named twice, at the second one",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        priorityFrom: { header: x-priority }
        levels: [high, low, «high]
`,
    expect: ["LS081"],
    messages: ['names level "high" twice (also levels[0])'],
  },
  {
    name: "LS082 levels without priorityFrom",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        levels: «[high, low]
`,
    expect: ["LS082"],
    messages: ["admission.levels has no effect without admission.priorityFrom"],
  },
  {
    name: "LS082 defaultLevel without priorityFrom",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        defaultLevel: «low
`,
    expect: ["LS082"],
  },
  {
    name: "LS083 adaptive minLimit above maxLimit",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        adaptive: { minLimit: «50, maxLimit: 10 }
`,
    expect: ["LS083"],
    messages: ["admission.adaptive.minLimit (50) is above adaptive.maxLimit (10)"],
  },
  {
    name: "LS084 starting limit outside the adaptive range",
    service: `      admission:
        maxInFlightPerEndpoint: «200
        adaptive: { minLimit: 4, maxLimit: 100 }
`,
    expect: ["LS084"],
    messages: ["admission.maxInFlightPerEndpoint (200) is the adaptive limit's starting value and must lie between adaptive.minLimit (4) and adaptive.maxLimit (100)"],
  },
  {
    name: "LS085 queueTimeout not shorter than the connector timeout",
    service: `      connector: { timeout: 500ms }
      admission:
        maxInFlightPerEndpoint: 8
        queueTimeout: «500ms
`,
    expect: ["LS085"],
    messages: ["admission.queueTimeout (500ms) is not shorter than connector.timeout (500ms): the route timeout starts only when a request leaves the queue, so a caller may wait up to 1s in all"],
  },
  {
    name: "LS085 with the default queueTimeout points at admission",
    service: `      connector: { timeout: 800ms }
      admission:
        «maxInFlightPerEndpoint: 8
`,
    expect: ["LS085"],
    messages: ["admission.queueTimeout (default) (1s)"],
  },
  {
    name: "LS086 circuit breaker below the admission limit",
    service: `      connector: { circuitBreaker: { maxRequests: «10 } }
      admission:
        maxInFlightPerEndpoint: 32
`,
    expect: ["LS086"],
    messages: ["circuitBreaker.maxRequests (10) is below admission.maxInFlightPerEndpoint (32): Envoy answers 503 (overflow) once an endpoint has 10 requests in flight, before the admission queue can hold them; raise maxRequests to at least 32"],
  },
  {
    name: "LS086 circuit breaker below the adaptive maximum",
    service: `      connector: { circuitBreaker: { maxRequests: «50 } }
      admission:
        maxInFlightPerEndpoint: 32
        adaptive: { minLimit: 8, maxLimit: 64 }
`,
    expect: ["LS086"],
    messages: ["below admission.adaptive.maxLimit (64)"],
  },
  {
    name: "LS087 tick not shorter than queueTimeout",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        queueTimeout: 100ms
        tick: «100ms
`,
    expect: ["LS087"],
    messages: ["admission.tick (100ms) is not shorter than admission.queueTimeout (100ms)"],
  },
  {
    name: "LS088 durations too long for admission",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        queueTimeout: «2m
        tick: «1.5s
        adaptive: { minLimit: 1, maxLimit: 10, window: «90s }
`,
    expect: ["LS088", "LS088", "LS088"],
    messages: ['admission.queueTimeout must be at most 1m, got "2m"', 'admission.tick must be at most 1s, got "1.5s"', 'admission.adaptive.window must be at most 1m, got "90s"'],
  },
  {
    name: "LS050 zero and sub-millisecond admission durations",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        queueTimeout: «0s
        tick: «0.5ms
`,
    expect: ["LS050", "LS050"],
    messages: ["admission.queueTimeout must be longer than 0", "admission.tick is not a whole number of milliseconds"],
  },
  {
    name: "LS089 queue settings with maxQueue 0",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        maxQueue: «0
        queueTimeout: 300ms
        priorityFrom: { header: x-priority }
`,
    expect: ["LS089"],
    messages: ["admission.maxQueue is 0, so no request ever waits and admission.queueTimeout, admission.priorityFrom have no effect"],
  },
  {
    name: "maxQueue 0 alone is a plain concurrency limit (no warning)",
    service: `      connector: { timeout: 200ms }
      admission:
        maxInFlightPerEndpoint: 8
        maxQueue: 0
`,
    expect: [],
  },
  {
    name: "schema: maxInFlightPerEndpoint is required and admission has no unknown keys",
    service: `      admission:
        «maxQueue: 4
        «queueTimout: 1s
`,
    expect: ["LS005", "LS006"],
    messages: ['missing required property "maxInFlightPerEndpoint" in admission', 'unknown property "queueTimout" in admission (did you mean "queueTimeout"?)'],
  },
  {
    name: "schema: ranges, types and formats",
    service: `      admission:
        maxInFlightPerEndpoint: «0
        maxQueue: «-1
        queueTimeout: «200
        priorityFrom: { header: «"x priority" }
        levels: [high, «High]
        adaptive: «{ minLimit: 1 }
`,
    expect: ["LS009", "LS009", "LS050", "LS008", "LS008", "LS005"],
    messages: [
      "admission.maxInFlightPerEndpoint must be from 1 to 1000000, got 0",
      "admission.maxQueue must be from 0 to 100000, got -1",
      'admission.queueTimeout must be a duration with a unit, like "2s" or "250ms", got 200 (add a unit: "200s" or "200ms")',
      "admission.priorityFrom.header must be an HTTP header name such as x-priority",
      "admission.levels[1] must be a level name",
      'missing required property "maxLimit" in admission.adaptive',
    ],
  },
  {
    name: "schema: levels must not be empty, priorityFrom needs a header",
    service: `      admission:
        maxInFlightPerEndpoint: 8
        priorityFrom: «{}
        levels: «[]
`,
    expect: ["LS005", "LS009"],
    messages: ['missing required property "header" in admission.priorityFrom', "admission.levels must list at least 1 item"],
  },
];

describe("admission diagnostics at their positions", () => {
  for (const c of cases) {
    it(c.name, () => expectMarkedDiagnostics(policy(c.service), c.expect, c.messages));
  }

  it("covers every admission code, each with the severity of the code table", () => {
    const table = new Map(DIAGNOSTIC_CODES.map((c) => [c.code, c.severity]));
    const admissionCodes = DIAGNOSTIC_CODES.map((c) => c.code).filter((code) => /^LS08[0-9]$/.test(code));
    expect(admissionCodes).toHaveLength(10);
    const seen = new Set(cases.flatMap((c) => c.expect));
    expect(admissionCodes.filter((code) => !seen.has(code))).toEqual([]);
    for (const c of cases) {
      for (const d of check(policy(c.service)).diagnostics) expect(d.severity, `${d.code} in ${c.name}`).toBe(table.get(d.code));
    }
  });

  it("checks every service's admission, not just the first", () => {
    const text = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: test }
spec:
  services:
    - name: a
      port: 8080
      endpoints: [{ address: a, port: 15006 }]
      calls: [b, c]
      admission: { maxInFlightPerEndpoint: 1, levels: «[x] }
    - name: b
      port: 9090
      endpoints: [{ address: b, port: 15006 }]
      admission: { maxInFlightPerEndpoint: 1, levels: [y, «y], priorityFrom: { header: p } }
    - name: c
      port: 9091
      endpoints: [{ address: c, port: 15006 }]
      admission: { maxInFlightPerEndpoint: 1, adaptive: { minLimit: «3, maxLimit: 2 } }
`;
    const result = check(text);
    expect(result.diagnostics.map(where)).toEqual(result.marks.map((m, i) => `${m.line}:${m.column} ${["LS082", "LS081", "LS083"][i]}`));
  });
});

describe("the CLI prints admission diagnostics in the compiler format", () => {
  const run = promisify(execFile);
  const BIN = new URL("../../bin/lightsub.js", import.meta.url).pathname;

  it("validate: file:line:col, severity, code; exit 1 on errors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lightsub-admission-"));
    const file = join(dir, "p.yaml");
    const source = marked(
      policy(`      connector: { circuitBreaker: { maxRequests: «4 } }\n      admission: { maxInFlightPerEndpoint: 8, priorityFrom: { header: x-p }, defaultLevel: «top }\n`),
    );
    writeFileSync(file, source.text);
    const result = await run(process.execPath, [BIN, "validate", file], { encoding: "utf8" }).then(
      (r) => ({ code: 0, out: r.stdout + r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
    );
    expect(result.code).toBe(1);
    const [breaker, level] = source.marks;
    expect(result.out).toContain(`${file}:${breaker!.line}:${breaker!.column}: warning LS086: circuitBreaker.maxRequests (4) is below admission.maxInFlightPerEndpoint (8)`);
    expect(result.out).toContain(`${file}:${level!.line}:${level!.column}: error LS080: admission.defaultLevel "top" is not one of the levels: high, normal, low`);
  });
});
