/**
 * The import graph of the source tree, for test/guarantees/import-cycles.test.ts:
 * every relative import (static, `export ... from`, `import type`, dynamic
 * `import()`) of the TypeScript parts and of the AssemblyScript filter, its
 * cycles, and imports that go up the layers.
 *
 * Hand-written on purpose rather than madge or dependency-cruiser: the filter's
 * AssemblyScript (decorators on functions, `i32`...) is not TypeScript a full
 * parser accepts, and we only need the import specifiers, which the
 * `typescript` package's own scanner (`ts.preProcessFile`, already a
 * devDependency) reads from any of these files without type-checking them.
 * Cycles are the strongly connected components (Tarjan) of that graph.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..", "..");

/** A file's imports: `to` is a repository-relative path, or undefined when the specifier resolves to nothing. */
export interface ImportEdge {
  from: string;
  specifier: string;
  to: string | undefined;
}

export interface ImportGraph {
  files: string[];
  edges: ImportEdge[];
}

const SOURCE = /\.(ts|mts|js|mjs)$/;
const SKIP_DIRS = new Set(["node_modules", "build", ".git", ".tools"]);

/** Every source file under the given top-level directories (those that exist), repository-relative, sorted. */
export function sourceFiles(parts: readonly string[], root = ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (SKIP_DIRS.has(entry.name)) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (SOURCE.test(entry.name) && !entry.name.endsWith(".d.ts")) found.push(relative(root, path).split("\\").join("/"));
    }
  };
  for (const part of parts) if (existsSync(join(root, part)) && statSync(join(root, part)).isDirectory()) walk(join(root, part));
  return found.sort();
}

/** The module specifiers a file imports, as TypeScript's scanner reads them. */
function importSpecifiers(text: string): string[] {
  const info = ts.preProcessFile(text, true, true);
  return info.importedFiles.map((f) => f.fileName);
}

/**
 * Where a relative specifier leads: the file itself, the .ts behind a .js
 * (NodeNext), the .ts of an extensionless AssemblyScript import, or a
 * directory's index.ts. Non-relative specifiers (packages, node:) are not part
 * of the graph: undefined with `external` true.
 */
export function resolveSpecifier(fromFile: string, specifier: string, root = ROOT): { external: boolean; to?: string } {
  if (!specifier.startsWith("./") && !specifier.startsWith("../")) return { external: true };
  const base = resolve(root, dirname(fromFile), specifier);
  const candidates = [
    base,
    base.replace(/\.js$/, ".ts"),
    base.replace(/\.mjs$/, ".mts"),
    `${base}.ts`,
    join(base, "index.ts"),
  ];
  for (const candidate of candidates) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return { external: false, to: relative(root, candidate).split("\\").join("/") };
  }
  return { external: false };
}

/** The import graph of the given files (relative imports only). */
export function importGraph(files: readonly string[], root = ROOT): ImportGraph {
  const edges: ImportEdge[] = [];
  for (const from of files) {
    for (const specifier of importSpecifiers(readFileSync(join(root, from), "utf8"))) {
      const resolved = resolveSpecifier(from, specifier, root);
      if (!resolved.external) edges.push({ from, specifier, to: resolved.to });
    }
  }
  return { files: [...files], edges };
}

/** An import cycle: every file of the strongly connected component, and one closed path through it, e.g. [a, b, c, a]. */
export interface Cycle {
  files: string[];
  path: string[];
}

/**
 * Every import cycle: one per strongly connected component with more than one
 * file (or a file importing itself), largest first. The path is a shortest
 * closed one from the component's first file in name order.
 */
export function findCycles(nodes: readonly string[], edges: ReadonlyArray<{ from: string; to: string | undefined }>): Cycle[] {
  const next = new Map<string, string[]>();
  for (const n of nodes) next.set(n, []);
  for (const e of edges) if (e.to !== undefined && next.has(e.from) && next.has(e.to)) next.get(e.from)!.push(e.to);
  for (const list of next.values()) list.sort();

  // Tarjan's strongly connected components, iteratively (deep chains must not overflow the stack).
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const start of [...nodes].sort()) {
    if (index.has(start)) continue;
    const work: Array<{ node: string; i: number }> = [{ node: start, i: 0 }];
    index.set(start, counter);
    low.set(start, counter++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const succ = next.get(frame.node)!;
      if (frame.i < succ.length) {
        const w = succ[frame.i++]!;
        if (!index.has(w)) {
          index.set(w, counter);
          low.set(w, counter++);
          stack.push(w);
          onStack.add(w);
          work.push({ node: w, i: 0 });
        } else if (onStack.has(w)) {
          low.set(frame.node, Math.min(low.get(frame.node)!, index.get(w)!));
        }
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1]!.node;
        low.set(parent, Math.min(low.get(parent)!, low.get(frame.node)!));
      }
      if (low.get(frame.node) === index.get(frame.node)) {
        const component: string[] = [];
        let w: string;
        do {
          w = stack.pop()!;
          onStack.delete(w);
          component.push(w);
        } while (w !== frame.node);
        const selfLoop = component.length === 1 && next.get(component[0]!)!.includes(component[0]!);
        if (component.length > 1 || selfLoop) components.push(component.sort());
      }
    }
  }

  // Name each component by a shortest closed path from its first file (breadth-first inside the component).
  return components
    .map((component) => {
      const members = new Set(component);
      const first = component[0]!;
      const cameFrom = new Map<string, string>();
      const queue = [first];
      let closing: string | undefined;
      while (queue.length > 0 && closing === undefined) {
        const node = queue.shift()!;
        for (const w of next.get(node)!) {
          if (!members.has(w)) continue;
          if (w === first) {
            closing = node;
            break;
          }
          if (!cameFrom.has(w)) {
            cameFrom.set(w, node);
            queue.push(w);
          }
        }
      }
      const path = [first];
      for (let at = closing!; at !== first; at = cameFrom.get(at)!) path.splice(1, 0, at);
      path.push(first);
      return { files: component, path };
    })
    .sort((a, b) => b.files.length - a.files.length || (a.path[0]! < b.path[0]! ? -1 : 1));
}

/** One line per cycle: its path, and how many files the whole component holds. */
export function describeCycle(cycle: Cycle): string {
  const more = cycle.files.length > cycle.path.length - 1 ? ` (${cycle.files.length} files in the cycle: ${cycle.files.join(", ")})` : "";
  return `${cycle.path.join(" -> ")}${more}`;
}

/** The top-level directory a repository-relative path belongs to. */
export function partOf(file: string): string {
  return file.split("/")[0]!;
}
