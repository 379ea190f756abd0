// The `admission` object of a destination (docs/design.md, "Admission"):
// parsed and validated like the rest of the plugin configuration, the first
// problem reported as one message naming the field by its path.
import { JsonValue } from "./json";
import { HEADER_CHARS, Reader, TOKEN_CHARS, asciiLower, elementPath } from "./reader";

const MAX_IN_FLIGHT_LIMIT: i32 = 1000000;
const MAX_QUEUE_LENGTH: i32 = 100000;
const MAX_TICK_MS: i32 = 60000;
const MAX_LEVELS: i32 = 16;
const MAX_ADMISSION_DURATION_MS: i32 = 86400000;

export class AdaptiveConfig {
  minLimit: i32 = 1;
  maxLimit: i32 = 1;
  windowMs: i32 = 1000;
}

export class AdmissionConfig {
  maxInFlight: i32 = 1;
  maxQueue: i32 = 128;
  queueTimeoutMs: i32 = 1000;
  tickMs: i32 = 10;
  /** Lowercased header name; "" when every task has the default level. */
  priorityHeader: string = "";
  levels: string[] = ["high", "normal", "low"];
  defaultLevel: i32 = 1;
  adaptive: AdaptiveConfig | null = null;
}

const MAX_HEADER_NAME: i32 = 256;

function readLevels(r: Reader, a: AdmissionConfig, v: JsonValue | null, parent: string): void {
  const arr = r.array(v, parent, "levels", MAX_LEVELS, false);
  if (arr == null) return;
  const path = parent + ".levels";
  const levels = new Array<string>();
  for (let i = 0; i < arr.length && !r.failed; i++) {
    const itemPath = elementPath(path, i);
    const name = r.name(arr.at(i), itemPath, "", TOKEN_CHARS, 128);
    if (levels.includes(name)) r.failAt(itemPath, "", " duplicates " + elementPath(path, levels.indexOf(name)));
    levels.push(name);
  }
  a.levels = levels;
}

function readAdaptive(r: Reader, a: AdmissionConfig, v: JsonValue | null, parent: string): void {
  const obj = r.object(v, parent, "adaptive");
  if (obj == null) return;
  const path = parent + ".adaptive";
  const ad = new AdaptiveConfig();
  ad.minLimit = r.integer(r.field(obj, path, "minLimit", true), path, "minLimit", 1, MAX_IN_FLIGHT_LIMIT, 1);
  ad.maxLimit = r.integer(r.field(obj, path, "maxLimit", true), path, "maxLimit", 1, MAX_IN_FLIGHT_LIMIT, 1);
  ad.windowMs = r.integer(obj.get("windowMs"), path, "windowMs", 1, MAX_ADMISSION_DURATION_MS, ad.windowMs);
  if (r.failed) return;
  if (ad.maxLimit < ad.minLimit) r.failAt(path, "maxLimit", " must be at least minLimit");
  else if (a.maxInFlight < ad.minLimit || a.maxInFlight > ad.maxLimit) {
    r.failAt(parent, "maxInFlight", " must lie in [adaptive.minLimit, adaptive.maxLimit]");
  }
  a.adaptive = ad;
}

/**
 * The destination's admission settings (v: its `admission` member; parent:
 * the destination's path), or null when it has none (or on error: see r.failed).
 */
export function readAdmission(r: Reader, v: JsonValue | null, parent: string): AdmissionConfig | null {
  if (v == null) return null;
  const obj = r.object(v, parent, "admission");
  if (obj == null) return null;
  const path = parent + ".admission";
  const a = new AdmissionConfig();
  a.maxInFlight = r.integer(r.field(obj, path, "maxInFlight", true), path, "maxInFlight", 1, MAX_IN_FLIGHT_LIMIT, 1);
  // maxQueue may be 0: never wait.
  a.maxQueue = r.integer(obj.get("maxQueue"), path, "maxQueue", 0, MAX_QUEUE_LENGTH, a.maxQueue);
  a.queueTimeoutMs = r.integer(obj.get("queueTimeoutMs"), path, "queueTimeoutMs", 1, MAX_ADMISSION_DURATION_MS, a.queueTimeoutMs);
  a.tickMs = r.integer(obj.get("tickMs"), path, "tickMs", 1, MAX_TICK_MS, a.tickMs);
  const header = obj.get("priorityHeader");
  if (header != null) a.priorityHeader = asciiLower(r.name(header, path, "priorityHeader", HEADER_CHARS, MAX_HEADER_NAME));
  const levels = obj.get("levels");
  if (levels != null && !r.failed) readLevels(r, a, levels, path);
  // Default: "normal" when listed, else the last level (as the compiler writes it).
  const normal = a.levels.indexOf("normal");
  a.defaultLevel = normal >= 0 ? normal : a.levels.length - 1;
  const level = obj.get("defaultLevel");
  if (level != null && !r.failed) {
    const index = r.integer(level, path, "defaultLevel", 0, MAX_LEVELS, a.defaultLevel);
    if (!r.failed && index >= a.levels.length) {
      r.failAt(path, "defaultLevel", " must be an index into levels (0 to " + (a.levels.length - 1).toString() + ")");
    } else {
      a.defaultLevel = index;
    }
  }
  const adaptive = obj.get("adaptive");
  if (adaptive != null && !r.failed) readAdaptive(r, a, adaptive, path);
  return a;
}
