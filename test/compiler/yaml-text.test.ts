/** compiler/emit/yaml-text.ts: the YAML emitter the compiler writes every config with. */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { deepFreeze } from "../../compiler/envoy/freeze.js";
import type { JsonValue } from "../../compiler/envoy/json.js";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import { clearYamlCaches, toYaml, toYamlPieces } from "../../compiler/emit/yaml-text.js";
import { fiveServiceModel } from "../support/models.js";

/** What a YAML 1.2 reader gets back from the text. */
function readBack(text: string): unknown {
  return parse(text, { version: "1.2", uniqueKeys: true });
}

describe("toYaml", () => {
  it("writes any JSON value so that a YAML reader gets the same value back", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (value) => {
        const expected = JSON.parse(JSON.stringify(value));
        expect(readBack(toYaml(value))).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });

  it("writes big documents and many distinct keys the same (remembered key texts are bounded, pieces joined in batches)", () => {
    // More distinct keys than the key-text memory holds, quoted and plain ones, with lists between them (batch joins).
    const value: Record<string, unknown> = {};
    for (let i = 0; i < 6000; i++) value[i % 3 === 0 ? `k${i}` : i % 3 === 1 ? `on${i}: x` : "true".slice(0, 1 + (i % 4)) + i] = i % 2 ? [i, `v${i}`, { yes: "no" }] : `w${i}`;
    value["true"] = "y";
    value["on"] = ["no"];
    const text = toYaml(value);
    expect(readBack(text)).toEqual(value);
    expect(toYaml(value)).toBe(text);
    expect(text).toContain('"true": "y"\n');
  });

  it("quotes strings that YAML would read as something else, and only those", () => {
    const tricky = ["true", "False", "yes", "NO", "on", "y", "null", "~", "", " lead", "trail ", "1", "0x1F", "1e3", "-1", ".5",
      "a: b", "- x", "#c", "x #c", "[a]", "{a}", "*ref", "&anchor", "!tag", "%d", "@at", "`tick", "'q'", '"q"', "a\nb", "é", "x:y"];
    const value = Object.fromEntries(tricky.map((s, i) => [`k${i}`, s]));
    expect(readBack(toYaml(value))).toEqual(value);
    expect(readBack(toYaml(tricky))).toEqual(tricky);
    // Plain words stay plain (no quotes in the text).
    expect(toYaml({ name: "envoy.filters.http.router", path: "/etc/lightsub/lightsub.wasm", at: "type.googleapis.com/x.y" })).toBe(
      "name: envoy.filters.http.router\npath: /etc/lightsub/lightsub.wasm\nat: type.googleapis.com/x.y\n",
    );
    expect(toYaml({ a: "true", b: "falsehood" })).toBe('a: "true"\nb: falsehood\n');
  });

  it("writes empty containers, nested lists and a header", () => {
    const value = { a: [], b: {}, c: [[1, 2], [], [{ x: 1 }]], d: [{ e: [{ f: null }] }] };
    const text = toYaml(value, "line one\n\nline three");
    expect(text.startsWith("# line one\n#\n# line three\n")).toBe(true);
    expect(readBack(text)).toEqual(value);
  });

  it("writes a shared frozen object the same as an unfrozen copy, wherever it sits", () => {
    clearYamlCaches();
    const shared = deepFreeze({ name: "c", hosts: [{ address: "10.0.0.1", port: 80 }, { address: "10.0.0.2", port: 81 }], opts: { deep: [[1]] } } as JsonValue);
    const copy = structuredClone(shared);
    const build = (x: JsonValue) => ({ top: x, list: [x, { inner: x }], nested: { more: [[x]] }, again: x });
    const doc = build(shared);
    const plain = build(copy);
    expect(toYaml(doc, "h")).toBe(toYaml(plain, "h"));
    // A second document reusing the remembered texts is still right.
    expect(toYaml({ other: [shared], last: shared })).toBe(toYaml({ other: [copy], last: copy }));
    expect(readBack(toYaml(doc))).toEqual(plain);
  });

  it("writes real bootstraps (with their shared frozen parts) exactly as unshared copies", () => {
    clearYamlCaches();
    for (let round = 0; round < 2; round++) {
      for (const [service, bootstrap] of sidecarBootstraps(fiveServiceModel())) {
        const copy = structuredClone(bootstrap);
        const text = toYaml(bootstrap, service);
        expect(text, service).toBe(toYaml(copy, service));
        expect(readBack(text), service).toEqual(copy);
      }
    }
  });

  it("toYamlPieces: the pieces joined are exactly toYaml's text; shared resources are pieces of their own", () => {
    clearYamlCaches();
    for (const [service, bootstrap] of sidecarBootstraps(fiveServiceModel())) {
      const pieces = toYamlPieces(bootstrap, service);
      expect(pieces.join(""), service).toBe(toYaml(structuredClone(bootstrap), service));
      // Each shared cluster's text is one piece, not copied into the sidecar's own text.
      const clusters = (bootstrap as { static_resources: { clusters: JsonValue[] } }).static_resources.clusters.filter((c) => Object.isFrozen(c));
      expect(clusters.length, service).toBeGreaterThan(0);
      for (const cluster of clusters) expect(pieces, service).toContain(toYaml([cluster]).replace(/^- /, "  - ").replace(/\n(?=.)/g, "\n  "));
    }
    // Any value, with a shared frozen part holding multi-byte text, anywhere in it.
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }), (value, inner) => {
        const shared = deepFreeze({ s: "é ✓ 😀", inner } as JsonValue);
        const doc = { a: value, b: [shared, { c: shared }], d: shared };
        expect(toYamlPieces(doc, "h é").join("")).toBe(toYaml(JSON.parse(JSON.stringify(doc)), "h é"));
      }),
      { numRuns: 200 },
    );
  });

  it("rejects numbers YAML cannot carry", () => {
    expect(() => toYaml({ x: Number.NaN })).toThrow(/NaN/);
    expect(() => toYaml([Number.POSITIVE_INFINITY])).toThrow(/Infinity/);
  });
});
