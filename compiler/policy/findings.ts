/**
 * A problem found by a check, located by the path of the offending value.
 * index.ts turns findings into Diagnostics (file:line:column) with the parser's Locator.
 */
import type { Severity } from "../diagnostics/index.js";
import type { Path, Target } from "./positions.js";

export interface Finding {
  path: Path;
  /** "key" points at the property name (unknown properties); default the value. */
  target?: Target;
  severity: Severity;
  code: string;
  message: string;
}

export function error(code: string, path: Path, message: string, target?: Target): Finding {
  return target === undefined ? { path, severity: "error", code, message } : { path, target, severity: "error", code, message };
}

export function warning(code: string, path: Path, message: string, target?: Target): Finding {
  return target === undefined ? { path, severity: "warning", code, message } : { path, target, severity: "warning", code, message };
}
