/**
 * Small readers for Envoy config objects (proto3 JSON, snake_case) as the
 * compiler emits them. The simulator reads the compiled bootstrap rather than
 * the policy so that what it simulates is exactly what Envoy would run.
 */

export type Json = unknown;

export class EnvoyConfigError extends Error {}

export function isObject(value: Json): value is Record<string, Json> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function field(value: Json, key: string): Json {
  return isObject(value) ? value[key] : undefined;
}

export function arrayField(value: Json, key: string): Json[] {
  const list = field(value, key);
  return Array.isArray(list) ? list : [];
}

export function stringField(value: Json, key: string): string | undefined {
  const text = field(value, key);
  return typeof text === "string" ? text : undefined;
}

export function numberField(value: Json, key: string): number | undefined {
  const raw = field(value, key);
  if (typeof raw === "number") return raw;
  // Wrapper types (UInt32Value) may be written as { value: n }.
  if (isObject(raw) && typeof raw.value === "number") return raw.value;
  return undefined;
}

export function boolField(value: Json, key: string): boolean | undefined {
  const raw = field(value, key);
  if (typeof raw === "boolean") return raw;
  if (isObject(raw) && typeof raw.value === "boolean") return raw.value;
  return undefined;
}

/** proto3 JSON Duration (`"2s"`, `"0.250s"`) → milliseconds. */
export function durationMs(text: Json): number | undefined {
  if (typeof text !== "string") return undefined;
  const match = /^(-?[0-9]+(?:\.[0-9]+)?)s$/.exec(text);
  return match ? Number(match[1]) * 1_000 : undefined;
}

/** `typed_config` of a named extension entry, checked against its `@type` suffix. */
export function typedConfig(entry: Json, typeSuffix: string): Record<string, Json> | undefined {
  const config = field(entry, "typed_config");
  if (!isObject(config)) return undefined;
  const type = config["@type"];
  return typeof type === "string" && type.endsWith(typeSuffix) ? config : undefined;
}

const HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

/** The listener called `name` in a bootstrap's static resources. */
export function findListener(bootstrap: Json, name: string): Record<string, Json> {
  const listeners = arrayField(field(bootstrap, "static_resources"), "listeners");
  const listener = listeners.find((l) => stringField(l, "name") === name);
  if (!isObject(listener)) throw new EnvoyConfigError(`the bootstrap has no listener "${name}"`);
  return listener;
}

/** The HTTP connection manager of a listener's first filter chain. */
export function httpConnectionManager(listener: Json): Record<string, Json> {
  for (const chain of arrayField(listener, "filter_chains")) {
    for (const filter of arrayField(chain, "filters")) {
      const hcm = typedConfig(filter, HCM_TYPE);
      if (hcm) return hcm;
    }
  }
  throw new EnvoyConfigError(`listener "${stringField(listener, "name")}" has no HTTP connection manager`);
}
