/**
 * Plugin configuration v1 (docs/design.md): valid configurations are accepted;
 * every bad one makes proxy_on_configure return false with exactly one log line
 * from the plugin naming the problem, and never traps the VM (the host then
 * fails the plugin as Envoy would: failState "ConfigureFailed", not "RuntimeError").
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Envoy, type CompiledModule } from "../../host/index.js";
import { compile, destination, endpoints, pluginConfig } from "../support/filter-host.js";

interface Outcome {
  accepted: boolean;
  /** Lines the plugin logged (its own, "lightsub: ..."). */
  lines: { level: string; message: string }[];
  failState: string | undefined;
}

function configureOnce(module: CompiledModule, config: string | Uint8Array): Outcome {
  const envoy = new Envoy();
  const vm = envoy.createVm(module, { vmId: "lightsub" });
  const accepted = vm.configure(config, { rootId: "lightsub" });
  const lines = envoy.logs.filter((l) => l.message.startsWith("lightsub:") || l.message.startsWith("abort"));
  return { accepted, lines, failState: vm.failState };
}

/** Rejected with exactly one error line and no trap. */
function expectRejected(o: Outcome): string {
  expect(o.accepted).toBe(false);
  expect(o.failState).toBe("ConfigureFailed");
  expect(o.lines).toHaveLength(1);
  expect(o.lines[0]!.level).toBe("error");
  expect(o.lines[0]!.message.startsWith("lightsub: configuration: ")).toBe(true);
  return o.lines[0]!.message;
}

/** Either outcome is fine for arbitrary input, but never a trap, and a rejection says why once. */
function expectHandled(o: Outcome): void {
  expect(o.failState).not.toBe("RuntimeError");
  if (!o.accepted) expectRejected(o);
}

const DESIGN_EXAMPLE = {
  version: 1,
  service: "frontend",
  header: "x-lightsub-endpoint",
  failMode: "open",
  scope: "listener",
  destinations: [
    {
      service: "catalog",
      cluster: "catalog",
      strategy: "least_latency",
      decayMs: 10000,
      windowMs: 10000,
      errorThreshold: 0.2,
      minRequests: 5,
      probeIntervalMs: 1000,
      hashOn: { header: "x-user-id" },
      endpoints: [
        { cluster: "catalog_ep0", stat: "catalog-1_9090", weight: 2 },
        { cluster: "catalog_ep1", stat: "catalog-2_9090", weight: 1 },
      ],
    },
  ],
};

const clone = <T>(v: T): T => structuredClone(v);

describe("valid configurations", () => {
  it("accepts the design document's example and logs one info line per worker", async () => {
    const o = configureOnce(await compile(), JSON.stringify(DESIGN_EXAMPLE));
    expect(o.accepted).toBe(true);
    expect(o.lines).toEqual([{ vm: 0, level: "info", message: "lightsub: configured for service frontend, listener of destination catalog" }]);
  });

  it("without scope, or scope route, takes several destinations (found by route cluster) and says how many", async () => {
    const module = await compile();
    const two = [destination("catalog", "random", 2), destination("payments", "round_robin", 1)];
    for (const extra of [{}, { scope: "route" }]) {
      const o = configureOnce(module, JSON.stringify(pluginConfig(two, extra)));
      expect(o.accepted, JSON.stringify(extra)).toBe(true);
      expect(o.lines).toEqual([{ vm: 0, level: "info", message: "lightsub: configured for service frontend with 2 destination(s)" }]);
    }
  });

  it("accepts every strategy, optional keys left out, unknown keys ignored, no destinations", async () => {
    const module = await compile();
    const strategies = ["round_robin", "random", "weighted", "least_load", "least_latency", "availability", "consistent_hash"];
    const dests = strategies.map((s, i) => ({
      service: `svc${i}`,
      cluster: `svc${i}`,
      strategy: s,
      ...(s === "consistent_hash" ? { hashOn: { path: true } } : {}),
      futureOption: { nested: [1, 2, 3] },
      endpoints: [{ cluster: `svc${i}_ep0`, stat: "a_1", unknown: true }],
    }));
    expect(configureOnce(module, JSON.stringify({ version: 1, service: "web", destinations: dests, extra: "ignored" })).accepted).toBe(true);
    expect(configureOnce(module, JSON.stringify({ version: 1, service: "web", destinations: [] })).accepted).toBe(true);
    for (const hashOn of [{ header: "X-User" }, { cookie: "session" }, { path: true }]) {
      const config = pluginConfig([destination("catalog", "consistent_hash", 2, { hashOn })]);
      expect(configureOnce(module, JSON.stringify(config)).accepted, JSON.stringify(hashOn)).toBe(true);
    }
  });

  it("accepts JSON with whitespace, escapes and exponent numbers", async () => {
    const text = ` {\n "version" : 1.0e0 , "service":"front\\u0065nd",\t"destinations":[ {"service":"catalog","cluster":"catalog",
      "strategy":"weighted","errorThreshold":2E-1,"endpoints":[{"cluster":"catalog_ep0","stat":"a_1","weight":3e0}]} ] } `;
    expect(configureOnce(await compile(), text).accepted).toBe(true);
  });
});

