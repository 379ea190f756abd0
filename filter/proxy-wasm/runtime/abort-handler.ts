// Replaces AssemblyScript's `env.abort` import (Envoy does not provide it):
// log the failure at critical level through the host, then trap. The VM is then
// failed and Envoy applies the plugin's fail_open setting.
import { proxy_log } from "../imports";
import { LogLevel } from "../enums";

export function abortHandler(message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void {
  const text = "abort: " + (message != null ? message : "(no message)") + " at " +
    (fileName != null ? fileName : "?") + ":" + lineNumber.toString() + ":" + columnNumber.toString();
  const bytes = String.UTF8.encode(text);
  proxy_log(LogLevel.Critical, changetype<usize>(bytes), <usize>bytes.byteLength);
  unreachable();
}
