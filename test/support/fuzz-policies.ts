/**
 * fast-check generators of policies for the compiler fuzz test
 * (test/guarantees/hardening-policy-fuzz.test.ts): mostly valid meshes, then the same
 * meshes broken on purpose (structure, text, bytes) and YAML alias bombs.
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { RETRY_ON } from "../../compiler/model/mesh.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Obj = { [key: string]: Json };

const NAMES = ["api", "web", "catalog", "cart", "search", "orders", "users", "ratings", "b-2", "x9"];

const duration = fc.oneof(
  fc.constantFrom("250ms", "1s", "2s", "1.5s", "1m", "1m30s", "100ms", "30s", "24h"),
  fc.integer({ min: 1, max: 86_400_000 }).map((ms) => `${ms}ms`),
);

const scheduler: fc.Arbitrary<Obj> = fc.oneof(
  fc.record({ strategy: fc.constantFrom("round_robin", "random", "weighted", "least_load") }),
  fc.record({ strategy: fc.constant("least_latency"), decay: duration }, { requiredKeys: ["strategy"] }),
  fc.record(
    {
      strategy: fc.constant("availability"),
      window: duration,
      errorThreshold: fc.double({ min: 0.01, max: 1, noNaN: true }),
      minRequests: fc.integer({ min: 1, max: 1000 }),
      probeInterval: duration,
    },
    { requiredKeys: ["strategy"] },
  ),
  fc.record({
    strategy: fc.constant("consistent_hash"),
    hashOn: fc.oneof(
      fc.record({ header: fc.constantFrom("x-user-id", "X-Session") }),
      fc.record({ cookie: fc.constantFrom("session", "sid") }),
      fc.constant({ path: true }),
    ),
  }),
);

const count = (max: number) => fc.integer({ min: 1, max });

const connector: fc.Arbitrary<Obj> = fc.record(
  {
    timeout: fc.oneof(duration, fc.constant("0s")), // 0s: no timeout
    connectTimeout: duration,
    retries: fc.record(
      { attempts: fc.integer({ min: 0, max: 10 }), on: fc.uniqueArray(fc.constantFrom(...RETRY_ON), { minLength: 1, maxLength: 4 }), perTryTimeout: duration },
      { requiredKeys: [] },
    ),
    circuitBreaker: fc.record(
      { maxConnections: count(100_000), maxPendingRequests: count(100_000), maxRequests: count(100_000), maxRetries: fc.integer({ min: 0, max: 100 }) },
      { requiredKeys: [] },
    ),
    outlierDetection: fc.record(
      { consecutive5xx: count(1000), interval: duration, baseEjectionTime: duration, maxEjectionPercent: fc.integer({ min: 0, max: 100 }) },
      { requiredKeys: [] },
    ),
    healthCheck: fc.record(
      {
        path: fc.constantFrom("/healthz", "/grpc.health.v1.Health/Check", "/"),
        interval: duration,
        timeout: duration,
        unhealthyThreshold: count(10),
        healthyThreshold: count(10),
      },
      { requiredKeys: ["path"] },
    ),
  },
  { requiredKeys: [] },
);

function endpoint(service: string): fc.Arbitrary<Obj> {
  return fc.record(
    {
      address: fc.oneof(fc.nat({ max: 5 }).map((j) => `${service}-${j}`), fc.nat({ max: 250 }).map((j) => `10.${NAMES.indexOf(service) + 1}.${j}.7`)),
      port: fc.oneof(fc.constant(15006), fc.integer({ min: 1, max: 65535 })),
      weight: fc.integer({ min: 1, max: 1000 }),
    },
    { requiredKeys: ["address", "port"] },
  );
}

function service(name: string, names: string[], sharedConnector: Obj): fc.Arbitrary<Obj> {
  const others = names.filter((n) => n !== name);
  const call = (callee: string) =>
    fc.oneof(fc.constant<Json>(callee), fc.record({ service: fc.constant(callee), port: fc.integer({ min: 20_000, max: 30_000 }) }, { requiredKeys: ["service"] }));
  return fc.record(
    {
      name: fc.constant(name),
      port: fc.integer({ min: 1024, max: 9999 }),
      meshPort: fc.integer({ min: 15_000, max: 15_100 }),
      protocol: fc.constantFrom("http", "http2", "grpc"),
      endpoints: fc.uniqueArray(endpoint(name), { minLength: 1, maxLength: 4, selector: (e) => `${e.address}:${e.port}` }),
      calls: fc.subarray(others).chain((callees) => fc.tuple(...callees.map(call))),
      scheduler,
      // The same object for several services: yaml's stringify then writes an anchor and aliases.
      connector: fc.oneof(connector, fc.constant(sharedConnector)),
      failMode: fc.constantFrom("open", "closed"),
    },
    { requiredKeys: ["name", "port", "endpoints"] },
  );
}

/** A mesh of 1 to 6 services that is usually valid (random port clashes and the like make some not). */
export const validPolicy: fc.Arbitrary<Obj> = fc
  .tuple(fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 6 }), connector)
  .chain(([names, shared]) =>
    fc.record(
      {
        apiVersion: fc.constant("lightsub/v1"),
        kind: fc.constant("Mesh"),
        metadata: fc.record({ name: fc.constantFrom("m", "shop", "mesh-1") }),
        spec: fc.record(
          {
            scheduler,
            failMode: fc.constantFrom("open", "closed"),
            sidecar: fc.record({ adminPort: fc.integer({ min: 9900, max: 9999 }) }, { requiredKeys: [] }),
            services: fc.tuple(...names.map((n) => service(n, names, shared))),
          },
          { requiredKeys: ["services"] },
        ),
      },
      { requiredKeys: ["apiVersion", "kind", "metadata", "spec"] },
    ),
  ) as fc.Arbitrary<Obj>;

