/**
 * Structural check of a policy against schemas/policy.schema.json (ajv, JSON
 * Schema 2020-12), with ajv's errors rewritten as findings a newcomer can act on.
 */
import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import type { ErrorObject } from "ajv";
import { clip, describeValue, fieldName, listWords, placeName } from "./describe.js";
import { Diag } from "../diagnostics/index.js";
import { finding, keyFinding, type Finding } from "./findings.js";
import type { Path } from "./positions.js";
import { durationHint } from "./duration.js";
import { didYouMean } from "./suggest.js";

type SchemaNode = Record<string, unknown> & {
  properties?: Record<string, SchemaNode>;
  $defs?: Record<string, SchemaNode>;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
};

/** The policy JSON Schema, as parsed from schemas/policy.schema.json. */
export const POLICY_SCHEMA: SchemaNode = JSON.parse(
  readFileSync(new URL("../../schemas/policy.schema.json", import.meta.url), "utf8"),
) as SchemaNode;

// Compiled once per process: compiling costs far more than validating.
const validate = new Ajv2020.default({ allErrors: true, strict: true, allowUnionTypes: true, verbose: true }).compile(POLICY_SCHEMA);

const defs = POLICY_SCHEMA.$defs!;
const DURATION = defs["duration"]!;
const WEIGHT = defs["weight"]!;
const CALL = defs["call"]!;
const ALLOW_ENTRY = defs["allowEntry"]!;

const DNS_LABEL_RULE = 'a DNS label: lowercase letters, digits and "-", starting with a letter, not ending with "-", at most 63 characters';

/** What a pattern-checked value must look like, by the schema node that holds the pattern. */
const PATTERN_HINTS = new Map<unknown, string>([
  [defs["dnsLabel"], DNS_LABEL_RULE],
  [CALL, `a service name (${DNS_LABEL_RULE})`],
  [ALLOW_ENTRY, `a service name (${DNS_LABEL_RULE}) or { principal: spiffe://<trust-domain>/<path> }`],
  [ALLOW_ENTRY.properties!["principal"], "a SPIFFE ID such as spiffe://shop/ns/ingress/sa/gateway (lowercase trust domain, then a path)"],
  [defs["security"]!.properties!["trustDomain"], 'a trust domain: lowercase letters, digits, ".", "-" and "_", such as shop.example'],
  [defs["endpoint"]!.properties!["address"], "a hostname or an IP address (IPv6 without brackets)"],
  [defs["hashOn"]!.properties!["header"], "an HTTP header name such as x-user-id"],
  [defs["hashOn"]!.properties!["cookie"], "a cookie name such as session"],
  [defs["admission"]!.properties!["priorityFrom"]!.properties!["header"], "an HTTP header name such as x-priority"],
  [defs["levelName"], 'a level name: lowercase letters, digits, "-" and "_", such as high or batch'],
  [defs["healthCheck"]!.properties!["path"], 'a path starting with "/", without spaces'],
  [defs["image"], 'a container image reference such as "ghcr.io/acme/app:1.0"'],
]);

const TYPE_PHRASES: Record<string, string> = {
  string: "text",
  integer: "a whole number",
  number: "a number",
  boolean: "true or false",
  object: "a mapping (key: value)",
  array: "a list",
  null: "empty",
};

/** Findings for every schema violation (all of them: ajv runs with allErrors). */
export function schemaFindings(policy: unknown): Finding[] {
  if (validate(policy)) return [];
  const findings: Finding[] = [];
  const seenFormat = new Set<string>();
  for (const e of validate.errors ?? []) {
    const path = pointerToPath(e.instancePath);
    // One complaint about a string's format or length per value; ajv may report both.
    if (e.keyword === "pattern" || e.keyword === "minLength" || e.keyword === "maxLength") {
      const key = e.instancePath;
      if (seenFormat.has(key)) continue;
      seenFormat.add(key);
    }
    findings.push(toFinding(e, path, policy));
  }
  return findings;
}

/** `/spec/services/0/port` → `["spec", "services", 0, "port"]` (RFC 6901 unescaping). */
function pointerToPath(pointer: string): Path {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => {
      const segment = s.replace(/~1/g, "/").replace(/~0/g, "~");
      return /^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment;
    });
}

