/**
 * protoc-gen-validate rules (the `(validate.rules)` field options in Envoy's
 * protos) that matter for hand-written configs, compiled once per field into
 * checks of the field's JSON value: required messages, string lengths and
 * header-name/value syntax, number bounds, duration bounds, enum in/not_in,
 * repeated/map sizes and per-item rules; `ignore_empty` skips the rules for
 * an empty value. Formats like email/uri are not checked.
 */
import type protobuf from "protobufjs";
import { describe, isPlainObject, type Check } from "./errors.js";
import { DURATION, durationSeconds } from "./scalars.js";

/** PGV rules as protobufjs parses them from the options (a loose JSON tree). */
type Rules = Record<string, any>;

/** The merged `(validate.rules)` of a field, or undefined. */
export function fieldRules(field: protobuf.FieldBase): Rules | undefined {
  let merged: Rules | undefined;
  for (const entry of (field.parsedOptions as Rules[] | undefined) ?? []) {
    const rules = entry["(validate.rules)"];
    if (rules) merged = deepMerge(merged ?? {}, rules);
  }
  return merged;
}

export function isDeprecated(field: protobuf.FieldBase): boolean {
  return field.options?.deprecated === true;
}

export function oneofRequired(oneof: protobuf.OneOf): boolean {
  return oneof.options?.["(validate.required)"] === true;
}

function deepMerge(into: Rules, from: Rules): Rules {
  for (const [k, v] of Object.entries(from)) {
    into[k] = isPlainObject(v) && isPlainObject(into[k]) ? deepMerge({ ...into[k] }, v) : v;
  }
  return into;
}

/** `[x]` or `x` (protobufjs gives a single repeated option value unwrapped) → array. */
function list(v: unknown): unknown[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v];
}

/** Whether a singular field must be set (message/duration/timestamp/any `required`). */
export function isRequired(rules: Rules | undefined): boolean {
  if (!rules) return false;
  return (
    rules.message?.required === true ||
    rules.duration?.required === true ||
    rules.timestamp?.required === true ||
    rules.any?.required === true
  );
}

/** Checks of one (non-container) value from a rule set; undefined when nothing applies. */
export function valueRuleCheck(rules: Rules | undefined, enumValues?: Readonly<Record<string, number>>): Check | undefined {
  if (!rules) return undefined;
  const checks: Check[] = [];
  if (rules.string) pushIf(checks, stringRules(rules.string));
  for (const kind of NUMBER_KINDS) if (rules[kind]) pushIf(checks, numberRules(rules[kind]));
  if (rules.bool && rules.bool.const !== undefined) {
    const want = rules.bool.const;
    checks.push((v, path, out) => {
      if (v !== want) out.push({ path, message: `must be ${want}` });
    });
  }
  if (rules.enum && enumValues) pushIf(checks, enumRules(rules.enum, enumValues));
  if (rules.duration) pushIf(checks, durationRules(rules.duration));
  if (rules.bytes) pushIf(checks, bytesRules(rules.bytes));
  return combine(checks);
}

/** Size and item rules of a repeated field; `itemCheck` is applied to every element by the caller. */
export function repeatedRuleCheck(
  rules: Rules | undefined,
  enumValues?: Readonly<Record<string, number>>,
): { container?: Check; item?: Check } {
  const r = rules?.repeated;
  if (!r) return {};
  const min = r.min_items === undefined ? undefined : Number(r.min_items);
  const max = r.max_items === undefined ? undefined : Number(r.max_items);
  const container: Check | undefined =
    min === undefined && max === undefined
      ? undefined
      : (v, path, out) => {
          const n = (v as unknown[]).length;
          if (min !== undefined && n < min) out.push({ path, message: `needs at least ${min} item${min === 1 ? "" : "s"}, has ${n}` });
          if (max !== undefined && n > max) out.push({ path, message: `allows at most ${max} items, has ${n}` });
        };
  const itemRequired = isRequired(r.items);
  const itemValues = valueRuleCheck(r.items, enumValues);
  const item: Check | undefined =
    !itemRequired && !itemValues
      ? undefined
      : (v, path, out) => {
          if (v === null && itemRequired) out.push({ path, message: "item must be set" });
          else if (itemValues) itemValues(v, path, out);
        };
  return { container, item };
}

/** Size and key/value rules of a map field. */
export function mapRuleCheck(
  rules: Rules | undefined,
  enumValues?: Readonly<Record<string, number>>,
): { container?: Check; key?: Check; value?: Check } {
  const r = rules?.map;
  if (!r) return {};
  const min = r.min_pairs === undefined ? undefined : Number(r.min_pairs);
  const max = r.max_pairs === undefined ? undefined : Number(r.max_pairs);
  const container: Check | undefined =
    min === undefined && max === undefined
      ? undefined
      : (v, path, out) => {
          const n = Object.keys(v as object).length;
          if (min !== undefined && n < min) out.push({ path, message: `needs at least ${min} entr${min === 1 ? "y" : "ies"}, has ${n}` });
          if (max !== undefined && n > max) out.push({ path, message: `allows at most ${max} entries, has ${n}` });
        };
  return { container, key: valueRuleCheck(r.keys), value: valueRuleCheck(r.values, enumValues) };
}

