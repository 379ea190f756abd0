// The `admission` object of a destination (docs/design.md, "Admission"):
// parsed and validated like the rest of the plugin configuration, the first
// problem reported as one message naming the field by its path.
import { JsonKind, JsonValue } from "../json";
import { Reader, TOKEN_CHARS, asciiLower } from "../config";

export const MAX_IN_FLIGHT_LIMIT: i32 = 1000000;
export const MAX_QUEUE_LENGTH: i32 = 100000;
export const MAX_TICK_MS: i32 = 60000;
export const MAX_LEVELS: i32 = 16;
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

/** An integer >= 0 (maxQueue may be 0: never wait). */
function nonNegativeInteger(r: Reader, v: JsonValue | null, path: string, max: i32, fallback: i32): i32 {
  if (v == null) return fallback;
  if (v.kind != JsonKind.Number || !isFinite(v.num) || v.num != Math.floor(v.num) || v.num < 0) {
    r.fail(path + " must be a non-negative integer");
    return fallback;
  }
  if (v.num > <f64>max) {
    r.fail(path + " must be at most " + max.toString());
    return fallback;
  }
  return <i32>v.num;
}

const MAX_HEADER_NAME: i32 = 256;
const TOKEN_SYMBOLS = "!#$%&'*+.^_`|~-";

/** An HTTP header name: token characters, optionally after one leading ':' (a pseudo-header). */
function readHeaderName(r: Reader, v: JsonValue, path: string): string {
  if (v.kind != JsonKind.String) {
    r.fail(path + " must be a string");
    return "";
  }
  const s = v.str;
  const start = s.length > 0 && s.charCodeAt(0) == 0x3a ? 1 : 0;
  if (s.length - start < 1 || s.length > MAX_HEADER_NAME) {
    r.fail(path + " must be 1 to " + MAX_HEADER_NAME.toString() + " characters long");
    return "";
  }
  for (let i = start; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
    if (!alnum && TOKEN_SYMBOLS.indexOf(String.fromCharCode(c)) < 0) {
      r.fail(path + " must contain only HTTP token characters (after an optional leading ':')");
      return "";
    }
  }
  return s;
}

function readLevels(r: Reader, a: AdmissionConfig, v: JsonValue | null, path: string): void {
  const arr = r.array(v, path, MAX_LEVELS, false);
  if (arr == null) return;
  const levels = new Array<string>();
  for (let i = 0; i < arr.length && !r.failed; i++) {
    const itemPath = path + "[" + i.toString() + "]";
    const name = r.name(arr.at(i), itemPath, TOKEN_CHARS, 128);
    if (levels.includes(name)) r.fail(itemPath + " duplicates " + path + "[" + levels.indexOf(name).toString() + "]");
    levels.push(name);
  }
  a.levels = levels;
}

function readAdaptive(r: Reader, a: AdmissionConfig, v: JsonValue | null, path: string): void {
  const obj = r.object(v, path);
  if (obj == null) return;
  const ad = new AdaptiveConfig();
  ad.minLimit = r.positiveInteger(r.member(obj, "minLimit", path + ".minLimit"), path + ".minLimit", MAX_IN_FLIGHT_LIMIT, 1);
  ad.maxLimit = r.positiveInteger(r.member(obj, "maxLimit", path + ".maxLimit"), path + ".maxLimit", MAX_IN_FLIGHT_LIMIT, 1);
  ad.windowMs = r.positiveInteger(obj.get("windowMs"), path + ".windowMs", MAX_ADMISSION_DURATION_MS, ad.windowMs);
  if (r.failed) return;
  if (ad.maxLimit < ad.minLimit) r.fail(path + ".maxLimit must be at least minLimit");
  else if (a.maxInFlight < ad.minLimit || a.maxInFlight > ad.maxLimit) {
    r.fail(path.substring(0, path.length - ".adaptive".length) + ".maxInFlight must lie in [adaptive.minLimit, adaptive.maxLimit]");
  }
  a.adaptive = ad;
}

/** The destination's admission settings, or null when it has none (or on error: see r.failed). */
export function readAdmission(r: Reader, v: JsonValue | null, path: string): AdmissionConfig | null {
  if (v == null) return null;
  const obj = r.object(v, path);
  if (obj == null) return null;
  const a = new AdmissionConfig();
  a.maxInFlight = r.positiveInteger(r.member(obj, "maxInFlight", path + ".maxInFlight"), path + ".maxInFlight", MAX_IN_FLIGHT_LIMIT, 1);
  a.maxQueue = nonNegativeInteger(r, obj.get("maxQueue"), path + ".maxQueue", MAX_QUEUE_LENGTH, a.maxQueue);
  a.queueTimeoutMs = r.positiveInteger(obj.get("queueTimeoutMs"), path + ".queueTimeoutMs", MAX_ADMISSION_DURATION_MS, a.queueTimeoutMs);
  a.tickMs = r.positiveInteger(obj.get("tickMs"), path + ".tickMs", MAX_TICK_MS, a.tickMs);
  const header = obj.get("priorityHeader");
  if (header != null) a.priorityHeader = asciiLower(readHeaderName(r, header, path + ".priorityHeader"));
  const levels = obj.get("levels");
  if (levels != null && !r.failed) readLevels(r, a, levels, path + ".levels");
  // Default: "normal" when listed, else the last level (as the compiler writes it).
  const normal = a.levels.indexOf("normal");
  a.defaultLevel = normal >= 0 ? normal : a.levels.length - 1;
  const level = obj.get("defaultLevel");
  if (level != null && !r.failed) {
    const index = nonNegativeInteger(r, level, path + ".defaultLevel", MAX_LEVELS, a.defaultLevel);
    if (!r.failed && index >= a.levels.length) {
      r.fail(path + ".defaultLevel must be an index into levels (0 to " + (a.levels.length - 1).toString() + ")");
    } else {
      a.defaultLevel = index;
    }
  }
  const adaptive = obj.get("adaptive");
  if (adaptive != null && !r.failed) readAdaptive(r, a, adaptive, path + ".adaptive");
  return a;
}
