/**
 * Fields whose string is a regular expression Envoy compiles when it loads
 * the config: a pattern that does not compile fails the whole bootstrap
 * ("missing ): …", "Invalid regex …"), which no proto rule says. Each field
 * names its engine:
 *
 * - RE2 (`envoy.type.matcher.v3.RegexMatcher`, every `safe_regex`): checked
 *   with re2js, a port of RE2's parser (a library, so lookarounds,
 *   backreferences and the rest RE2 refuses are refused here alike);
 * - std::regex ECMAScript (`stats_config.stats_tags[].regex`): checked with
 *   JavaScript's RegExp, which implements the same ECMAScript grammar (its
 *   later additions that C++'s grammar lacks — lookbehind, named groups — are
 *   refused explicitly).
 *
 * Not checked: RE2's program-size limit (Envoy's re2.max_program_size, 100 by
 * default), which needs RE2's compiler itself.
 */
import { RE2JS } from "re2js";
import type { Check } from "./errors.js";

type Engine = (pattern: string) => string | undefined;

/**
 * `^(?:a|b|…)$` whose alternatives are literals: letters, digits, `_`, `-`
 * and backslash-escaped metacharacters. That is the shape compiler/envoy
 * writes for each called service's endpoint clusters (routes.ts), and every
 * string of it is an RE2 regular expression by RE2's grammar (a group of
 * alternatives of literals, anchored). Recognized with one JavaScript regex
 * instead of compiling it: re2js takes ~75 µs per pattern, and a
 * 10,000-service mesh has 10,000 of them, all different. Anything else is
 * compiled as before.
 */
const LITERAL = String.raw`(?:[A-Za-z0-9_\-]|\\[.*+?^$\{}()|[\]\\])+`;
const LITERAL_ALTERNATION = new RegExp(String.raw`^\^\(\?:${LITERAL}(?:\|${LITERAL})*\)\$$`);

/** Whether `pattern` is an anchored alternation of literals (valid RE2 without compiling it). */
export function isLiteralAlternation(pattern: string): boolean {
  return LITERAL_ALTERNATION.test(pattern);
}

const re2: Engine = (pattern) => {
  if (isLiteralAlternation(pattern)) return undefined;
  try {
    RE2JS.compile(pattern);
    return undefined;
  } catch (error) {
    return `is not an RE2 regular expression: ${(error as Error).message}`;
  }
};

/** Syntax JavaScript accepts that C++'s std::regex ECMAScript grammar does not: lookbehind and named groups. */
const NOT_IN_CPP_ECMASCRIPT = /\(\?<|\\k</;

const ecmascript: Engine = (pattern) => {
  if (NOT_IN_CPP_ECMASCRIPT.test(pattern.replace(/\\\\/g, ""))) return "is not a std::regex (ECMAScript): lookbehind and named groups are not supported";
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    return `is not a std::regex (ECMAScript): ${(error as Error).message}`;
  }
};

/** `<message type>.<field>` → the engine Envoy compiles it with. */
const REGEX_FIELDS: Readonly<Record<string, Engine>> = {
  "envoy.type.matcher.v3.RegexMatcher.regex": re2,
  "envoy.config.metrics.v3.TagSpecifier.regex": ecmascript,
};

/** The compile check of a regex field, or undefined when the field is none. */
export function regexFieldCheck(typeName: string, fieldName: string): Check | undefined {
  const engine = REGEX_FIELDS[`${typeName}.${fieldName}`];
  if (!engine) return undefined;
  const seen = new Map<string, string | undefined>();
  return (v, path, out) => {
    if (typeof v !== "string" || v === "") return;
    let problem = seen.get(v);
    if (!seen.has(v)) {
      problem = engine(v);
      if (seen.size < 1024) seen.set(v, problem);
    }
    if (problem) out.push({ path, message: `${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}…` : v)} ${problem}` });
  };
}
