/**
 * The fast YAML path must never disagree with the `yaml` package: whenever it
 * accepts a text, the `yaml` package must read the same text without error into
 * the same value, and both must place every value at the same offset.
 */
import { readFileSync, readdirSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { parseFastYaml, resolvePlain } from "../../compiler/policy/fast-yaml.js";
import type { Path } from "../../compiler/policy/positions.js";
import { YamlDocumentLocator } from "../../compiler/policy/yaml-locator.js";

const FIXTURES = new URL("../fixtures/policies/", import.meta.url);
const yamlFixtures = readdirSync(FIXTURES)
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => readFileSync(new URL(f, FIXTURES), "utf8"));

/** Asserts the fast parser's answer is consistent with the full parser's; returns whether it accepted. */
function agreesWithYamlPackage(text: string): boolean {
  const fast = parseFastYaml(text);
  if (fast === undefined) return false;
  const doc = parseDocument(text, { prettyErrors: false });
  expect(doc.errors.map((e) => e.message), JSON.stringify(text)).toEqual([]);
  expect(fast.value, JSON.stringify(text)).toEqual(doc.toJS());
  const locator = new YamlDocumentLocator(doc, text);
  for (const path of allPaths(fast.value)) {
    expect(fast.positions.offsetOf(path, "value"), `${JSON.stringify(text)} at ${path.join(".")}`).toBe(locator.offsetOf(path, "value"));
    expect(fast.positions.offsetOf(path, "key"), `${JSON.stringify(text)} key at ${path.join(".")}`).toBe(locator.offsetOf(path, "key"));
  }
  return true;
}

function allPaths(value: unknown, prefix: Path = []): Path[] {
  const paths: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => paths.push(...allPaths(v, [...prefix, i])));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) paths.push(...allPaths(v, [...prefix, k]));
  return paths;
}

