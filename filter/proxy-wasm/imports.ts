// Raw host functions of proxy-wasm ABI v0.2.1 (module "env").
//
// Every function returns a WasmResult (see enums.ts) unless noted. Pointers are
// offsets in this module's linear memory. "*Ptr" out-parameters are 4-byte slots
// the host writes a pointer or size into; buffers the host returns are allocated
// through our exported proxy_on_memory_allocate and must be freed by us
// (memory.ts does that). AssemblyScript only emits imports that are used, so
// declaring the whole ABI here costs nothing.

// ---- logging, status, time, ticks ------------------------------------------------
@external("env", "proxy_log")
export declare function proxy_log(level: i32, messagePtr: usize, messageSize: usize): u32;
@external("env", "proxy_get_log_level")
export declare function proxy_get_log_level(levelPtr: usize): u32;
@external("env", "proxy_get_status")
export declare function proxy_get_status(codePtr: usize, messagePtrPtr: usize, messageSizePtr: usize): u32;
@external("env", "proxy_get_current_time_nanoseconds")
export declare function proxy_get_current_time_nanoseconds(resultPtr: usize): u32;
@external("env", "proxy_set_tick_period_milliseconds")
export declare function proxy_set_tick_period_milliseconds(periodMs: u32): u32;

// ---- context lifecycle -----------------------------------------------------------
@external("env", "proxy_set_effective_context")
export declare function proxy_set_effective_context(contextId: u32): u32;
@external("env", "proxy_done")
export declare function proxy_done(): u32;

// ---- properties --------------------------------------------------------------------
@external("env", "proxy_get_property")
export declare function proxy_get_property(pathPtr: usize, pathSize: usize, valuePtrPtr: usize, valueSizePtr: usize): u32;
@external("env", "proxy_set_property")
export declare function proxy_set_property(pathPtr: usize, pathSize: usize, valuePtr: usize, valueSize: usize): u32;

// ---- HTTP stream control -------------------------------------------------------------
@external("env", "proxy_continue_stream")
export declare function proxy_continue_stream(streamType: i32): u32;
@external("env", "proxy_close_stream")
export declare function proxy_close_stream(streamType: i32): u32;
@external("env", "proxy_send_local_response")
export declare function proxy_send_local_response(
  statusCode: u32,
  detailsPtr: usize, detailsSize: usize,
  bodyPtr: usize, bodySize: usize,
  headersPtr: usize, headersSize: usize,
  grpcStatus: i32,
): u32;

// ---- header maps ---------------------------------------------------------------------
@external("env", "proxy_get_header_map_pairs")
export declare function proxy_get_header_map_pairs(mapType: i32, pairsPtrPtr: usize, pairsSizePtr: usize): u32;
@external("env", "proxy_set_header_map_pairs")
export declare function proxy_set_header_map_pairs(mapType: i32, pairsPtr: usize, pairsSize: usize): u32;
@external("env", "proxy_get_header_map_size")
export declare function proxy_get_header_map_size(mapType: i32, sizePtr: usize): u32;
@external("env", "proxy_get_header_map_value")
export declare function proxy_get_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtrPtr: usize, valueSizePtr: usize): u32;
@external("env", "proxy_add_header_map_value")
export declare function proxy_add_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): u32;
@external("env", "proxy_replace_header_map_value")
export declare function proxy_replace_header_map_value(mapType: i32, keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize): u32;
@external("env", "proxy_remove_header_map_value")
export declare function proxy_remove_header_map_value(mapType: i32, keyPtr: usize, keySize: usize): u32;

// ---- buffers ---------------------------------------------------------------------------
@external("env", "proxy_get_buffer_bytes")
export declare function proxy_get_buffer_bytes(bufferType: i32, start: u32, length: u32, bytesPtrPtr: usize, bytesSizePtr: usize): u32;
@external("env", "proxy_get_buffer_status")
export declare function proxy_get_buffer_status(bufferType: i32, lengthPtr: usize, flagsPtr: usize): u32;
@external("env", "proxy_set_buffer_bytes")
export declare function proxy_set_buffer_bytes(bufferType: i32, start: u32, length: u32, bytesPtr: usize, bytesSize: usize): u32;

