/**
 * Route configurations. Outbound (per called service C): one virtual host with
 * exactly the two routes of docs/design.md — `C/scheduled` sends a request
 * carrying the filter's scheduling header (SCHEDULING_HEADER) to that endpoint cluster (the
 * header may only name one of C's own endpoint clusters), `C/fallback` sends
 * everything else to the aggregate cluster `C` with Envoy's native LB.
 */
import {
  LOCAL_APP_CLUSTER,
  type HashOn,
  type RetriesModel,
  type ServiceModel,
} from "../model/mesh.js";
import { STRATEGY_TABLE } from "../model/strategies.js";
import { SCHEDULING_HEADER } from "../../schemas/wire.js";
import { duration } from "./duration.js";
import { put, type JsonObject } from "./json.js";
import { INBOUND_LISTENER, fallbackRouteName, outboundListenerName, scheduledRouteName } from "./names.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";
import { hasFailover } from "./failover.js";

/** How often Envoy may re-pick a host for a fallback retry to avoid the hosts already tried. */
const HOST_SELECTION_RETRY_MAX_ATTEMPTS = 3;

export function outboundRouteConfig(callee: ServiceModel): JsonObject {
  const scheduledAction: JsonObject = { cluster_header: SCHEDULING_HEADER };
  putCallPolicy(scheduledAction, callee, hasFailover(callee) ? "failover" : "oneHost");
  const scheduled: JsonObject = {
    name: scheduledRouteName(callee.name),
    match: {
      prefix: "/",
      headers: [{ name: SCHEDULING_HEADER, string_match: { safe_regex: { regex: endpointClusterRegex(callee) } } }],
    },
    route: scheduledAction,
  };
  const fallbackAction: JsonObject = { cluster: callee.name };
  putCallPolicy(fallbackAction, callee, "manyHosts");
  put(fallbackAction, "hash_policy", hashPolicy(callee));
  const fallback: JsonObject = { name: fallbackRouteName(callee.name), match: { prefix: "/" }, route: fallbackAction };
  return {
    name: outboundListenerName(callee.name),
    virtual_hosts: [
      {
        name: callee.name,
        domains: ["*"],
        routes: [scheduled, fallback],
        request_headers_to_remove: [SCHEDULING_HEADER],
      },
    ],
  };
}

/**
 * Inbound: everything to the local app. No route timeout (`0s`): the caller's
 * sidecar enforces the connector's timeout, a second limit here would only cut
 * long calls (e.g. gRPC streams) at Envoy's 15 s default.
 */
export function inboundRouteConfig(service: ServiceModel): JsonObject {
  return {
    name: INBOUND_LISTENER,
    virtual_hosts: [
      {
        name: service.name,
        domains: ["*"],
        routes: [{ name: `${service.name}/inbound`, match: { prefix: "/" }, route: { cluster: LOCAL_APP_CLUSTER, timeout: "0s" } }],
        request_headers_to_remove: [SCHEDULING_HEADER],
      },
    ],
  };
}

/** `^(?:C_ep0|C_ep1|…)$`: the header may select only C's own endpoint clusters. */
function endpointClusterRegex(callee: ServiceModel): string {
  return `^(?:${callee.endpoints.map((ep) => escapeRegex(ep.cluster)).join("|")})$`;
}

function escapeRegex(literal: string): string {
  return literal.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * What a retry can reach on a route: `manyHosts` (the aggregate cluster),
 * `failover` (endpoint clusters with failover endpoints at priority 1,
 * failover.ts) or `oneHost` (endpoint clusters of one host).
 */
type RouteTargets = "manyHosts" | "failover" | "oneHost";

/** The connector's timeout and retry policy, on both routes. */
function putCallPolicy(action: JsonObject, callee: ServiceModel, targets: RouteTargets): void {
  const { timeoutMs, retries } = callee.connector;
  if (timeoutMs !== undefined) action.timeout = duration(timeoutMs);
  if (retries) action.retry_policy = retryPolicy(retries, targets);
}

/** `num_retries` = `attempts` (retries after the first try, as Istio's `attempts`). */
function retryPolicy(retries: RetriesModel, targets: RouteTargets): JsonObject {
  const policy: JsonObject = { retry_on: retries.on.join(","), num_retries: retries.attempts };
  if (retries.perTryTimeoutMs !== undefined) policy.per_try_timeout = duration(retries.perTryTimeoutMs);
  if (retries.statusCodes !== undefined) policy.retriable_status_codes = [...retries.statusCodes];
  if (targets === "failover") {
    // A retry leaves the priorities already tried: the scheduled endpoint is
    // priority 0, so the first retry goes to its failover endpoints.
    policy.retry_priority = {
      name: EXTENSION_NAME.previousPriorities,
      typed_config: { "@type": TYPE_URL.previousPriorities, update_frequency: 1 },
    };
  }
  if (targets !== "oneHost") {
    // A retry should try another host than the ones already tried.
    policy.retry_host_predicate = [
      { name: EXTENSION_NAME.previousHosts, typed_config: { "@type": TYPE_URL.previousHostsPredicate } },
    ];
    policy.host_selection_retry_max_attempts = HOST_SELECTION_RETRY_MAX_ATTEMPTS;
  }
  return policy;
}

/** RING_HASH needs a hash key: the same source the filter's consistent_hash uses. */
function hashPolicy(callee: ServiceModel): JsonObject[] | undefined {
  const { strategy, hashOn } = callee.scheduler;
  if (!STRATEGY_TABLE[strategy].hashKey || !hashOn) return undefined;
  return [hashPolicyOf(hashOn)];
}

function hashPolicyOf(hashOn: HashOn): JsonObject {
  switch (hashOn.kind) {
    case "header":
      return { header: { header_name: hashOn.name } };
    case "cookie":
      return { cookie: { name: hashOn.name } };
    case "path":
      // The path without its query string, as the filter hashes it.
      return { header: { header_name: ":path", regex_rewrite: { pattern: { regex: "\\?.*$" }, substitution: "" } } };
  }
}