/** A valid task admission block (issue 8): every optional part, bounds the policy check accepts. */
const admission: fc.Arbitrary<Obj> = fc
  .record(
    {
      start: fc.integer({ min: 4, max: 200 }),
      maxQueue: fc.integer({ min: 0, max: 1000 }),
      queueTimeout: fc.constantFrom("50ms", "200ms", "1s", "5s"),
      tick: fc.constantFrom("1ms", "5ms", "10ms"),
      priorityFrom: fc.constantFrom({ header: "x-priority" }, { header: "X-Class" }),
      levels: fc.uniqueArray(fc.constantFrom("critical", "high", "normal", "low", "batch", "p-0"), { minLength: 1, maxLength: 5 }),
      pickDefault: fc.nat(),
      adaptive: fc.record({ below: fc.integer({ min: 0, max: 3 }), above: fc.integer({ min: 0, max: 500 }), window: fc.constantFrom("500ms", "1s", "10s") }),
    },
    { requiredKeys: ["start"] },
  )
  .map((a) => {
    const out: Obj = { maxInFlightPerEndpoint: a.start };
    if (a.maxQueue !== undefined) out.maxQueue = a.maxQueue;
    if (a.queueTimeout !== undefined) out.queueTimeout = a.queueTimeout;
    if (a.tick !== undefined) out.tick = a.tick;
    if (a.priorityFrom !== undefined) {
      out.priorityFrom = a.priorityFrom;
      if (a.levels !== undefined) {
        out.levels = a.levels;
        if (a.pickDefault !== undefined) out.defaultLevel = a.levels[a.pickDefault % a.levels.length]!;
      }
    }
    if (a.adaptive !== undefined) {
      out.adaptive = { minLimit: a.start - a.adaptive.below, maxLimit: a.start + a.adaptive.above, window: a.adaptive.window };
    }
    return out;
  });

/** validPolicy with task admission on some of the services. */
export const validPolicyWithAdmission: fc.Arbitrary<Obj> = fc
  .tuple(validPolicy, fc.array(fc.option(admission, { nil: undefined }), { minLength: 6, maxLength: 6 }))
  .map(([policy, admissions]) => {
    const copy = structuredClone(policy) as Obj;
    const services = (copy.spec as Obj).services as Obj[];
    services.forEach((s, i) => {
      const a = admissions[i];
      if (a !== undefined) s.admission = a;
    });
    return copy;
  });

export type Syntax = "json" | "json-pretty" | "yaml-block" | "yaml-flow";
export const syntax = fc.constantFrom<Syntax>("json", "json-pretty", "yaml-block", "yaml-flow");

