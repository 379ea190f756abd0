/**
 * Loading policy text: JSON and YAML give the same policy, syntax errors have
 * positions, and hostile or huge input ends in a diagnostic, never an exception.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parseDocument, stringify } from "yaml";
import { formatDiagnostic } from "../../compiler/diagnostics/index.js";
import { checkPolicy, checkPolicyFile } from "../../compiler/check-policy.js";
import { parseJson } from "../../compiler/policy/json.js";
import { MAX_ENDPOINTS_PER_SERVICE, MAX_FILE_BYTES, MAX_SERVICES } from "../../compiler/policy/limits.js";
import { loadPolicyText } from "../../compiler/policy/load.js";
import { ParseFailure } from "../../compiler/policy/parse-failure.js";
import { YamlDocumentLocator } from "../../compiler/policy/yaml-locator.js";
import { check, where } from "../support/policy-marks.js";

const FIXTURES = new URL("../fixtures/policies/", import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), "utf8");

function service(i: number, endpoints = 1): Record<string, unknown> {
  return {
    name: `s${i}`,
    port: 8080,
    endpoints: Array.from({ length: endpoints }, (_, j) => ({ address: `s${i}-${j}`, port: 15006 })),
  };
}
function policy(services: unknown[]): Record<string, unknown> {
  return { apiVersion: "lightsub/v1", kind: "Mesh", metadata: { name: "m" }, spec: { services } };
}

describe("JSON and YAML", () => {
  it("reads a JSON policy into the same model as the same policy in YAML", () => {
    const json = fixture("payments.json");
    const fromJson = checkPolicy(json, "payments.json");
    expect(fromJson.diagnostics).toEqual([]);
    const yaml = stringify(JSON.parse(json));
    expect(checkPolicy(yaml, "payments.yaml").model).toEqual(fromJson.model);
    expect(loadPolicyText(json, "payments.json").policy?.parser).toBe("json");
    expect(loadPolicyText(yaml, "payments.yaml").policy?.parser).toBe("fast-yaml");
  });

  it("places diagnostics in JSON input", () => {
    const r = check(`
      {
        "apiVersion": "lightsub/v1", "kind": "Mesh", "metadata": { "name": "x" },
        "spec": { "services": [
          { "name": "a", "port": «"80", "endpoints": [{ "address": "a", "port": 1 }], "calls": «3 }
        ] }
      }
    `, "p.json");
    expect(r.diagnostics.map(where)).toEqual(r.marks.map((m) => `${m.line}:${m.column} LS004`));
    expect(r.diagnostics[1]!.message).toBe("calls must be a list, got 3");
  });

  it("points at the key of an unknown property in JSON", () => {
    const r = check(`{"apiVersion": "lightsub/v1", "kind": "Mesh", «"metdata": {"name": "x"}, "spec": {"services": []}}`, "p.json");
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`)).toContain(
      `${r.marks[0]!.line}:${r.marks[0]!.column} LS006 unknown property "metdata" in the policy (did you mean "metadata"?)`,
    );
  });

  it("reports JSON syntax errors with their position, and duplicate keys", () => {
    const bad = check(`{\n  "apiVersion": "lightsub/v1",\n  "kind": "Mesh"\n  «"spec": {}\n}`, "p.json");
    expect(bad.diagnostics.map(formatDiagnostic)).toEqual([`p.json:4:3: error LS002: JSON syntax error: expected ',' or '}' after a property value`]);
    const dup = check(`{"kind": "Mesh", «"kind": "Mesh"}`, "p.json");
    expect(dup.diagnostics.map(where)).toEqual([`${dup.marks[0]!.line}:${dup.marks[0]!.column} LS002`]);
    expect(dup.diagnostics[0]!.message).toContain('duplicate key "kind"');
  });

  it("accepts YAML flow text that is not strict JSON (comments, unquoted keys)", () => {
    const text = `{\n  # a comment\n  apiVersion: lightsub/v1, kind: Mesh, metadata: {name: x},\n  spec: {services: [{name: a, port: 1, endpoints: [{address: a, port: 2}]}]}\n}\n`;
    const r = checkPolicy(text, "p.yaml");
    expect(r.diagnostics).toEqual([]);
    expect(r.model?.services[0]?.name).toBe("a");
  });

  it("parses any JSON exactly like JSON.parse, with the same positions as the yaml package", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), fc.boolean(), (value, pretty) => {
        const text = JSON.stringify({ v: value }, null, pretty ? 2 : undefined);
        const parsed = parseJson(text);
        expect(parsed.value).toEqual(JSON.parse(text));
        const doc = parseDocument(text);
        const locator = new YamlDocumentLocator(doc, text);
        const paths: Array<Array<string | number>> = [["v"]];
        if (Array.isArray(value)) value.forEach((_, i) => paths.push(["v", i]));
        else if (value !== null && typeof value === "object") for (const k of Object.keys(value)) paths.push(["v", k]);
        for (const p of paths) expect(parsed.positions.offsetOf(p, "value")).toBe(locator.offsetOf(p, "value"));
      }),
      { numRuns: 300 },
    );
  });

  it("rejects malformed JSON with a ParseFailure, never another exception", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.nat(), fc.string({ maxLength: 3 }), (value, cut, junk) => {
        const text = JSON.stringify({ v: value });
        const at = cut % (text.length + 1);
        const broken = text.slice(0, at) + junk + text.slice(at + 1);
        try {
          expect(parseJson(broken).value).toEqual(JSON.parse(broken));
        } catch (e) {
          if (!(e instanceof ParseFailure)) {
            // parseJson failed only if JSON.parse fails too
            expect(() => JSON.parse(broken)).toThrow();
          }
        }
        // Through the whole front end: diagnostics only.
        expect(() => checkPolicy(broken, "p.json")).not.toThrow();
      }),
      { numRuns: 300 },
    );
  });

  it("handles CRLF line ends and a byte order mark", () => {
    const text = "\ufeff" + fixture("minimal.yaml").replace(/\n/g, "\r\n").replace("port: 8080", 'port: "8080"');
    const r = checkPolicy(text, "p.yaml");
    const port = text.split("\r\n").findIndex((l) => l.includes('"8080"'));
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual([`${port + 1}:13 LS004`]);
  });
});

describe("diagnostics stay one line", () => {
  // Found by the CLI fuzz test: YAML reads U+2028/U+2029 as text, JSON.stringify leaves them raw.
  it.each([["U+2028", "\u2028"], ["U+2029", "\u2029"]])("escapes %s inside a quoted value", (_name, separator) => {
    const text = `{"apiVersion":${separator}"lightsub/v1","kind":"Mesh","metadata":{"name":"m"},"spec":{"services":[]}}`;
    const lines = checkPolicy(text, "p.json").diagnostics.map(formatDiagnostic);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).toMatch(/^p\.json:\d+:\d+: (error|warning) LS\d{3}: .+$/);
    expect(lines.join("\n")).toContain(`\\u${separator.charCodeAt(0).toString(16)}`);
  });
});

describe("YAML syntax errors", () => {
  it("points at the bad spot", () => {
    const cases = [
      "apiVersion: lightsub/v1\nkind: Mesh\nmetadata: { name: x «]\n",
      "apiVersion: lightsub/v1\nkind: «Mesh: x\n",
      'apiVersion: lightsub/v1\nkind: "Mesh" «x\n',
      "apiVersion: lightsub/v1\nmetadata:\n«\tname: x\n",
    ];
    for (const source of cases) {
      const r = check(source);
      expect(r.diagnostics.map(where), source).toEqual([`${r.marks[0]!.line}:${r.marks[0]!.column} LS002`]);
    }
  });

  it("reports an undefined alias", () => {
    const r = check(`apiVersion: lightsub/v1\nkind: Mesh\nmetadata: «*nope\n`);
    expect(r.diagnostics.map(where)).toEqual([`3:11 LS002`]);
    expect(r.diagnostics[0]!.message).toContain("Unresolved alias");
  });

  it("reads anchors and aliases (the full YAML parser) with positions", () => {
    const text = fixture("bookstore.yaml");
    expect(loadPolicyText(text, "bookstore.yaml").policy?.parser).toBe("yaml");
    // Only compose's IPv6 warnings (the fixture's reviews endpoints are IPv6 on purpose).
    expect(checkPolicy(text, "bookstore.yaml").diagnostics.map((d) => d.code)).toEqual(["LS070", "LS070"]);
    const broken = text.replace("timeout: 1m30s", "timeout: 90");
    const line = broken.split("\n").findIndex((l) => l.includes("timeout: 90")) + 1;
    const r = checkPolicy(broken, "bookstore.yaml");
    // Both services using the shared block fail at the same spot with the same message: reported once.
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual([`${line}:18 LS050`]);
  });
});

describe("limits", () => {
  it("refuses a file over 16 MiB with LS001", () => {
    const text = `apiVersion: lightsub/v1\nkind: Mesh\nmetadata: { name: x }\nspec: { services: [] }\n# ${"x".repeat(MAX_FILE_BYTES)}\n`;
    const r = checkPolicy(text, "big.yaml");
    expect(r.diagnostics.map(formatDiagnostic)).toEqual(["big.yaml:1:1: error LS001: the policy is 16.0 MiB; the limit is 16 MiB"]);
  });

  it("counts bytes, not characters", () => {
    // 6 MiB of three-byte characters is 18 MiB of UTF-8.
    const text = `a: "${"€".repeat(6 * 1024 * 1024)}"\n`;
    expect(checkPolicy(text, "p.yaml").diagnostics.map((d) => d.code)).toEqual(["LS001"]);
  });

  it("stops an alias bomb with LS011", () => {
    const lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
    for (let i = 1; i < 12; i++) lines.push(`l${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(", ")}]`);
    const started = Date.now();
    const r = checkPolicy(`${lines.join("\n")}\n`, "bomb.yaml");
    expect(Date.now() - started).toBeLessThan(2000);
    expect(r.diagnostics.map((d) => `${d.line}:${d.column} ${d.code}`)).toEqual(["2:10 LS011"]); // the first alias
  });

  it("allows moderate alias use", () => {
    const base = fixture("bookstore.yaml");
    expect(checkPolicy(base, "bookstore.yaml").model).toBeDefined();
  });

  it("stops absurd nesting with LS011", () => {
    expect(checkPolicy(`a: ${"[".repeat(50_000)}${"]".repeat(50_000)}\n`, "p.yaml").diagnostics.map((d) => d.code)).toEqual(["LS011"]);
    expect(checkPolicy(`{"a": ${"[".repeat(50_000)}${"]".repeat(50_000)}}`, "p.json").diagnostics.map((d) => d.code)).toEqual(["LS011"]);
  });

  it(`refuses more than ${MAX_SERVICES} services and ${MAX_ENDPOINTS_PER_SERVICE} endpoints per service`, () => {
    const many = JSON.stringify(policy(Array.from({ length: MAX_SERVICES + 1 }, (_, i) => service(i))));
    expect(checkPolicy(many, "p.json").diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual([
      `LS011: spec.services lists ${MAX_SERVICES + 1} services; the limit is ${MAX_SERVICES}`,
    ]);
    const wide = `${JSON.stringify(policy([service(0), service(1, MAX_ENDPOINTS_PER_SERVICE + 1)]), null, 1)}\n`;
    const r = checkPolicy(wide, "p.json");
    expect(r.diagnostics.map((d) => d.code)).toEqual(["LS011"]);
    const line = wide.split("\n").findIndex((l) => l.includes('"s1-0"')) - 2; // the "endpoints": [ line
    expect(r.diagnostics[0]!.line).toBe(line + 1);
  });

  it("never throws on random bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 200 }), (text) => {
        const r = checkPolicy(text, "p.yaml");
        expect(r.diagnostics.length + (r.model ? 1 : 0)).toBeGreaterThan(0);
      }),
      { numRuns: 300 },
    );
  });
});

describe("files", () => {
  const dir = mkdtempSync(join(tmpdir(), "lightsub-policy-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("checks a file from disk", async () => {
    const path = join(dir, "shop.yaml");
    writeFileSync(path, fixture("shop.yaml"));
    const r = await checkPolicyFile(path);
    expect(r.model?.name).toBe("shop");
    expect(r.diagnostics.every((d) => d.file === path)).toBe(true);
  });

  it("gives LS001 for a missing file, a directory and bytes that are not UTF-8", async () => {
    const missing = await checkPolicyFile(join(dir, "nope.yaml"));
    expect(missing.diagnostics.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`)).toEqual([`1:1 LS001 cannot read ${join(dir, "nope.yaml")}: no such file`]);
    expect((await checkPolicyFile(dir)).diagnostics.map((d) => d.code)).toEqual(["LS001"]);
    const latin1 = join(dir, "latin1.yaml");
    writeFileSync(latin1, Buffer.from([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    const r = await checkPolicyFile(latin1);
    expect(r.diagnostics.map((d) => `${d.code} ${d.message}`)).toEqual(["LS001 the file is not valid UTF-8 text"]);
  });
});