// ---- shared data and queues --------------------------------------------------------------
@external("env", "proxy_get_shared_data")
export declare function proxy_get_shared_data(keyPtr: usize, keySize: usize, valuePtrPtr: usize, valueSizePtr: usize, casPtr: usize): u32;
@external("env", "proxy_set_shared_data")
export declare function proxy_set_shared_data(keyPtr: usize, keySize: usize, valuePtr: usize, valueSize: usize, cas: u32): u32;
@external("env", "proxy_register_shared_queue")
export declare function proxy_register_shared_queue(namePtr: usize, nameSize: usize, tokenPtr: usize): u32;
@external("env", "proxy_resolve_shared_queue")
export declare function proxy_resolve_shared_queue(vmIdPtr: usize, vmIdSize: usize, namePtr: usize, nameSize: usize, tokenPtr: usize): u32;
@external("env", "proxy_dequeue_shared_queue")
export declare function proxy_dequeue_shared_queue(token: u32, dataPtrPtr: usize, dataSizePtr: usize): u32;
@external("env", "proxy_enqueue_shared_queue")
export declare function proxy_enqueue_shared_queue(token: u32, dataPtr: usize, dataSize: usize): u32;

// ---- metrics ------------------------------------------------------------------------------
@external("env", "proxy_define_metric")
export declare function proxy_define_metric(metricType: i32, namePtr: usize, nameSize: usize, metricIdPtr: usize): u32;
@external("env", "proxy_increment_metric")
export declare function proxy_increment_metric(metricId: u32, offset: i64): u32;
@external("env", "proxy_record_metric")
export declare function proxy_record_metric(metricId: u32, value: u64): u32;
@external("env", "proxy_get_metric")
export declare function proxy_get_metric(metricId: u32, resultPtr: usize): u32;

// ---- callouts -----------------------------------------------------------------------------
@external("env", "proxy_http_call")
export declare function proxy_http_call(
  uriPtr: usize, uriSize: usize,
  headerPairsPtr: usize, headerPairsSize: usize,
  bodyPtr: usize, bodySize: usize,
  trailerPairsPtr: usize, trailerPairsSize: usize,
  timeoutMs: u32, tokenPtr: usize,
): u32;
@external("env", "proxy_grpc_call")
export declare function proxy_grpc_call(
  servicePtr: usize, serviceSize: usize,
  serviceNamePtr: usize, serviceNameSize: usize,
  methodNamePtr: usize, methodNameSize: usize,
  initialMetadataPtr: usize, initialMetadataSize: usize,
  requestPtr: usize, requestSize: usize,
  timeoutMs: u32, tokenPtr: usize,
): u32;
@external("env", "proxy_grpc_stream")
export declare function proxy_grpc_stream(
  servicePtr: usize, serviceSize: usize,
  serviceNamePtr: usize, serviceNameSize: usize,
  methodNamePtr: usize, methodNameSize: usize,
  initialMetadataPtr: usize, initialMetadataSize: usize,
  tokenPtr: usize,
): u32;
@external("env", "proxy_grpc_send")
export declare function proxy_grpc_send(token: u32, messagePtr: usize, messageSize: usize, endStream: u32): u32;
@external("env", "proxy_grpc_cancel")
export declare function proxy_grpc_cancel(token: u32): u32;
@external("env", "proxy_grpc_close")
export declare function proxy_grpc_close(token: u32): u32;

// ---- foreign functions ----------------------------------------------------------------------
@external("env", "proxy_call_foreign_function")
export declare function proxy_call_foreign_function(
  namePtr: usize, nameSize: usize,
  argumentsPtr: usize, argumentsSize: usize,
  resultsPtrPtr: usize, resultsSizePtr: usize,
): u32;