describe("fast YAML parser", () => {
  it("reads every block-style fixture itself and agrees with the yaml package", () => {
    const accepted = yamlFixtures.filter((text) => agreesWithYamlPackage(text));
    // All but the fixture that uses anchors stay in the fast subset.
    expect(accepted.length).toBe(yamlFixtures.length - 1);
  });

  it("resolves plain scalars like the YAML 1.2 core schema", () => {
    const cases: Array<[string, unknown]> = [
      ["", null], ["~", null], ["null", null], ["Null", null], ["NULL", null], ["nULL", "nULL"],
      ["true", true], ["True", true], ["TRUE", true], ["false", false], ["yes", "yes"], ["on", "on"],
      ["8080", 8080], ["-12", -12], ["+7", 7], ["007", 7], ["0o17", 15], ["0x1F", 31], ["0x", "0x"],
      ["1.5", 1.5], [".5", 0.5], ["1.", 1], ["1e3", 1000], ["-2.5E-1", -0.25], [".inf", Infinity], ["-.Inf", -Infinity],
      ["2s", "2s"], ["250ms", "250ms"], ["5xx", "5xx"], ["1_000", "1_000"], ["x-user-id", "x-user-id"],
    ];
    for (const [raw, value] of cases) {
      expect(resolvePlain(raw), raw).toEqual(value);
      expect(parseDocument(`v: ${raw}`).toJS().v, raw).toEqual(value);
    }
    expect(resolvePlain(".nan")).toBeNaN();
  });

  it("reads the whole supported subset itself", () => {
    const accepted = [
      "a: 1\n",
      "---\na: 1\n",
      "--- # doc\na: [1, 2]\n",
      "a:\n- x\n- y\nb: 2\n",
      "a:\n  -\n  - x\n  - \nb:\nc: [1, {d: }]\n",
      "a: 'it''s'\nb: \"tab\\tnew\\nline \\u00e9 \\x41 \\\" \\\\ \\/\"\n",
      "a: b#c # comment\n",
      "a: http://x:80/path\n",
      "a: { k: v, l: [ 1, \"two\", 'three' ] }   # flow\n",
      "list:\n  - name: a\n    port: 1\n  - name: b\n    port: 2\n",
      "x:\n  - name: a\n    sub:\n      - 1\n",
      "\"quoted key\": 1\n'other': 2\n",
      "a:   spaced   \n",
      "a: x\r\nb: y\r\n",
      "a: [a b, c]\n",
      "a: []\nb: {}\n",
      "a: x\n  # indented comment\nb: y\n",
      "a: -1\nb: +2\nc: .5\nd: 0x1f\ne: 0o17\nf: 1e3\ng: .inf\nh: ~\ni: Null\nj: TRUE\nk: false\n",
    ];
    for (const text of accepted) expect(agreesWithYamlPackage(text), JSON.stringify(text)).toBe(true);
  });

  it("leaves everything else to the yaml package", () => {
    const left = [
      "- top-level list\n",
      "a: 1\na: 2\n",
      "a: &x 1\nb: *x\n",
      "a: |\n  block\n",
      "a: >\n  folded\n",
      "a: !!str 1\n",
      "a: multi\n  line\n",
      "a:\n  scalar on the next line\n",
      "a: [1,\n  2]\n",
      "a: b: c\n",
      "a:\tb\n",
      "a: 'unterminated\n",
      "a: \"bad \\q escape\"\n",
      "a: \"\\a bell\"\n",
      "? complex\n: key\n",
      "a: 1\n---\nb: 2\n",
      "%YAML 1.2\n---\na: 1\n",
      "a: 1\n...\n",
      "a: [1, 2, ]\n",
      "a: {x: 1, x: 2}\n",
      "__proto__: 1\n",
      "a:\n  b: 1\n c: 2\n",
      "a:\n  - x\n  b: 1\n",
      "a: - b\n",
      "null: 1\n",
      "True: 1\n",
      "a: {null: 1}\n",
      "1: one\n",
      "a b: 1\n",
      "a: @x\n",
      "a: `x\n",
      "a: {b: c}: d\n",
      "a: \"x\" y\n",
      "a: {b:1}\n",
      "  a: 1\n",
      "\ufeffa: 1\n",
      "- - nested\n",
      "a: \"\\xZZ\"\n",
      "a: \"\\u12\"\n",
      "a: [x: y]\n",
      "a: [http://x]\n",
      "",
      "# only a comment\n",
    ];
    for (const text of left) expect(parseFastYaml(text), JSON.stringify(text)).toBeUndefined();
  });

  it("agrees with the yaml package on random documents in many styles", () => {
    const scalar = fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^[a-z][-a-z0-9./:]{0,12}$/) },
      { weight: 1, arbitrary: fc.string() },
      fc.constantFrom("", " ", "~", "null", "true", "False", "0x1f", "0o7", "1e5", ".inf", "-", "- x", "a: b", "a #b", "#", "'", '"', "[x]", "{y}", ",", "é", "\\", "2s", "lightsub/v1", "x:y"),
      fc.integer(),
      fc.double({ noNaN: true }),
      fc.boolean(),
      fc.constant(null),
    );
    const key = fc.oneof(
      { weight: 8, arbitrary: fc.stringMatching(/^[a-zA-Z_][a-zA-Z0-9_-]{0,8}$/) },
      { weight: 1, arbitrary: fc.constantFrom("on", "null", "True", "1", "a b", "a:b", "#x", "__proto__") },
      { weight: 1, arbitrary: fc.string({ maxLength: 5 }) },
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("node"), { maxLength: 4 }), fc.dictionary(key, tie("node"), { maxKeys: 4 })),
    })).node;
    const options = fc.record({
      indent: fc.constantFrom(2, 4),
      indentSeq: fc.boolean(),
      flowCollectionPadding: fc.boolean(),
      collectionStyle: fc.constantFrom("any", "block", "flow") as fc.Arbitrary<"any" | "block" | "flow">,
      defaultStringType: fc.constantFrom("PLAIN", "QUOTE_DOUBLE", "QUOTE_SINGLE") as fc.Arbitrary<"PLAIN" | "QUOTE_DOUBLE" | "QUOTE_SINGLE">,
      lineWidth: fc.constantFrom(0, 20, 80),
    });
    let accepted = 0;
    fc.assert(
      fc.property(fc.dictionary(key, value, { minKeys: 1, maxKeys: 5 }), options, (doc, opts) => {
        const text = stringify(doc, opts);
        if (agreesWithYamlPackage(text)) accepted++;
      }),
      { numRuns: 600 },
    );
    // The property is only meaningful if the fast path takes a good share of the documents.
    expect(accepted).toBeGreaterThan(90);
  });

  it("never accepts a mutated policy that the yaml package reads differently or rejects", () => {
    const pieces = [" ", "  ", ":", ": ", "-", "- ", "#", " #", "'", '"', "[", "]", "{", "}", ",", "\n", "\n  ", "&a ", "*a", "!", "|", ">", "?", "\\", "\t", "\r", "x"];
    const base = yamlFixtures;
    let accepted = 0;
    fc.assert(
      fc.property(
        fc.nat({ max: base.length - 1 }),
        fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.nat({ max: 3 }), fc.constantFrom(...pieces)), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          let text = base[which]!;
          for (const [where, kind, piece] of edits) {
            const at = Math.floor(where * text.length);
            if (kind === 0) text = text.slice(0, at) + piece + text.slice(at);
            else if (kind === 1) text = text.slice(0, at) + text.slice(at + 1);
            else if (kind === 2) text = text.slice(0, at) + piece + text.slice(at + 1);
            else {
              // duplicate or drop indentation of the line containing `at`
              const lineStart = text.lastIndexOf("\n", at - 1) + 1;
              text = text.slice(0, lineStart) + (piece === " " ? "  " : "") + text.slice(lineStart + (piece === " " ? 0 : Math.min(2, text.length - lineStart)));
            }
          }
          if (agreesWithYamlPackage(text)) accepted++;
        },
      ),
      { numRuns: 1500 },
    );
    expect(accepted).toBeGreaterThan(150);
  });
});
