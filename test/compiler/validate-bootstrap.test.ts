/** compiler/validate: the strict check of bootstraps against Envoy's v3 protos. */
import { beforeAll, describe, expect, it } from "vitest";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import type { JsonObject } from "../../compiler/envoy/json.js";
import { loadEnvoyValidator, type EnvoyValidator, type ValidationError } from "../../compiler/validate/index.js";
import type { Node } from "../support/envoy-nav.js";
import { fiveServiceModel, strategyZooModel, twoServiceModel } from "../support/models.js";

let validator: EnvoyValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

/** A mutable deep copy (no shared sub-objects, like a config read from a file) of frontend's bootstrap in the two-service model. */
function frontend(): Node {
  return JSON.parse(JSON.stringify(sidecarBootstraps(twoServiceModel()).get("frontend")!));
}

// Positions in frontend(): listeners [inbound, outbound_catalog]; clusters [local_app, catalog, catalog_ep0, catalog_ep1].
const OUTBOUND = "static_resources.listeners[1]";
const OUTBOUND_HCM = `${OUTBOUND}.filter_chains[0].filters[0].typed_config`;
const CATALOG_ROUTES = `${OUTBOUND_HCM}.route_config.virtual_hosts[0].routes`;
const hcmOf = (b: Node) => b.static_resources.listeners[1].filter_chains[0].filters[0].typed_config;
const routesOf = (b: Node) => hcmOf(b).route_config.virtual_hosts[0].routes;

function only(errors: ValidationError[]): ValidationError {
  expect(errors).toHaveLength(1);
  return errors[0]!;
}

describe("generated bootstraps", () => {
  it.each([
    ["two-service", twoServiceModel],
    ["five-service", fiveServiceModel],
    ["strategy zoo", strategyZooModel],
  ])("of the %s model pass", (_, build) => {
    for (const [service, b] of sidecarBootstraps(build())) expect(validator.validateBootstrap(b), service).toEqual([]);
  });

  it("also pass as plain (unfrozen, JSON round-tripped) objects", () => {
    for (const b of sidecarBootstraps(fiveServiceModel()).values()) {
      expect(validator.validateBootstrap(JSON.parse(JSON.stringify(b)) as JsonObject)).toEqual([]);
    }
  });
});

