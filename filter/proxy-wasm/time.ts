// Clock and timer.
import { proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds } from "./imports";
import { WasmResult } from "./enums";
import { RETURN_VALUE_SLOT } from "./memory";

/** Host wall-clock time in nanoseconds since the Unix epoch (0 if the host fails). */
export function currentTimeNanos(): u64 {
  store<u64>(RETURN_VALUE_SLOT, 0);
  proxy_get_current_time_nanoseconds(RETURN_VALUE_SLOT);
  return load<u64>(RETURN_VALUE_SLOT);
}

/** Asks the host to call the root context's onTick every `periodMs` (0 stops). */
export function setTickPeriodMilliseconds(periodMs: u32): WasmResult {
  return proxy_set_tick_period_milliseconds(periodMs);
}
