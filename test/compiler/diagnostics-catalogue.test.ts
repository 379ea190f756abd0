/**
 * The diagnostic catalogue (compiler/diagnostics/catalogue.ts) is the one
 * place codes, severities and message templates are written: these tests keep
 * it well-formed and keep call sites from spelling codes again.
 * (That every code is exercised, and that docs/diagnostics.md is current, is
 * tested in policy-check, simulate-workload and diagnostics-doc.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { CATALOGUE, type CodeSpec } from "../../compiler/diagnostics/catalogue.js";
import { Code, DIAGNOSTIC_CODES, Diag, WORKLOAD_DIAGNOSTIC_CODES, diagnosticAt, messageText, workloadCodeOf, type DiagMessage } from "../../compiler/diagnostics/index.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const SPECS = Object.entries(CATALOGUE) as [string, CodeSpec][];
const MESSAGES = Object.values(Diag as unknown as Record<string, DiagMessage>);

/** Product source (everything the tests are not), read once. */
const PRODUCT_DIRS = ["bench", "bin", "cli", "compiler", "e2e", "envoy-model", "filter", "host", "schemas", "scripts", "simulate"];
const SOURCES: { file: string; text: string }[] = PRODUCT_DIRS.flatMap((dir) => {
  let names: string[];
  try {
    names = readdirSync(join(ROOT, dir), { recursive: true, encoding: "utf8" });
  } catch {
    return []; // a layer not (yet) present in this tree
  }
  return names
    .filter((name) => /\.(ts|mts|mjs|js)$/.test(name) && !name.split(/[\\/]/).includes("node_modules"))
    .map((name) => ({ file: relative(ROOT, join(ROOT, dir, name)), text: readFileSync(join(ROOT, dir, name), "utf8") }));
});

describe("diagnostic catalogue", () => {
  it("gives each code once, in the LS0xx (policy) or LS2xx (workload) range, and each message name once", () => {
    const codes = SPECS.map(([, spec]) => spec.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [name, spec] of SPECS) {
      expect(spec.code, name).toMatch(spec.area === "policy" ? /^LS0\d\d$/ : /^LS2\d\d$/);
      expect(spec.summary.length, name).toBeGreaterThan(10);
    }
    const names = SPECS.flatMap(([, spec]) => Object.keys(spec.messages));
    expect(new Set(names).size).toBe(names.length);
    expect(MESSAGES.map((m) => m.name).sort()).toEqual([...names].sort());
    // The derived tables list the same codes, in catalogue order.
    expect([...DIAGNOSTIC_CODES, ...WORKLOAD_DIAGNOSTIC_CODES].map((c) => c.code)).toEqual(codes);
  });

  it("gives every code messages of its own, or names the code whose messages it reports (messagesOf)", () => {
    for (const [name, spec] of SPECS) {
      const own = Object.keys(spec.messages).length;
      if (spec.messagesOf === undefined) {
        expect(own, `${name} has no messages`).toBeGreaterThan(0);
        continue;
      }
      expect(own, `${name} reports ${spec.messagesOf}'s messages and has none of its own`).toBe(0);
      const reused = (CATALOGUE as Record<string, CodeSpec>)[spec.messagesOf];
      expect(reused, `${name}.messagesOf`).toBeDefined();
      expect(reused!.messagesOf).toBeUndefined();
      expect(workloadCodeOf(reused!.code)).toBe(spec.code);
    }
    expect(workloadCodeOf(Code.Unreadable)).toBe(Code.WorkloadUnreadable);
    expect(workloadCodeOf(Code.Syntax)).toBe(Code.WorkloadSyntax);
    // Limits are limits in a workload too: no code of their own.
    expect(workloadCodeOf(Code.LimitExceeded)).toBe(Code.LimitExceeded);
  });

  it("writes every { in a template as a {name} placeholder or as plain text followed by a space", () => {
    for (const m of MESSAGES) {
      for (const at of [...m.template.matchAll(/\{/g)].map((x) => x.index!)) {
        const rest = m.template.slice(at);
        expect(/^\{[A-Za-z][A-Za-z0-9]*\}/.test(rest) || rest.startsWith("{ "), `${m.name}: ${JSON.stringify(rest.slice(0, 20))}`).toBe(true);
      }
    }
  });

  it("takes each message's severity from its code unless the catalogue says otherwise", () => {
    for (const [, spec] of SPECS) {
      for (const [name, message] of Object.entries(spec.messages)) {
        const m = (Diag as unknown as Record<string, DiagMessage>)[name]!;
        expect(m.code).toBe(spec.code);
        expect(m.severity).toBe(typeof message === "string" ? spec.severity : message.severity);
      }
    }
    expect(Diag.YamlWarning.severity).toBe("warning");
    expect(Diag.YamlSyntax.severity).toBe("error");
  });

  it("fills templates once, with every value given, and refuses a missing one", () => {
    expect(messageText(Diag.CallsItself, { name: '"a"' })).toBe('service "a" calls itself');
    // A value that looks like a placeholder is not expanded again; literal braces stay.
    expect(messageText(Diag.CallWrongType, { field: "calls[0]", got: "{field}" })).toBe(
      "calls[0] must be a service name or a mapping { service: <name>, port: <port> }, got {field}",
    );
    expect(messageText(Diag.AlreadyCalled, { name: '"b"', earlier: 0 })).toBe('service "b" is already in calls (calls[0])');
    expect(messageText(Diag.HashOnMissing)).toBe(Diag.HashOnMissing.template);
    // @ts-expect-error the type demands every placeholder; at run time a missing one is an internal error, not a blank
    expect(() => messageText(Diag.CallsItself, {})).toThrow(/CallsItself: no value for \{name\}/);
    const d = diagnosticAt({ file: "p.yaml", line: 3, column: 5 }, Diag.PermissiveMtls);
    expect(d).toEqual({ file: "p.yaml", line: 3, column: 5, severity: "warning", code: Code.PermissiveMtls, message: Diag.PermissiveMtls.template });
  });

  it("is the only product source that spells a code: call sites use named messages", () => {
    expect(SOURCES.some((s) => s.file.startsWith("compiler/policy/"))).toBe(true);
    const spelled = SOURCES.filter((s) => !s.file.startsWith("compiler/diagnostics/")).flatMap((s) =>
      [...s.text.matchAll(/["'`]LS\d{3}["'`]/g)].map((m) => `${s.file}: ${m[0]}`),
    );
    expect(spelled).toEqual([]);
  });

  it("is the only product source that states a severity: call sites take it from the catalogue", () => {
    const stated = SOURCES.filter((s) => !s.file.startsWith("compiler/diagnostics/")).flatMap((s) =>
      [...s.text.matchAll(/severity:\s*["'`](error|warning)["'`]/g)].map((m) => `${s.file}: ${m[0]}`),
    );
    expect(stated).toEqual([]);
  });

  it("has no message that no product code reports", () => {
    const product = SOURCES.filter((s) => !s.file.startsWith("compiler/diagnostics/")).map((s) => s.text).join("\n");
    const unused = MESSAGES.map((m) => m.name).filter((name) => !new RegExp(`\\bDiag\\.${name}\\b`).test(product));
    expect(unused).toEqual([]);
  });
});
