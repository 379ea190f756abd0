/**
 * docs/diagnostics.md is generated from the diagnostic catalogues
 * (scripts/diagnostics-doc.ts); this fails when a code was added or changed
 * without regenerating it (`npm run docs:diagnostics`).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { DIAGNOSTIC_CODES } from "../../compiler/diagnostics/index.js";
import { WORKLOAD_DIAGNOSTIC_CODES } from "../../compiler/diagnostics/index.js";
import { DIAGNOSTICS_DOC, renderDiagnosticsDoc } from "../../scripts/diagnostics-doc.js";

describe("docs/diagnostics.md", () => {
  it("is up to date with the catalogues (run npm run docs:diagnostics after changing a code)", () => {
    expect(readFileSync(DIAGNOSTICS_DOC, "utf8")).toBe(renderDiagnosticsDoc());
  });

  it("lists every code, policy and workload, once in its table", () => {
    const doc = renderDiagnosticsDoc();
    for (const { code } of [...DIAGNOSTIC_CODES, ...WORKLOAD_DIAGNOSTIC_CODES]) {
      expect(doc.match(new RegExp(`^\\| \\[${code}\\]\\(#${code.toLowerCase()}\\) \\|`, "gm")), code).toHaveLength(1);
    }
  });

  it("gives every policy code an example and a fix; YAML examples are YAML", () => {
    for (const info of DIAGNOSTIC_CODES) {
      expect(info.example, info.code).toBeTruthy();
      expect(info.fix, info.code).toMatch(/^[A-Z`].{10,}[.)]$/s);
      if (!info.example!.startsWith("lightsub ") && info.code !== "LS002") expect(() => parse(info.example!), info.code).not.toThrow();
    }
  });
});