describe("invalid configurations: one line naming the problem", () => {
  const cases: [string, (c: typeof DESIGN_EXAMPLE) => unknown, string][] = [
    ["zero weight", (c) => ((c.destinations[0]!.endpoints[1]!.weight = 0), c), "destinations[0].endpoints[1].weight must be a positive integer"],
    ["fractional weight", (c) => ((c.destinations[0]!.endpoints[0]!.weight = 1.5), c), "destinations[0].endpoints[0].weight must be a positive integer"],
    ["string weight", (c) => (((c.destinations[0]!.endpoints[0] as Record<string, unknown>).weight = "2"), c), "destinations[0].endpoints[0].weight must be a positive integer"],
    ["huge weight", (c) => ((c.destinations[0]!.endpoints[0]!.weight = 1e9), c), "destinations[0].endpoints[0].weight must be at most 10000"],
    ["version 2", (c) => ((c.version = 2), c), "version must be 1"],
    ["version as string", (c) => (((c as Record<string, unknown>).version = "1"), c), "version must be 1"],
    ["missing version", (c) => (delete (c as Partial<typeof c>).version, c), "version is required"],
    ["missing service", (c) => (delete (c as Partial<typeof c>).service, c), "service is required"],
    ["bad failMode", (c) => ((c.failMode = "sometimes"), c), 'failMode must be "open" or "closed"'],
    ["destinations not an array", (c) => (((c as Record<string, unknown>).destinations = {}), c), "destinations must be an array"],
    ["destination not an object", (c) => (((c.destinations as unknown[])[0] = "catalog"), c), "destinations[0] must be an object"],
    ["unknown strategy", (c) => ((c.destinations[0]!.strategy = "fastest"), c), "destinations[0].strategy must be one of round_robin, random, weighted, least_load, least_latency, availability, consistent_hash"],
    ["empty endpoints", (c) => ((c.destinations[0]!.endpoints = []), c), "destinations[0].endpoints must be a non-empty array"],
    ["missing endpoints", (c) => (delete (c.destinations[0] as Partial<(typeof c.destinations)[0]>).endpoints, c), "destinations[0].endpoints is required"],
    ["missing endpoint cluster", (c) => (delete (c.destinations[0]!.endpoints[1] as Partial<{ cluster: string }>).cluster, c), "destinations[0].endpoints[1].cluster is required"],
    ["endpoint cluster not a string", (c) => (((c.destinations[0]!.endpoints[1] as Record<string, unknown>).cluster = 7), c), "destinations[0].endpoints[1].cluster must be a string"],
    ["duplicate endpoint cluster", (c) => ((c.destinations[0]!.endpoints[1]!.cluster = "catalog_ep0"), c), 'destinations[0].endpoints[1].cluster duplicates destinations[0].endpoints[0].cluster ("catalog_ep0")'],
    ["endpoint cluster = destination cluster", (c) => ((c.destinations[0]!.endpoints[0]!.cluster = "catalog"), c), 'destinations[0].endpoints[0].cluster duplicates destinations[0].cluster ("catalog")'],
    ["duplicate stat", (c) => ((c.destinations[0]!.endpoints[1]!.stat = "catalog-1_9090"), c), "destinations[0].endpoints[1].stat duplicates endpoints[0].stat"],
    ["stat with a dot", (c) => ((c.destinations[0]!.endpoints[0]!.stat = "catalog.1"), c), "destinations[0].endpoints[0].stat must contain only [A-Za-z0-9_-]"],
    ["service with a dot", (c) => ((c.destinations[0]!.service = "cat.alog"), c), "destinations[0].service must contain only [A-Za-z0-9_-]"],
    ["header with a space", (c) => ((c.header = "x lightsub"), c), "header must contain only HTTP token characters"],
    ["empty cluster", (c) => ((c.destinations[0]!.cluster = ""), c), "destinations[0].cluster must be 1 to 255 characters long"],
    ["negative decay", (c) => ((c.destinations[0]!.decayMs = -5), c), "destinations[0].decayMs must be a positive integer"],
    ["errorThreshold above 1", (c) => ((c.destinations[0]!.errorThreshold = 1.5), c), "destinations[0].errorThreshold must be a number between 0 and 1"],
    ["errorThreshold as string", (c) => (((c.destinations[0] as Record<string, unknown>).errorThreshold = "0.2"), c), "destinations[0].errorThreshold must be a number between 0 and 1"],
    ["minRequests null", (c) => (((c.destinations[0] as Record<string, unknown>).minRequests = null), c), "destinations[0].minRequests must be a positive integer"],
    ["consistent_hash without hashOn", (c) => ((c.destinations[0]!.strategy = "consistent_hash"), delete (c.destinations[0] as Partial<(typeof c.destinations)[0]>).hashOn, c), "destinations[0].hashOn is required for consistent_hash"],
    ["hashOn with two sources", (c) => (((c.destinations[0] as Record<string, unknown>).hashOn = { header: "a", cookie: "b" }), c), "destinations[0].hashOn must have exactly one of header, cookie, path"],
    ["hashOn.path false", (c) => (((c.destinations[0] as Record<string, unknown>).hashOn = { path: false }), c), "destinations[0].hashOn.path must be true"],
    ["top level array", () => [DESIGN_EXAMPLE], "configuration must be a JSON object"],
    ["scope listener with two destinations", (c) => ((c.destinations as unknown[]).push(destination("payments", "random", 1)), c), 'scope "listener" needs exactly one destination, not 2'],
    ["scope listener with no destination", (c) => ((c.destinations = []), c), 'scope "listener" needs exactly one destination, not 0'],
    ["unknown scope", (c) => ((c.scope = "cluster"), c), 'scope must be "route" or "listener"'],
    ["scope not a string", (c) => (((c as Record<string, unknown>).scope = true), c), 'scope must be "route" or "listener"'],
  ];

  it.each(cases)("%s", async (_name, mutate, message) => {
    const line = expectRejected(configureOnce(await compile(), JSON.stringify(mutate(clone(DESIGN_EXAMPLE)))));
    expect(line).toBe(`lightsub: configuration: ${message}`);
  });

  it("duplicate destination clusters across destinations", async () => {
    const config = pluginConfig([destination("catalog", "random", 1), { ...destination("payments", "random", 1), cluster: "catalog" }]);
    expect(expectRejected(configureOnce(await compile(), JSON.stringify(config)))).toBe(
      'lightsub: configuration: destinations[1].cluster duplicates destinations[0].cluster ("catalog")',
    );
  });

  it("an endpoint cluster shared by two destinations", async () => {
    const config = pluginConfig([destination("catalog", "random", 1), { ...destination("payments", "random", 1), endpoints: endpoints("catalog", 1) }]);
    expect(expectRejected(configureOnce(await compile(), JSON.stringify(config)))).toBe(
      'lightsub: configuration: destinations[1].endpoints[0].cluster duplicates destinations[0].endpoints[0].cluster ("catalog_ep0")',
    );
  });

  it("empty, non-JSON, trailing garbage, deep nesting, invalid UTF-8", async () => {
    const module = await compile();
    expect(expectRejected(configureOnce(module, ""))).toBe("lightsub: configuration: configuration is empty");
    expect(expectRejected(configureOnce(module, "nope"))).toBe("lightsub: configuration: invalid JSON at byte 0: invalid literal");
    expect(expectRejected(configureOnce(module, '{"version":1} x'))).toBe("lightsub: configuration: invalid JSON at byte 14: unexpected data after the JSON value");
    expect(expectRejected(configureOnce(module, "[".repeat(100000)))).toMatch(/nesting too deep/);
    expect(expectRejected(configureOnce(module, '{"a":'.repeat(5000)))).toMatch(/nesting too deep/);
    const badUtf8 = new Uint8Array([...new TextEncoder().encode('{"service":"'), 0xc3, 0x28, ...new TextEncoder().encode('"}')]);
    expect(expectRejected(configureOnce(module, badUtf8))).toMatch(/invalid UTF-8/);
    expect(expectRejected(configureOnce(module, '{"version":1,"service":"a\u0001"}'))).toMatch(/control character/);
    expect(expectRejected(configureOnce(module, '{"version":01}'))).toMatch(/leading zero/);
    expect(expectRejected(configureOnce(module, '{"version":1e999999999999}'))).toBe("lightsub: configuration: version must be 1");
  });

  it("every truncation of a valid configuration is rejected without a trap", async () => {
    const module = await compile();
    const text = JSON.stringify(DESIGN_EXAMPLE);
    for (let n = 0; n < text.length; n++) expectRejected(configureOnce(module, text.slice(0, n)));
  });
});

