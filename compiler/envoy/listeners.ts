/**
 * Listeners of one sidecar: `inbound` on 0.0.0.0:meshPort → local app, and one
 * `outbound_C` per called service on 127.0.0.1:<call port>. Every HTTP
 * connection manager removes the scheduling header (SCHEDULING_HEADER) before route selection
 * (early header mutation), so a client can never steer a request.
 */
import type { CallModel, MeshModel, ServiceModel } from "../model/mesh.js";
import { SCHEDULING_HEADER } from "../../schemas/wire.js";
import { deniedAccessLog, rbacFilter } from "./rbac.js";
import { downstreamTransportSocket, TLS_INSPECTOR } from "./tls.js";
import { socketAddress } from "./address.js";
import type { JsonObject } from "./json.js";
import { deepFreeze } from "./freeze.js";
import { INBOUND_LISTENER, outboundListenerName } from "./names.js";
import { inboundRouteConfig } from "./routes.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";
import { routerFilter } from "./wasm.js";

const INBOUND_BIND_ADDRESS = "0.0.0.0";
const OUTBOUND_BIND_ADDRESS = "127.0.0.1";

// Shared by every sidecar (frozen).
const EARLY_HEADER_MUTATIONS: JsonObject[] = deepFreeze([
  {
    name: EXTENSION_NAME.earlyHeaderMutation,
    typed_config: { "@type": TYPE_URL.earlyHeaderMutation, mutations: [{ remove: SCHEDULING_HEADER }] },
  },
]);
const ROUTER_FILTER: JsonObject = deepFreeze(routerFilter());
const INBOUND_HTTP_FILTERS: JsonObject[] = deepFreeze([ROUTER_FILTER]);

export function inboundListener(service: ServiceModel): JsonObject {
  return {
    name: INBOUND_LISTENER,
    address: socketAddress(INBOUND_BIND_ADDRESS, service.meshPort),
    traffic_direction: "INBOUND",
    filter_chains: [
      { filters: [httpConnectionManager(INBOUND_LISTENER, inboundRouteConfig(service), INBOUND_HTTP_FILTERS)] },
    ],
  };
}

/**
 * The inbound listener of a mesh with `security` (tls.ts, rbac.ts): a TLS
 * filter chain that requires a client certificate from the mesh CA and
 * authorizes the caller's SPIFFE ID (RBAC, 403 otherwise; a public service
 * takes any mesh caller). Permissive meshes and public services add a
 * plaintext chain (chosen by the TLS inspector) without authorization.
 * The app gets the verified caller in x-forwarded-client-cert (URI only).
 */
export function secureInboundListener(model: MeshModel, service: ServiceModel): JsonObject {
  const isPublic = service.authz?.public === true;
  const tlsFilters = isPublic ? INBOUND_HTTP_FILTERS : [rbacFilter(model, service), ROUTER_FILTER];
  const tlsHcm = httpConnectionManager(INBOUND_LISTENER, inboundRouteConfig(service), tlsFilters);
  const tlsConfig = tlsHcm.typed_config as JsonObject;
  tlsConfig.forward_client_cert_details = "SANITIZE_SET";
  tlsConfig.set_current_client_cert_details = { uri: true };
  if (!isPublic) tlsConfig.access_log = [deniedAccessLog()];
  const tlsChain: JsonObject = { filters: [tlsHcm], transport_socket: downstreamTransportSocket() };
  const listener: JsonObject = {
    name: INBOUND_LISTENER,
    address: socketAddress(INBOUND_BIND_ADDRESS, service.meshPort),
    traffic_direction: "INBOUND",
  };
  if (model.security!.mtls === "strict" && !isPublic) {
    listener.filter_chains = [tlsChain];
    return listener;
  }
  listener.listener_filters = [TLS_INSPECTOR];
  listener.filter_chains = [
    { filter_chain_match: { transport_protocol: "tls" }, ...tlsChain },
    { filter_chain_match: { transport_protocol: "raw_buffer" }, filters: [httpConnectionManager(INBOUND_LISTENER, inboundRouteConfig(service), INBOUND_HTTP_FILTERS)] },
  ];
  return listener;
}

/**
 * `routeConfig` is the callee's outbound route config (routes.ts), `httpFilters`
 * the lightsub filter (wasm.ts) and the router (outboundHttpFilters),
 * `address` the listener's (outboundAddress); all may be shared objects.
 */
export function outboundListener(call: CallModel, routeConfig: JsonObject, httpFilters: JsonObject[], address: JsonObject): JsonObject {
  const name = outboundListenerName(call.service);
  return {
    name,
    address,
    traffic_direction: "OUTBOUND",
    filter_chains: [{ filters: [httpConnectionManager(name, routeConfig, httpFilters)] }],
  };
}

function httpConnectionManager(statPrefix: string, routeConfig: JsonObject, httpFilters: JsonObject[]): JsonObject {
  return {
    name: EXTENSION_NAME.httpConnectionManager,
    typed_config: {
      "@type": TYPE_URL.httpConnectionManager,
      stat_prefix: statPrefix,
      codec_type: "AUTO",
      early_header_mutation_extensions: EARLY_HEADER_MUTATIONS,
      route_config: routeConfig,
      http_filters: httpFilters,
    },
  };
}

/** The outbound HTTP filter chain: lightsub, then the router. */
export function outboundHttpFilters(lightsubFilter: JsonObject): JsonObject[] {
  return [lightsubFilter, ROUTER_FILTER];
}

/** 127.0.0.1:port of an outbound listener. */
export function outboundAddress(port: number): JsonObject {
  return socketAddress(OUTBOUND_BIND_ADDRESS, port);
}