describe("proto checks reject", () => {
  it("an unknown field, naming its path and the likely field", () => {
    const b = frontend();
    const od = b.static_resources.clusters[3].outlier_detection;
    od.max_ejection_pct = od.max_ejection_percent;
    delete od.max_ejection_percent;
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe("static_resources.clusters[3].outlier_detection.max_ejection_pct");
    expect(e.message).toMatch(/unknown field "max_ejection_pct" in envoy\.config\.cluster\.v3\.OutlierDetection/);
    expect(e.message).toMatch(/did you mean "max_ejection_percent"/);
  });

  it("an unknown top-level field", () => {
    const b = frontend();
    b.static_resource = {};
    expect(only(validator.validateBootstrap(b)).path).toBe("static_resource");
  });

  it("a bad enum name", () => {
    const b = frontend();
    b.static_resources.clusters[1].lb_policy = "ROUND_ROBINN";
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe("static_resources.clusters[1].lb_policy");
    expect(e.message).toMatch(/unknown value "ROUND_ROBINN" of enum envoy\.config\.cluster\.v3\.Cluster\.LbPolicy/);
  });

  it.each(["1.5", "1.5 s", "1m", "-s", "1.1234567891s", 2, true])("a malformed duration %j", (bad) => {
    const b = frontend();
    b.static_resources.clusters[2].connect_timeout = bad;
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe("static_resources.clusters[2].connect_timeout");
    expect(e.message).toMatch(/duration/);
  });

  it("a duration that breaks a PGV bound (connect_timeout must be > 0)", () => {
    const b = frontend();
    b.static_resources.clusters[2].connect_timeout = "0s";
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe("static_resources.clusters[2].connect_timeout");
    expect(e.message).toMatch(/> 0s/);
  });

  it("an unknown @type, at its path", () => {
    const b = frontend();
    b.static_resources.listeners[1].filter_chains[0].filters[0].typed_config["@type"] =
      "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManagr";
    const errors = validator.validateBootstrap(b);
    expect(errors.find((e) => e.path === `${OUTBOUND_HCM}.@type`)?.message).toMatch(/unknown type URL .*HttpConnectionManagr/);
  });

  it("errors inside an Any, checked as the message its @type names", () => {
    const b = frontend();
    const wasm = hcmOf(b).http_filters[0].typed_config;
    wasm.config.vm_config.vm_idd = "x";
    wasm.config.failure_policy = "FAIL_SOMETIMES";
    const errors = validator.validateBootstrap(b);
    expect(errors.map((e) => e.path).sort()).toEqual([
      `${OUTBOUND_HCM}.http_filters[0].typed_config.config.failure_policy`,
      `${OUTBOUND_HCM}.http_filters[0].typed_config.config.vm_config.vm_idd`,
    ]);
  });

  it("knows the Wasm failure_policy of Envoy >= 1.33 (protos-extra): its enum values, and fail_open as deprecated", () => {
    const config = (b: Node) => hcmOf(b).http_filters[0].typed_config.config;
    const at = `${OUTBOUND_HCM}.http_filters[0].typed_config.config`;
    for (const good of ["FAIL_OPEN", "FAIL_CLOSED", "FAIL_RELOAD", 3]) {
      const b = frontend();
      config(b).failure_policy = good;
      expect(validator.validateBootstrap(b), String(good)).toEqual([]);
    }
    const bad = frontend();
    config(bad).failure_policy = "FAIL_OPENED";
    expect(validator.validateBootstrap(bad)).toEqual([
      { path: `${at}.failure_policy`, message: expect.stringMatching(/unknown value "FAIL_OPENED" of enum .*FailurePolicy \(one of UNSPECIFIED, FAIL_RELOAD, FAIL_CLOSED, FAIL_OPEN\)/) },
    ]);
    const numeric = frontend();
    config(numeric).failure_policy = 4;
    expect(validator.validateBootstrap(numeric).map((e) => e.path)).toEqual([`${at}.failure_policy`]);
    const old = frontend();
    delete config(old).failure_policy;
    config(old).fail_open = true;
    expect(validator.validateBootstrap(old)).toEqual([{ path: `${at}.fail_open`, message: expect.stringMatching(/deprecated/) }]);
  });

  it("an Any of a well-known type without its value, or with other fields", () => {
    const b = frontend();
    const configuration = hcmOf(b).http_filters[0].typed_config.config.configuration;
    delete configuration.value;
    configuration.text = "{}";
    const paths = validator.validateBootstrap(b).map((e) => e.path).sort();
    const base = `${OUTBOUND_HCM}.http_filters[0].typed_config.config.configuration`;
    expect(paths).toEqual([`${base}.text`, `${base}.value`]);
  });

  it("two members of one oneof", () => {
    const b = frontend();
    routesOf(b)[0].route.cluster = "catalog";
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe(`${CATALOG_ROUTES}[0].route.cluster`);
    expect(e.message).toMatch(/"cluster_header" and "cluster" are both set.*oneof "cluster_specifier"/);
  });

  it.each([
    ["a string for a number", "port_value", "9090"],
    ["a negative uint32", "port_value", -1],
    ["a fraction", "port_value", 90.5],
    ["a number for a string", "address", 127001],
  ])("a wrong scalar type: %s", (_, field, value) => {
    const b = frontend();
    b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address[field] = value;
    const errors = validator.validateBootstrap(b);
    const path = `static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.${field}`;
    // "9090" is a valid proto3 JSON uint32 (integers may be quoted): only the others fail.
    if (value === "9090") expect(errors).toEqual([]);
    else expect(only(errors).path).toBe(path);
  });

  it("wrong types for wrappers, booleans, lists and maps", () => {
    const b = frontend();
    routesOf(b)[1].route.retry_policy.num_retries = "two";
    b.stats_config.use_all_default_tags = "true";
    hcmOf(b).route_config.virtual_hosts[0].domains = "*";
    b.static_resources.clusters[1].typed_extension_protocol_options = [];
    const paths = validator.validateBootstrap(b).map((e) => e.path).sort();
    expect(paths).toEqual(
      [
        `${CATALOG_ROUTES}[1].route.retry_policy.num_retries`,
        "stats_config.use_all_default_tags",
        `${OUTBOUND_HCM}.route_config.virtual_hosts[0].domains`,
        "static_resources.clusters[1].typed_extension_protocol_options",
      ].sort(),
    );
  });

  it("wrappers take the plain value, not an object", () => {
    const b = frontend();
    routesOf(b)[1].route.retry_policy.num_retries = { value: 2 };
    expect(only(validator.validateBootstrap(b)).path).toBe(`${CATALOG_ROUTES}[1].route.retry_policy.num_retries`);
  });

  it("a missing required field", () => {
    const b = frontend();
    delete b.static_resources.clusters[1].health_checks[0].interval;
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe("static_resources.clusters[1].health_checks[0].interval");
    expect(e.message).toMatch(/missing required field "interval"/);

    const b2 = frontend();
    delete routesOf(b2)[1].match;
    expect(only(validator.validateBootstrap(b2)).path).toBe(`${CATALOG_ROUTES}[1].match`);
  });

  it("a required oneof with no member (a health check without a checker)", () => {
    const b = frontend();
    delete b.static_resources.clusters[1].health_checks[0].http_health_check;
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe("static_resources.clusters[1].health_checks[0]");
    expect(e.message).toMatch(/needs one of "http_health_check"/);
  });

  it("PGV rules: numeric bounds, string lengths, list sizes, header names", () => {
    const b = frontend();
    b.static_resources.clusters[1].outlier_detection.max_ejection_percent = 150;
    b.static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 70000;
    hcmOf(b).stat_prefix = "";
    hcmOf(b).route_config.virtual_hosts[0].domains = [];
    hcmOf(b).route_config.virtual_hosts[0].request_headers_to_remove = ["bad header\n"];
    const errors = validator.validateBootstrap(b);
    const byPath = new Map(errors.map((e) => [e.path, e.message]));
    expect(byPath.get("static_resources.clusters[1].outlier_detection.max_ejection_percent")).toMatch(/150 must be ≤ 100/);
    expect(byPath.get("static_resources.clusters[0].load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value")).toMatch(/≤ 65535/);
    expect(byPath.get(`${OUTBOUND_HCM}.stat_prefix`)).toMatch(/must not be empty/);
    expect(byPath.get(`${OUTBOUND_HCM}.route_config.virtual_hosts[0].domains`)).toMatch(/at least 1 item/);
    expect(byPath.get(`${OUTBOUND_HCM}.route_config.virtual_hosts[0].request_headers_to_remove[0]`)).toMatch(/header name/);
    expect(errors).toHaveLength(5);
  });

  it("deprecated fields", () => {
    const b = frontend();
    const header = routesOf(b)[0].match.headers[0];
    delete header.string_match;
    header.safe_regex_match = { regex: "^x$" };
    const errors = validator.validateBootstrap(b);
    expect(errors.find((e) => e.path === `${CATALOG_ROUTES}[0].match.headers[0].safe_regex_match`)?.message).toMatch(/deprecated/);
  });

  it("accepts proto3 JSON camelCase names like Envoy, but not a field set twice", () => {
    const b = frontend();
    const c = b.static_resources.clusters[1];
    c.connectTimeout = c.connect_timeout;
    delete c.connect_timeout;
    expect(validator.validateBootstrap(b)).toEqual([]);
    c.connect_timeout = "1s";
    expect(validator.validateBootstrap(b).map((e) => e.message).join()).toMatch(/set twice/);
  });

  it("any extension Envoy's API has, loaded when a @type first names it", () => {
    const b = frontend();
    const filters = hcmOf(b).http_filters;
    filters.unshift({ name: "envoy.filters.http.cors", typed_config: { "@type": "type.googleapis.com/envoy.extensions.filters.http.cors.v3.Cors" } });
    expect(validator.validateBootstrap(b)).toEqual([]);
    filters[0].typed_config.allow_origins = [];
    expect(only(validator.validateBootstrap(b)).path).toBe(`${OUTBOUND_HCM}.http_filters[0].typed_config.allow_origins`);
  });

  it("the contents of a TypedStruct, checked as the message its type_url names", () => {
    const b = frontend();
    const router = hcmOf(b).http_filters[1];
    router.typed_config = {
      "@type": "type.googleapis.com/xds.type.v3.TypedStruct",
      type_url: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
      value: { suppress_envoy_headers: true },
    };
    expect(validator.validateBootstrap(b)).toEqual([]);
    router.typed_config.value.supress_envoy_headers = true;
    expect(only(validator.validateBootstrap(b)).path).toBe(`${OUTBOUND_HCM}.http_filters[1].typed_config.value.supress_envoy_headers`);
  });

  it("checks any message type directly", () => {
    expect(validator.validateMessage("envoy.config.core.v3.SocketAddress", { address: "127.0.0.1", port_value: 80 })).toEqual([]);
    expect(validator.validateMessage("envoy.config.core.v3.SocketAddress", { adress: "x" }, "here")[0]!.path).toBe("here.adress");
  });
});