/** Text of a policy value; YAML keeps NaN and infinities (.nan, .inf), JSON turns them into null. */
export function serialize(value: unknown, how: Syntax): string {
  switch (how) {
    case "json":
      return JSON.stringify(value);
    case "json-pretty":
      return JSON.stringify(value, null, 2);
    case "yaml-block":
      return stringify(value, { aliasDuplicateObjects: true });
    case "yaml-flow":
      return flowYaml(value);
  }
}

/**
 * One-line YAML flow style: plain keys where they are safe, double-quoted
 * strings, .nan/.inf. (The yaml package's flow output is quadratic on deep nesting.)
 */
function flowYaml(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isNaN(value) ? ".nan" : value === Infinity ? ".inf" : value === -Infinity ? "-.inf" : String(value);
  if (typeof value === "string") return /^[a-z][a-z0-9-]*$/.test(value) && !["null", "true", "false", "yes", "no", "on", "off"].includes(value) ? value : JSON.stringify(value);
  if (typeof value !== "object") return String(value);
  if (Array.isArray(value)) return `[${value.map(flowYaml).join(", ")}]`;
  return `{${Object.entries(value).map(([k, v]) => `${/^[A-Za-z_][A-Za-z0-9_]*$/.test(k) ? k : JSON.stringify(k)}: ${flowYaml(v)}`).join(", ")}}`;
}

// ---- structural mutations ----------------------------------------------------------------

type Path = (string | number)[];

function paths(value: Json, at: Path = [], out: Path[] = []): Path[] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

function parentOf(root: Json, path: Path): { parent: Json[] | Obj; key: string | number } | undefined {
  if (path.length === 0) return undefined;
  let node: Json = root;
  for (const key of path.slice(0, -1)) node = (node as Obj)[key as string] as Json;
  return { parent: node as Json[] | Obj, key: path[path.length - 1]! };
}

const ABSURD_NUMBERS = [0, -1, -0.5, 1.5, 65_536, 4_294_967_296, 2 ** 53 + 1, 1e308, -1e308, Number.MAX_VALUE, 1e-300, Number.NaN, Infinity, -Infinity];

function nest(depth: number, inner: Json, asArray: boolean): Json {
  let v = inner;
  for (let i = 0; i < depth; i++) v = asArray ? [v] : { n: v };
  return v;
}

