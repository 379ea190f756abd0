// Foreign functions: host extensions called by name (Envoy registers e.g.
// "clear_route_cache", "set_envoy_filter_state", "declare_property").
import { proxy_call_foreign_function } from "./imports";
import { WasmResult } from "./enums";
import { RETURN_PTR_SLOT, RETURN_SIZE_SLOT, releaseReturned, resetReturnSlots, takeReturnedBytes } from "./memory";

const NO_ARGUMENTS = new ArrayBuffer(0);

/** Calls a foreign function and discards its results. NotFound: the host has no such function. */
export function callForeignFunction(name: ArrayBuffer, args: ArrayBuffer = NO_ARGUMENTS): WasmResult {
  resetReturnSlots();
  const result = proxy_call_foreign_function(
    changetype<usize>(name), <usize>name.byteLength,
    changetype<usize>(args), <usize>args.byteLength,
    RETURN_PTR_SLOT, RETURN_SIZE_SLOT,
  );
  releaseReturned();
  return result;
}

/** Calls a foreign function and returns its result bytes, or null on failure. */
export function callForeignFunctionForResult(name: ArrayBuffer, args: ArrayBuffer = NO_ARGUMENTS): ArrayBuffer | null {
  resetReturnSlots();
  const result = proxy_call_foreign_function(
    changetype<usize>(name), <usize>name.byteLength,
    changetype<usize>(args), <usize>args.byteLength,
    RETURN_PTR_SLOT, RETURN_SIZE_SLOT,
  );
  if (result != WasmResult.Ok) {
    releaseReturned();
    return null;
  }
  return takeReturnedBytes();
}