function pushIf(checks: Check[], c: Check | undefined): void {
  if (c) checks.push(c);
}

function combine(checks: Check[]): Check | undefined {
  if (checks.length === 0) return undefined;
  if (checks.length === 1) return checks[0];
  return (v, path, out) => {
    for (const c of checks) c(v, path, out);
  };
}

// ---- strings -------------------------------------------------------------

const HEADER_NAME_STRICT = /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/;
const HEADER_VALUE_STRICT = /^[^\u0000-\u0008\u000A-\u001F\u007F]*$/;
const NO_NUL_CR_LF = /^[^\u0000\n\r]*$/;

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function stringRules(r: Rules): Check | undefined {
  const checks: Array<(s: string) => string | undefined> = [];
  if (r.const !== undefined) checks.push((s) => (s === r.const ? undefined : `must be ${JSON.stringify(r.const)}`));
  if (r.min_len !== undefined) {
    const min = Number(r.min_len);
    checks.push((s) => (s.length >= 2 * min || codePoints(s) >= min ? undefined : min === 1 ? "must not be empty" : `must be at least ${min} characters`));
  }
  if (r.max_len !== undefined) {
    const max = Number(r.max_len);
    checks.push((s) => (s.length <= max || codePoints(s) <= max ? undefined : `must be at most ${max} characters`));
  }
  if (r.min_bytes !== undefined) {
    const min = Number(r.min_bytes);
    checks.push((s) => (Buffer.byteLength(s) >= min ? undefined : `must be at least ${min} bytes`));
  }
  if (r.max_bytes !== undefined) {
    const max = Number(r.max_bytes);
    checks.push((s) => (s.length * 3 <= max || Buffer.byteLength(s) <= max ? undefined : `must be at most ${max} bytes`));
  }
  if (r.prefix !== undefined) checks.push((s) => (s.startsWith(r.prefix) ? undefined : `must start with ${JSON.stringify(r.prefix)}`));
  if (r.suffix !== undefined) checks.push((s) => (s.endsWith(r.suffix) ? undefined : `must end with ${JSON.stringify(r.suffix)}`));
  if (r.contains !== undefined) checks.push((s) => (s.includes(r.contains) ? undefined : `must contain ${JSON.stringify(r.contains)}`));
  if (r.not_contains !== undefined)
    checks.push((s) => (s.includes(r.not_contains) ? `must not contain ${JSON.stringify(r.not_contains)}` : undefined));
  const inList = list(r.in) as string[] | undefined;
  if (inList) checks.push((s) => (inList.includes(s) ? undefined : `must be one of ${inList.map((x) => JSON.stringify(x)).join(", ")}`));
  const notIn = list(r.not_in) as string[] | undefined;
  if (notIn) checks.push((s) => (notIn.includes(s) ? `must not be ${JSON.stringify(s)}` : undefined));
  if (r.pattern !== undefined) {
    const re = jsRegex(r.pattern);
    if (re) checks.push((s) => (re.test(s) ? undefined : `must match ${r.pattern}`));
  }
  if (r.well_known_regex !== undefined) {
    const strict = r.strict !== false;
    if (r.well_known_regex === "HTTP_HEADER_NAME") {
      const re = strict ? HEADER_NAME_STRICT : NO_NUL_CR_LF;
      checks.push((s) => (re.test(s) ? undefined : `is not a valid HTTP header name`));
    } else if (r.well_known_regex === "HTTP_HEADER_VALUE") {
      const re = strict ? HEADER_VALUE_STRICT : NO_NUL_CR_LF;
      checks.push((s) => (re.test(s) ? undefined : `is not a valid HTTP header value`));
    }
  }
  if (checks.length === 0) return undefined;
  const ignoreEmpty = r.ignore_empty === true;
  return (v, path, out) => {
    if (typeof v !== "string" || (ignoreEmpty && v === "")) return;
    for (const c of checks) {
      const problem = c(v);
      if (problem) out.push({ path, message: `${describe(v)} ${problem}` });
    }
  };
}

/** PGV patterns are RE2; the common subset compiles in JS. Patterns that do not are skipped. */
function jsRegex(pattern: string): RegExp | undefined {
  try {
    return new RegExp(pattern, "u");
  } catch {
    return undefined;
  }
}

// ---- numbers, enums, durations --------------------------------------------

const NUMBER_KINDS = ["int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64", "sfixed32", "sfixed64", "float", "double"];

