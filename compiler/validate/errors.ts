/** A problem found in an Envoy config, at a field path like `static_resources.clusters[3].connect_timeout`. */
export interface ValidationError {
  path: string;
  message: string;
}

/** Appends a field name to a path (`""` is the root). */
export function fieldPath(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

export function indexPath(path: string, index: number): string {
  return `${path}[${index}]`;
}

export function mapKeyPath(path: string, key: string): string {
  return `${path}[${JSON.stringify(key)}]`;
}

/** One check of a JSON value at `path`: appends what is wrong to `out`. */
export type Check = (value: unknown, path: string, out: ValidationError[]) => void;

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Errors found with paths relative to a value (`""` = the value), placed under `base`. */
export function rebase(base: string, errors: readonly ValidationError[]): ValidationError[] {
  return errors.map((e) => ({
    path: e.path === "" ? base : e.path.startsWith("[") || base === "" ? base + e.path : `${base}.${e.path}`,
    message: e.message,
  }));
}
