/**
 * Resource limits of the policy loader. They bound memory and time on hostile
 * or mistaken input; real meshes stay far below them. (The schema repeats the
 * service and endpoint limits as maxItems so editors show them too.)
 */

/** Largest policy file accepted, in bytes of UTF-8. */
export const MAX_FILE_BYTES = 16 * 1024 * 1024;
/** Services in one mesh. */
export const MAX_SERVICES = 20_000;
/**
 * Endpoints of one service: the filter schedules at most 256 endpoints per
 * destination (MAX_ENDPOINTS in filter/lightsub/config.ts) and Envoy 1.40
 * refuses a plugin configuration with more, so a larger service could never
 * be called (test/e2e/envoy-validate.test.ts compiles the largest one).
 */
export const MAX_ENDPOINTS_PER_SERVICE = 256;
/**
 * YAML alias expansion budget (the `yaml` package's maxAliasCount: alias uses
 * times the size of what they point to). Sharing a connector block among a few
 * hundred services fits; a "billion laughs" document does not.
 */
export const MAX_ALIAS_COUNT = 10_000;
/** Syntax errors reported from one file before giving up (later ones are usually consequences). */
export const MAX_SYNTAX_ERRORS = 20;
/**
 * Envoy clusters in all generated bootstraps together: every call adds the
 * called service's aggregate cluster and one cluster per endpoint to the
 * caller's sidecar (and an outbound listener whose plugin JSON lists those
 * endpoints). Output grows with calls × endpoints, not with file size: a 1 MB
 * policy where 200 services call each other asks for hundreds of MB. At this limit
 * a compile takes about 7 s, 800 MB of memory, and writes about 120 MB.
 */
export const MAX_MESH_CLUSTERS = 150_000;
