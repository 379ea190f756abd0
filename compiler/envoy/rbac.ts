/**
 * Inbound authorization (policy `spec.security`, issue 17): an RBAC HTTP
 * filter that allows exactly the principals the graph allows (the services
 * that list this one in `calls`, then `allow` extras) and answers 403 to
 * everyone else, before the request reaches the app.
 *
 * Denials are counted per caller identity: shadow rules (never enforced)
 * name every other service of the mesh, and `track_per_rule_stats` counts
 * each one that matches (`http.inbound.rbac.lightsub_shadow_caller.<service>...`
 * see docs); the enforcing rules' own counters give the total. An access log
 * line per denied request names the caller's URI SAN too.
 */
import { spiffeId, type MeshModel, type ServiceModel } from "../model/mesh.js";
import type { JsonObject } from "./json.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";

/** The policy name of the allowed callers, and the stat prefixes. */
const ALLOWED_POLICY = "mesh-callers";
const RBAC_STAT_PREFIX = "lightsub";
const DENIED_CALLER_PREFIX = "denied-caller.";
/** Beyond this many other services, denials are counted in total only (the shadow rules would outgrow the config). */
const MAX_COUNTED_CALLERS = 256;

/** The RBAC filter of `service`'s inbound listener. */
export function rbacFilter(model: MeshModel, service: ServiceModel): JsonObject {
  const security = model.security!;
  const allowed = service.authz?.principals ?? [];
  const policies: JsonObject = {};
  if (allowed.length > 0) {
    policies[ALLOWED_POLICY] = {
      permissions: [{ any: true }],
      principals: allowed.map((id) => ({ authenticated: { principal_name: { exact: id } } })),
    };
  }
  const config: JsonObject = {
    "@type": TYPE_URL.rbac,
    // No policy with action ALLOW denies every request.
    rules: { action: "ALLOW", policies },
    rules_stat_prefix: RBAC_STAT_PREFIX,
  };
  const allowedSet = new Set(allowed);
  const others = model.services.map((s) => s.name).filter((name) => name !== service.name && !allowedSet.has(spiffeId(security.trustDomain, name)));
  if (others.length > 0 && others.length <= MAX_COUNTED_CALLERS) {
    const shadow: JsonObject = {};
    for (const name of others) {
      shadow[`${DENIED_CALLER_PREFIX}${name}`] = {
        permissions: [{ any: true }],
        principals: [{ authenticated: { principal_name: { exact: spiffeId(security.trustDomain, name) } } }],
      };
    }
    config.shadow_rules = { action: "DENY", policies: shadow };
    config.shadow_rules_stat_prefix = RBAC_STAT_PREFIX;
    config.track_per_rule_stats = true;
  }
  return { name: EXTENSION_NAME.rbac, typed_config: config };
}

/** Access log of the inbound listener: one line per request the RBAC filter denied, with the caller's identity. */
export function deniedAccessLog(): JsonObject {
  return {
    name: EXTENSION_NAME.stderrAccessLog,
    filter: { status_code_filter: { comparison: { op: "EQ", value: { default_value: 403, runtime_key: "lightsub.denied_log_status" } } } },
    typed_config: {
      "@type": TYPE_URL.stderrAccessLog,
      log_format: {
        text_format_source: {
          inline_string: "[lightsub] denied caller=%DOWNSTREAM_PEER_URI_SAN% peer=%DOWNSTREAM_REMOTE_ADDRESS% %REQ(:METHOD)% %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_CODE_DETAILS%\n",
        },
      },
    },
  };
}