/** Bounds as PGV defines them: gt/lt with lt < gt means "outside the range". */
function boundsCheck(r: Rules, fmt: (n: number) => string): ((n: number) => string | undefined) | undefined {
  const num = (x: unknown): number | undefined => (x === undefined ? undefined : Number(x));
  const lower = r.gt !== undefined ? { v: num(r.gt)!, strict: true } : r.gte !== undefined ? { v: num(r.gte)!, strict: false } : undefined;
  const upper = r.lt !== undefined ? { v: num(r.lt)!, strict: true } : r.lte !== undefined ? { v: num(r.lte)!, strict: false } : undefined;
  if (!lower && !upper) return undefined;
  const above = (n: number) => (lower!.strict ? n > lower!.v : n >= lower!.v);
  const below = (n: number) => (upper!.strict ? n < upper!.v : n <= upper!.v);
  const lowerText = lower && `${lower.strict ? ">" : "≥"} ${fmt(lower.v)}`;
  const upperText = upper && `${upper.strict ? "<" : "≤"} ${fmt(upper.v)}`;
  if (lower && upper && upper.v < lower.v) {
    return (n) => (above(n) || below(n) ? undefined : `must be ${lowerText} or ${upperText}`);
  }
  return (n) => {
    if (lower && !above(n)) return `must be ${lowerText}`;
    if (upper && !below(n)) return `must be ${upperText}`;
    return undefined;
  };
}

function numberRules(r: Rules): Check | undefined {
  const checks: Array<(n: number) => string | undefined> = [];
  if (r.const !== undefined) checks.push((n) => (n === Number(r.const) ? undefined : `must be ${r.const}`));
  const bounds = boundsCheck(r, String);
  if (bounds) checks.push(bounds);
  const inList = list(r.in)?.map(Number);
  if (inList) checks.push((n) => (inList.includes(n) ? undefined : `must be one of ${inList.join(", ")}`));
  const notIn = list(r.not_in)?.map(Number);
  if (notIn) checks.push((n) => (notIn.includes(n) ? `must not be ${n}` : undefined));
  if (checks.length === 0) return undefined;
  const ignoreEmpty = r.ignore_empty === true;
  return (v, path, out) => {
    const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : Number.NaN;
    if (Number.isNaN(n) || (ignoreEmpty && n === 0)) return;
    for (const c of checks) {
      const problem = c(n);
      if (problem) out.push({ path, message: `${n} ${problem}` });
    }
  };
}

/** Enum values arrive as names or numbers; `in`/`not_in`/`const` are numbers. */
function enumRules(r: Rules, values: Readonly<Record<string, number>>): Check | undefined {
  const inList = list(r.in)?.map(Number);
  const notIn = list(r.not_in)?.map(Number);
  const constant = r.const === undefined ? undefined : Number(r.const);
  if (!inList && !notIn && constant === undefined) return undefined;
  return (v, path, out) => {
    const n = typeof v === "number" ? v : typeof v === "string" ? values[v] : undefined;
    if (n === undefined) return;
    const allowed =
      (constant === undefined || n === constant) && (!inList || inList.includes(n)) && (!notIn || !notIn.includes(n));
    if (!allowed) out.push({ path, message: `${describe(v)} is not allowed here` });
  };
}

function durationValue(d: unknown): number {
  if (!isPlainObject(d)) return 0;
  return Number(d.seconds ?? 0) + Number(d.nanos ?? 0) / 1e9;
}

function durationRules(r: Rules): Check | undefined {
  const checks: Array<(n: number) => string | undefined> = [];
  const fmt = (n: number) => `${n}s`;
  if (r.const !== undefined) {
    const c = durationValue(r.const);
    checks.push((n) => (n === c ? undefined : `must be ${fmt(c)}`));
  }
  const bounds = boundsCheck(
    Object.fromEntries(["gt", "gte", "lt", "lte"].filter((k) => r[k] !== undefined).map((k) => [k, durationValue(r[k])])),
    fmt,
  );
  if (bounds) checks.push(bounds);
  if (checks.length === 0) return undefined;
  return (v, path, out) => {
    if (typeof v !== "string" || !DURATION.test(v)) return;
    const n = durationSeconds(v);
    for (const c of checks) {
      const problem = c(n);
      if (problem) out.push({ path, message: `duration ${JSON.stringify(v)} ${problem}` });
    }
  };
}

function bytesRules(r: Rules): Check | undefined {
  const min = r.min_len === undefined ? undefined : Number(r.min_len);
  const max = r.max_len === undefined ? undefined : Number(r.max_len);
  if (min === undefined && max === undefined) return undefined;
  return (v, path, out) => {
    if (typeof v !== "string" || (r.ignore_empty === true && v === "")) return;
    const n = Buffer.from(v, "base64").length;
    if (min !== undefined && n < min) out.push({ path, message: `must be at least ${min} bytes` });
    if (max !== undefined && n > max) out.push({ path, message: `must be at most ${max} bytes` });
  };
}
