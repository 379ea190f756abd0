/**
 * The shape of the source tree (issue 15): no import cycle anywhere in the
 * TypeScript parts or in the AssemblyScript filter, and each top-level part
 * imports only parts below it:
 *
 *   cli -> simulate -> envoy-model, host, compiler -> schemas
 *
 * (the three in the middle are one layer: peers, which may not import one
 * another either). Tests, bench
 * and e2e may import anything; no product part imports them. Every static,
 * type-only, re-exporting and dynamic relative import counts
 * (test/support/imports.ts reads them with TypeScript's scanner).
 */
import { describe, expect, it } from "vitest";
import { describeCycle, findCycles, importGraph, partOf, resolveSpecifier, sourceFiles } from "../support/imports.js";

/** Top to bottom; parts on one row are one layer. */
const LAYERS: readonly (readonly string[])[] = [["cli"], ["simulate"], ["envoy-model", "host", "compiler"], ["schemas"]];
/** May import any part; nothing in LAYERS may import them. */
const ABOVE_ALL = ["e2e", "bench"];
const TS_PARTS = [...LAYERS.flat(), ...ABOVE_ALL];
const FILTER = "filter";

const rank = new Map<string, number>(LAYERS.flatMap((row, i) => row.map((part) => [part, i] as const)));

const tsGraph = importGraph(sourceFiles(TS_PARTS));
const filterGraph = importGraph(sourceFiles([FILTER]).filter((f) => f.endsWith(".ts")));

/** Edges that break the layering: a part importing one above it or beside it (same layer), or e2e/bench. */
function layerViolations(edges: typeof tsGraph.edges): string[] {
  const problems = new Set<string>();
  for (const e of edges) {
    if (e.to === undefined) continue;
    const from = partOf(e.from);
    const to = partOf(e.to);
    if (from === to || !rank.has(from)) continue;
    const why = !rank.has(to)
      ? `${to}/ is not product code`
      : rank.get(to)! < rank.get(from)!
        ? `${to}/ is above ${from}/`
        : rank.get(to)! === rank.get(from)!
          ? `${to}/ is beside ${from}/ (same layer)`
          : undefined;
    if (why !== undefined) problems.add(`${e.from} imports ${e.to} ("${e.specifier}"): ${why}`);
  }
  return [...problems].sort();
}

describe("import graph", () => {
  it("reads the whole tree: every part's files, and imports between them", () => {
    // Guards the checks below against passing on an empty or unread graph (schemas/ may hold only JSON).
    for (const part of ["compiler", "host", "simulate", "e2e", "bench"]) {
      expect(tsGraph.files.some((f) => partOf(f) === part), part).toBe(true);
    }
    expect(tsGraph.edges.filter((e) => e.to !== undefined).length).toBeGreaterThan(200);
    expect(filterGraph.files.length).toBeGreaterThan(10);
    expect(filterGraph.edges.filter((e) => e.to !== undefined).length).toBeGreaterThan(20);
  });

  it("every relative import resolves to a file (none is missed by the cycle check)", () => {
    const unresolved = [...tsGraph.edges, ...filterGraph.edges].filter((e) => e.to === undefined).map((e) => `${e.from}: "${e.specifier}"`);
    expect(unresolved).toEqual([]);
  });

  it("finds a cycle, names its files and ignores what is not one", () => {
    const files = ["a.ts", "b.ts", "c.ts", "d.ts", "e.ts"];
    const edges = [
      { from: "a.ts", to: "b.ts" },
      { from: "b.ts", to: "c.ts" },
      { from: "c.ts", to: "a.ts" },
      { from: "c.ts", to: "d.ts" },
      { from: "e.ts", to: "e.ts" },
    ];
    const cycles = findCycles(files, edges);
    expect(cycles.map((c) => c.path)).toEqual([["a.ts", "b.ts", "c.ts", "a.ts"], ["e.ts", "e.ts"]]);
    expect(findCycles(files, edges.slice(0, 2))).toEqual([]);
    expect(describeCycle({ files: ["a.ts", "b.ts", "c.ts"], path: ["a.ts", "b.ts", "a.ts"] })).toBe("a.ts -> b.ts -> a.ts (3 files in the cycle: a.ts, b.ts, c.ts)");
  });

  it("resolves the specifier forms the tree uses", () => {
    expect(resolveSpecifier("test/guarantees/import-cycles.test.ts", "../support/imports.js")).toEqual({ external: false, to: "test/support/imports.ts" });
    expect(resolveSpecifier("test/guarantees/import-cycles.test.ts", "../support")).toEqual({ external: false });
    expect(resolveSpecifier("test/support/imports.ts", "node:fs")).toEqual({ external: true });
    expect(resolveSpecifier("test/support/imports.ts", "typescript")).toEqual({ external: true });
    expect(resolveSpecifier("filter/index.ts", "./lightsub/nothing-here")).toEqual({ external: false });
  });
});

describe("no import cycles", () => {
  it(`TypeScript (${TS_PARTS.join(", ")})`, () => {
    const cycles = findCycles(tsGraph.files, tsGraph.edges).map(describeCycle);
    expect(cycles, cycles.join("\n")).toEqual([]);
  });

  it("AssemblyScript (filter/)", () => {
    const cycles = findCycles(filterGraph.files, filterGraph.edges).map(describeCycle);
    expect(cycles, cycles.join("\n")).toEqual([]);
  });
});

describe("layers", () => {
  it("flags a part importing one above it, beside it or e2e/bench, not one below it", () => {
    const edges = [
      { from: "compiler/a.ts", specifier: "../simulate/b.js", to: "simulate/b.ts" },
      { from: "host/a.ts", specifier: "../schemas/b.js", to: "schemas/b.ts" },
      { from: "simulate/a.ts", specifier: "../e2e/b.js", to: "e2e/b.ts" },
      { from: "cli/a.ts", specifier: "../compiler/b.js", to: "compiler/b.ts" },
      { from: "e2e/a.ts", specifier: "../cli/b.js", to: "cli/b.ts" },
      { from: "envoy-model/a.ts", specifier: "../compiler/b.js", to: "compiler/b.ts" },
    ];
    expect(layerViolations(edges)).toEqual([
      'compiler/a.ts imports simulate/b.ts ("../simulate/b.js"): simulate/ is above compiler/',
      'envoy-model/a.ts imports compiler/b.ts ("../compiler/b.js"): compiler/ is beside envoy-model/ (same layer)',
      'simulate/a.ts imports e2e/b.ts ("../e2e/b.js"): e2e/ is not product code',
    ]);
  });

  it(`each part imports only parts below it (${LAYERS.map((row) => row.join(", ")).join(" -> ")})`, () => {
    const problems = layerViolations(tsGraph.edges);
    expect(problems, problems.join("\n")).toEqual([]);
  });
});
