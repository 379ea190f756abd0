/**
 * The filter's shape (filter/README.md): filter/lightsub is layers read
 * top-down, each importing only layers below it, with no import cycle
 * anywhere in filter/; file names are kebab-case; base/wire.ts keeps the one
 * `export const NAME: type = value;` per line that the wire-contract test parses.
 * The filter is AssemblyScript, so its imports are read from the source text.
 */
import { readFileSync, readdirSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), "../.."));
const FILTER = join(ROOT, "filter");
const LIGHTSUB = join(FILTER, "lightsub");

/** filter/lightsub's layers, top first; a layer is a file or a folder. Layers on one line are siblings. */
const LAYERS: readonly (readonly string[])[] = [
  ["root.ts"],
  ["stream.ts"],
  ["plugin.ts"],
  ["admission"],
  ["strategies"],
  ["destination.ts"],
  ["records", "telemetry"],
  ["config"],
  ["base"],
];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts"))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** The relative modules a file imports or re-exports, as absolute .ts paths. */
function importsOf(file: string, all: ReadonlySet<string>): string[] {
  const text = readFileSync(file, "utf8");
  const out: string[] = [];
  for (const m of text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s*"(\.[^"]+)"/gms)) {
    const base = join(dirname(file), m[1]!);
    const target = [`${base}.ts`, join(base, "index.ts")].find((p) => all.has(p));
    if (target === undefined) throw new Error(`${relative(ROOT, file)}: cannot resolve ${m[1]}`);
    out.push(target);
  }
  return out;
}

function graph(): Map<string, string[]> {
  const files = sourceFiles(FILTER);
  const all = new Set(files);
  return new Map(files.map((f) => [f, importsOf(f, all)]));
}

/** Strongly connected components with more than one file, or a file importing itself (Tarjan). */
function cycles(g: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of g.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string;
    do {
      w = stack.pop()!;
      onStack.delete(w);
      component.push(relative(ROOT, w));
    } while (w !== v);
    if (component.length > 1 || (g.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of g.keys()) if (!index.has(v)) visit(v);
  return found;
}

/** Rank of the layer holding a file of filter/lightsub (0 = top), or undefined. */
function layerOf(file: string): number | undefined {
  const top = relative(LIGHTSUB, file).split("/")[0]!;
  const rank = LAYERS.findIndex((names) => names.includes(top));
  return rank < 0 ? undefined : rank;
}

describe("filter layers", () => {
  it("has no import cycle in filter/", () => {
    expect(cycles(graph())).toEqual([]);
  });

  it("finds a cycle when there is one (the check can fail)", () => {
    const g = new Map([["a", ["b"]], ["b", ["c"]], ["c", ["a"]], ["d", ["a"]]]);
    expect(cycles(g).map((c) => c.length)).toEqual([3]);
  });

  it("puts every file of filter/lightsub in a layer", () => {
    const outside = sourceFiles(LIGHTSUB).filter((f) => layerOf(f) === undefined).map((f) => relative(ROOT, f));
    expect(outside).toEqual([]);
  });

  it("imports only from lower layers (or the same folder) inside filter/lightsub", () => {
    const upward: string[] = [];
    for (const [file, deps] of graph()) {
      if (!file.startsWith(LIGHTSUB + "/")) continue;
      const from = layerOf(file)!;
      for (const dep of deps) {
        if (!dep.startsWith(LIGHTSUB + "/")) continue; // proxy-wasm/: below every layer
        const sameFolder = relative(LIGHTSUB, file).split("/")[0] === relative(LIGHTSUB, dep).split("/")[0];
        if (!sameFolder && layerOf(dep)! <= from) upward.push(`${relative(ROOT, file)} -> ${relative(ROOT, dep)}`);
      }
    }
    expect(upward).toEqual([]);
  });

  it("keeps proxy-wasm/ free of lightsub", () => {
    const into = [...graph()]
      .filter(([file]) => file.startsWith(join(FILTER, "proxy-wasm") + "/"))
      .flatMap(([file, deps]) => deps.filter((d) => d.startsWith(LIGHTSUB + "/")).map((d) => `${relative(ROOT, file)} -> ${relative(ROOT, d)}`));
    expect(into).toEqual([]);
  });

  it("names every file and folder of filter/ in kebab-case", () => {
    const names = readdirSync(FILTER, { recursive: true, encoding: "utf8" }).flatMap((p) => p.split("/"));
    const bad = [...new Set(names)].filter((n) => !/^[a-z0-9]+(?:-[a-z0-9]+)*(?:\.[a-z]+)?$/.test(n) && n !== "README.md");
    expect(bad).toEqual([]);
  });

  it("keeps base/wire.ts one `export const NAME: type = value;` per line, names in SCREAMING_SNAKE, values unique", () => {
    const lines = readFileSync(join(LIGHTSUB, "base/wire.ts"), "utf8").split("\n");
    const code = lines.filter((l) => l.trim() !== "" && !l.trim().startsWith("//") && !l.trim().startsWith("/**"));
    const shape = /^export const ([A-Z][A-Z0-9_]*): (string|u64) = ("[^"\\]*"|0x[0-9a-f]+);$/;
    expect(code.filter((l) => !shape.test(l))).toEqual([]);
    const names = code.map((l) => shape.exec(l)![1]!);
    expect(new Set(names).size).toBe(names.length);
    // No wire string is spelled twice under two names (one source per name), except
    // the metric namespace and metadata namespace, which Envoy and the compiler both call "lightsub".
    const values = code.map((l) => shape.exec(l)![3]!).filter((v) => v !== '"lightsub"' && v !== '"endpoint"');
    expect(new Set(values).size).toBe(values.length);
  });

  it("spells x-lightsub- headers and reasons only in base/wire.ts", () => {
    const spelled = sourceFiles(LIGHTSUB)
      .filter((f) => !f.endsWith("base/wire.ts"))
      .filter((f) => /"(x-lightsub-[a-z-]+|queue-full|queue-timeout|shared-data-[a-z]+|lightsub_[a-z_]+)"/.test(readFileSync(f, "utf8")))
      .map((f) => relative(ROOT, f));
    expect(spelled).toEqual([]);
  });
});
