/**
 * Wasm-level function types of what Envoy provides (imports) and of the module
 * functions it calls (exports). proxy-wasm-cpp-host links a module only if every
 * import's type equals the host function's type, and fails the VM when a known
 * export has another type ("Bad function signature"). Types follow
 * proxy-wasm-cpp-host include/proxy-wasm/exports.h (Word = i32 on wasm32).
 */

export type ValType = "i32" | "i64" | "f32" | "f64" | "v128" | "funcref" | "externref";
export interface FuncType {
  params: ValType[];
  results: ValType[];
}

const I = "i32" as const;
const L = "i64" as const;

function fn(params: ValType[], results: ValType[] = [I]): FuncType {
  return { params, results };
}
function i32s(n: number, results: ValType[] = [I]): FuncType {
  return fn(new Array<ValType>(n).fill(I), results);
}

/** env.* host functions. */
export const ENV_IMPORT_TYPES: Record<string, FuncType> = {
  proxy_log: i32s(3),
  proxy_get_log_level: i32s(1),
  proxy_get_status: i32s(3),
  proxy_set_property: i32s(4),
  proxy_get_property: i32s(4),
  proxy_send_local_response: i32s(8),
  proxy_get_shared_data: i32s(5),
  proxy_set_shared_data: i32s(5),
  proxy_register_shared_queue: i32s(3),
  proxy_resolve_shared_queue: i32s(5),
  proxy_dequeue_shared_queue: i32s(3),
  proxy_enqueue_shared_queue: i32s(3),
  proxy_get_header_map_value: i32s(5),
  proxy_add_header_map_value: i32s(5),
  proxy_replace_header_map_value: i32s(5),
  proxy_remove_header_map_value: i32s(3),
  proxy_get_header_map_pairs: i32s(3),
  proxy_set_header_map_pairs: i32s(3),
  proxy_get_header_map_size: i32s(2),
  proxy_get_buffer_status: i32s(3),
  proxy_get_buffer_bytes: i32s(5),
  proxy_set_buffer_bytes: i32s(5),
  proxy_http_call: i32s(10),
  proxy_grpc_call: i32s(12),
  proxy_grpc_stream: i32s(9),
  proxy_grpc_close: i32s(1),
  proxy_grpc_cancel: i32s(1),
  proxy_grpc_send: i32s(4),
  proxy_set_tick_period_milliseconds: i32s(1),
  proxy_get_current_time_nanoseconds: i32s(1),
  proxy_define_metric: i32s(4),
  proxy_increment_metric: fn([I, L]),
  proxy_record_metric: fn([I, L]),
  proxy_get_metric: i32s(2),
  proxy_set_effective_context: i32s(1),
  proxy_done: i32s(0),
  proxy_call_foreign_function: i32s(6),
  proxy_continue_stream: i32s(1),
  proxy_close_stream: i32s(1),
  pthread_equal: i32s(2),
  emscripten_notify_memory_growth: i32s(1, []),
};

/** wasi_snapshot_preview1.* and wasi_unstable.* (same functions, same types). */
export const WASI_IMPORT_TYPES: Record<string, FuncType> = {
  args_get: i32s(2),
  args_sizes_get: i32s(2),
  clock_res_get: i32s(2),
  clock_time_get: fn([I, L, I]),
  environ_get: i32s(2),
  environ_sizes_get: i32s(2),
  fd_advise: fn([I, L, L, I]),
  fd_allocate: fn([I, L, L]),
  fd_close: i32s(1),
  fd_datasync: i32s(1),
  fd_fdstat_get: i32s(2),
  fd_fdstat_set_flags: i32s(2),
  fd_fdstat_set_rights: fn([I, L, L]),
  fd_filestat_get: i32s(2),
  fd_filestat_set_size: fn([I, L]),
  fd_filestat_set_times: fn([I, L, L, I]),
  fd_pread: fn([I, I, I, L, I]),
  fd_prestat_dir_name: i32s(3),
  fd_prestat_get: i32s(2),
  fd_pwrite: fn([I, I, I, L, I]),
  fd_read: i32s(4),
  fd_readdir: fn([I, I, I, L, I]),
  fd_renumber: i32s(2),
  fd_seek: fn([I, L, I, I]),
  fd_sync: i32s(1),
  fd_tell: i32s(2),
  fd_write: i32s(4),
  path_create_directory: i32s(3),
  path_filestat_get: i32s(5),
  path_filestat_set_times: fn([I, I, I, I, L, L, I]),
  // proxy-wasm-cpp-host declares these two with fewer parameters than WASI does;
  // Envoy links only modules that agree with its declaration.
  path_link: i32s(6),
  path_open: fn([I, I, I, I, I, L, L, I, I]),
  path_readlink: i32s(6),
  path_remove_directory: i32s(3),
  path_rename: i32s(6),
  path_symlink: i32s(4),
  path_unlink_file: i32s(3),
  poll_oneoff: i32s(4),
  proc_exit: i32s(1, []),
  random_get: i32s(2),
  sched_yield: i32s(0),
  sock_accept: i32s(3),
  sock_recv: i32s(6),
  sock_send: i32s(5),
  sock_shutdown: i32s(2),
};

/** Module exports Envoy calls, with the types it insists on (ABI 0.2.x). */
export const EXPORT_TYPES: Record<string, FuncType> = {
  _initialize: i32s(0, []),
  _start: i32s(0, []),
  main: i32s(2),
  __main_void: i32s(0),
  malloc: i32s(1),
  proxy_on_memory_allocate: i32s(1),
  proxy_on_context_create: i32s(2, []),
  proxy_on_vm_start: i32s(2),
  proxy_validate_configuration: i32s(2),
  proxy_on_configure: i32s(2),
  proxy_on_tick: i32s(1, []),
  proxy_on_foreign_function: i32s(3, []),
  proxy_on_queue_ready: i32s(2, []),
  proxy_on_new_connection: i32s(1),
  proxy_on_downstream_data: i32s(3),
  proxy_on_upstream_data: i32s(3),
  proxy_on_downstream_connection_close: i32s(2, []),
  proxy_on_upstream_connection_close: i32s(2, []),
  proxy_on_request_headers: i32s(3),
  proxy_on_request_body: i32s(3),
  proxy_on_request_trailers: i32s(2),
  proxy_on_request_metadata: i32s(2),
  proxy_on_response_headers: i32s(3),
  proxy_on_response_body: i32s(3),
  proxy_on_response_trailers: i32s(2),
  proxy_on_response_metadata: i32s(2),
  proxy_on_http_call_response: i32s(5, []),
  proxy_on_grpc_receive_initial_metadata: i32s(3, []),
  proxy_on_grpc_receive_trailing_metadata: i32s(3, []),
  proxy_on_grpc_receive: i32s(3, []),
  proxy_on_grpc_close: i32s(3, []),
  proxy_on_done: i32s(1),
  proxy_on_log: i32s(1, []),
  proxy_on_delete: i32s(1, []),
};

export function sameType(a: FuncType, b: FuncType): boolean {
  return (
    a.params.length === b.params.length &&
    a.results.length === b.results.length &&
    a.params.every((t, i) => t === b.params[i]) &&
    a.results.every((t, i) => t === b.results[i])
  );
}

export function formatType(t: FuncType): string {
  return `(${t.params.join(", ")}) -> (${t.results.join(", ")})`;
}
