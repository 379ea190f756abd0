/**
 * compiler/validate on the corpus that test/e2e/envoy-validate.test.ts runs
 * through Envoy 1.40 (test/fixtures/envoy-bad/): here without Envoy, so the
 * check's side holds wherever the unit tests run. Each bad config is rejected
 * at its defect, each stricter/ config at its stated path, the originals pass.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { createEnvoyValidator } from "../../compiler/validate/index.js";
import { corpusHeader } from "../support/envoy-validate.js";

const DIR = join(import.meta.dirname, "..", "fixtures", "envoy-bad");
const validator = createEnvoyValidator();

function corpus(dir: string) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort()
    .map((f) => {
      const text = readFileSync(join(dir, f), "utf8");
      return { name: f, header: corpusHeader(text), errors: validator.validateBootstrap(parse(text)) };
    });
}

describe("compiler/validate on the Envoy parity corpus", () => {
  it.each(corpus(DIR).map((c) => [c.name, c] as const))("rejects %s at its defect", (_, c) => {
    expect(c.header.get("defect")).toBeTruthy();
    expect(c.errors.map((e) => e.path)).toContain(c.header.get("lightsub-path"));
  });

  it.each(corpus(join(DIR, "stricter")).map((c) => [c.name, c] as const))("rejects stricter/%s on purpose", (_, c) => {
    expect(c.header.get("why-stricter")).toBeTruthy();
    expect(c.errors.map((e) => e.path)).toContain(c.header.get("lightsub-path"));
  });

  it("accepts the originals the cases derive from", () => {
    const originals = corpus(join(DIR, "originals"));
    expect(originals.map((c) => c.name)).toEqual(["bookstore-frontend.yaml", "shop-frontend.yaml"]);
    for (const c of originals) expect(c.errors, c.name).toEqual([]);
  });
});

describe("checks added for Envoy parity", () => {
  const check = (type: string, value: unknown) => validator.validateMessage(type, value).map((e) => `${e.path}: ${e.message}`);

  it("applies PGV rules to unset scalars (their proto3 default), except with ignore_empty", () => {
    expect(check("envoy.config.core.v3.SocketAddress", { port_value: 80 })).toEqual([
      expect.stringMatching(/^address: missing field "address" .*must not be empty/),
    ]);
    // override_auto_sni_header: HTTP_HEADER_NAME with ignore_empty, so "" and unset pass, a bad name does not.
    const sni = (v?: string) => check("envoy.config.core.v3.UpstreamHttpProtocolOptions", v === undefined ? {} : { override_auto_sni_header: v });
    expect(sni()).toEqual([]);
    expect(sni("")).toEqual([]);
    expect(sni("bad header")[0]).toMatch(/^override_auto_sni_header: .*not a valid HTTP header name/);
  });

  it("compiles RE2 and std::regex fields with their engines", () => {
    const re2 = (regex: string) => check("envoy.type.matcher.v3.RegexMatcher", { regex });
    expect(re2("^(?:a|b)$")).toEqual([]);
    expect(re2("^(?:a|b$")[0]).toMatch(/^regex: .*not an RE2 regular expression: .*missing closing \)/);
    expect(re2("(?=a)b")[0]).toMatch(/not an RE2 regular expression/);
    expect(re2("(a)\\1")[0]).toMatch(/not an RE2 regular expression/);
    const tag = (regex: string) => check("envoy.config.metrics.v3.TagSpecifier", { tag_name: "t", regex });
    expect(tag("^a\\.((b)\\.)")).toEqual([]);
    expect(tag("^a\\.(b")[0]).toMatch(/^regex: .*not a std::regex/);
    expect(tag("(?<=a)b")[0]).toMatch(/lookbehind/);
  });

  it("takes only a config of the extension point's kind, judging a TypedStruct by the type it wraps", () => {
    const HTTP_FILTER = "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter";
    const router = { "@type": "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router" };
    const tcpProxy = { "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", stat_prefix: "x", cluster: "c" };
    const wrapped = (typeUrl: string, value = {}) => ({ "@type": "type.googleapis.com/xds.type.v3.TypedStruct", type_url: typeUrl, value });
    expect(check(HTTP_FILTER, { name: "r", typed_config: router })).toEqual([]);
    expect(check(HTTP_FILTER, { name: "r", typed_config: wrapped("type.googleapis.com/envoy.extensions.filters.http.router.v3.Router") })).toEqual([]);
    expect(check(HTTP_FILTER, { name: "t", typed_config: tcpProxy })).toEqual([expect.stringMatching(/^typed_config\.@type: .*TcpProxy is not an HTTP filter's config/)]);
    expect(check(HTTP_FILTER, { name: "t", typed_config: wrapped("type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy", { stat_prefix: "x", cluster: "c" }) })).toEqual([
      expect.stringMatching(/^typed_config\.@type: .*TcpProxy is not an HTTP filter's config/),
    ]);
    expect(check("envoy.config.listener.v3.Filter", { name: "r", typed_config: router })[0]).toMatch(/not a network filter's config/);
    const vm = (runtime: string) => check("envoy.extensions.wasm.v3.VmConfig", { runtime, code: { local: { filename: "/x.wasm" } } });
    expect(vm("envoy.wasm.runtime.v8")).toEqual([]);
    expect(vm("envoy.wasm.runtime.wasmtime")[0]).toMatch(/^runtime: Envoy 1\.40 has no Wasm runtime "envoy\.wasm\.runtime\.wasmtime"/);
  });
});