function toFinding(e: ErrorObject, path: Path, policy: unknown): Finding {
  const parent = e.parentSchema as SchemaNode | undefined;
  const field = fieldName(path);
  const got = describeValue(e.data);
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case "type": {
      if (parent === DURATION) {
        const hint = typeof e.data === "number" ? ` (add a unit: "${e.data}s" or "${e.data}ms")` : "";
        return finding(Diag.DurationWithoutUnit, path, { field, got, hint });
      }
      if (parent === CALL) return finding(Diag.CallWrongType, path, { field, got });
      if (parent === ALLOW_ENTRY) return finding(Diag.AllowEntryWrongType, path, { field, got });
      const types = ([] as string[]).concat(params["type"] as string | string[]);
      const phrase = types.map((t) => TYPE_PHRASES[t] ?? t).join(" or ");
      const quotedNumber = typeof e.data === "string" && /^-?[0-9.]+$/.test(e.data) && (types.includes("integer") || types.includes("number"));
      const hint = quotedNumber ? " (remove the quotes)" : "";
      return finding(parent === WEIGHT ? Diag.WeightWrongType : Diag.WrongType, path, { field, expected: phrase, got, hint });
    }
    case "required":
      return finding(Diag.MissingProperty, path, { property: JSON.stringify(params["missingProperty"]), place: placeName(path, policy) });
    case "additionalProperties": {
      const property = String(params["additionalProperty"]);
      const known = Object.keys(parent?.properties ?? {});
      return keyFinding(Diag.UnknownProperty, [...path, property], { property: describeValue(property), place: placeName(path, policy), hint: didYouMean(property, known) });
    }
    case "enum": {
      const allowed = params["allowedValues"] as unknown[];
      const hint = typeof e.data === "string" ? didYouMean(e.data, allowed.map(String)) : "";
      return finding(Diag.NotOneOf, path, { field, allowed: listWords(allowed), got, hint });
    }
    case "const": {
      const allowed = JSON.stringify(params["allowedValue"]);
      const diag = path.length === 1 && (path[0] === "apiVersion" || path[0] === "kind") ? Diag.DocumentConstWrong : Diag.ConstWrong;
      return finding(diag, path, { field, allowed, got });
    }
    case "pattern": {
      if (parent === DURATION) {
        return finding(Diag.DurationMalformed, path, { field, got, hint: durationHint(e.data) });
      }
      const hint = PATTERN_HINTS.get(parent) ?? `text matching ${String(params["pattern"])}`;
      const lowercase = typeof e.data === "string" && e.data !== e.data.toLowerCase() && hint.includes("DNS label") ? " (names are lowercase)" : "";
      return finding(Diag.PatternMismatch, path, { field, expected: hint, got, hint: lowercase });
    }
    case "minimum":
    case "maximum":
    case "exclusiveMinimum":
    case "exclusiveMaximum":
      return finding(parent === WEIGHT ? Diag.WeightOutOfRange : Diag.NumberOutOfRange, path, { field, range: rangePhrase(parent), got });
    case "minItems":
      return finding(Diag.TooFewItems, path, { field, limit: String(params["limit"]), items: params["limit"] === 1 ? "item" : "items" });
    case "maxItems":
      return finding(Diag.TooManyItems, path, { field, limit: String(params["limit"]) });
    case "uniqueItems": {
      const items = e.data as unknown[];
      const later = Math.max(params["i"] as number, params["j"] as number);
      return finding(Diag.RepeatedItem, [...path, later], { field, item: describeValue(items[later]) });
    }
    case "minLength":
      return finding(Diag.EmptyText, path, { field });
    case "maxLength":
      return finding(Diag.TextTooLong, path, { field, limit: String(params["limit"]) });
    case "minProperties":
    case "maxProperties": {
      const keys = e.data !== null && typeof e.data === "object" ? Object.keys(e.data) : [];
      const now = keys.length === 0 ? "it names none" : `not ${listWords(keys.map((k) => clip(k)))}`;
      return finding(Diag.HashOnNotOne, path, { field, now });
    }
    default:
      return finding(Diag.InvalidValue, path, { field, detail: e.message ?? "is invalid" });
  }
}

function rangePhrase(schema: SchemaNode | undefined): string {
  const min = schema?.minimum;
  const max = schema?.maximum;
  const above = schema?.exclusiveMinimum;
  if (above !== undefined && max !== undefined) return `more than ${above} and at most ${max}`;
  if (min !== undefined && max !== undefined) return `from ${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  if (max !== undefined) return `at most ${max}`;
  if (above !== undefined) return `more than ${above}`;
  return "in range";
}