describe("cross-resource checks reject", () => {
  it("a route to an undefined cluster", () => {
    const b = frontend();
    routesOf(b)[1].route.cluster = "catalogue";
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe(`${CATALOG_ROUTES}[1].route.cluster`);
    expect(e.message).toBe('route to undefined cluster "catalogue"');
  });

  it("a cluster_header route whose header match allows an undefined cluster", () => {
    const b = frontend();
    routesOf(b)[0].match.headers[0].string_match.safe_regex.regex = "^(?:catalog_ep0|catalog_ep7)$";
    const e = only(validator.validateBootstrap(b));
    expect(e.path).toBe(`${CATALOG_ROUTES}[0].match.headers[0].string_match.safe_regex.regex`);
    expect(e.message).toMatch(/may select undefined cluster "catalog_ep7"/);
  });

  it("duplicate cluster and listener names", () => {
    const b = frontend();
    b.static_resources.clusters.push(structuredClone(b.static_resources.clusters[2]));
    b.static_resources.listeners[1].name = "inbound";
    const errors = validator.validateBootstrap(b);
    expect(errors).toEqual([
      { path: "static_resources.clusters[4].name", message: 'duplicate cluster name "catalog_ep0" (also static_resources.clusters[2])' },
      { path: "static_resources.listeners[1].name", message: 'duplicate listener name "inbound" (also static_resources.listeners[0])' },
    ]);
  });

  it("listeners on the same address, a wildcard overlap, or the admin port", () => {
    const b = frontend();
    b.static_resources.listeners[1].address.socket_address.port_value = 15006; // 127.0.0.1:15006 vs 0.0.0.0:15006
    expect(only(validator.validateBootstrap(b))).toEqual({
      path: "static_resources.listeners[1].address",
      message: "127.0.0.1:15006 is already used by static_resources.listeners[0].address",
    });
    const b2 = frontend();
    b2.static_resources.listeners[1].address.socket_address.port_value = 9901;
    expect(only(validator.validateBootstrap(b2)).message).toMatch(/already used by admin\.address/);
  });

  it("an HTTP connection manager without an inline route_config, or without the router last", () => {
    const b = frontend();
    const m = hcmOf(b);
    delete m.route_config;
    m.http_filters.reverse();
    const errors = validator.validateBootstrap(b);
    expect(errors.map((e) => e.path)).toEqual([
      OUTBOUND_HCM, // the proto check: route_specifier is a required oneof
      `${OUTBOUND_HCM}.route_config`,
      `${OUTBOUND_HCM}.http_filters`,
    ]);
  });

  it("reports every problem, not just the first", () => {
    const b = frontend();
    routesOf(b)[1].route.cluster = "nope";
    b.static_resources.clusters[1].lb_policy = "NOPE";
    b.admin.address.socket_address.port_value = "x";
    expect(validator.validateBootstrap(b)).toHaveLength(3);
  });
});

