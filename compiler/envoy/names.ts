/** Names of listeners, route configs and stat prefixes (docs/design.md "Cluster and route names"). */
export const INBOUND_LISTENER = "inbound";

export function outboundListenerName(calledService: string): string {
  return `outbound_${calledService}`;
}

export function scheduledRouteName(calledService: string): string {
  return `${calledService}/scheduled`;
}

export function fallbackRouteName(calledService: string): string {
  return `${calledService}/fallback`;
}

/** Envoy node id of a service's sidecars: every instance of a service runs the same config. */
export function sidecarNodeId(mesh: string, service: string): string {
  return `${mesh}/${service}`;
}
