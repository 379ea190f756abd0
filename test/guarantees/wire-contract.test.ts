/**
 * ONE wire contract (issue 15): schemas/wire.ts is the only TypeScript source
 * of header names, local-reply reasons and details, strategy names, Envoy's
 * response-flag bits and metric names. The filter is AssemblyScript and cannot
 * import it, so this test reads the filter's own spelling of the same
 * constants and requires them to be equal:
 *
 * - from the source text: every file under filter/lightsub (any layout: the
 *   constants are found by what they are, not by the file they are in), parsed
 *   with TypeScript's parser (AssemblyScript is TypeScript syntax);
 * - from the built filter: the metrics lightsub.wasm really defines in the
 *   Node host, and their kinds.
 *
 * And no other product file spells a header or a reason: they import them.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { Envoy } from "../../host/index.js";
import * as wire from "../../schemas/wire.js";
import {
  HEADERS,
  LOCAL_REPLY_DETAILS,
  LOCAL_REPLY_REASONS,
  METRICS,
  METRIC_NAMES,
  RESPONSE_FLAGS,
  STATS_TAGS,
  SERVED_BY_PROPERTY_PATH,
  STRATEGY_NAMES,
  destinationMetricName,
  endpointMetricName,
  metricsOf,
  prometheusMetricName,
} from "../../schemas/wire.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const FILTER_DIR = join(ROOT, "filter", "lightsub");
const WIRE_FILE = join(ROOT, "schemas", "wire.ts");
/** Product code in TypeScript/JavaScript: everything but tests, the filter (checked above) and generated output. */
const PRODUCT_DIRS = ["bench", "bin", "cli", "compiler", "e2e", "envoy-model", "host", "schemas", "scripts", "simulate"];
const SOURCE_EXT = /\.(ts|mts|cts|js|mjs|cjs)$/;

function sourceFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(path));
    else if (SOURCE_EXT.test(entry.name)) out.push(path);
  }
  return out.sort();
}

interface Located<T> {
  value: T;
  where: string;
}

type Value = string | bigint;

/**
 * What the filter's source spells: every string literal; every `const` whose
 * value is a literal, or an expression of literals and other such constants
 * (`+` of strings, `<<` and `|` of integers: the u64 flags); every array
 * literal whose elements are all such values, resolved (e.g. a property path
 * built from constants).
 */
interface FilterSource {
  strings: Located<string>[];
  /** Constants in declaration order (file by file). */
  constants: Map<string, Located<Value>>;
  arrays: Located<Value[]>[];
}

function evaluate(node: ts.Expression, known: ReadonlyMap<string, Located<Value>>): Value | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return /^\d+$|^0[xX][0-9a-fA-F]+$/.test(node.text) ? BigInt(node.text) : undefined;
  if (ts.isIdentifier(node)) return known.get(node.text)?.value;
  if (ts.isParenthesizedExpression(node) || ts.isAsExpression(node)) return evaluate(node.expression, known);
  if (ts.isBinaryExpression(node)) {
    const left = evaluate(node.left, known);
    const right = evaluate(node.right, known);
    const op = node.operatorToken.kind;
    if (typeof left === "string" && typeof right === "string" && op === ts.SyntaxKind.PlusToken) return left + right;
    if (typeof left !== "bigint" || typeof right !== "bigint") return undefined;
    if (op === ts.SyntaxKind.LessThanLessThanToken) return left << right;
    if (op === ts.SyntaxKind.BarToken) return left | right;
  }
  return undefined;
}

