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
 * The strategy names the filter's sources spell, in three shapes: an array of
 * strings holding a known strategy name (the table the filter looks names up
 * in), a constant whose identifier says STRATEGY and whose value is one name
 * (a wire constant), and a comma-separated list of names in one string (the
 * error message that lists them). Strings are followed through constants and
 * `+` concatenation across all files, so names may be literals or constants
 * defined in another file.
 */
function filterStrategyNames(): { lists: string[][]; constants: string[]; messages: string[][] } {
  const known = new Set<string>(STRATEGY_NAMES);
  const sources = asFiles("filter/lightsub").map((file) => ts.createSourceFile(file, readFileSync(join(ROOT, file), "utf8"), ts.ScriptTarget.Latest, true));
  const declarations: ts.VariableDeclaration[] = [];
  const arrays: ts.ArrayLiteralExpression[] = [];
  const collect = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isIdentifier(node.name) && node.initializer) declarations.push(node);
    if (ts.isArrayLiteralExpression(node)) arrays.push(node);
    ts.forEachChild(node, collect);
  };
  sources.forEach(collect);
  // Constant name -> string value, resolved until nothing new resolves (constants may use constants).
  const values = new Map<string, string>();
  const evaluate = (node: ts.Expression): string | undefined => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
    if (ts.isIdentifier(node)) return values.get(node.text);
    if (ts.isParenthesizedExpression(node)) return evaluate(node.expression);
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      const left = evaluate(node.left);
      const right = evaluate(node.right);
      return left === undefined || right === undefined ? undefined : left + right;
    }
    return undefined;
  };
  for (let grew = true; grew; ) {
    grew = false;
    for (const d of declarations) {
      const name = (d.name as ts.Identifier).text;
      if (values.has(name)) continue;
      const value = evaluate(d.initializer!);
      if (value !== undefined) {
        values.set(name, value);
        grew = true;
      }
    }
  }
  const found = { lists: [] as string[][], constants: [] as string[], messages: [] as string[][] };
  for (const array of arrays) {
    const names = array.elements.map((e) => evaluate(e));
    if (names.length > 0 && names.every((n) => n !== undefined) && names.some((n) => known.has(n!))) found.lists.push(names as string[]);
  }
  for (const d of declarations) {
    const name = (d.name as ts.Identifier).text;
    const value = values.get(name);
    if (value === undefined || !/strateg/i.test(name)) continue;
    if (/^[a-z]+(_[a-z]+)*$/.test(value)) found.constants.push(value);
    else if (/^[a-z_]+(, [a-z_]+)+$/.test(value)) found.messages.push(value.split(", "));
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
    // The filter looks names up in a table; it may spell them as wire constants and list them in a message too.
    expect(lists.length, "no strategy name table found under filter/lightsub").toBeGreaterThan(0);
    const sorted = [...STRATEGY_NAMES].sort();
    for (const list of lists) expect([...list].sort()).toEqual(sorted);
    if (constants.length > 0) expect([...new Set(constants)].sort()).toEqual(sorted);
    for (const message of messages) expect([...message].sort()).toEqual(sorted);
  });
});
