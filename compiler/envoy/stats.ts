/**
 * stats_config: tag the filter's metrics by destination service and endpoint
 * (docs/design.md "Metrics"). Envoy removes the first capture group from the
 * name and uses the second as the tag value, so
 * `wasmcustom.lightsub.service.catalog.endpoint.catalog-1_9090.rq_total` becomes
 * `wasmcustom.lightsub.rq_total{service="catalog",endpoint="catalog-1_9090"}`.
 */
import type { JsonObject } from "./json.js";

export const STATS_TAGS = [
  { tag_name: "service", regex: "^wasmcustom\\.lightsub\\.(service\\.([^.]+)\\.)" },
  { tag_name: "endpoint", regex: "^wasmcustom\\.lightsub\\.service\\.[^.]+\\.(endpoint\\.([^.]+)\\.)" },
] as const;

export function statsConfig(): JsonObject {
  return {
    stats_tags: STATS_TAGS.map((t) => ({ tag_name: t.tag_name, regex: t.regex })),
    use_all_default_tags: true,
  };
}

/**
 * With mTLS (spec.security) every metric of a sidecar also carries the
 * identity of the service it serves: the filter's metrics are about this
 * service's calls, so `caller` names the caller of each counted request,
 * e.g. `lightsub_rq_total{service="catalog",endpoint="…",caller="spiffe://shop/svc/frontend"}`.
 */
export function statsConfigWithCaller(callerId: string): JsonObject {
  const config = statsConfig();
  (config.stats_tags as JsonObject[]).push({ tag_name: CALLER_TAG, fixed_value: callerId });
  return config;
}

export const CALLER_TAG = "caller";