function readFilterSource(): FilterSource {
  const result: FilterSource = { strings: [], constants: new Map(), arrays: [] };
  const declarations: { name: string; init: ts.Expression; where: string }[] = [];
  const arrays: { node: ts.ArrayLiteralExpression; where: string }[] = [];
  for (const file of sourceFiles(FILTER_DIR)) {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
    const where = (node: ts.Node) => `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) result.strings.push({ value: node.text, where: where(node) });
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && (ts.getCombinedNodeFlags(node) & ts.NodeFlags.Const) !== 0) {
        declarations.push({ name: node.name.text, init: node.initializer, where: where(node) });
      }
      if (ts.isArrayLiteralExpression(node) && node.elements.length > 0) arrays.push({ node, where: where(node) });
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  // Constants may use constants of other files: resolve until nothing changes.
  for (let changed = true; changed; ) {
    changed = false;
    for (const d of declarations) {
      if (result.constants.has(d.name)) continue;
      const value = evaluate(d.init, result.constants);
      if (value !== undefined) {
        result.constants.set(d.name, { value, where: d.where });
        changed = true;
      }
    }
  }
  for (const d of declarations) {
    const value = evaluate(d.init, result.constants);
    const first = result.constants.get(d.name);
    if (value !== undefined && first && first.value !== value) throw new Error(`filter constant ${d.name} has two values: ${d.where} and ${first.where}`);
  }
  result.constants = new Map(declarations.filter((d) => result.constants.has(d.name)).map((d) => [d.name, result.constants.get(d.name)!]));
  for (const a of arrays) {
    const values = a.node.elements.map((e) => evaluate(e, result.constants));
    if (values.every((v) => v !== undefined)) result.arrays.push({ value: values as Value[], where: a.where });
  }
  return result;
}

/** FLAG_UPSTREAM_REQUEST_TIMEOUT → UpstreamRequestTimeout. */
function flagName(constant: string): string {
  return constant
    .slice("FLAG_".length)
    .toLowerCase()
    .split("_")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

const upper = (name: string) => name.toUpperCase();

/** wire.ts's exported constants with a string or integer value. */
const WIRE_CONSTANTS = new Map<string, Value>(
  Object.entries(wire).flatMap(([name, v]): [string, Value][] =>
    typeof v === "string" ? [[name, v]] : typeof v === "number" && Number.isInteger(v) ? [[name, BigInt(v)]] : [],
  ),
);
const wireNames = (test: (name: string) => boolean) => [...WIRE_CONSTANTS.keys()].filter(test);

/**
 * The contract by category, as the filter names it: wire.ts's own constant
 * names, and one constant per entry of its tables (METRICS.rq_total is
 * METRIC_RQ_TOTAL, STRATEGY_NAMES' round_robin is STRATEGY_ROUND_ROBIN).
 * `owns` says which filter constant names belong to the category, so that a
 * filter constant the contract does not know is found too.
 */
const CATEGORIES: { name: string; expected: Map<string, Value>; owns: (name: string, value: Value) => boolean }[] = [
  {
    name: "headers",
    expected: new Map(wireNames((n) => n.endsWith("_HEADER")).map((n) => [n, WIRE_CONSTANTS.get(n)!])),
    owns: (n, v) => n.endsWith("_HEADER") && typeof v === "string" && v.startsWith("x-lightsub-"),
  },
  {
    name: "local-reply reasons",
    expected: new Map(wireNames((n) => n.startsWith("REASON_") && !n.endsWith("_HEADER")).map((n) => [n, WIRE_CONSTANTS.get(n)!])),
    owns: (n) => n.startsWith("REASON_") && !n.endsWith("_HEADER"),
  },
  {
    name: "local-reply details",
    expected: new Map(wireNames((n) => n.startsWith("DETAILS_")).map((n) => [n, WIRE_CONSTANTS.get(n)!])),
    owns: (n) => n.startsWith("DETAILS_"),
  },
  {
    name: "strategy names",
    expected: new Map(STRATEGY_NAMES.map((s) => [`STRATEGY_${upper(s)}`, s])),
    // STRATEGY_* naming one strategy (not a list of them, checked below).
    owns: (n, v) => n.startsWith("STRATEGY_") && typeof v === "string" && !v.includes(","),
  },
  {
    name: "metric names",
    expected: new Map<string, Value>([
      ...wireNames((n) => ["METRIC_ROOT", "METRIC_SERVICE_SEGMENT", "METRIC_ENDPOINT_SEGMENT"].includes(n)).map((n): [string, Value] => [n, WIRE_CONSTANTS.get(n)!]),
      ...METRIC_NAMES.map((m): [string, Value] => [`METRIC_${upper(m)}`, m]),
    ]),
    owns: (n, v) => n.startsWith("METRIC_") && typeof v === "string",
  },
  {
    name: "failover host mark",
    expected: new Map(wireNames((n) => n.startsWith("METADATA_")).map((n) => [n, WIRE_CONSTANTS.get(n)!])),
    owns: (n) => n.startsWith("METADATA_"),
  },
  {
    name: "shared data",
    expected: new Map(wireNames((n) => n.startsWith("SHARED_KEY_")).map((n) => [n, WIRE_CONSTANTS.get(n)!])),
    owns: (n) => n.startsWith("SHARED_KEY_"),
  },
];

describe("the filter's wire constants equal schemas/wire.ts", () => {
  const filter = readFilterSource();

  it("finds the filter's source (the checks below are not vacuous)", () => {
    expect(filter.strings.length).toBeGreaterThan(50);
    expect([...filter.constants.keys()].filter((n) => n.startsWith("FLAG_")).length).toBeGreaterThan(0);
    expect([...filter.constants.keys()].filter((n) => n.startsWith("REASON_")).length).toBeGreaterThan(0);
    for (const c of CATEGORIES) expect(c.expected.size, c.name).toBeGreaterThan(0);
  });

  // Name and value, both ways, for every category the filter names as
  // constants. (A category the filter only spells inline, without a named
  // constant, is checked by value below.)
  it.each(CATEGORIES.map((c) => [c.name, c] as const))("%s: the same names with the same values, both ways", (_, category) => {
    const inFilter = new Map([...filter.constants].filter(([n, c]) => category.owns(n, c.value)).map(([n, c]) => [n, c.value]));
    if (inFilter.size === 0) return;
    expect(Object.fromEntries(inFilter)).toEqual(Object.fromEntries(category.expected));
  });

  it("headers: the filter spells exactly the contract's x-lightsub-* headers", () => {
    const spelled = new Set(filter.strings.filter((s) => s.value.startsWith("x-lightsub-")).map((s) => s.value));
    expect([...spelled].sort()).toEqual([...HEADERS].sort());
  });

  it("local-reply reasons: one spelling (kebab-case), and the filter names each as a constant", () => {
    for (const reason of LOCAL_REPLY_REASONS) expect(reason).toMatch(/^[a-z]+(-[a-z]+)+$/);
    const named = new Set([...filter.constants.values()].map((c) => c.value));
    expect(LOCAL_REPLY_REASONS.filter((r) => !named.has(r))).toEqual([]);
  });

  it("local-reply details: the filter's lightsub_* response code details are the contract's", () => {
    const spelled = new Set(filter.strings.filter((s) => /^lightsub_[a-z_]+$/.test(s.value)).map((s) => s.value));
    expect([...spelled].sort()).toEqual([...LOCAL_REPLY_DETAILS].sort());
  });

  it("response flags: every FLAG_* bit of the filter is Envoy's bit of that name in RESPONSE_FLAGS", () => {
    const flags = [...filter.constants].filter(([n]) => n.startsWith("FLAG_"));
    for (const [name, c] of flags) {
      const envoyName = flagName(name);
      expect(Object.keys(RESPONSE_FLAGS), `${name} (${c.where}) names no Envoy flag`).toContain(envoyName);
      expect(c.value, `${name} (${c.where})`).toBe(BigInt(RESPONSE_FLAGS[envoyName as keyof typeof RESPONSE_FLAGS]));
    }
  });

  it("strategies: the filter's list of strategy names is STRATEGY_NAMES, in order (the order of its StrategyKind enum)", () => {
    const lists = filter.arrays.filter((a) => a.value.includes(STRATEGY_NAMES[0]));
    expect(lists.length).toBeGreaterThan(0);
    for (const list of lists) expect(list.value, list.where).toEqual([...STRATEGY_NAMES]);
    // A strategy list written as one string (for an error message) says the same.
    const joined = [...filter.strings, ...[...filter.constants.values()]].filter((x) => typeof x.value === "string" && x.value.includes(`${STRATEGY_NAMES[0]}, `));
    for (const s of joined) expect(s.value, s.where).toBe(STRATEGY_NAMES.join(", "));
  });

  it("failover: the filter reads the served-by mark at SERVED_BY_PROPERTY_PATH", () => {
    const paths = filter.arrays.filter((a) => a.value.includes(SERVED_BY_PROPERTY_PATH[1]));
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(path.value, path.where).toEqual([...SERVED_BY_PROPERTY_PATH]);
  });

  it("metrics: every metric of the table is spelled in the filter", () => {
    const spelled = new Set([...filter.strings.map((s) => s.value), ...[...filter.constants.values()].map((c) => c.value)]);
    expect(METRIC_NAMES.filter((m) => !spelled.has(m))).toEqual([]);
  });

  it("a filter constant that shares a name with the contract has its value", () => {
    const differ = [...filter.constants]
      .filter(([name, c]) => WIRE_CONSTANTS.has(name) && WIRE_CONSTANTS.get(name) !== c.value)
      .map(([name, c]) => `${name} (${c.where}) = ${String(c.value)}, schemas/wire.ts: ${String(WIRE_CONSTANTS.get(name))}`);
    expect(differ).toEqual([]);
  });
});

describe("the built filter defines exactly the contract's metrics", () => {
  const wasm = join(ROOT, "build", "lightsub.wasm");

  it("names, kinds and Prometheus names, for a destination with admission and failover", async () => {
    const module = await Envoy.compile(readFileSync(wasm));
    const envoy = new Envoy({ startTimeMs: 1_700_000_000_000 });
    const stats = ["catalog-0_9090", "catalog-1_9090"];
    const config = {
      version: 1,
      service: "frontend",
      header: wire.SCHEDULING_HEADER,
      failMode: "open",
      destinations: [
        {
          service: "catalog",
          cluster: "catalog",
          strategy: "round_robin",
          failover: true,
          admission: { maxInFlight: 4, maxQueue: 8, queueTimeoutMs: 200, tickMs: 10, levels: ["high", "normal", "low"], defaultLevel: 1 },
          endpoints: stats.map((stat, i) => ({ cluster: `catalog_ep${i}`, stat, weight: 1 })),
        },
      ],
    };
    const vm = envoy.createVm(module, { vmId: "lightsub" });
    expect(vm.configure(JSON.stringify(config), { rootId: "lightsub" }), JSON.stringify(envoy.logs)).toBe(true);

    const expected = new Map<string, wire.MetricName>();
    for (const m of [...metricsOf("destination"), ...metricsOf("admission")]) expected.set(destinationMetricName("catalog", m), m);
    for (const stat of stats) {
      for (const m of [...metricsOf("endpoint"), ...metricsOf("failover")]) expected.set(endpointMetricName("catalog", stat, m), m);
    }
    expect(envoy.stats.names()).toEqual([...expected.keys()].sort());
    for (const [name, m] of expected) expect(envoy.stats.type(name), name).toBe(METRICS[m].kind);

    // Tagged as the compiled stats_config tags them: lightsub_<metric>{service, endpoint}.
    const text = envoy.stats.prometheus(STATS_TAGS);
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((x) => x[1]));
    expect([...families].sort()).toEqual(METRIC_NAMES.map(prometheusMetricName).sort());
    expect(text).toMatch(new RegExp(`^${prometheusMetricName("rq_total")}\\{service="catalog",endpoint="catalog-0_9090"\\} 0$`, "m"));
  });

  it("without admission and failover: none of their metrics", async () => {
    const module = await Envoy.compile(readFileSync(wasm));
    const envoy = new Envoy({ startTimeMs: 1_700_000_000_000 });
    const config = {
      version: 1,
      service: "frontend",
      header: wire.SCHEDULING_HEADER,
      failMode: "open",
      destinations: [{ service: "api", cluster: "api", strategy: "random", endpoints: [{ cluster: "api_ep0", stat: "a_80", weight: 1 }] }],
    };
    const vm = envoy.createVm(module, { vmId: "lightsub" });
    expect(vm.configure(JSON.stringify(config), { rootId: "lightsub" })).toBe(true);
    const expected = [...metricsOf("destination").map((m) => destinationMetricName("api", m)), ...metricsOf("endpoint").map((m) => endpointMetricName("api", "a_80", m))];
    expect(envoy.stats.names()).toEqual(expected.sort());
  });
});

describe("docs/design.md's metric table is the contract's", () => {
  it("lists every metric once, with its kind, and nothing else", () => {
    const text = readFileSync(join(ROOT, "docs", "design.md"), "utf8");
    const section = text.slice(text.indexOf("## Metrics"), text.indexOf("\n## ", text.indexOf("## Metrics") + 1));
    const documented = new Map<string, string>();
    for (const row of section.split("\n").filter((l) => /^\| .*`/.test(l))) {
      const [names, kind] = row.split("|").slice(1, 3).map((c) => c.trim());
      for (const [, name] of names!.matchAll(/`([a-z0-9_]+)`/g)) {
        expect(documented.has(name!), `${name} listed twice`).toBe(false);
        documented.set(name!, kind!);
      }
    }
    expect([...documented.keys()].sort()).toEqual([...METRIC_NAMES].sort());
    for (const m of METRIC_NAMES) expect(documented.get(m), m).toBe(METRICS[m].kind);
  });
});