export type Mutation =
  | { kind: "replace"; at: number; value: Json }
  | { kind: "delete"; at: number }
  | { kind: "absurd-number"; at: number; which: number }
  | { kind: "type-swap"; at: number }
  | { kind: "duplicate-name"; at: number }
  | { kind: "unknown-reference"; at: number }
  | { kind: "self-call"; at: number }
  | { kind: "unknown-key"; at: number; value: Json }
  | { kind: "deep-nesting"; at: number; depth: number; asArray: boolean }
  | { kind: "huge-string"; at: number; length: number }
  | { kind: "many-endpoints"; at: number; n: number }
  | { kind: "many-services"; n: number };

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("replace" as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("absurd-number" as const), at: fc.nat(), which: fc.nat({ max: ABSURD_NUMBERS.length - 1 }) }),
  fc.record({ kind: fc.constant("type-swap" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("duplicate-name" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("unknown-reference" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("self-call" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("unknown-key" as const), at: fc.nat(), value: fc.jsonValue({ maxDepth: 1 }) as fc.Arbitrary<Json> }),
  fc.record({ kind: fc.constant("deep-nesting" as const), at: fc.nat(), depth: fc.integer({ min: 10, max: 300 }), asArray: fc.boolean() }),
  fc.record({ kind: fc.constant("huge-string" as const), at: fc.nat(), length: fc.integer({ min: 1_000, max: 300_000 }) }),
  // Just under or just over the endpoint limit (1,000 per service); bigger meshes are the limits test's business.
  fc.record({ kind: fc.constant("many-endpoints" as const), at: fc.nat(), n: fc.oneof(fc.integer({ min: 20, max: 120 }), fc.integer({ min: 1_001, max: 1_100 })) }),
  fc.record({ kind: fc.constant("many-services" as const), n: fc.integer({ min: 20, max: 60 }) }),
);

function servicesOf(root: Json): Obj[] {
  const list = ((root as Obj)?.spec as Obj | undefined)?.services;
  return Array.isArray(list) ? (list.filter((s) => s !== null && typeof s === "object" && !Array.isArray(s)) as Obj[]) : [];
}

/** The same content in a neighbouring type: 8080 ↔ "8080", a list → a mapping by index, a mapping → a one-item list. */
function swapType(v: Json): Json {
  if (typeof v === "number") return String(v);
  if (typeof v === "string") return Number.isNaN(Number(v)) ? v.length : Number(v);
  if (Array.isArray(v)) return Object.fromEntries(v.map((x, i) => [String(i), x]));
  if (v !== null && typeof v === "object") return [v];
  return v === null ? {} : String(v);
}

/** Applies a mutation in place (on a deep copy the caller made). */
export function mutate(root: Json, m: Mutation): Json {
  const all = paths(root);
  const pick = (n: number) => all[n % all.length]!;
  const set = (path: Path, value: Json | undefined): Json => {
    const p = parentOf(root, path);
    if (!p) return value === undefined ? null : value;
    if (value === undefined) {
      if (Array.isArray(p.parent)) p.parent.splice(Number(p.key), 1);
      else delete p.parent[p.key as string];
    } else (p.parent as Obj)[p.key as string] = value;
    return root;
  };
  const get = (path: Path): Json => path.reduce<Json>((node, key) => (node as Obj)[key as string] as Json, root);
  const services = servicesOf(root);
  const svc = (n: number) => services[n % Math.max(1, services.length)];
  switch (m.kind) {
    case "replace":
      return set(pick(m.at), m.value);
    case "delete":
      return set(pick(m.at), undefined);
    case "absurd-number": {
      const numeric = all.filter((p) => typeof get(p) === "number");
      return set((numeric.length > 0 ? numeric : all)[m.at % Math.max(1, numeric.length || all.length)]!, ABSURD_NUMBERS[m.which]!);
    }
    case "type-swap": {
      const path = pick(m.at);
      return set(path, swapType(get(path)));
    }
    case "duplicate-name":
      if (services.length >= 2) svc(m.at + 1)!.name = svc(m.at)!.name!;
      return root;
    case "unknown-reference": {
      const s = svc(m.at);
      if (s) s.calls = [...(Array.isArray(s.calls) ? s.calls : []), m.at % 2 === 0 ? "ghost" : { service: "nowhere", port: 2000 }];
      return root;
    }
    case "self-call": {
      const s = svc(m.at);
      if (s) s.calls = [s.name!];
      return root;
    }
    case "unknown-key": {
      const isMapping = (v: Json) => v !== null && typeof v === "object" && !Array.isArray(v);
      const objects = all.filter((p) => isMapping(get(p)));
      if (objects.length === 0) return root;
      const target = get(objects[m.at % objects.length]!) as Obj;
      target[["bogus", "metdata", "endpoint", "__proto__", "constructor"][m.at % 5]!] = m.value;
      return root;
    }
    case "deep-nesting":
      return set(pick(m.at), nest(m.depth, "x", m.asArray));
    case "huge-string": {
      const strings = all.filter((p) => typeof get(p) === "string");
      const path = (strings.length > 0 ? strings : all)[m.at % Math.max(1, strings.length || all.length)]!;
      return set(path, "a".repeat(m.length));
    }
    case "many-endpoints": {
      const s = svc(m.at);
      if (s) s.endpoints = Array.from({ length: m.n }, (_, i) => ({ address: `h${i}`, port: 15006 }));
      return root;
    }
    case "many-services": {
      const spec = (root as Obj)?.spec as Obj | undefined;
      if (spec && typeof spec === "object") {
        spec.services = Array.from({ length: m.n }, (_, i) => ({ name: `s${i}`, port: 8080, endpoints: [{ address: `s${i}`, port: 15006 }], calls: i > 0 ? [`s${i - 1}`] : [] }));
      }
      return root;
    }
  }
}

// ---- text and byte mutations -------------------------------------------------------------

export type TextEdit =
  | { kind: "splice"; at: number; remove: number; insert: string }
  | { kind: "truncate"; at: number }
  | { kind: "duplicate-line"; at: number }
  | { kind: "indent"; at: number; by: number }
  | { kind: "insert"; at: number; snippet: string };

const SNIPPETS = [
  "\t", "\r", "\u0000", "\ud800", "\ufeff", "\u2028", "# ", "&a ", "*a", "*undefined ", "!!binary ", "!custom ", "!!set ", "? ",
  "---\n", "...\n", "%YAML 1.2\n", "<<: *a\n", "{", "}", "[", "]", ": ", "- ", "|\n  ", ">-\n  ", "'", '"', "\\", "\\u12",
  "\n  - x\n", "~", "null", ".nan", ".inf", "0x1F", "0o17", "1e999", "-.inf", "yes", "2001-12-14t21:59:43.10-05:00",
];

export const textEdit: fc.Arbitrary<TextEdit> = fc.oneof(
  fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), remove: fc.nat({ max: 40 }), insert: fc.string({ unit: "binary", maxLength: 12 }) }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("duplicate-line" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("indent" as const), at: fc.nat(), by: fc.integer({ min: -4, max: 4 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), snippet: fc.constantFrom(...SNIPPETS) }),
);

export function editText(text: string, e: TextEdit): string {
  const at = text.length === 0 ? 0 : e.at % (text.length + 1);
  switch (e.kind) {
    case "splice":
      return text.slice(0, at) + e.insert + text.slice(at + e.remove);
    case "truncate":
      return text.slice(0, at);
    case "insert":
      return text.slice(0, at) + e.snippet + text.slice(at);
    case "duplicate-line":
    case "indent": {
      const lines = text.split("\n");
      const i = e.at % lines.length;
      if (e.kind === "duplicate-line") lines.splice(i, 0, lines[i]!);
      else lines[i] = e.by >= 0 ? " ".repeat(e.by) + lines[i] : lines[i]!.replace(new RegExp(`^ {0,${-e.by}}`), "");
      return lines.join("\n");
    }
  }
}

const INVALID_UTF8 = [[0xff], [0xfe, 0xff], [0xc3, 0x28], [0x80], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xf4, 0x90, 0x80, 0x80]];

