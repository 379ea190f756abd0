/** The Envoy process log as the tests see it. */
import { LOG_LEVELS, type LogLevelName } from "./abi.js";

export interface LogEntry {
  /** Index of the VM that logged (Vm.index). */
  vm: number;
  level: LogLevelName;
  message: string;
}

function levelNumber(level: LogLevelName): number {
  return LOG_LEVELS.indexOf(level);
}

function levelName(n: number): LogLevelName | undefined {
  return LOG_LEVELS[n];
}
