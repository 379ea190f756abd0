/**
 * proto3 JSON forms of scalar and well-known types, as Envoy's JSON/YAML
 * loader (protobuf's JSON parser) reads them. Each check returns what is wrong
 * with a value, or undefined.
 */
import { describe, isPlainObject } from "./errors.js";

export type ScalarCheck = (value: unknown) => string | undefined;

const INT_STRING = /^-?(?:0|[1-9]\d*)$/;
const FLOAT_STRING = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]*|[A-Za-z0-9_-]*)={0,2}$/;
/** proto3 JSON Duration: seconds with up to 9 fractional digits and an `s`. */
export const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;
const MAX_DURATION_SECONDS = 315_576_000_000;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

function integerCheck(min: bigint, max: bigint, typeName: string): ScalarCheck {
  const minN = Number(min);
  const maxN = Number(max);
  return (value) => {
    if (typeof value === "number") {
      if (!Number.isInteger(value)) return `expected ${typeName} (an integer), got ${describe(value)}`;
      if (value < minN || value > maxN) return `${value} is out of range for ${typeName}`;
      if (!Number.isSafeInteger(value)) return `${value} loses precision as a JSON number: write it as a string`;
      return undefined;
    }
    if (typeof value === "string") {
      if (!INT_STRING.test(value)) return `expected ${typeName} (an integer), got ${describe(value)}`;
      const big = BigInt(value);
      if (big < min || big > max) return `${value} is out of range for ${typeName}`;
      return undefined;
    }
    return `expected ${typeName} (an integer), got ${describe(value)}`;
  };
}

function floatCheck(typeName: string, limit: number): ScalarCheck {
  return (value) => {
    if (typeof value === "number") {
      return Math.abs(value) > limit ? `${value} is out of range for ${typeName}` : undefined;
    }
    if (typeof value === "string") {
      if (value === "NaN" || value === "Infinity" || value === "-Infinity" || FLOAT_STRING.test(value)) return undefined;
    }
    return `expected ${typeName} (a number), got ${describe(value)}`;
  };
}

const I32 = integerCheck(-(2n ** 31n), 2n ** 31n - 1n, "int32");
const U32 = integerCheck(0n, 2n ** 32n - 1n, "uint32");
const I64 = integerCheck(-(2n ** 63n), 2n ** 63n - 1n, "int64");
const U64 = integerCheck(0n, 2n ** 64n - 1n, "uint64");

export const SCALAR_CHECKS: Readonly<Record<string, ScalarCheck>> = {
  int32: I32,
  sint32: I32,
  sfixed32: I32,
  uint32: U32,
  fixed32: U32,
  int64: I64,
  sint64: I64,
  sfixed64: I64,
  uint64: U64,
  fixed64: U64,
  double: floatCheck("double", Number.MAX_VALUE),
  float: floatCheck("float", 3.4028234663852886e38),
  bool: (v) => (typeof v === "boolean" ? undefined : `expected a boolean, got ${describe(v)}`),
  string: (v) => (typeof v === "string" ? undefined : `expected a string, got ${describe(v)}`),
  bytes: (v) =>
    typeof v === "string" && BASE64.test(v) ? undefined : `expected base64 bytes (a string), got ${describe(v)}`,
};

function durationCheck(value: unknown): string | undefined {
  if (typeof value !== "string") return `expected a duration string like "1.5s", got ${describe(value)}`;
  const m = DURATION.exec(value);
  if (!m) return `malformed duration ${JSON.stringify(value)}: expected seconds with an "s" suffix, like "1.5s" or "0.250s"`;
  if (Number(m[2]) > MAX_DURATION_SECONDS) return `duration ${JSON.stringify(value)} is out of range`;
  return undefined;
}

/** Duration text → seconds (for PGV comparisons); the text must have passed durationCheck. */
export function durationSeconds(value: string): number {
  const m = DURATION.exec(value)!;
  const seconds = Number(m[2]) + (m[3] ? Number(`0.${m[3]}`) : 0);
  return m[1] ? -seconds : seconds;
}

function timestampCheck(value: unknown): string | undefined {
  if (typeof value === "string" && TIMESTAMP.test(value) && !Number.isNaN(Date.parse(value))) return undefined;
  return `expected an RFC 3339 timestamp string, got ${describe(value)}`;
}

function fieldMaskCheck(value: unknown): string | undefined {
  return typeof value === "string" ? undefined : `expected a field mask string, got ${describe(value)}`;
}

/** google.protobuf.Value: any JSON. */
function jsonValueCheck(_value: unknown): string | undefined {
  return undefined;
}

function structCheck(value: unknown): string | undefined {
  return isPlainObject(value) ? undefined : `expected an object (google.protobuf.Struct), got ${describe(value)}`;
}

function listValueCheck(value: unknown): string | undefined {
  return Array.isArray(value) ? undefined : `expected an array (google.protobuf.ListValue), got ${describe(value)}`;
}

/** Wrapper message → the scalar type it wraps (JSON form: the plain scalar). */
const WRAPPERS: Readonly<Record<string, string>> = {
  "google.protobuf.DoubleValue": "double",
  "google.protobuf.FloatValue": "float",
  "google.protobuf.Int64Value": "int64",
  "google.protobuf.UInt64Value": "uint64",
  "google.protobuf.Int32Value": "int32",
  "google.protobuf.UInt32Value": "uint32",
  "google.protobuf.BoolValue": "bool",
  "google.protobuf.StringValue": "string",
  "google.protobuf.BytesValue": "bytes",
};

/** Well-known message types whose JSON form is not an object of their fields. */
export const SPECIAL_JSON: Readonly<Record<string, ScalarCheck>> = {
  "google.protobuf.Duration": durationCheck,
  "google.protobuf.Timestamp": timestampCheck,
  "google.protobuf.FieldMask": fieldMaskCheck,
  "google.protobuf.Struct": structCheck,
  "google.protobuf.Value": jsonValueCheck,
  "google.protobuf.ListValue": listValueCheck,
  ...Object.fromEntries(Object.entries(WRAPPERS).map(([wrapper, scalar]) => [wrapper, SCALAR_CHECKS[scalar]!])),
};
