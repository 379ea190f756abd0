// Logging through the host (proxy_log). Envoy prefixes messages with the plugin name.
import { proxy_get_log_level, proxy_log } from "./imports";
import { LogLevel, WasmResult } from "./enums";
import { RETURN_VALUE_SLOT } from "./memory";

/** Logs a message at `level`. Encodes to UTF-8: keep it off hot paths. */
export function log(level: LogLevel, message: string): void {
  const bytes = String.UTF8.encode(message);
  proxy_log(level, changetype<usize>(bytes), <usize>bytes.byteLength);
}

export function logTrace(message: string): void { log(LogLevel.Trace, message); }
export function logDebug(message: string): void { log(LogLevel.Debug, message); }
export function logInfo(message: string): void { log(LogLevel.Info, message); }
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
export function logError(message: string): void { log(LogLevel.Error, message); }
export function logCritical(message: string): void { log(LogLevel.Critical, message); }

/** The host's current log level for this plugin (Info when the host cannot tell). */
export function getLogLevel(): LogLevel {
  store<i32>(RETURN_VALUE_SLOT, LogLevel.Info);
  if (proxy_get_log_level(RETURN_VALUE_SLOT) != WasmResult.Ok) return LogLevel.Info;
  return load<i32>(RETURN_VALUE_SLOT);
}
