/**
 * Source positions of parsed policy values.
 *
 * Checks name the offending value by its path (`["spec", "services", 1, "port"]`);
 * a Locator turns that path into a character offset in the source text, and a
 * LineIndex turns the offset into line:column. Positions are only looked up for
 * values that have a problem, so a clean 10,000-service policy pays nothing here.
 */

export type PathSegment = string | number;
export type Path = readonly PathSegment[];

/** Point at the value of a property (the default) or at the property's key (unknown properties). */
export type Target = "value" | "key";

export interface Locator {
  /** Offset of the node at `path`; when the path leaves the document, the deepest node that exists. */
  offsetOf(path: Path, target: Target): number;
}

export interface LineColumn {
  line: number;
  column: number;
}

/** Offset → 1-based line and column, by binary search over line starts (built once, on first use). */
export class LineIndex {
  private starts: number[] | undefined;

  constructor(private readonly text: string) {}

  position(offset: number): LineColumn {
    const starts = (this.starts ??= lineStarts(this.text));
    const at = Math.max(0, Math.min(offset, this.text.length));
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid]! <= at) low = mid;
      else high = mid - 1;
    }
    return { line: low + 1, column: at - starts[low]! + 1 };
  }
}

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/**
 * Where a value starts, recorded by our own parsers (JSON and the fast YAML
 * path) as a tree beside the value tree. Flat arrays, no maps: a big policy
 * has 100,000s of values and this must cost little to build.
 *  - a scalar: its offset;
 *  - a mapping: `[offset, key, keyOffset, child, key, keyOffset, child, ...]`;
 *  - a sequence: `[offset, child, child, ...]`.
 */
export type PositionNode = number | PositionContainer;
export type PositionContainer = Array<string | number | PositionContainer>;

function startOf(node: PositionNode): number {
  return typeof node === "number" ? node : (node[0] as number);
}

export class PositionTree implements Locator {
  constructor(
    private readonly root: unknown,
    private readonly rootPositions: PositionNode,
  ) {}

  offsetOf(path: Path, target: Target): number {
    let value: unknown = this.root;
    let node: PositionNode = this.rootPositions;
    let offset = startOf(node);
    for (let i = 0; i < path.length; i++) {
      if (typeof node === "number" || typeof value !== "object" || value === null) return offset;
      const segment = path[i]!;
      if (Array.isArray(value)) {
        const index = typeof segment === "number" ? segment : Number(segment);
        const child = node[index + 1];
        if (child === undefined || typeof child === "string") return offset;
        node = child;
        offset = startOf(child);
        value = value[index];
      } else {
        const key = String(segment);
        let entry = 1;
        while (entry < node.length && node[entry] !== key) entry += 3;
        if (entry >= node.length) return offset;
        const child = node[entry + 2] as PositionNode;
        offset = i === path.length - 1 && target === "key" ? (node[entry + 1] as number) : startOf(child);
        node = child;
        value = (value as Record<string, unknown>)[key];
      }
    }
    return offset;
  }
}
