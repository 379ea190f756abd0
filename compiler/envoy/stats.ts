/**
 * stats_config: tag the filter's metrics by destination service and endpoint
 * (docs/design.md "Metrics"); the tags are part of the wire contract
 * (schemas/wire.ts STATS_TAGS).
 */
import type { JsonObject } from "./json.js";
import { STATS_TAGS } from "../../schemas/wire.js";

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

const CALLER_TAG = "caller";
