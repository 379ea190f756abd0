/** compiler/envoy: the sidecar bootstraps built from a MeshModel (docs/design.md contracts). */
import { describe, expect, it } from "vitest";
import { failoverIndexes, hasFailover } from "../../compiler/envoy/failover.js";
import { duration } from "../../compiler/envoy/duration.js";
import { eachSidecarBootstrap, sidecarBootstrap, sidecarBootstraps, sidecarPluginJson } from "../../compiler/envoy/index.js";
import { MeshIndex } from "../../compiler/envoy/mesh-index.js";
import { listenerPluginJson, pluginConfig, pluginConfigJson } from "../../compiler/envoy/plugin-config.js";
import type { MeshModel, ServiceModel } from "../../compiler/model/mesh.js";
import { SCHEDULING_HEADER } from "../../schemas/wire.js";
import { STRATEGY_NAMES } from "../../compiler/model/strategies.js";
import { cluster, clusters, hcm, listener, listeners, routeConfig, wasmConfig, type Node } from "../support/envoy-nav.js";
import { fiveServiceModel, mesh, strategyZooModel, twoServiceModel } from "../support/models.js";

const MODELS: Array<[string, () => MeshModel]> = [
  ["two-service", twoServiceModel],
  ["five-service", fiveServiceModel],
  ["strategy zoo", strategyZooModel],
];

function serviceOf(model: MeshModel, name: string): ServiceModel {
  return model.services.find((s) => s.name === name)!;
}

