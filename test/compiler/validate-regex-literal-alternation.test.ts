/**
 * compiler/validate/regex-fields.ts recognizes `^(?:a|b|…)$` of literals
 * without compiling it with re2js. The shortcut must be sound: every pattern
 * it accepts is one RE2 (re2js) compiles, and patterns outside the shape still
 * get re2js's verdict through the validator.
 */
import fc from "fast-check";
import { RE2JS } from "re2js";
import { describe, expect, it } from "vitest";
import { isLiteralAlternation } from "../../compiler/validate/regex-fields.js";
import { createEnvoyValidator } from "../../compiler/validate/index.js";

const compiles = (pattern: string) => {
  try {
    RE2JS.compile(pattern);
    return true;
  } catch {
    return false;
  }
};
const escape = (literal: string) => literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** Characters of the shape and its near misses: metacharacters, escapes, names. */
const ALPHABET = ["a", "Z", "0", "_", "-", "|", "(", ")", "?", ":", "^", "$", "\\", ".", "*", "[", "]", "{", "}", "+", "d", "é"];

describe("the RE2 literal-alternation shortcut", () => {
  it("accepts what compiler/envoy writes for endpoint clusters, and re2js compiles it too", () => {
    // Names of letters, digits, _ and - (cluster names), and metacharacters, which routes.ts escapes.
    const unit = fc.constantFrom(...ALPHABET.filter((c) => c !== "é" && c !== ":"));
    fc.assert(
      fc.property(fc.array(fc.string({ unit, minLength: 1 }), { minLength: 1, maxLength: 9 }), (names) => {
        const pattern = `^(?:${names.map(escape).join("|")})$`;
        expect(isLiteralAlternation(pattern)).toBe(true);
        expect(compiles(pattern)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it("never accepts a pattern re2js refuses (random strings of metacharacters, escapes and names)", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...ALPHABET), { maxLength: 24 }), (chars) => {
        // Half of the runs inside the anchored group, so the shape's near misses are common.
        const body = chars.join("");
        for (const pattern of [body, `^(?:${body})$`]) {
          if (!isLiteralAlternation(pattern)) continue;
          accepted++;
          expect(compiles(pattern), pattern).toBe(true);
        }
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it("leaves other patterns to re2js: its errors still reach the validator's result", () => {
    const validator = createEnvoyValidator();
    const re2 = (regex: string) => validator.validateMessage("envoy.type.matcher.v3.RegexMatcher", { regex });
    for (const bad of ["^(?:a|b$", "^(?:a\\)$", "^(?:a|b))$", "^(?:a|(?=b))$", "^(?:a\\1)$"]) {
      expect(isLiteralAlternation(bad), bad).toBe(false);
      expect(re2(bad), bad).toEqual([expect.objectContaining({ path: "regex", message: expect.stringMatching(/not an RE2 regular expression/) })]);
    }
    for (const good of ["^(?:svc-1_ep0|svc-1_ep1)$", "^(?:a\\.b|c\\|d)$"]) {
      expect(isLiteralAlternation(good), good).toBe(true);
      expect(re2(good), good).toEqual([]);
    }
  });
});
