/**
 * Extension points: fields where Envoy looks up a registered factory by the
 * config's type (or by a name) when it loads the config. A well-formed config
 * of the wrong kind — a network filter's config among the HTTP filters, a
 * Wasm runtime the build lacks — passes every proto rule and still fails the
 * whole bootstrap ("Didn't find a registered implementation for … with type
 * URL …").
 *
 * Envoy's API keeps each kind of extension's configs in its own proto package
 * (HTTP filters under `envoy.extensions.filters.http.`, …), so the check is by
 * package; a TypedStruct is judged by the type it wraps, and the matcher
 * wrapper ExtensionWithMatcher is allowed where Envoy allows it. Names are
 * for stock Envoy 1.40 builds (the official binary and image), which have the
 * V8 Wasm runtime only.
 */
import { isPlainObject, type Check } from "./errors.js";

interface TypedPoint {
  kind: string;
  packages: readonly string[];
  /** Wrapper types Envoy also takes here (they carry a config of the right kind inside). */
  wrappers?: readonly string[];
  /** The value holds the Any in `typed_config` (a TypedExtensionConfig or similar) rather than being it. */
  inTypedConfig?: boolean;
}

const MATCHER_WRAPPER = "envoy.extensions.common.matching.v3.ExtensionWithMatcher";
const TYPED_STRUCTS = new Set(["xds.type.v3.TypedStruct", "udpa.type.v1.TypedStruct"]);

/** `<message type>.<field>` → what may go there. */
const TYPED_POINTS: Readonly<Record<string, TypedPoint>> = {
  "envoy.config.listener.v3.Filter.typed_config": { kind: "network filter", packages: ["envoy.extensions.filters.network."] },
  "envoy.config.listener.v3.ListenerFilter.typed_config": { kind: "listener filter", packages: ["envoy.extensions.filters.listener."] },
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter.typed_config": {
    kind: "HTTP filter",
    packages: ["envoy.extensions.filters.http."],
    wrappers: [MATCHER_WRAPPER],
  },
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager.early_header_mutation_extensions": {
    kind: "early header mutation",
    packages: ["envoy.extensions.http.early_header_mutation."],
    inTypedConfig: true,
  },
  "envoy.config.route.v3.RetryPolicy.RetryHostPredicate.typed_config": { kind: "retry host predicate", packages: ["envoy.extensions.retry.host."] },
  "envoy.config.route.v3.RetryPolicy.RetryPriority.typed_config": { kind: "retry priority", packages: ["envoy.extensions.retry.priority."] },
};

/** `<message type>.<field>` → the names Envoy has a factory for. */
const NAMED_POINTS: Readonly<Record<string, { kind: string; names: readonly string[] }>> = {
  // "" picks the build's default runtime.
  "envoy.extensions.wasm.v3.VmConfig.runtime": { kind: "Wasm runtime", names: ["", "envoy.wasm.runtime.v8"] },
};

function typeNameOf(any: unknown): string | undefined {
  if (!isPlainObject(any) || typeof any["@type"] !== "string") return undefined;
  const name = any["@type"].slice(any["@type"].lastIndexOf("/") + 1);
  if (TYPED_STRUCTS.has(name)) {
    const inner = any.type_url ?? any.typeUrl;
    return typeof inner === "string" ? inner.slice(inner.lastIndexOf("/") + 1) : undefined;
  }
  return name;
}

/** The check of an extension point field, or undefined when the field is none. */
export function extensionPointCheck(typeName: string, fieldName: string): Check | undefined {
  const key = `${typeName}.${fieldName}`;
  const named = NAMED_POINTS[key];
  if (named) {
    return (v, path, out) => {
      if (typeof v === "string" && !named.names.includes(v)) {
        out.push({ path, message: `Envoy 1.40 has no ${named.kind} "${v}" (it has ${named.names.filter((n) => n !== "").map((n) => `"${n}"`).join(", ")})` });
      }
    };
  }
  const point = TYPED_POINTS[key];
  if (!point) return undefined;
  const one: Check = (v, path, out) => {
    const any = point.inTypedConfig ? (isPlainObject(v) ? v.typed_config : undefined) : v;
    const name = typeNameOf(any);
    if (name === undefined || point.wrappers?.includes(name) || point.packages.some((p) => name.startsWith(p))) return;
    out.push({
      path: point.inTypedConfig ? `${path}.typed_config.@type` : `${path}.@type`,
      message: `${name} is not ${/^[aeiouAEIOUH]/.test(point.kind) ? "an" : "a"} ${point.kind}'s config: Envoy looks ${point.kind}s up among the types of ${point.packages.map((p) => `${p}*`).join(", ")}`,
    });
  };
  return (v, path, out) => {
    if (Array.isArray(v)) v.forEach((item, i) => one(item, `${path}[${i}]`, out));
    else one(v, path, out);
  };
}
