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
 * destination (MAX_ENDPOINTS in filter/lightsub/config/plugin.ts) and Envoy 1.40
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
 * Envoy clusters in one sidecar's bootstrap: every call adds the called
 * service's aggregate cluster and one cluster per endpoint (and an outbound
 * listener whose plugin JSON lists those endpoints). Each sidecar is its own
 * Envoy and the compiler generates, checks and writes one sidecar at a time,
 * so this bounds the memory of a compile and the size of one Envoy's config
 * (about 16 MB of YAML at the limit), whatever the size of the mesh.
 */
export const MAX_SIDECAR_CLUSTERS = 10_000;
/**
 * Envoy clusters in all generated bootstraps together. Not a memory bound
 * (compile streams sidecar by sidecar): it bounds what a small file can make
 * lightsub write, since output grows with calls × endpoints, not with the file
 * (400 services of 10 endpoints all calling each other is a 5 MB policy and
 * would be 2.9 GB of YAML). Each cluster is about 1.6 kB of output, so at this
 * limit a compile writes about 800 MB. A 10,000-service mesh with 3 endpoints
 * and 5 calls per service needs 200,000.
 */
export const MAX_MESH_CLUSTERS = 500_000;
