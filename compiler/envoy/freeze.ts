/**
 * Deep freezing of generated resources that several bootstraps share (a called
 * service's clusters and route config appear in every caller's sidecar).
 * Frozen objects cannot be changed behind another bootstrap's back, and the
 * validator may cache its result for a frozen object by identity.
 */
import type { JsonObject, JsonValue } from "./json.js";

export function deepFreeze<T extends JsonValue>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i]!);
  } else {
    const obj = value as JsonObject;
    for (const key in obj) deepFreeze(obj[key]!);
  }
  return Object.freeze(value);
}
