/**
 * Locator over a document of the `yaml` package (the full-YAML fallback path).
 */
import { isAlias, isMap, isScalar, isSeq, type Document, type Node } from "yaml";
import type { Locator, Path, Target } from "./positions.js";

export class YamlDocumentLocator implements Locator {
  constructor(
    private readonly doc: Document,
    private readonly text: string,
  ) {}

  offsetOf(path: Path, target: Target): number {
    let node: unknown = this.doc.contents;
    let offset = rangeStart(node) ?? 0;
    for (let i = 0; i < path.length; i++) {
      // Follow aliases into what they name; positions stay at the alias itself if the path ends there.
      for (let hops = 0; isAlias(node) && hops < 100; hops++) node = node.resolve(this.doc);
      const segment = path[i]!;
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (pair === undefined) return offset;
        const keyOffset = rangeStart(pair.key) ?? offset;
        const value = pair.value;
        const valueOffset = isEmptyScalar(value) ? keyOffset : (rangeStart(value) ?? keyOffset);
        offset = i === path.length - 1 && target === "key" ? keyOffset : valueOffset;
        node = value;
      } else if (isSeq(node)) {
        const item = node.items[Number(segment)];
        if (item === undefined) return offset;
        offset = isEmptyScalar(item) ? this.dashBefore(rangeStart(item), offset) : (rangeStart(item) ?? offset);
        node = item;
      } else {
        return offset;
      }
    }
    return offset;
  }

  /** An empty sequence item `-` sits just after its dash: point at the dash. */
  private dashBefore(at: number | undefined, fallback: number): number {
    if (at === undefined) return fallback;
    let i = at - 1;
    while (i >= 0 && this.text[i] === " ") i--;
    return this.text[i] === "-" ? i : fallback;
  }
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range;
  return range ? range[0] : undefined;
}

/** `key:` with nothing after it: point at the key rather than at the end of the line. */
function isEmptyScalar(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null && node.source === "");
}