/** The text's UTF-8 bytes with invalid sequences inserted. */
export const badBytes = fc.record({ at: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }), which: fc.array(fc.nat({ max: INVALID_UTF8.length - 1 }), { minLength: 3, maxLength: 3 }) });

export function withBadBytes(text: string, b: { at: number[]; which: number[] }): Uint8Array {
  let bytes = [...new TextEncoder().encode(text)];
  b.at.forEach((at, i) => {
    const where = at % (bytes.length + 1);
    bytes = [...bytes.slice(0, where), ...INVALID_UTF8[b.which[i]!]!, ...bytes.slice(where)];
  });
  return new Uint8Array(bytes);
}

// ---- alias bombs ---------------------------------------------------------------------------

/** "Billion laughs": each level refers `fanout` times to the one below; the top is used where the policy needs a value. */
export const aliasBomb = fc.record({
  levels: fc.integer({ min: 2, max: 14 }),
  fanout: fc.integer({ min: 2, max: 12 }),
  where: fc.constantFrom("services", "metadata", "calls", "endpoints", "merge"),
});

export function aliasBombText(b: { levels: number; fanout: number; where: string }): string {
  const lines = [`x0: &a0 [${Array(b.fanout).fill('"lol"').join(", ")}]`];
  for (let i = 1; i < b.levels; i++) lines.push(`x${i}: &a${i} [${Array(b.fanout).fill(`*a${i - 1}`).join(", ")}]`);
  const top = `*a${b.levels - 1}`;
  const body = ["apiVersion: lightsub/v1", "kind: Mesh"];
  switch (b.where) {
    case "services":
      body.push("metadata: { name: m }", `spec: { services: ${top} }`);
      break;
    case "metadata":
      body.push(`metadata: { name: ${top} }`, "spec: { services: [] }");
      break;
    case "calls":
      body.push("metadata: { name: m }", `spec: { services: [ { name: a, port: 1, endpoints: [{ address: a, port: 2 }], calls: ${top} } ] }`);
      break;
    case "endpoints":
      body.push("metadata: { name: m }", `spec: { services: [ { name: a, port: 1, endpoints: ${top} } ] }`);
      break;
    case "merge":
      body.push("metadata: { name: m }", `spec: { services: [ { <<: { name: a, port: 1 }, endpoints: [{ address: a, port: 2 }], calls: ${top} } ] }`);
      break;
  }
  return `${lines.join("\n")}\n${body.join("\n")}\n`;
}
