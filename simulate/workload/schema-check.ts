/**
 * The workload's JSON Schema check (schemas/workload.schema.json, ajv) with
 * errors turned into positioned diagnostics a newcomer can act on.
 */
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import type { ErrorObject, ValidateFunction } from "ajv";
import type { Diagnostic } from "../../compiler/diagnostics.js";
import { durationHint, parseDurationUs } from "../../compiler/policy/duration.js";
import { WORKLOAD_CODES } from "./codes.js";
import type { PathSegment, WorkloadSource } from "./yaml-source.js";

export const WORKLOAD_SCHEMA_URL = new URL("../../schemas/workload.schema.json", import.meta.url);

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
  const diag = (code: string, message: string, target: "value" | "key" = "value", at: PathSegment[] = path): Diagnostic => {
    const { line, column } = source.position(at, target);
    return { file: source.file, line, column, severity: "error", code, message };
  };
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case "additionalProperties": {
      const name = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const hint = closest(name, known);
      return diag(
        WORKLOAD_CODES.unknownProperty,
        `unknown property "${name}" in ${where}${hint ? ` (did you mean "${hint}"?)` : known.length > 0 ? `; allowed: ${known.join(", ")}` : ""}`,
        "key",
        [...path, name],
      );
    }
    case "required":
      return diag(WORKLOAD_CODES.missing, `${where} needs "${String(params.missingProperty)}"`);
    case "type":
      return diag(WORKLOAD_CODES.wrongType, `${where} must be ${article(String(params.type))}, not ${describe(error.data)}`);
    case "const":
      return diag(WORKLOAD_CODES.wrongType, `${where} must be ${JSON.stringify(params.allowedValue)}`);
    case "enum": {
      const allowed = (params.allowedValues as unknown[]).map((v) => String(v));
      const hint = typeof error.data === "string" ? closest(error.data, allowed) : undefined;
      return diag(
        WORKLOAD_CODES.notAllowed,
        `${where} must be one of ${allowed.join(", ")}${hint ? ` (did you mean "${hint}"?)` : ""}`,
      );
    }
    case "pattern": {
      if (/[Dd]uration/.test(error.schemaPath)) {
        if (typeof error.data === "string" && isZeroDuration(error.data)) {
          return diag(WORKLOAD_CODES.badDuration, `${where} must be more than zero`);
        }
        const hint = durationHint(error.data);
        return diag(
          WORKLOAD_CODES.badDuration,
          hint !== ""
            ? `${where}: ${JSON.stringify(error.data)} is not a duration${hint}`
            : `${where}: ${JSON.stringify(error.data)} is not a duration; write a number and a unit (us, ms, s, m, h), e.g. 250ms, 1.5s or 1m30s`,
        );
      }
      return diag(WORKLOAD_CODES.wrongType, `${where}: ${JSON.stringify(error.data)} has the wrong format (${patternHint(error.schemaPath)})`);
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return diag(WORKLOAD_CODES.outOfRange, `${where} must be ${RANGE_WORDS[error.keyword]} ${String(params.limit)}`);
    case "minItems":
    case "maxItems":
    case "minLength":
    case "maxLength":
      return diag(WORKLOAD_CODES.outOfRange, `${where} ${error.message ?? "has the wrong length"}`);
    case "minProperties":
    case "maxProperties":
      return diag(
        WORKLOAD_CODES.outOfRange,
        `${where} must name ${error.keyword === "minProperties" ? "at least" : "at most"} ${String(params.limit)} value${params.limit === 1 ? "" : "s"}`,
      );
    case "uniqueItems":
      return diag(WORKLOAD_CODES.outOfRange, `${where} lists the same item twice (items ${String(params.j)} and ${String(params.i)})`);
    default:
      return diag(WORKLOAD_CODES.wrongType, `${where} ${error.message ?? "is not valid"}`);
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
