/**
 * A problem found by a check, located by the path of the offending value.
 * index.ts turns findings into Diagnostics (file:line:column) with the parser's Locator.
 */
import { messageText, type DiagMessage, type MessageArgs, type Severity } from "../diagnostics/index.js";
import type { Path, Target } from "./positions.js";

export interface Finding {
  path: Path;
  /** "key" points at the property name (unknown properties); default the value. */
  target?: Target;
  severity: Severity;
  code: string;
  message: string;
}

/** A catalogue message (its code and severity) at the value at `path`, its template filled with `args`. */
export function finding<T extends string>(diag: DiagMessage<T>, path: Path, ...args: MessageArgs<T>): Finding {
  return { path, severity: diag.severity, code: diag.code, message: messageText(diag, ...args) };
}

/** As `finding`, pointing at the property name at `path` rather than its value. */
export function keyFinding<T extends string>(diag: DiagMessage<T>, path: Path, ...args: MessageArgs<T>): Finding {
  return { path, target: "key", severity: diag.severity, code: diag.code, message: messageText(diag, ...args) };
}