describe("robustness", () => {
  /** Every [parent, key] position in a JSON tree. */
  function positions(root: Node): Array<[Node, string | number]> {
    const out: Array<[Node, string | number]> = [];
    const walk = (v: Node) => {
      if (Array.isArray(v)) v.forEach((x, i) => (out.push([v, i]), walk(x)));
      else if (v && typeof v === "object") for (const k of Object.keys(v)) (out.push([v, k]), walk(v[k]));
    };
    walk(root);
    return out;
  }

  it("never throws on arbitrary values anywhere in a bootstrap, and reports errors with paths", async () => {
    const fc = await import("fast-check");
    const base = frontend();
    const count = positions(base).length;
    fc.assert(
      fc.property(fc.nat(count - 1), fc.jsonValue({ maxDepth: 3 }), (at, value) => {
        const b = frontend();
        const [parent, key] = positions(b)[at]!;
        parent[key] = value;
        const errors = validator.validateBootstrap(b);
        expect(Array.isArray(errors)).toBe(true);
        for (const e of errors) expect(typeof e.path === "string" && typeof e.message === "string").toBe(true);
      }),
      { numRuns: 300, seed: 42 },
    );
    for (const nonsense of [null, 42, "x", [], {}, { static_resources: { clusters: [null, 1, "x"] } }]) {
      expect(() => validator.validateBootstrap(nonsense)).not.toThrow();
    }
    expect(validator.validateBootstrap({ static_resources: { clusters: [null, 1] } }).map((e) => e.path)).toEqual([
      "static_resources.clusters[0]",
      "static_resources.clusters[1]",
    ]);
  });
});
