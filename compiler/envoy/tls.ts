/**
 * Mutual TLS between sidecars (policy `spec.security`, issue 17): the
 * transport sockets of the callee clusters (UpstreamTlsContext: present this
 * service's certificate, accept only the callee's SPIFFE ID) and of the
 * inbound listener (DownstreamTlsContext: a client certificate from the mesh
 * CA is required).
 *
 * Certificates come through file-based SDS from the directory `lightsub certs`
 * writes and docker compose mounts read-only at CERTS_DIR_IN_CONTAINER:
 *
 *   identity.yaml, ca.yaml      the SDS resources (Secret) Envoy reads
 *   cert.pem, key.pem, ca.pem   symlinks into ..data/
 *   ..data → ..<timestamp>/     swapped atomically by `lightsub certs --rotate`
 *
 * Envoy watches the directory (`watched_directory`) for that move and reloads
 * the certificate and key together, without a restart and without dropping a
 * connection (existing connections keep their handshake).
 */
import { CERTS_DIR_IN_CONTAINER, spiffeId, type Protocol, type SecurityModel } from "../model/mesh.js";
import { deepFreeze } from "./freeze.js";
import type { JsonObject } from "./json.js";
import { EXTENSION_NAME, TYPE_URL } from "./type-urls.js";

/** Names of the two SDS secrets and the files (in the certificate directory) that hold them. */
export const IDENTITY_SECRET = "lightsub_identity";
export const CA_SECRET = "lightsub_mesh_ca";
const SDS_FILES = { identity: "identity.yaml", ca: "ca.yaml" } as const;
export const CERT_FILES = { cert: "cert.pem", key: "key.pem", ca: "ca.pem" } as const;

/** The SDS resource files `lightsub certs` writes, as Envoy reads them (one Secret each). */
export function sdsResourceFiles(certsDir = CERTS_DIR_IN_CONTAINER): Record<string, JsonObject> {
  const watched = { path: certsDir };
  return {
    [SDS_FILES.identity]: {
      resources: [
        {
          "@type": TYPE_URL.tlsSecret,
          name: IDENTITY_SECRET,
          tls_certificate: {
            certificate_chain: { filename: `${certsDir}/${CERT_FILES.cert}` },
            private_key: { filename: `${certsDir}/${CERT_FILES.key}` },
            watched_directory: watched,
          },
        },
      ],
    },
    [SDS_FILES.ca]: {
      resources: [
        {
          "@type": TYPE_URL.tlsSecret,
          name: CA_SECRET,
          validation_context: { trusted_ca: { filename: `${certsDir}/${CERT_FILES.ca}` }, watched_directory: watched },
        },
      ],
    },
  };
}

function sdsSecretConfig(name: string, file: string): JsonObject {
  return {
    name,
    sds_config: {
      path_config_source: { path: `${CERTS_DIR_IN_CONTAINER}/${file}`, watched_directory: { path: CERTS_DIR_IN_CONTAINER } },
      resource_api_version: "V3",
    },
  };
}

const IDENTITY_SDS = deepFreeze([sdsSecretConfig(IDENTITY_SECRET, SDS_FILES.identity)]);
const CA_SDS = deepFreeze(sdsSecretConfig(CA_SECRET, SDS_FILES.ca));
// Both ends are lightsub sidecars: TLS 1.3 only.
const TLS_PARAMS = deepFreeze({ tls_minimum_protocol_version: "TLSv1_3", tls_maximum_protocol_version: "TLSv1_3" });

/** ALPN towards a callee: HTTP/2 for http2/grpc callees (the inbound side offers both). */
function upstreamAlpn(protocol: Protocol): string[] {
  return protocol === "http" ? ["http/1.1"] : ["h2"];
}

/**
 * The transport socket of every cluster towards `callee`: present this
 * sidecar's identity (whose it is depends only on the mounted files, so one
 * object serves every caller) and accept only the callee's SPIFFE ID.
 */
export function upstreamTransportSocket(security: SecurityModel, callee: string, protocol: Protocol): JsonObject {
  return {
    name: EXTENSION_NAME.tlsTransportSocket,
    typed_config: {
      "@type": TYPE_URL.upstreamTlsContext,
      common_tls_context: {
        tls_params: TLS_PARAMS,
        alpn_protocols: upstreamAlpn(protocol),
        tls_certificate_sds_secret_configs: IDENTITY_SDS,
        combined_validation_context: {
          default_validation_context: {
            match_typed_subject_alt_names: [{ san_type: "URI", matcher: { exact: spiffeId(security.trustDomain, callee) } }],
          },
          validation_context_sds_secret_config: CA_SDS,
        },
      },
    },
  };
}

/** The inbound listener's transport socket: TLS with a client certificate the mesh CA signed. */
export function downstreamTransportSocket(): JsonObject {
  return DOWNSTREAM_TLS;
}

const DOWNSTREAM_TLS: JsonObject = deepFreeze({
  name: EXTENSION_NAME.tlsTransportSocket,
  typed_config: {
    "@type": TYPE_URL.downstreamTlsContext,
    require_client_certificate: true,
    common_tls_context: {
      tls_params: TLS_PARAMS,
      alpn_protocols: ["h2", "http/1.1"],
      tls_certificate_sds_secret_configs: IDENTITY_SDS,
      validation_context_sds_secret_config: CA_SDS,
    },
  },
});

/** Sniffs TLS from plaintext on the inbound listener (permissive and public services). */
export const TLS_INSPECTOR: JsonObject = deepFreeze({
  name: EXTENSION_NAME.tlsInspector,
  typed_config: { "@type": TYPE_URL.tlsInspector },
});
