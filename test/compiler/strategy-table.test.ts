/**
 * compiler/model/strategies.ts is the one table of strategies. The names are
 * also spelled where TypeScript cannot be imported: the policy schema's enum,
 * the workload schema's runs, and the filter (AssemblyScript). Each must accept
 * exactly the table's names. The filter is scanned as source text, every file
 * under filter/lightsub, so the test does not depend on where the filter keeps
 * its list.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import {
  isStrategyName,
  isWeightAware,
  PARAMETER_STRATEGY,
  SCHEDULER_PARAMETERS,
  STRATEGY_NAMES,
  STRATEGY_TABLE,
  WEIGHT_AWARE_STRATEGIES,
} from "../../compiler/model/strategies.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
type Node = Record<string, unknown>;
const json = (path: string) => JSON.parse(readFileSync(join(ROOT, path), "utf8")) as Node;

function asFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? asFiles(`${dir}/${e.name}`) : e.name.endsWith(".ts") ? [`${dir}/${e.name}`] : [],
  );
}

/**
 * The strategy names the filter's sources spell, from three shapes: an array
 * of string literals holding a known strategy name (a name table), a constant
 * whose identifier says STRATEGY and whose value is one string (a wire constant),
 * and a comma-separated list of names in one string (the error message that
 * lists them). Each shape found is returned separately.
 */
function filterStrategyNames(): { lists: string[][]; constants: string[]; messages: string[][] } {
  const known = new Set<string>(STRATEGY_NAMES);
  const found = { lists: [] as string[][], constants: [] as string[], messages: [] as string[][] };
  for (const file of asFiles("filter/lightsub")) {
    const source = ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      if (ts.isArrayLiteralExpression(node) && node.elements.length > 0 && node.elements.every(ts.isStringLiteral)) {
        const names = node.elements.map((e) => (e as ts.StringLiteral).text);
        if (names.some((n) => known.has(n))) found.lists.push(names);
      }
      if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && /strateg/i.test(node.name.text) && node.initializer && ts.isStringLiteral(node.initializer)) {
        const text = node.initializer.text;
        if (/^[a-z]+(_[a-z]+)*$/.test(text)) found.constants.push(text);
        else if (/^[a-z_]+(, [a-z_]+)+$/.test(text)) found.messages.push(text.split(", "));
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}

describe("the strategy table", () => {
  it("names every strategy once, in snake_case, and says what each reads", () => {
    expect(STRATEGY_NAMES.length).toBeGreaterThan(0);
    expect(new Set(STRATEGY_NAMES).size).toBe(STRATEGY_NAMES.length);
    for (const name of STRATEGY_NAMES) expect(name).toMatch(/^[a-z]+(_[a-z]+)*$/);
    expect(isStrategyName("round_robin")).toBe(true);
    expect(isStrategyName("toString")).toBe(false);
    expect(isStrategyName("envoy:ROUND_ROBIN")).toBe(false);
  });

  it("gives each scheduler parameter to exactly one strategy", () => {
    const readers = Object.keys(SCHEDULER_PARAMETERS).map((p) => STRATEGY_NAMES.filter((s) => (STRATEGY_TABLE[s].parameters as readonly string[]).includes(p)));
    for (const r of readers) expect(r).toHaveLength(1);
    expect(Object.keys(PARAMETER_STRATEGY).sort()).toEqual(Object.keys(SCHEDULER_PARAMETERS).sort());
  });

  it("lists the weight-aware strategies as LS031 names them: those that share by weight, then those that weigh load", () => {
    expect(WEIGHT_AWARE_STRATEGIES).toEqual(STRATEGY_NAMES.filter(isWeightAware).sort((a, b) => (STRATEGY_TABLE[a].weights === "share" ? 0 : 1) - (STRATEGY_TABLE[b].weights === "share" ? 0 : 1)));
    expect(WEIGHT_AWARE_STRATEGIES.length).toBeGreaterThan(0);
    expect(WEIGHT_AWARE_STRATEGIES.length).toBeLessThan(STRATEGY_NAMES.length);
  });

  it("the policy schema's strategy enum is exactly the table, in its order", () => {
    const defs = json("schemas/policy.schema.json")["$defs"] as Record<string, Node>;
    expect(defs["strategy"]!["enum"]).toEqual([...STRATEGY_NAMES]);
  });

  it("the policy schema says which strategy reads each scheduler parameter, and which follow the weights, as the table does", () => {
    const schema = json("schemas/policy.schema.json");
    const defs = schema["$defs"] as Record<string, Node>;
    const scheduler = defs["scheduler"]!["properties"] as Record<string, Node>;
    expect(Object.keys(scheduler).sort()).toEqual(["hashOn", "strategy", ...Object.keys(SCHEDULER_PARAMETERS)].sort());
    for (const [parameter, strategy] of Object.entries(PARAMETER_STRATEGY)) expect(scheduler[parameter]!["description"], parameter).toMatch(new RegExp(`^${strategy} only:`));
    const hashing = STRATEGY_NAMES.filter((s) => STRATEGY_TABLE[s].hashKey);
    expect(hashing).toHaveLength(1);
    expect(scheduler["hashOn"]!["description"]).toMatch(new RegExp(`^${hashing[0]} only:`));
    // Every description of an endpoint weight names exactly the strategies that follow weights.
    const weightTexts: string[] = [];
    const walk = (node: unknown, key: string): void => {
      if (Array.isArray(node)) node.forEach((n) => walk(n, key));
      else if (node !== null && typeof node === "object") {
        const rec = node as Node;
        if (key === "weight" && typeof rec["description"] === "string") weightTexts.push(rec["description"]);
        for (const [k, v] of Object.entries(rec)) walk(v, k);
      }
    };
    walk(schema, "");
    expect(weightTexts.length).toBeGreaterThan(0);
    for (const text of weightTexts) {
      const named = [...text.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!).filter(isStrategyName);
      expect(named.sort(), text).toEqual([...WEIGHT_AWARE_STRATEGIES].sort());
    }
  });

  it("the workload schema's runs include every strategy, first and in the table's order", () => {
    const props = json("schemas/workload.schema.json")["properties"] as Record<string, Node>;
    const runs = (props["compare"]!["items"] as Node)["enum"] as string[];
    expect(runs.slice(0, STRATEGY_NAMES.length)).toEqual([...STRATEGY_NAMES]);
  });

  it("the filter accepts exactly the table's names (its AssemblyScript sources, scanned)", () => {
    const { lists, constants, messages } = filterStrategyNames();
    // The filter spells its names somewhere: a table, wire constants, or both.
    expect(lists.length + constants.length, "no strategy names found under filter/lightsub").toBeGreaterThan(0);
    const sorted = [...STRATEGY_NAMES].sort();
    for (const list of lists) expect([...list].sort()).toEqual(sorted);
    if (constants.length > 0) expect([...new Set(constants)].sort()).toEqual(sorted);
    for (const message of messages) expect([...message].sort()).toEqual(sorted);
  });
});
