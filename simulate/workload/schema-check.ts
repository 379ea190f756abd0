/**
 * The workload's JSON Schema check (schemas/workload.schema.json, ajv) with
 * errors turned into positioned diagnostics a newcomer can act on.
 */
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import { Diag, diagnosticAt, type Diagnostic, type DiagMessage, type MessageArgs } from "../../compiler/diagnostics/index.js";
import { durationHint, parseDurationUs } from "../../compiler/policy/duration.js";
import type { PathSegment, WorkloadSource } from "./yaml-source.js";

const WORKLOAD_SCHEMA_URL = new URL("../../schemas/workload.schema.json", import.meta.url);

let validator: ValidateFunction | undefined;

function workloadValidator(): ValidateFunction {
  if (validator === undefined) {
    const schema = JSON.parse(readFileSync(WORKLOAD_SCHEMA_URL, "utf8")) as object;
    // ajv is CommonJS: under NodeNext its class is the default export's `default`.
    const ajv = new Ajv2020.default({ allErrors: true, strict: true, discriminator: true, verbose: true });
    validator = ajv.compile(schema);
  }
  return validator!;
}

/** Keywords that only repeat what a more precise error below them says. */
const NOISE = new Set(["if", "discriminator", "oneOf", "anyOf", "not"]);

export function checkWorkloadSchema(source: WorkloadSource, rootLabel: string): Diagnostic[] {
  const validate = workloadValidator();
  if (validate(source.value)) return [];
  const errors = (validate.errors ?? []) as ErrorObject[];
  const precise = errors.filter((e) => !NOISE.has(e.keyword));
  const chosen = precise.length > 0 ? precise : errors;
  const seen = new Set<string>();
  const out: Diagnostic[] = [];
  for (const error of chosen) {
    const path = pointerPath(error.instancePath);
    const d = toDiagnostic(error, path, source, rootLabel);
    const key = `${d.line}:${d.column}:${d.code}:${d.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(d);
  }
  return out;
}

function pointerPath(pointer: string): PathSegment[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^(0|[1-9][0-9]*)$/.test(s) ? Number(s) : s));
}

export function displayPath(rootLabel: string, path: readonly PathSegment[]): string {
  let text = rootLabel;
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text === "" ? "the workload" : text;
}

function toDiagnostic(error: ErrorObject, path: PathSegment[], source: WorkloadSource, rootLabel: string): Diagnostic {
  const where = displayPath(rootLabel, path);
  const diag = <T extends string>(message: DiagMessage<T>, ...args: MessageArgs<T>): Diagnostic =>
    diagnosticAt({ file: source.file, ...source.position(path) }, message, ...args);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const name = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const hint = closest(name, known);
      return diagnosticAt({ file: source.file, ...source.position([...path, name], "key") }, Diag.WorkloadUnknownProperty, {
        property: name,
        where,
        hint: hint ? ` (did you mean "${hint}"?)` : known.length > 0 ? `; allowed: ${known.join(", ")}` : "",
      });
    }
    case "required":
      return diag(Diag.WorkloadMissingProperty, { where, property: String(params.missingProperty) });
    case "type":
      return diag(Diag.WorkloadWrongType, { where, expected: article(String(params.type)), got: describe(error.data) });
    case "const":
      return diag(Diag.WorkloadConstWrong, { where, allowed: JSON.stringify(params.allowedValue) });
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v));
      const hint = typeof error.data === "string" ? closest(error.data, allowed) : undefined;
      return diag(Diag.WorkloadNotOneOf, { where, allowed: allowed.join(", "), hint: hint ? ` (did you mean "${hint}"?)` : "" });
    }
    case "pattern": {
      if (/[Dd]uration/.test(error.schemaPath)) {
        if (typeof error.data === "string" && isZeroDuration(error.data)) {
          return diag(Diag.WorkloadDurationNotPositive, { where });
        }
        const hint = durationHint(error.data);
        const got = JSON.stringify(error.data);
        return hint !== "" ? diag(Diag.WorkloadNotADurationHint, { where, got, hint }) : diag(Diag.WorkloadNotADuration, { where, got });
      }
      return diag(Diag.WorkloadWrongFormat, { where, got: JSON.stringify(error.data), hint: patternHint(error.schemaPath) });
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return diag(Diag.WorkloadNumberOutOfRange, { where, bound: RANGE_WORDS[error.keyword]!, limit: String(params.limit) });
    case "minItems":
    case "maxItems":
    case "minLength":
    case "maxLength":
      return diag(Diag.WorkloadWrongLength, { where, detail: error.message ?? "has the wrong length" });
    case "minProperties":
    case "maxProperties":
      return diag(Diag.WorkloadPropertyCount, {
        where,
        bound: error.keyword === "minProperties" ? "at least" : "at most",
        limit: String(params.limit),
        values: params.limit === 1 ? "value" : "values",
      });
    case "uniqueItems":
      return diag(Diag.WorkloadRepeatedItem, { where, first: String(params.j), second: String(params.i) });
    default:
      return diag(Diag.WorkloadInvalid, { where, detail: error.message ?? "is not valid" });
  }
}

const RANGE_WORDS: Record<string, string> = {
  minimum: "at least",
  maximum: "at most",
  exclusiveMinimum: "more than",
  exclusiveMaximum: "less than",
};

function patternHint(schemaPath: string): string {
  if (schemaPath.includes("dnsLabel")) return "a service name: lower-case letters, digits and -";
  if (schemaPath.includes("path")) return "a path starting with /";
  if (schemaPath.includes("method")) return "an upper-case HTTP method";
  return "see schemas/workload.schema.json";
}

function article(type: string): string {
  return type === "integer" ? "a whole number" : type === "object" ? "a mapping" : type === "array" ? "a list" : `a ${type}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `the text ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** The closest candidate within edit distance 2 (or a third of the name), for "did you mean". */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const candidate of candidates) {
    const d = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** A duration that parses (the one grammar, compiler/policy/duration.ts) and is zero: "0", "0s", "0m0.0s". */
function isZeroDuration(text: string): boolean {
  const parsed = parseDurationUs(text);
  return parsed.ok && parsed.us === 0;
}
