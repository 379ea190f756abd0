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

/** What the filter's source spells: string literals, constants with a literal value, arrays of string literals. */
interface FilterSource {
  strings: Located<string>[];
  constants: Map<string, Located<string | bigint>>;
  stringArrays: Located<string[]>[];
}

/** A constant initializer's value: a string, or an integer expression of literals, `<<`, `|` and parentheses (u64 flags). */
function literalValue(node: ts.Expression): string | bigint | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isNumericLiteral(node)) return /^\d+$|^0[xX][0-9a-fA-F]+$/.test(node.text) ? BigInt(node.text) : undefined;
  if (ts.isParenthesizedExpression(node)) return literalValue(node.expression);
  if (ts.isAsExpression(node)) return literalValue(node.expression);
  if (ts.isBinaryExpression(node)) {
    const left = literalValue(node.left);
    const right = literalValue(node.right);
    if (typeof left !== "bigint" || typeof right !== "bigint") return undefined;
    if (node.operatorToken.kind === ts.SyntaxKind.LessThanLessThanToken) return left << right;
    if (node.operatorToken.kind === ts.SyntaxKind.BarToken) return left | right;
  }
  return undefined;
}

function readFilterSource(): FilterSource {
  const result: FilterSource = { strings: [], constants: new Map(), stringArrays: [] };
  for (const file of sourceFiles(FILTER_DIR)) {
    const text = readFileSync(file, "utf8");
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const where = (node: ts.Node) => `${relative(ROOT, file)}:${source.getLineAndCharacterOfPosition(node.getStart()).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) result.strings.push({ value: node.text, where: where(node) });
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer && (ts.getCombinedNodeFlags(node) & ts.NodeFlags.Const) !== 0) {
        const value = literalValue(node.initializer);
        const name = node.name.text;
        if (value !== undefined) {
          const earlier = result.constants.get(name);
          if (earlier && earlier.value !== value) throw new Error(`filter constant ${name} has two values: ${where(node)} and ${earlier.where}`);
          result.constants.set(name, { value, where: where(node) });
        }
      }
      if (ts.isArrayLiteralExpression(node) && node.elements.length > 0 && node.elements.every((e) => ts.isStringLiteral(e))) {
        result.stringArrays.push({ value: node.elements.map((e) => (e as ts.StringLiteral).text), where: where(node) });
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
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

/** wire.ts's exported constants with a string or integer value. */
const WIRE_CONSTANTS = new Map<string, string | bigint>(
  Object.entries(wire).flatMap(([name, v]): [string, string | bigint][] =>
    typeof v === "string" ? [[name, v]] : typeof v === "number" && Number.isInteger(v) ? [[name, BigInt(v)]] : [],
  ),
);

const isReasonConstant = (name: string) => name.startsWith("REASON_") && !name.endsWith("_HEADER");

describe("the filter's wire constants equal schemas/wire.ts", () => {
  const filter = readFilterSource();

  it("finds the filter's source (the checks below are not vacuous)", () => {
    expect(filter.strings.length).toBeGreaterThan(50);
    expect([...filter.constants.keys()].filter((n) => n.startsWith("FLAG_")).length).toBeGreaterThan(0);
    expect([...filter.constants.keys()].filter(isReasonConstant).length).toBeGreaterThan(0);
  });

  it("headers: the filter spells exactly the contract's x-lightsub-* headers", () => {
    const spelled = new Set(filter.strings.filter((s) => s.value.startsWith("x-lightsub-")).map((s) => s.value));
    expect([...spelled].sort()).toEqual([...HEADERS].sort());
  });

  it("local-reply reasons: the same REASON_* constants with the same values, one spelling (kebab-case)", () => {
    const inFilter = Object.fromEntries([...filter.constants].filter(([n]) => isReasonConstant(n)).map(([n, c]) => [n, c.value]));
    const inWire = Object.fromEntries([...WIRE_CONSTANTS].filter(([n]) => isReasonConstant(n)));
    expect(inFilter).toEqual(inWire);
    expect(Object.values(inWire).sort()).toEqual([...LOCAL_REPLY_REASONS].sort());
    for (const reason of LOCAL_REPLY_REASONS) expect(reason).toMatch(/^[a-z]+(-[a-z]+)+$/);
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
    const lists = filter.stringArrays.filter((a) => a.value.includes(STRATEGY_NAMES[0]));
    expect(lists.length).toBeGreaterThan(0);
    for (const list of lists) expect(list.value, list.where).toEqual([...STRATEGY_NAMES]);
    // A strategy list spelled as one string (for an error message) says the same.
    for (const s of filter.strings.filter((x) => x.value.includes(`${STRATEGY_NAMES[0]}, `))) {
      expect(s.value, s.where).toBe(STRATEGY_NAMES.join(", "));
    }
  });

  it("failover: the filter reads the served-by mark at SERVED_BY_PROPERTY_PATH", () => {
    const paths = filter.stringArrays.filter((a) => a.value.includes(SERVED_BY_PROPERTY_PATH[1]));
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
