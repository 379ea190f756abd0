/**
 * compiler/ is a pipeline, and its directories are its stages. A file may
 * import its own stage and the stages before it, never a later one:
 *
 *   model (the typed IR and its vocabulary: strategies, defaults)
 *   → policy (load, schema, semantic checks, translation into the model)
 *   → envoy (one file per Envoy concern) → compose (instances, conflicts)
 *   → validate (Envoy's API check) → emit (text) → write (files on disk)
 *
 * The model comes first in import order although a policy is read before a
 * model exists: the policy stage produces the model, so it speaks the model's
 * types and reads its tables, as every later stage does. diagnostics (and
 * schemas/) sit below every stage. The entry points (compile.ts, api.ts,
 * check-policy.ts, ...) and the command-line parts may import any stage; no stage
 * imports them, and no stage imports anything outside compiler/ but schemas/
 * and packages.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, posix, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const STAGES = ["model", "policy", "envoy", "compose", "validate", "emit", "write"] as const;

type Place = { kind: "stage"; rank: number; name: string } | { kind: "bottom" } | { kind: "entry" } | { kind: "outside"; path: string };

/** Where a repository-relative path sits in the compiler's order. */
function placeOf(path: string): Place {
  if (path.startsWith("schemas/")) return { kind: "bottom" };
  if (!path.startsWith("compiler/")) return { kind: "outside", path };
  const [first, ...rest] = path.slice("compiler/".length).split("/");
  if (first === "diagnostics.ts" || first === "diagnostics") return { kind: "bottom" };
  const rank = (STAGES as readonly string[]).indexOf(first!);
  if (rank >= 0 && rest.length > 0) return { kind: "stage", rank, name: first! };
  return { kind: "entry" };
}

/** Why `from` may not import `to`, or undefined when it may. */
function violation(from: string, to: string): string | undefined {
  const a = placeOf(from);
  const b = placeOf(to);
  if (a.kind === "bottom") return b.kind === "bottom" ? undefined : "diagnostics and schemas import no stage";
  if (a.kind !== "stage") return undefined;
  if (b.kind === "bottom") return undefined;
  if (b.kind === "entry") return "a stage imports an entry point";
  if (b.kind === "outside") return `a stage imports ${b.path.split("/")[0]}/, outside the compiler`;
  if (b.rank > a.rank) return `stage ${a.name} imports the later stage ${b.name}`;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(e.name) && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** Relative imports of a file (static, dynamic and type-only), as repository-relative paths of .ts/.mjs sources. */
function importsOf(file: string): string[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), "utf8"), true, true);
  return info.importedFiles
    .map((f) => f.fileName)
    .filter((spec) => spec.startsWith("."))
    .map((spec) => {
      const target = posix.normalize(posix.join(posix.dirname(file), spec));
      return target.endsWith(".js") ? `${target.slice(0, -3)}.ts` : target;
    });
}

describe("compiler stage order", () => {
  const files = sourceFiles("compiler");
  const edges = files.flatMap((from) => importsOf(from).map((to) => ({ from, to })));

  it("finds every stage with files in it, and the imports between them", () => {
    for (const stage of STAGES) expect(files.some((f) => f.startsWith(`compiler/${stage}/`)), stage).toBe(true);
    // The parse sees imports across stages (not a vacuous pass): envoy reads the model, emit reads envoy.
    expect(edges.some((e) => e.from.startsWith("compiler/envoy/") && e.to.startsWith("compiler/model/"))).toBe(true);
    expect(edges.some((e) => e.from.startsWith("compiler/emit/") && e.to.startsWith("compiler/envoy/"))).toBe(true);
  });

  it("no stage imports a later stage, an entry point or anything outside the compiler", () => {
    const bad = edges.flatMap(({ from, to }) => {
      const why = violation(from, to);
      return why === undefined ? [] : [`${from} -> ${to}: ${why}`];
    });
    expect(bad).toEqual([]);
  });

  it("imports resolve to files that exist (so a renamed stage cannot hide an import)", () => {
    const existing = new Set([...files, ...sourceFiles("schemas")]);
    const missing = edges.filter(({ to }) => to.startsWith("compiler/") && !existing.has(to) && !existing.has(to.replace(/\.ts$/, ".mjs")));
    expect(missing).toEqual([]);
  });

  it("the rule itself: earlier and same stage allowed, later stage, entry points and outside refused", () => {
    expect(violation("compiler/envoy/clusters.ts", "compiler/model/strategies.ts")).toBeUndefined();
    expect(violation("compiler/policy/check.ts", "compiler/policy/findings.ts")).toBeUndefined();
    expect(violation("compiler/policy/check.ts", "compiler/diagnostics.ts")).toBeUndefined();
    expect(violation("compiler/compile.ts", "compiler/write/write.ts")).toBeUndefined();
    expect(violation("compiler/policy/check.ts", "compiler/compose/compose.ts")).toMatch(/later stage compose/);
    expect(violation("compiler/model/defaults.ts", "compiler/envoy/clusters.ts")).toMatch(/later stage envoy/);
    expect(violation("compiler/compose/compose.ts", "compiler/emit/yaml-text.ts")).toMatch(/later stage emit/);
    expect(violation("compiler/emit/sidecars.ts", "compiler/compile.ts")).toMatch(/entry point/);
    expect(violation("compiler/write/write.ts", "simulate/index.ts")).toMatch(/outside the compiler/);
    expect(violation("compiler/diagnostics.ts", "compiler/model/mesh.ts")).toMatch(/no stage/);
  });
});
