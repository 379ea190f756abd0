/**
 * Diagnostics as data: the printed format, ordering, the code table, and the
 * edit-distance suggestions behind "did you mean".
 */
import { describe, expect, it } from "vitest";
import { DIAGNOSTIC_CODES, describeCode, formatDiagnostic, hasErrors, sortDiagnostics, type Diagnostic } from "../../compiler/diagnostics/index.js";
import { closest, didYouMean, editDistance } from "../../compiler/policy/suggest.js";

const d = (line: number, column: number, code = "LS004", severity: Diagnostic["severity"] = "error", file = "p.yaml"): Diagnostic => ({
  file,
  line,
  column,
  severity,
  code,
  message: `m${code}`,
});

describe("diagnostics", () => {
  it("prints file:line:column: severity CODE: message", () => {
    const diagnostic: Diagnostic = { file: "policy.yaml", line: 14, column: 9, severity: "error", code: "LS012", message: 'service "catalg" in calls is not defined (did you mean "catalog"?)' };
    expect(formatDiagnostic(diagnostic)).toBe('policy.yaml:14:9: error LS012: service "catalg" in calls is not defined (did you mean "catalog"?)');
    expect(formatDiagnostic({ ...diagnostic, severity: "warning", code: "LS031", message: "w" })).toBe("policy.yaml:14:9: warning LS031: w");
  });

  it("sorts by file, line, column, errors first, and drops exact duplicates", () => {
    const sorted = sortDiagnostics([d(3, 1), d(1, 5, "LS031", "warning"), d(1, 5), d(1, 2), d(3, 1), d(1, 1, "LS004", "error", "a.yaml")]);
    expect(sorted.map((x) => `${x.file}:${x.line}:${x.column} ${x.severity}`)).toEqual([
      "a.yaml:1:1 error",
      "p.yaml:1:2 error",
      "p.yaml:1:5 error",
      "p.yaml:1:5 warning",
      "p.yaml:3:1 error",
    ]);
    expect(hasErrors([d(1, 1, "LS031", "warning")])).toBe(false);
    expect(hasErrors(sorted)).toBe(true);
  });

  it("has a table of unique, well-formed codes with one-line descriptions", () => {
    const codes = DIAGNOSTIC_CODES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const info of DIAGNOSTIC_CODES) {
      expect(info.code).toMatch(/^LS0[0-9]{2}$/);
      expect(info.summary.length).toBeGreaterThan(10);
      expect(info.summary).not.toContain("\n");
      expect(describeCode(info.code)).toBe(info);
    }
    expect(codes).toEqual([...codes].sort());
    expect(describeCode("LS999")).toBeUndefined();
  });
});

describe("suggestions", () => {
  it("computes edit distance with transpositions", () => {
    expect(editDistance("catalg", "catalog")).toBe(1);
    expect(editDistance("timout", "timeout")).toBe(1);
    expect(editDistance("protocl", "protocol")).toBe(1);
    expect(editDistance("ab", "ba")).toBe(1);
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
    // With a limit it stops early and answers limit + 1.
    expect(editDistance("abcdefgh", "zzzzzzzz", 2)).toBe(3);
  });

  it("suggests only close candidates, preferring the closest", () => {
    expect(closest("catalg", ["frontend", "catalog", "cart"])).toBe("catalog");
    expect(closest("least_laency", ["least_load", "least_latency"])).toBe("least_latency");
    expect(closest("HTTP", ["http", "http2", "grpc"])).toBe("http");
    expect(closest("zzz", ["catalog", "frontend"])).toBeUndefined();
    expect(closest("ab", ["xy"])).toBeUndefined();
    expect(didYouMean("catalg", ["catalog"])).toBe(' (did you mean "catalog"?)');
    expect(didYouMean("nothing-like-it", ["catalog"])).toBe("");
  });
});
