/**
 * Human names for places and values in a policy, for diagnostic messages.
 *
 * Messages name a field relative to its service (`connector.timeout`), since
 * the line:column already says which service; outside services the path
 * starts at the top (`spec.scheduler.strategy`).
 */
import type { Path } from "./positions.js";

/** `["spec","services",1,"connector"]` → `spec.services[1].connector` */
function pathText(path: Path): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number" || /^[0-9]+$/.test(segment)) text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

function isServicePath(path: Path): boolean {
  return path.length >= 3 && path[0] === "spec" && path[1] === "services";
}

function serviceName(root: unknown, index: number): string | undefined {
  const services = (root as { spec?: { services?: unknown } } | null)?.spec?.services;
  if (!Array.isArray(services)) return undefined;
  const name = (services[index] as { name?: unknown } | undefined)?.name;
  return typeof name === "string" ? name : undefined;
}

/** The name of the field at `path`: `connector.timeout`, `endpoints[0].port`, `spec.failMode`. */
export function fieldName(path: Path): string {
  if (isServicePath(path) && path.length > 3) return pathText(path.slice(3));
  return path.length === 0 ? "the policy" : pathText(path);
}

/** The name of a mapping that contains something: `service "catalog"`, `connector`, `spec.sidecar`, `the policy`. */
export function placeName(path: Path, root: unknown): string {
  if (isServicePath(path) && path.length === 3) {
    const name = serviceName(root, Number(path[2]));
    return name === undefined ? `spec.services[${String(path[2])}]` : `service ${describeValue(name)}`;
  }
  return fieldName(path);
}

/** Text from the policy, cut to a length a message can show (a value may be megabytes long). */
export function clip(text: string, max = 60): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

/**
 * JSON.stringify leaves U+2028 and U+2029 as they are, and editors, terminals
 * and `.` in regular expressions take them for line ends: a diagnostic must
 * stay one line.
 */
export function quoted(text: string): string {
  return JSON.stringify(text).replace(/[\u2028\u2029]/g, (c) => (c === "\u2028" ? "\\u2028" : "\\u2029"));
}

/** `"abc"`, `80.5`, `a list`, `a mapping`, `nothing`, `true`. */
export function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (typeof value === "string") return quoted(clip(value));
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return String(value);
}

/** `"5xx"`, `"reset"` → `5xx, reset` */
export function listWords(words: readonly unknown[]): string {
  return words.map((w) => String(w)).join(", ");
}
