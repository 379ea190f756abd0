/**
 * YAML text for JSON-shaped data (objects, arrays, strings, numbers, booleans).
 *
 * Written here rather than using `yaml`'s stringify because the compiler must
 * emit 10,000 sidecar configs in well under 5 s and the general-purpose
 * document builder is several times slower on this simple, tree-shaped data
 * (bench/compiler measures both). Output is deterministic: key order is the
 * object's insertion order. Strings that could be read as anything but a
 * string are double-quoted with JSON escapes, which YAML 1.2 reads the same.
 */

const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*$/;
const RESERVED = /^(?:true|false|yes|no|on|off|y|n|null|~)$/i;

function scalarText(value: string | number | boolean | null): string {
  if (value === null) return "null";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} as YAML`);
    return String(value);
  }
  if (typeof value === "boolean") return value ? "true" : "false";
  return PLAIN.test(value) && !RESERVED.test(value) ? value : JSON.stringify(value);
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function isEmptyContainer(value: Json): boolean {
  return typeof value === "object" && value !== null && (Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0);
}

function emptyText(value: Json): string {
  return Array.isArray(value) ? "[]" : "{}";
}

/**
 * Appends `value` at `indent`. `lead` replaces the indent of the first line
 * (an array item's "- "), which is how "- name: x" is written without
 * re-slicing lines afterwards.
 */
function writeValue(value: Json, indent: string, lead: string): string {
  let out = "";
  let prefix = lead;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (typeof item === "object" && item !== null && !isEmptyContainer(item)) {
        out += writeValue(item, indent + "  ", prefix + "- ");
      } else {
        out += `${prefix}- ${isEmptyContainer(item) ? emptyText(item) : scalarText(item as string)}\n`;
      }
      prefix = indent;
    }
    return out;
  }
  if (typeof value === "object" && value !== null) {
    for (const key in value) {
      const child = value[key];
      if (child === undefined) continue;
      const keyText = scalarText(key);
      if (typeof child === "object" && child !== null && !isEmptyContainer(child)) {
        out += `${prefix}${keyText}:\n`;
        out += Array.isArray(child) ? writeValue(child, indent, indent) : writeValue(child, indent + "  ", indent + "  ");
      } else {
        out += `${prefix}${keyText}: ${isEmptyContainer(child) ? emptyText(child) : scalarText(child as string)}\n`;
      }
      prefix = indent;
    }
    return out;
  }
  return `${prefix}${scalarText(value)}\n`;
}

export function toYaml(value: unknown, header?: string): string {
  let out = "";
  if (header) for (const line of header.split("\n")) out += `# ${line}`.trimEnd() + "\n";
  return out + writeValue(value as Json, "", "");
}
