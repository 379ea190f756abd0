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
