// HTTP stream control: resume, close, answer locally.
import { proxy_close_stream, proxy_continue_stream, proxy_send_local_response } from "./imports";
import { GrpcStatus, StreamType, WasmResult } from "./enums";
import { HeaderPair, serializeHeaderPairs } from "./headers";

/** Resumes a stream paused by returning StopIteration. */
export function continueStream(type: StreamType): WasmResult {
  return proxy_continue_stream(type);
}

/** Closes (resets) a stream. */
export function closeStream(type: StreamType): WasmResult {
  return proxy_close_stream(type);
}

/**
 * Answers the request without going upstream. `details` becomes Envoy's
 * response code details (%RESPONSE_CODE_DETAILS%). Return StopIteration from
 * the callback afterwards.
 */
export function sendLocalResponse(
  status: u32, details: string, body: string, headers: HeaderPair[], grpcStatus: GrpcStatus = GrpcStatus.Invalid,
): WasmResult {
  return sendLocalResponseBytes(status, String.UTF8.encode(details), String.UTF8.encode(body), serializeHeaderPairs(headers), grpcStatus);
}

/** sendLocalResponse with pre-encoded parts (serializedHeaders from serializeHeaderPairs). */
export function sendLocalResponseBytes(
  status: u32, details: ArrayBuffer, body: ArrayBuffer, serializedHeaders: ArrayBuffer, grpcStatus: GrpcStatus = GrpcStatus.Invalid,
): WasmResult {
  return proxy_send_local_response(
    status,
    changetype<usize>(details), <usize>details.byteLength,
    changetype<usize>(body), <usize>body.byteLength,
    changetype<usize>(serializedHeaders), <usize>serializedHeaders.byteLength,
    grpcStatus,
  );
}
