// Turning a choice into a claimed endpoint (shared in-flight + 1).
import { incrementMetric } from "../../proxy-wasm/index";
import { Destination, PICK_CAS_EXHAUSTED, PICK_SHARED_DATA_FAILED } from "../destination";
import { Update, acquire } from "../records/shared";

/** Claims endpoint `index`; returns it, or a PICK_* failure code. */
export function claim(destination: Destination, index: i32, fresh: bool): i32 {
  const result = acquire(destination.endpoints[index], fresh);
  if (result == Update.Ok) return index;
  if (result == Update.CasExhausted) {
    incrementMetric(destination.casExhaustedMetric, 1);
    return PICK_CAS_EXHAUSTED;
  }
  return PICK_SHARED_DATA_FAILED;
}
