// Turning a choice into a claimed endpoint (a claim: shared in-flight + 1).
import { Pick } from "../base/pick";
import { Destination } from "../destination";
import { Update, acquire } from "../records/shared";
import { Metric } from "../telemetry/table";

/** Claims endpoint `index`; returns it, or Pick.CasExhausted / Pick.SharedDataFailed. */
export function claim(destination: Destination, index: i32, fresh: bool): i32 {
  const result = acquire(destination.endpoints[index], fresh);
  if (result == Update.Ok) return index;
  if (result == Update.CasExhausted) {
    destination.count(Metric.CasExhausted);
    return Pick.CasExhausted;
  }
  return Pick.SharedDataFailed;
}