describe("no product file outside schemas/wire.ts spells a header or a reason", () => {
  const spellings = [...HEADERS, ...LOCAL_REPLY_REASONS, ...LOCAL_REPLY_DETAILS];
  // Any x-lightsub-* name (a new header belongs in wire.ts first), and each reason or detail as a whole word.
  const pattern = new RegExp(`x-lightsub-|(?<![\\w-])(${spellings.map((s) => s.replace(/[-]/g, "\\-")).join("|")})(?![\\w-])`, "g");

  it("compiler, host, simulate, envoy-model, cli, e2e, bench, bin, scripts (code and comments)", () => {
    const files = PRODUCT_DIRS.flatMap((d) => sourceFiles(join(ROOT, d))).filter((f) => f !== WIRE_FILE);
    expect(files.length).toBeGreaterThan(100);
    const found: string[] = [];
    for (const file of files) {
      readFileSync(file, "utf8")
        .split("\n")
        .forEach((line, i) => {
          for (const m of line.matchAll(pattern)) found.push(`${relative(ROOT, file)}:${i + 1}: ${m[0]}`);
        });
    }
    expect(found).toEqual([]);
  });

  it("the pattern finds what it looks for (it is not vacuous)", () => {
    const text = readFileSync(WIRE_FILE, "utf8");
    const hits = new Set([...text.matchAll(pattern)].map((m) => m[1] ?? m[0]));
    for (const s of spellings) expect(hits.has(s) || (s.startsWith("x-lightsub-") && hits.has("x-lightsub-")), s).toBe(true);
  });
});