describe.each(MODELS)("%s model", (_, build) => {
  const model = build();
  const bootstraps = sidecarBootstraps(model);

  it("has one bootstrap per service, in model order", () => {
    expect([...bootstraps.keys()]).toEqual(model.services.map((s) => s.name));
  });

  it("binds admin to 127.0.0.1:<adminPort> only", () => {
    for (const b of bootstraps.values()) {
      expect((b as Node).admin).toEqual({ address: { socket_address: { address: "127.0.0.1", port_value: model.sidecar.adminPort } } });
    }
  });

  it("has no listener beyond inbound (0.0.0.0:meshPort) and one per call (127.0.0.1:<call port>)", () => {
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      const expected = [
        { name: "inbound", address: "0.0.0.0", port: s.meshPort },
        ...s.calls.map((c) => ({ name: `outbound_${c.service}`, address: "127.0.0.1", port: c.port })),
      ];
      const actual = listeners(b).map((l) => ({
        name: l.name,
        address: l.address.socket_address.address,
        port: l.address.socket_address.port_value,
      }));
      expect(actual).toEqual(expected);
    }
  });

  it("removes the scheduling header in every HTTP connection manager before routing, and before the upstream", () => {
    for (const b of bootstraps.values()) {
      for (const l of listeners(b)) {
        const m = hcm(l);
        expect(m.codec_type).toBe("AUTO");
        expect(m.early_header_mutation_extensions).toEqual([
          {
            name: "envoy.http.early_header_mutation.header_mutation",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.http.early_header_mutation.header_mutation.v3.HeaderMutation",
              mutations: [{ remove: SCHEDULING_HEADER }],
            },
          },
        ]);
        for (const vh of m.route_config.virtual_hosts) expect(vh.request_headers_to_remove).toEqual([SCHEDULING_HEADER]);
      }
    }
  });

  it("outbound listeners run lightsub then the router; inbound only the router", () => {
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      expect(hcm(listener(b, "inbound")).http_filters.map((f: Node) => f.name)).toEqual(["envoy.filters.http.router"]);
      expect(routeConfig(listener(b, "inbound")).virtual_hosts[0].routes.map((r: Node) => r.route.cluster)).toEqual(["local_app"]);
      for (const c of s.calls) {
        expect(hcm(listener(b, `outbound_${c.service}`)).http_filters.map((f: Node) => f.name)).toEqual([
          "envoy.filters.http.wasm",
          "envoy.filters.http.router",
        ]);
      }
    }
  });

  it("gives each outbound listener exactly the two routes of docs/design.md", () => {
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      for (const call of s.calls) {
        const rc = routeConfig(listener(b, `outbound_${call.service}`));
        expect(rc.virtual_hosts).toHaveLength(1);
        const vh = rc.virtual_hosts[0];
        expect(vh.name).toBe(call.service);
        expect(vh.domains).toEqual(["*"]);
        expect(vh.routes.map((r: Node) => r.name)).toEqual([`${call.service}/scheduled`, `${call.service}/fallback`]);
        const [scheduled, fallback] = vh.routes;
        expect(scheduled.match.prefix).toBe("/");
        expect(scheduled.match.headers).toHaveLength(1);
        expect(scheduled.match.headers[0].name).toBe(SCHEDULING_HEADER);
        expect(scheduled.route.cluster_header).toBe(SCHEDULING_HEADER);
        expect(scheduled.route.cluster).toBeUndefined();
        expect(fallback.match).toEqual({ prefix: "/" });
        expect(fallback.route.cluster).toBe(call.service);
      }
    }
  });

  it("lets the scheduling header select only the called service's own endpoint clusters", () => {
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      const allClusterNames = clusters(b).map((c) => c.name as string);
      for (const call of s.calls) {
        const callee = serviceOf(model, call.service);
        const scheduled = routeConfig(listener(b, `outbound_${call.service}`)).virtual_hosts[0].routes[0];
        const re = new RegExp(scheduled.match.headers[0].string_match.safe_regex.regex);
        const own = callee.endpoints.map((ep) => ep.cluster);
        for (const name of own) expect(re.test(name), name).toBe(true);
        const others = allClusterNames.filter((n) => !own.includes(n));
        expect(others).toContain(call.service); // the aggregate cluster is not selectable
        for (const name of others) expect(re.test(name), name).toBe(false);
        for (const spoof of [`${own[0]}x`, `x${own[0]}`, `${own[0]}|local_app`, `${own[0]}\n`, "", "*", call.service]) {
          expect(re.test(spoof), JSON.stringify(spoof)).toBe(false);
        }
      }
    }
  });

  it("puts the connector's timeout and retry policy on both routes", () => {
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      for (const call of s.calls) {
        const { timeoutMs, retries } = serviceOf(model, call.service).connector;
        for (const route of routeConfig(listener(b, `outbound_${call.service}`)).virtual_hosts[0].routes) {
          expect(route.route.timeout).toBe(timeoutMs === undefined ? undefined : duration(timeoutMs));
          if (!retries) {
            expect(route.route.retry_policy).toBeUndefined();
            continue;
          }
          expect(route.route.retry_policy.retry_on).toBe(retries.on.join(","));
          expect(route.route.retry_policy.num_retries).toBe(retries.attempts);
          expect(route.route.retry_policy.per_try_timeout).toBe(
            retries.perTryTimeoutMs === undefined ? undefined : duration(retries.perTryTimeoutMs),
          );
        }
      }
    }
  });

  it("builds the aggregate cluster and one cluster per endpoint (the endpoint, and its failover endpoints where the connector can use them) for each call", () => {
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      const expectedNames = ["local_app", ...s.calls.flatMap((c) => [c.service, ...serviceOf(model, c.service).endpoints.map((ep) => ep.cluster)])];
      expect(clusters(b).map((c) => c.name)).toEqual(expectedNames);
      for (const call of s.calls) {
        const callee = serviceOf(model, call.service);
        const hosts = (c: Node) =>
          c.load_assignment.endpoints.flatMap((e: Node) => e.lb_endpoints.map((lb: Node) => lb.endpoint.address.socket_address));
        expect(hosts(cluster(b, callee.name))).toEqual(callee.endpoints.map((ep) => ({ address: ep.address, port_value: ep.port })));
        callee.endpoints.forEach((ep, i) => {
          const c = cluster(b, `${callee.name}_ep${i}`);
          // The endpoint at priority 0; with failover (failover.ts) the next endpoints at priority 1.
          const backups = hasFailover(callee) ? failoverIndexes(callee.endpoints.length, i).map((j) => callee.endpoints[j]!) : [];
          expect(hosts(c)).toEqual([ep, ...backups].map((e) => ({ address: e.address, port_value: e.port })));
          expect(c.load_assignment.endpoints.map((e: Node) => e.priority ?? 0)).toEqual(backups.length > 0 ? [0, 1] : [0]);
          expect(c.load_assignment.cluster_name).toBe(c.name);
        });
      }
    }
  });

  it("uses STATIC for IP literals and STRICT_DNS for hostnames", () => {
    const isIp = (a: string) => /^\d+\.\d+\.\d+\.\d+$/.test(a);
    for (const s of model.services) {
      const b = bootstraps.get(s.name)!;
      expect(cluster(b, "local_app").type).toBe("STATIC");
      for (const call of s.calls) {
        const callee = serviceOf(model, call.service);
        const aggregate = cluster(b, callee.name);
        expect(aggregate.type).toBe(callee.endpoints.every((ep) => isIp(ep.address)) ? "STATIC" : "STRICT_DNS");
        for (const ep of callee.endpoints) expect(cluster(b, ep.cluster).type).toBe(isIp(ep.address) ? "STATIC" : "STRICT_DNS");
      }
    }
  });

  it("yields the same bootstraps one at a time", () => {
    expect(JSON.stringify([...eachSidecarBootstrap(build())])).toBe(JSON.stringify([...bootstraps]));
  });

  it("is deterministic: the same model gives the same objects and key order", () => {
    const again = sidecarBootstraps(build());
    for (const [name, b] of bootstraps) expect(JSON.stringify(again.get(name))).toBe(JSON.stringify(b));
  });

  it("uses snake_case field names only (as Envoy YAML) outside the plugin JSON and map keys", () => {
    const bad: string[] = [];
    const walk = (v: unknown, path: string, mapKeys: boolean) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`, false));
      else if (v && typeof v === "object") {
        for (const [k, x] of Object.entries(v)) {
          if (!mapKeys && k !== "@type" && !/^[a-z][a-z0-9_]*$/.test(k)) bad.push(`${path}.${k}`);
          walk(x, `${path}.${k}`, k === "typed_extension_protocol_options");
        }
      }
    };
    for (const b of bootstraps.values()) walk(b, "", false);
    expect(bad).toEqual([]);
  });
});

describe("clusters", () => {
  const zoo = strategyZooModel();
  const client = sidecarBootstraps(zoo).get("client")!;

  it("maps every strategy to Envoy's native LB on the aggregate cluster", () => {
    expect(new Set(zoo.services.filter((x) => x.name !== "client").map((s) => s.scheduler.strategy))).toEqual(new Set(STRATEGY_NAMES));
    const expected: Record<string, string> = {
      rr: "ROUND_ROBIN",
      wrr: "ROUND_ROBIN",
      rnd: "RANDOM",
      ll: "LEAST_REQUEST",
      lat: "LEAST_REQUEST",
      avail: "LEAST_REQUEST",
      chh: "RING_HASH",
      chc: "RING_HASH",
      chp: "RING_HASH",
    };
    for (const [name, policy] of Object.entries(expected)) expect(cluster(client, name).lb_policy, name).toBe(policy);
  });

  it("sets load_balancing_weight only where the strategy uses weights (weighted, consistent_hash, least_load, availability)", () => {
    for (const s of zoo.services.filter((x) => x.name !== "client")) {
      const weights = cluster(client, s.name).load_assignment.endpoints[0].lb_endpoints.map((e: Node) => e.load_balancing_weight);
      const usesWeights = ["weighted", "consistent_hash", "least_load", "availability"].includes(s.scheduler.strategy);
      expect(weights, s.name).toEqual(s.endpoints.map((ep) => (usesWeights ? ep.weight : undefined)));
    }
  });

  it("uses STRICT_DNS when any endpoint of the aggregate is a hostname", () => {
    expect(cluster(client, "mixed").type).toBe("STRICT_DNS");
    expect(cluster(client, "mixed_ep0").type).toBe("STATIC");
    expect(cluster(client, "mixed_ep1").type).toBe("STRICT_DNS");
    expect(cluster(client, "rr").type).toBe("STATIC");
  });

  const two = twoServiceModel();
  const frontend = sidecarBootstraps(two).get("frontend")!;

  it("carries connect timeout, circuit breakers, outlier detection and health checks from the connector", () => {
    for (const name of ["catalog", "catalog_ep0", "catalog_ep1"]) {
      const c = cluster(frontend, name);
      expect(c.connect_timeout).toBe("0.250s");
      expect(c.circuit_breakers).toEqual({
        thresholds: [{ priority: "DEFAULT", max_connections: 100, max_pending_requests: 50, max_requests: 200, max_retries: 3 }],
      });
      expect(c.outlier_detection).toMatchObject({ consecutive_5xx: 5, interval: "10s", base_ejection_time: "30s", max_ejection_percent: 50 });
      expect(c.health_checks).toEqual([
        { timeout: "1s", interval: "5s", no_traffic_interval: "5s", unhealthy_threshold: 3, healthy_threshold: 2, http_health_check: { path: "/healthz" } },
      ]);
    }
  });

  it("lets single-host endpoint clusters eject their host and fail fast (no panic routing)", () => {
    expect(cluster(frontend, "catalog").outlier_detection.always_eject_one_host).toBeUndefined();
    expect(cluster(frontend, "catalog").common_lb_config).toBeUndefined();
    for (const name of ["catalog_ep0", "catalog_ep1"]) {
      expect(cluster(frontend, name).outlier_detection.always_eject_one_host).toBe(true);
      expect(cluster(frontend, name).common_lb_config).toEqual({ healthy_panic_threshold: { value: 0 } });
    }
    // Without outlier detection or health checks there is nothing to eject: Envoy's defaults stay.
    const catalogSidecar = sidecarBootstraps(two).get("catalog")!;
    expect(cluster(catalogSidecar, "frontend_ep0").common_lb_config).toBeUndefined();
    expect(cluster(catalogSidecar, "frontend_ep0").outlier_detection).toBeUndefined();
  });

  const five = fiveServiceModel();
  const gateway = sidecarBootstraps(five).get("gateway")!;
  const h2 = {
    "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
      "@type": "type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
      explicit_http_config: { http2_protocol_options: {} },
    },
  };

  it("speaks HTTP/2 upstream to http2 and grpc services, HTTP/1 otherwise", () => {
    for (const name of ["users", "users_ep0", "search", "search_ep2"]) {
      expect(cluster(gateway, name).typed_extension_protocol_options, name).toEqual(h2);
    }
    for (const name of ["cart", "cart_ep0", "local_app"]) {
      expect(cluster(gateway, name).typed_extension_protocol_options, name).toBeUndefined();
    }
    expect(cluster(sidecarBootstraps(five).get("users")!, "local_app").typed_extension_protocol_options).toEqual(h2);
  });

  it("health-checks grpc services with the gRPC health protocol and http2 services over HTTP/2", () => {
    expect(cluster(gateway, "users_ep1").health_checks[0].grpc_health_check).toEqual({});
    expect(cluster(gateway, "users_ep1").health_checks[0].http_health_check).toBeUndefined();
    expect(cluster(gateway, "search").health_checks[0].http_health_check).toEqual({ path: "/ready", codec_client_type: "HTTP2" });
  });

  it("shares a called service's clusters between callers, frozen", () => {
    const model = mesh("share", [
      { name: "a", port: 1000, endpoints: [{ address: "a-1", port: 15006 }], calls: ["c"] },
      { name: "b", port: 2000, endpoints: [{ address: "b-1", port: 15006 }], calls: ["c"] },
      { name: "c", port: 3000, endpoints: [{ address: "c-1", port: 15006 }] },
    ]);
    const all = sidecarBootstraps(model);
    const ca = cluster(all.get("a")!, "c");
    expect(cluster(all.get("b")!, "c")).toBe(ca);
    expect(Object.isFrozen(ca.load_assignment.endpoints[0])).toBe(true);
    expect(() => {
      ca.name = "changed";
    }).toThrow(TypeError);
  });
});

describe("routes", () => {
  const zoo = strategyZooModel();
  const client = sidecarBootstraps(zoo).get("client")!;
  const fallback = (name: string) => routeConfig(listener(client, `outbound_${name}`)).virtual_hosts[0].routes[1];

  it("hashes the fallback's RING_HASH on the consistent_hash source (header, cookie, path without query)", () => {
    expect(fallback("chh").route.hash_policy).toEqual([{ header: { header_name: "x-tenant" } }]);
    expect(fallback("chc").route.hash_policy).toEqual([{ cookie: { name: "session" } }]);
    const [byPath] = fallback("chp").route.hash_policy;
    expect(byPath.header.header_name).toBe(":path");
    const strip = new RegExp(byPath.header.regex_rewrite.pattern.regex);
    expect("/cart/42?x=1&y=2".replace(strip, byPath.header.regex_rewrite.substitution)).toBe("/cart/42");
    expect("/cart/42".replace(strip, byPath.header.regex_rewrite.substitution)).toBe("/cart/42");
    for (const name of ["rr", "rnd", "wrr", "ll", "lat", "avail"]) expect(fallback(name).route.hash_policy, name).toBeUndefined();
  });

  it("retries on other hosts: the native LB's, and a scheduled retry on the endpoint's failover endpoints (priority 1)", () => {
    const b = sidecarBootstraps(twoServiceModel()).get("frontend")!;
    const [scheduled, fb] = routeConfig(listener(b, "outbound_catalog")).virtual_hosts[0].routes;
    const previousHosts = [
      {
        name: "envoy.retry_host_predicates.previous_hosts",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate" },
      },
    ];
    expect(scheduled.route.retry_policy).toEqual({
      retry_on: "5xx,reset,connect-failure",
      num_retries: 2,
      per_try_timeout: "0.500s",
      retry_priority: {
        name: "envoy.retry_priorities.previous_priorities",
        typed_config: { "@type": "type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig", update_frequency: 1 },
      },
      retry_host_predicate: previousHosts,
      host_selection_retry_max_attempts: 3,
    });
    expect(fb.route.retry_policy.retry_host_predicate).toEqual(previousHosts);
    expect(fb.route.retry_policy.retry_priority).toBeUndefined();
  });

  it("gives an endpoint cluster failover hosts only when the connector can use them, at most 8, not actively health-checked, tagged for the filter", () => {
    const endpoints = Array.from({ length: 12 }, (_, i) => ({ address: `10.0.0.${i + 1}`, port: 9000 }));
    const build = (connector: Record<string, unknown> | undefined) =>
      sidecarBootstraps(
        mesh("fo", [
          { name: "client", port: 8080, endpoints: [{ address: "client", port: 15006 }], calls: ["api"] },
          { name: "api", port: 9000, endpoints, ...(connector ? { connector } : {}) },
        ]),
      ).get("client")!;
    const plain = build(undefined);
    expect(cluster(plain, "api_ep3").load_assignment.endpoints).toHaveLength(1);
    expect(JSON.parse(wasmConfig(listener(plain, "outbound_api")).configuration.value).destinations[0].failover).toBeUndefined();
    const checked = build({ connectTimeoutMs: 1_000, healthCheck: { path: "/h", intervalMs: 1_000, timeoutMs: 500, unhealthyThreshold: 2, healthyThreshold: 1 } });
    const groups = cluster(checked, "api_ep3").load_assignment.endpoints;
    expect(groups[0].lb_endpoints.map((lb: Node) => lb.endpoint.address.socket_address.address)).toEqual(["10.0.0.4"]);
    expect(groups[1].priority).toBe(1);
    const backups = groups[1].lb_endpoints;
    expect(backups.map((lb: Node) => lb.endpoint.address.socket_address.address)).toEqual([5, 6, 7, 8, 9, 10, 11, 12].map((i) => `10.0.0.${i}`));
    expect(backups[0].endpoint.health_check_config).toEqual({ disable_active_health_check: true });
    expect(backups[0].metadata).toEqual({ filter_metadata: { lightsub: { endpoint: "api_ep4" } } });
    expect(cluster(checked, "api_ep11").load_assignment.endpoints[1].lb_endpoints[0].metadata.filter_metadata.lightsub.endpoint).toBe("api_ep0");
    expect(JSON.parse(wasmConfig(listener(checked, "outbound_api")).configuration.value).destinations[0].failover).toBe(true);
  });

  it("never times out inbound requests itself (the caller's sidecar does)", () => {
    const b = sidecarBootstraps(twoServiceModel()).get("catalog")!;
    expect(routeConfig(listener(b, "inbound")).virtual_hosts[0].routes[0].route).toEqual({ cluster: "local_app", timeout: "0s" });
  });
});

describe("wasm filter and plugin configuration", () => {
  it("configures the filter exactly as docs/design.md", () => {
    const model = twoServiceModel();
    model.sidecar = { ...model.sidecar, wasmPath: "/opt/x/lightsub.wasm" };
    const b = sidecarBootstrap(model, "frontend");
    const config = wasmConfig(listener(b, "outbound_catalog"));
    expect(config).toEqual({
      name: "lightsub",
      root_id: "lightsub",
      vm_config: { vm_id: "lightsub", runtime: "envoy.wasm.runtime.v8", code: { local: { filename: "/opt/x/lightsub.wasm" } } },
      configuration: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: expect.any(String) },
      failure_policy: "FAIL_OPEN",
    });
    expect(JSON.parse(config.configuration.value)).toEqual(pluginConfig(serviceOf(model, "frontend"), [serviceOf(model, "catalog")], "open", "listener"));
  });

  it("writes the plugin JSON of docs/design.md, keys in the documented order", () => {
    // The example of docs/design.md, as a model.
    const model = mesh("design", [
      { name: "frontend", port: 8080, endpoints: [{ address: "frontend", port: 15006 }], calls: ["catalog"] },
      {
        name: "catalog",
        port: 9090,
        endpoints: [
          { address: "catalog-1", port: 9090, weight: 2 },
          { address: "catalog-2", port: 9090, weight: 1 },
        ],
        scheduler: { strategy: "least_latency", decayMs: 10_000 },
      },
    ]);
    const [frontend, catalog] = [serviceOf(model, "frontend"), serviceOf(model, "catalog")];
    const text = pluginConfigJson(new MeshIndex(model), frontend, [catalog], "open", "listener");
    expect(text).toBe(JSON.stringify(pluginConfig(frontend, [catalog], "open", "listener")));
    expect(listenerPluginJson(new MeshIndex(model), frontend, catalog)).toBe(text);
    // Route-scoped (a tool's one filter for a whole sidecar): the same without the key.
    const routeScoped = pluginConfigJson(new MeshIndex(model), frontend, [catalog], "open");
    expect(routeScoped).toBe(JSON.stringify(pluginConfig(frontend, [catalog], "open")));
    expect(routeScoped).toBe(text.replace('"scope":"listener",', ""));
    const parsed = JSON.parse(text);
    expect(Object.keys(parsed)).toEqual(["version", "service", "header", "failMode", "scope", "destinations"]);
    expect(parsed).toEqual({
      version: 1,
      service: "frontend",
      header: "x-lightsub-endpoint",
      failMode: "open",
      scope: "listener",
      destinations: [
        {
          service: "catalog",
          cluster: "catalog",
          strategy: "least_latency",
          decayMs: 10000,
          endpoints: [
            { cluster: "catalog_ep0", stat: "catalog-1_9090", weight: 2 },
            { cluster: "catalog_ep1", stat: "catalog-2_9090", weight: 1 },
          ],
        },
      ],
    });
    expect(Object.keys(parsed.destinations[0])).toEqual(["service", "cluster", "strategy", "decayMs", "endpoints"]);
    expect(Object.keys(parsed.destinations[0].endpoints[0])).toEqual(["cluster", "stat", "weight"]);
  });

  it("writes each strategy's parameters (and only those) for every destination", () => {
    const zoo = strategyZooModel();
    const client = serviceOf(zoo, "client");
    const callees = client.calls.map((c) => serviceOf(zoo, c.service));
    const config = pluginConfig(client, callees, "open") as Node;
    // Several destinations are route-scoped only: a listener-scoped one names exactly one.
    expect(() => pluginConfig(client, callees, "open", "listener")).toThrow(/exactly one destination, not 10/);
    expect(() => pluginConfigJson(new MeshIndex(zoo), client, [], "open", "listener")).toThrow(/exactly one destination, not 0/);
    const byService = new Map<string, Node>(config.destinations.map((d: Node) => [d.service, d]));
    expect(config.destinations.map((d: Node) => d.service)).toEqual(serviceOf(zoo, "client").calls.map((c) => c.service));
    const params = (name: string) => {
      const { service, cluster: c, strategy, endpoints, ...rest } = byService.get(name);
      void service, c, strategy, endpoints;
      return rest;
    };
    for (const name of ["rr", "rnd", "wrr", "ll", "mixed"]) expect(params(name), name).toEqual({});
    expect(params("lat")).toEqual({ decayMs: 2500 });
    expect(params("avail")).toEqual({ windowMs: 5000, errorThreshold: 0.5, minRequests: 3, probeIntervalMs: 750 });
    expect(params("chh")).toEqual({ hashOn: { header: "x-tenant" } });
    expect(params("chc")).toEqual({ hashOn: { cookie: "session" } });
    expect(params("chp")).toEqual({ hashOn: { path: true } });
    for (const s of zoo.services.filter((x) => x.name !== "client")) {
      expect(byService.get(s.name).endpoints).toEqual(s.endpoints.map((ep) => ({ cluster: ep.cluster, stat: ep.stat, weight: ep.weight })));
    }
  });

  it("gives each outbound listener a plugin JSON with only its own destination", () => {
    const zoo = strategyZooModel();
    const b = sidecarBootstraps(zoo).get("client")!;
    const outbound = listeners(b).slice(1);
    expect(outbound.map((l) => l.name)).toEqual(serviceOf(zoo, "client").calls.map((c) => `outbound_${c.service}`));
    for (const l of outbound) {
      const plugin = JSON.parse(wasmConfig(l).configuration.value);
      const callee = l.name.slice("outbound_".length);
      expect(plugin.service).toBe("client");
      expect(plugin.scope, l.name).toBe("listener");
      expect(plugin.destinations.map((d: Node) => d.service), l.name).toEqual([callee]);
      expect(plugin.destinations[0]).toEqual(JSON.parse(sidecarPluginJson(zoo, "client")).destinations.find((d: Node) => d.service === callee));
      expect(wasmConfig(l).failure_policy).toBe("FAIL_OPEN");
    }
  });

  it("gives tools the sidecar's plugin JSON, as its listeners carry it", () => {
    const five = fiveServiceModel();
    const gateway = sidecarBootstraps(five).get("gateway")!;
    for (const call of serviceOf(five, "gateway").calls) {
      const l = listener(gateway, `outbound_${call.service}`);
      expect(sidecarPluginJson(five, "gateway", call.service)).toBe(wasmConfig(l).configuration.value);
    }
    expect(() => sidecarPluginJson(five, "gateway", "orders")).toThrow(/does not call "orders"/);
    // Without a destination: all of them in one config, when they agree on the fail mode.
    expect(() => sidecarPluginJson(five, "gateway")).toThrow(/differ in failMode/);
    // cart calls only orders: the whole sidecar's config is that listener's, route-scoped (no `scope` key).
    const cart = sidecarBootstraps(five).get("cart")!;
    const cartListener = JSON.parse(wasmConfig(listener(cart, "outbound_orders")).configuration.value);
    expect(cartListener.scope).toBe("listener");
    delete cartListener.scope;
    expect(JSON.parse(sidecarPluginJson(five, "cart"))).toEqual(cartListener);
    expect(JSON.parse(sidecarPluginJson(five, "cart"))).not.toHaveProperty("scope");
    expect(JSON.parse(sidecarPluginJson(five, "users")).destinations).toEqual([]);
  });

  it("applies each destination's fail mode on its listener when they differ", () => {
    const five = fiveServiceModel();
    const gateway = sidecarBootstraps(five).get("gateway")!;
    for (const call of serviceOf(five, "gateway").calls) {
      const mode = serviceOf(five, call.service).failMode;
      const config = wasmConfig(listener(gateway, `outbound_${call.service}`));
      // Envoy >= 1.33: failure_policy, never the deprecated fail_open.
      expect(config.failure_policy, call.service).toBe(mode === "open" ? "FAIL_OPEN" : "FAIL_CLOSED");
      expect(config.fail_open, call.service).toBeUndefined();
      const plugin = JSON.parse(config.configuration.value);
      expect(plugin.failMode, call.service).toBe(mode);
      expect(plugin.destinations.map((d: Node) => d.service)).toEqual([call.service]);
    }
    expect(serviceOf(five, "cart").failMode).toBe("closed"); // the case above really is mixed
  });
});

describe("bootstrap", () => {
  it("names the node after the mesh and service and tags the lightsub metrics", () => {
    const b = sidecarBootstrap(twoServiceModel(), "catalog") as Node;
    expect(b.node).toEqual({ id: "shop/catalog", cluster: "catalog" });
    expect(b.stats_config).toEqual({
      stats_tags: [
        { tag_name: "service", regex: "^wasmcustom\\.lightsub\\.(service\\.([^.]+)\\.)" },
        { tag_name: "endpoint", regex: "^wasmcustom\\.lightsub\\.service\\.[^.]+\\.(endpoint\\.([^.]+)\\.)" },
      ],
      use_all_default_tags: true,
    });
  });

  it("accepts a service name or object and rejects unknown services", () => {
    const model = twoServiceModel();
    expect(JSON.stringify(sidecarBootstrap(model, "catalog"))).toBe(JSON.stringify(sidecarBootstrap(model, serviceOf(model, "catalog"))));
    expect(() => sidecarBootstrap(model, "nope")).toThrow(/no service named "nope"/);
    const broken = twoServiceModel();
    broken.services[0]!.calls = [{ service: "ghost", port: 1234 }];
    expect(() => sidecarBootstraps(broken)).toThrow(/ghost/);
  });

  it("a service that calls nothing has only the inbound listener and local_app", () => {
    const model = mesh("solo", [{ name: "solo", port: 8080, endpoints: [{ address: "solo-1", port: 15006 }] }]);
    const b = sidecarBootstrap(model, "solo");
    expect(listeners(b).map((l) => l.name)).toEqual(["inbound"]);
    expect(clusters(b).map((c) => c.name)).toEqual(["local_app"]);
  });
});

describe("duration", () => {
  it("writes proto3 JSON durations", () => {
    expect(duration(2000)).toBe("2s");
    expect(duration(500)).toBe("0.500s");
    expect(duration(1500)).toBe("1.500s");
    expect(duration(0)).toBe("0s");
    expect(duration(0.25)).toBe("0.000250s");
    expect(duration(1.0005)).toBe("0.001000500s");
    expect(duration(1.0000005)).toBe("0.001000001s"); // rounded to whole nanoseconds
    expect(duration(90_061_001)).toBe("90061.001s");
    expect(() => duration(-1)).toThrow(RangeError);
    expect(() => duration(Number.NaN)).toThrow(RangeError);
  });
});
