/**
 * `spec.security` in the compiler (issue 17): the model (identities, who may
 * call whom), the Envoy resources (UpstreamTlsContext with the callee's SPIFFE
 * ID, DownstreamTlsContext requiring a client certificate, RBAC from the call
 * graph, file-based SDS with watched_directory), docker compose mounts, and
 * that `mtls: off` compiles exactly as a policy without `security`.
 * The same configs run on Envoy 1.40 in test/e2e/mesh-mtls.test.ts.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { Mesh } from "../../compiler/api.js";
import { compile } from "../../compiler/compile.js";
import { sidecarBootstrap } from "../../compiler/envoy/index.js";
import { CA_SECRET, IDENTITY_SECRET, sdsResourceFiles } from "../../compiler/envoy/tls.js";
import { CERTS_DIR_IN_CONTAINER, type MeshModel } from "../../compiler/model/mesh.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { loadEnvoyValidator } from "../../compiler/validate/index.js";

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SECURE = readFileSync(new URL("../fixtures/mesh/secure.yaml", import.meta.url), "utf8");

function model(text: string): MeshModel {
  const { model: m, diagnostics } = checkPolicy(text, "p.yaml");
  if (!m) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  return m;
}

function withSecurity(text: string, security: string): string {
  return text.replace(/^spec:\n/m, `spec:\n  security: ${security}\n`);
}

const listener = (b: J, name: string): J => b.static_resources.listeners.find((l: J) => l.name === name);
const clusters = (b: J): J[] => b.static_resources.clusters;
const hcm = (chain: J): J => chain.filters[0].typed_config;

describe("spec.security in the model", () => {
  it("gives each service the SPIFFE IDs of its callers in the graph plus its allow extras; trust domain defaults to the mesh name", () => {
    const m = model(SECURE);
    expect(m.security).toEqual({ mtls: "strict", trustDomain: "secure.test" });
    const authz = Object.fromEntries(m.services.map((s) => [s.name, s.authz]));
    expect(authz["ledger"]).toEqual({ public: false, principals: ["spiffe://secure.test/svc/api", "spiffe://secure.test/svc/web"] });
    expect(authz["api"]).toEqual({ public: false, principals: ["spiffe://secure.test/svc/reports", "spiffe://secure.test/svc/web"] });
    expect(authz["web"]).toEqual({ public: true, principals: [] });

    const shop = model(
      withSecurity(readFileSync(new URL("../../examples/shop.yaml", import.meta.url), "utf8"), "{}").replace(
        /(- name: catalog\n)/,
        '$1      allow: [{ principal: "spiffe://ops/prometheus" }]\n',
      ),
    );
    expect(shop.security).toEqual({ mtls: "strict", trustDomain: shop.name });
    const catalog = shop.services.find((s) => s.name === "catalog")!;
    expect(catalog.authz!.principals).toContain("spiffe://ops/prometheus");
    expect(catalog.authz!.principals).toContain(`spiffe://${shop.name}/svc/frontend`);
  });

  it("has no security and no authz without the section or with mtls off", () => {
    const text = readFileSync(new URL("../../examples/bookstore.yaml", import.meta.url), "utf8");
    for (const t of [text, withSecurity(text, "{ mtls: off }")]) {
      const m = model(t);
      expect(m.security).toBeUndefined();
      expect(m.services.every((s) => s.authz === undefined)).toBe(true);
    }
  });
});

describe("builder API", () => {
  it("setSecurity and a service's allow/public give the same model as a policy file", () => {
    const { model: m, diagnostics } = new Mesh("shop")
      .setSecurity({ mtls: "strict", trustDomain: "shop.example" })
      .addService({ name: "frontend", port: 8080, public: true, endpoints: [{ address: "frontend", port: 15006 }], calls: ["catalog"] })
      .addService({ name: "catalog", port: 9090, endpoints: [{ address: "catalog-1", port: 15006 }], allow: [{ principal: "spiffe://ops/prom" }] })
      .toModel();
    expect(diagnostics).toEqual([]);
    expect(m!.security).toEqual({ mtls: "strict", trustDomain: "shop.example" });
    expect(m!.services[1]!.authz).toEqual({ public: false, principals: ["spiffe://ops/prom", "spiffe://shop.example/svc/frontend"] });
  });
});

describe("mtls: off", () => {
  it("compiles every file byte for byte as the same policy without security", async () => {
    for (const example of ["bookstore.yaml", "shop.yaml"]) {
      const text = readFileSync(new URL(`../../examples/${example}`, import.meta.url), "utf8");
      const plain = await compile(text, example, { withoutWasm: true });
      const off = await compile(withSecurity(text, "{ mtls: off, trustDomain: example.org }"), example, { withoutWasm: true });
      expect(off.diagnostics).toEqual(plain.diagnostics);
      expect([...off.files!.keys()]).toEqual([...plain.files!.keys()]);
      for (const [name, content] of plain.files!) expect(off.files!.get(name), name).toEqual(content);
      expect([...plain.files!.values()].join("")).not.toMatch(/transport_socket|rbac|certs/);
    }
  });
});

describe("Envoy config of a strict mesh", () => {
  const m = model(SECURE);
  const boot = (service: string): J => sidecarBootstrap(m, service) as J;

  it("every cluster towards a callee presents this sidecar's identity over SDS and accepts only the callee's SPIFFE ID", () => {
    for (const caller of m.services) {
      const b = boot(caller.name);
      for (const call of caller.calls) {
        const towards = clusters(b).filter((c) => c.name === call.service || c.name.startsWith(`${call.service}_ep`));
        expect(towards.length).toBe(m.services.find((s) => s.name === call.service)!.endpoints.length + 1);
        for (const c of towards) {
          const tls = c.transport_socket.typed_config;
          expect(tls["@type"]).toBe("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext");
          const common = tls.common_tls_context;
          expect(common.tls_certificate_sds_secret_configs.map((s: J) => s.name)).toEqual([IDENTITY_SECRET]);
          expect(common.combined_validation_context.default_validation_context.match_typed_subject_alt_names).toEqual([
            { san_type: "URI", matcher: { exact: `spiffe://secure.test/svc/${call.service}` } },
          ]);
          expect(common.combined_validation_context.validation_context_sds_secret_config.name).toBe(CA_SECRET);
          expect(common.alpn_protocols).toEqual(call.service === "api" ? ["h2"] : ["http/1.1"]);
          const sds = common.tls_certificate_sds_secret_configs[0].sds_config.path_config_source;
          expect(sds).toEqual({ path: `${CERTS_DIR_IN_CONTAINER}/identity.yaml`, watched_directory: { path: CERTS_DIR_IN_CONTAINER } });
        }
      }
      // The app next to the sidecar is reached over loopback in plaintext.
      expect(clusters(b).find((c) => c.name === "local_app")!.transport_socket).toBeUndefined();
    }
  });

  it("a non-public inbound listener has one TLS chain requiring a client certificate, and RBAC allows exactly the graph's callers", () => {
    const inbound = listener(boot("ledger"), "inbound");
    expect(inbound.listener_filters).toBeUndefined();
    expect(inbound.filter_chains).toHaveLength(1);
    const chain = inbound.filter_chains[0];
    expect(chain.transport_socket.typed_config.require_client_certificate).toBe(true);
    expect(chain.transport_socket.typed_config.common_tls_context.alpn_protocols).toEqual(["h2", "http/1.1"]);
    const filters = hcm(chain).http_filters;
    expect(filters.map((f: J) => f.name)).toEqual(["envoy.filters.http.rbac", "envoy.filters.http.router"]);
    const rules = filters[0].typed_config.rules;
    expect(rules.action).toBe("ALLOW");
    expect(Object.keys(rules.policies)).toEqual(["mesh-callers"]);
    expect(rules.policies["mesh-callers"].principals.map((p: J) => p.authenticated.principal_name.exact)).toEqual([
      "spiffe://secure.test/svc/api",
      "spiffe://secure.test/svc/web",
    ]);
    // Denials per caller: one shadow rule for each other service of the mesh.
    expect(Object.keys(filters[0].typed_config.shadow_rules.policies).sort()).toEqual(["denied-caller.audit", "denied-caller.reports"]);
    expect(hcm(chain).forward_client_cert_details).toBe("SANITIZE_SET");
  });

  it("a service no one may call denies everything; a public one takes plaintext and any mesh caller", () => {
    const noCallers = model(withSecurity("apiVersion: lightsub/v1\nkind: Mesh\nmetadata: { name: m }\nspec:\n  services:\n    - { name: a, port: 1, endpoints: [{ address: a, port: 2 }] }\n", "{}"));
    const rbac = hcm(listener(sidecarBootstrap(noCallers, "a") as J, "inbound").filter_chains[0]).http_filters[0].typed_config;
    expect(rbac.rules).toEqual({ action: "ALLOW", policies: {} });

    const web = listener(boot("web"), "inbound");
    expect(web.listener_filters.map((f: J) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
    expect(web.filter_chains.map((c: J) => c.filter_chain_match.transport_protocol)).toEqual(["tls", "raw_buffer"]);
    for (const chain of web.filter_chains) expect(hcm(chain).http_filters.map((f: J) => f.name)).toEqual(["envoy.filters.http.router"]);
    expect(web.filter_chains[1].transport_socket).toBeUndefined();
  });

  it("permissive: a TLS chain with RBAC and a plaintext chain without", () => {
    const p = model(withSecurity(SECURE.replace(/  security: .*\n/, ""), "{ mtls: permissive }"));
    const inbound = listener(sidecarBootstrap(p, "ledger") as J, "inbound");
    const [tls, plain] = inbound.filter_chains;
    expect(tls.filter_chain_match.transport_protocol).toBe("tls");
    expect(hcm(tls).http_filters[0].name).toBe("envoy.filters.http.rbac");
    expect(plain.filter_chain_match.transport_protocol).toBe("raw_buffer");
    expect(hcm(plain).http_filters.map((f: J) => f.name)).toEqual(["envoy.filters.http.router"]);
  });

  it("passes Envoy's API check, and so do the SDS resources lightsub certs writes", async () => {
    const validator = await loadEnvoyValidator();
    for (const s of m.services) expect(validator.validateBootstrap(boot(s.name)), s.name).toEqual([]);
    for (const [file, content] of Object.entries(sdsResourceFiles())) {
      const resources = (content as J).resources as J[];
      expect(resources).toHaveLength(1);
      const { "@type": type, ...secret } = resources[0]!;
      expect(type).toBe("type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret");
      expect(validator.validateMessage("envoy.extensions.transport_sockets.tls.v3.Secret", secret), file).toEqual([]);
      expect(JSON.stringify(secret)).toContain(`"watched_directory":{"path":"${CERTS_DIR_IN_CONTAINER}"}`);
    }
  });

  it("docker compose mounts each sidecar's own certificate directory read-only, never the CA's", async () => {
    // Default: ../<mesh name>-certs (beside the output directory, which compile replaces whole); or where --certs says.
    for (const [options, dir] of [[{}, "../secure-certs"], [{ certsDir: "../../keys/secure" }, "../../keys/secure"]] as const) {
      const out = await compile(SECURE, "secure.yaml", { withoutWasm: true, ...options });
      const compose = parse(out.files!.get("docker-compose.yaml") as string) as J;
      for (const [name, svc] of Object.entries(compose.services as Record<string, J>)) {
        const service = svc.labels["lightsub.service"];
        expect(svc.volumes, name).toContain(`${dir}/${service}:${CERTS_DIR_IN_CONTAINER}:ro`);
        expect(svc.volumes.filter((v: string) => v.includes(CERTS_DIR_IN_CONTAINER)), name).toHaveLength(1);
        expect(svc.volumes.join(" "), name).not.toMatch(/\/ca:|\/ca\/|\.key/);
      }
    }
    const out = await compile(SECURE, "secure.yaml", { withoutWasm: true });
    const text = [...out.files!.values()].filter((v) => typeof v === "string").join("\n");
    expect(text).not.toMatch(/PRIVATE KEY|ca\.key/);
  });
});
