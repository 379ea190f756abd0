/**
 * HTTP and gRPC callouts. This host has no upstream clusters, so it answers as
 * Envoy does for a cluster it does not know (after the same memory checks):
 * proxy_http_call → BadArgument, proxy_grpc_call/stream → ParseFailure;
 * tokens were never issued, so close/cancel → NotFound and send → BadArgument
 * for call tokens (odd), NotFound for stream tokens (even).
 */
import { WasmResult } from "../abi.js";
import type { Vm } from "../vm.js";

export function calloutImports(vm: Vm): Record<string, (...args: never[]) => number> {
  const mem = vm.mem;
  const enter = (name: string): void => vm.enterHostCall(name);
  const allInRange = (...ranges: number[]): boolean => {
    for (let i = 0; i < ranges.length; i += 2) if (!mem.inRange(ranges[i]!, ranges[i + 1]!)) return false;
    return true;
  };

  return {
    proxy_http_call(
      uriPtr: number, uriSize: number, headersPtr: number, headersSize: number, bodyPtr: number, bodySize: number,
      trailersPtr: number, trailersSize: number, _timeoutMs: number, tokenPtr: number,
    ) {
      enter("env.proxy_http_call");
      if (!allInRange(uriPtr, uriSize, headersPtr, headersSize, bodyPtr, bodySize, trailersPtr, trailersSize)) {
        return WasmResult.InvalidMemoryAccess;
      }
      if (!mem.writeU32(tokenPtr, 0)) return WasmResult.InvalidMemoryAccess;
      return WasmResult.BadArgument;
    },
    proxy_grpc_call(
      servicePtr: number, serviceSize: number, serviceNamePtr: number, serviceNameSize: number, methodPtr: number,
      methodSize: number, metadataPtr: number, metadataSize: number, requestPtr: number, requestSize: number,
      _timeoutMs: number, _tokenPtr: number,
    ) {
      enter("env.proxy_grpc_call");
      if (!allInRange(servicePtr, serviceSize, serviceNamePtr, serviceNameSize, methodPtr, methodSize, metadataPtr, metadataSize, requestPtr, requestSize)) {
        return WasmResult.InvalidMemoryAccess;
      }
      return WasmResult.ParseFailure;
    },
    proxy_grpc_stream(
      servicePtr: number, serviceSize: number, serviceNamePtr: number, serviceNameSize: number, methodPtr: number,
      methodSize: number, metadataPtr: number, metadataSize: number, _tokenPtr: number,
    ) {
      enter("env.proxy_grpc_stream");
      if (!allInRange(servicePtr, serviceSize, serviceNamePtr, serviceNameSize, methodPtr, methodSize, metadataPtr, metadataSize)) {
        return WasmResult.InvalidMemoryAccess;
      }
      return WasmResult.ParseFailure;
    },
    proxy_grpc_send(token: number, messagePtr: number, messageSize: number, _endStream: number) {
      enter("env.proxy_grpc_send");
      if (!mem.inRange(messagePtr, messageSize)) return WasmResult.InvalidMemoryAccess;
      return (token & 1) === 1 ? WasmResult.BadArgument : WasmResult.NotFound;
    },
    proxy_grpc_close(_token: number) {
      enter("env.proxy_grpc_close");
      return WasmResult.NotFound;
    },
    proxy_grpc_cancel(_token: number) {
      enter("env.proxy_grpc_cancel");
      return WasmResult.NotFound;
    },
  };
}