describe("arbitrary input never traps the VM", () => {
  it("random bytes", async () => {
    const module = await compile();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => expectHandled(configureOnce(module, bytes))),
      { numRuns: 300 },
    );
  });

  it("random JSON values", async () => {
    const module = await compile();
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => expectHandled(configureOnce(module, JSON.stringify(value)))),
      { numRuns: 300 },
    );
  });

  it("single-byte mutations of a valid configuration", async () => {
    const module = await compile();
    const valid = new TextEncoder().encode(JSON.stringify(DESIGN_EXAMPLE));
    fc.assert(
      fc.property(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), (at, byte) => {
        const mutated = valid.slice();
        mutated[at] = byte;
        expectHandled(configureOnce(module, mutated));
      }),
      { numRuns: 400 },
    );
  });

  it("the design example with any field replaced by any JSON value", async () => {
    const module = await compile();
    const paths: (string | number)[][] = [
      ["version"], ["service"], ["header"], ["failMode"], ["scope"], ["destinations"], ["destinations", 0],
      ...["service", "cluster", "strategy", "decayMs", "windowMs", "errorThreshold", "minRequests", "probeIntervalMs", "hashOn", "endpoints"].map((k) => ["destinations", 0, k]),
      ...["cluster", "stat", "weight"].map((k) => ["destinations", 0, "endpoints", 1, k]),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...paths), fc.jsonValue({ maxDepth: 3 }), (path, value) => {
        const config = clone(DESIGN_EXAMPLE) as unknown as Record<string | number, unknown>;
        let target = config;
        for (const key of path.slice(0, -1)) target = target[key] as Record<string | number, unknown>;
        target[path[path.length - 1]!] = value;
        expectHandled(configureOnce(module, JSON.stringify(config)));
      }),
      { numRuns: 400 },
    );
  });
});
