/**
 * The JSON shape of Envoy resources as the generators build them.
 *
 * Envoy resources are written as plain objects in proto3 JSON form with the
 * proto field names (snake_case), exactly what Envoy reads from YAML. Key order
 * is the order the generators write keys in, so output is deterministic.
 */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/**
 * Sets an optional field: `obj[key] = value` unless value is undefined.
 * (Generators add fields by assignment, not object spreads: 10,000 sidecars
 * must build fast, and key order stays the order of the calls.)
 */
export function put(obj: JsonObject, key: string, value: JsonValue | undefined): void {
  if (value !== undefined) obj[key] = value;
}
