// The callbacks an HTTP filter module built on this layer exports: those
// lightsub acts on. Envoy (proxy-wasm-cpp-host) does not call a callback the
// module does not export and goes on as if it had returned Continue, so a
// 1 KiB POST costs one Wasm call less (no proxy_on_request_body), and request
// trailers and metadata none. Network (L4), HTTP-call, gRPC, shared-queue and
// foreign-function callbacks are never used. build/lightsub.wasm and the empty
// filter of the benchmarks (build/passthrough.wasm) both export exactly this
// list, so the benchmark compares them on the same bindings.
export {
  proxy_abi_version_0_2_1,
  proxy_on_memory_allocate,
  proxy_on_context_create,
  proxy_on_vm_start,
  proxy_on_configure,
  proxy_on_tick,
  proxy_on_done,
  proxy_on_log,
  proxy_on_delete,
  proxy_on_request_headers,
  proxy_on_response_headers,
  proxy_on_response_body,
  proxy_on_response_trailers,
} from "./dispatch";
