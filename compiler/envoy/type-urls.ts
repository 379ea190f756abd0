/** `@type` URLs of the typed configs the generators write (all in Envoy's v3 API). */
const prefix = "type.googleapis.com/";

export const TYPE_URL = {
  httpConnectionManager: `${prefix}envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager`,
  router: `${prefix}envoy.extensions.filters.http.router.v3.Router`,
  wasm: `${prefix}envoy.extensions.filters.http.wasm.v3.Wasm`,
  stringValue: `${prefix}google.protobuf.StringValue`,
  earlyHeaderMutation: `${prefix}envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation`,
  upstreamHttpProtocolOptions: `${prefix}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
  previousHostsPredicate: `${prefix}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate`,
  upstreamTlsContext: `${prefix}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext`,
  downstreamTlsContext: `${prefix}envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext`,
  tlsSecret: `${prefix}envoy.extensions.transport_sockets.tls.v3.Secret`,
  tlsInspector: `${prefix}envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector`,
  rbac: `${prefix}envoy.extensions.filters.http.rbac.v3.RBAC`,
  stderrAccessLog: `${prefix}envoy.extensions.access_loggers.stream.v3.StderrAccessLog`,
  previousPriorities: `${prefix}envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig`,
} as const;

/** Extension names (the `name` next to a `typed_config`). */
export const EXTENSION_NAME = {
  httpConnectionManager: "envoy.filters.network.http_connection_manager",
  router: "envoy.filters.http.router",
  wasm: "envoy.filters.http.wasm",
  earlyHeaderMutation: "envoy.http.early_header_mutation.header_mutation",
  previousHosts: "envoy.retry_host_predicates.previous_hosts",
  previousPriorities: "envoy.retry_priorities.previous_priorities",
  /** Key of `typed_extension_protocol_options` for upstream HTTP options. */
  upstreamHttpProtocolOptions: "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
  tlsTransportSocket: "envoy.transport_sockets.tls",
  tlsInspector: "envoy.filters.listener.tls_inspector",
  rbac: "envoy.filters.http.rbac",
  stderrAccessLog: "envoy.access_loggers.stderr",
} as const;
