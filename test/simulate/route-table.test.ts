/**
 * envoy-model/route-table.ts: Envoy's route selection evaluated on the compiled
 * outbound listener, alone and together with the real filter.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { sidecarBootstrap } from "../../compiler/envoy/index.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { RESPONSE_FLAGS } from "../../host/index.js";
import { readClusters } from "../../envoy-model/cluster-table.js";
import { findListener } from "../../envoy-model/envoy-json.js";
import { RouteTable, type HeaderPairs } from "../../envoy-model/route-table.js";
import { readWasmFilterConfig } from "../../envoy-model/wasm-filter.js";
import { SidecarFilter } from "../../simulate/sidecar-filter.js";
import { DEFAULT_WASM_PATH } from "../../simulate/simulation.js";
import { fixtureModule } from "../support/probe.js";
import { policy } from "../support/simulate.js";

function compiled(text: string) {
  const { model, diagnostics } = checkPolicy(text.replace(/\nsimulation:[\s\S]*$/, "\n"), "test.yaml");
  if (!model) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const bootstrap = sidecarBootstrap(model, "client");
  const listener = findListener(bootstrap, "outbound_api");
  const clusters = readClusters(bootstrap);
  return { model, bootstrap, listener, clusters, routes: RouteTable.fromListener(listener, { knownClusters: new Set(clusters.keys()) }) };
}

const text = policy({
  endpoints: 3,
  strategy: "round_robin",
  connector: "{ timeout: 1500ms, retries: { attempts: 2, on: [5xx, connect-failure], perTryTimeout: 400ms } }",
  simulation: "  arrivals: { rate: 1, requests: 1 }",
});

function request(extra: HeaderPairs = []): HeaderPairs {
  return [[":method", "GET"], [":path", "/items"], [":authority", "api"], ...extra];
}

describe("route selection on the compiled outbound listener", () => {
  const { routes } = compiled(text);

  it("sends a request without the scheduling header to the aggregate cluster, with the connector's policy", () => {
    const decision = routes.select(request());
    expect(decision).toMatchObject({ kind: "cluster", routeName: "api/fallback", cluster: "api", timeoutMs: 1500 });
    if (decision.kind !== "cluster") throw new Error("unreachable");
    expect([...decision.retry!.retryOn]).toEqual(["5xx", "connect-failure"]);
    expect(decision.retry).toMatchObject({ numRetries: 2, perTryTimeoutMs: 400, backoffBaseMs: 25, backoffMaxMs: 250, avoidPreviousHosts: true });
  });

  it("sends a request carrying an endpoint cluster of the destination to that cluster", () => {
    const decision = routes.select(request([["x-lightsub-endpoint", "api_ep2"]]));
    expect(decision).toMatchObject({ kind: "cluster", routeName: "api/scheduled", cluster: "api_ep2", timeoutMs: 1500 });
    if (decision.kind !== "cluster") throw new Error("unreachable");
    // With retries the endpoint cluster has failover endpoints: a retry leaves the tried priority and host.
    expect(decision.retry!.avoidPreviousPriorities).toBe(true);
    expect(decision.retry!.avoidPreviousHosts).toBe(true);
  });

  it("never lets the header name anything but one of the destination's endpoint clusters", () => {
    for (const value of ["api", "client_ep0", "api_ep3", "api_ep1 ", "API_EP1", "api_ep", ".*", "api_ep1|api"]) {
      expect(routes.select(request([["x-lightsub-endpoint", value]])), value).toMatchObject({ routeName: "api/fallback", cluster: "api" });
    }
    // Two copies are matched joined ("api_ep0,api_ep1"), which names no cluster.
    expect(routes.select(request([["x-lightsub-endpoint", "api_ep0"], ["x-lightsub-endpoint", "api_ep1"]]))).toMatchObject({ routeName: "api/fallback" });
  });

  it("strips a client's scheduling header before route selection", () => {
    expect(routes.earlyRemovals).toEqual(["x-lightsub-endpoint"]);
    const spoofed = request([["x-lightsub-endpoint", "api_ep0"], ["X-Other", "1"]].map(([k, v]) => [k!.toLowerCase(), v!]) as HeaderPairs);
    routes.applyEarlyMutations(spoofed);
    expect(spoofed.map(([k]) => k)).toEqual([":method", ":path", ":authority", "x-other"]);
    expect(routes.select(spoofed)).toMatchObject({ routeName: "api/fallback" });
  });

  it("removes the scheduling header from what the upstream receives", () => {
    const headers = request([["x-lightsub-endpoint", "api_ep1"]]);
    const decision = routes.select(headers);
    expect(routes.upstreamHeaders(headers, decision).some(([k]) => k === "x-lightsub-endpoint")).toBe(false);
    expect(headers.some(([k]) => k === "x-lightsub-endpoint")).toBe(true);
  });
});

describe("the compiled routes together with the real filter", () => {
  it("routes each request to the endpoint cluster the filter chose, round robin across the endpoints", async () => {
    const { listener, routes } = compiled(text);
    const module = await SidecarFilter.compile(readFileSync(DEFAULT_WASM_PATH));
    const filter = new SidecarFilter(module, readWasmFilterConfig(listener), 1);
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      // A client tries to steer every request to api_ep0.
      const headers = routes.applyEarlyMutations(request([["x-lightsub-endpoint", "api_ep0"]]));
      const first = routes.select(headers);
      expect(first).toMatchObject({ routeName: "api/fallback", cluster: "api" });
      const stream = filter.start(0, headers, first.kind === "cluster" ? first.cluster : undefined, "api/fallback");
      const second = routes.selectBy((name) => stream.header(name));
      expect(second.kind === "cluster" && second.routeName).toBe("api/scheduled");
      const cluster = second.kind === "cluster" ? second.cluster : "";
      counts.set(cluster, (counts.get(cluster) ?? 0) + 1);
      stream.respond(200, 0);
    }
    expect([...counts.keys()].sort()).toEqual(["api_ep0", "api_ep1", "api_ep2"]);
    for (const n of counts.values()) expect(n).toBe(100);
    filter.envoy.advance(1000); // the filter publishes its batched counters on its tick (docs/design.md, "Metrics")
    expect(filter.envoy.stats.get("lightsub.service.api.endpoint.api-1_9000.rq_total")).toBe(100);
  });

  it("the listener's own config schedules whatever the route names; a route-scoped one leaves other destinations alone", async () => {
    const { listener, routes } = compiled(text);
    const module = await SidecarFilter.compile(readFileSync(DEFAULT_WASM_PATH));
    const config = readWasmFilterConfig(listener);
    // The compiled listener's configuration is listener-scoped: every request through it is api's
    // (its routes name only api's clusters), so the filter does not look at the route.
    expect(JSON.parse(config.pluginJson)).toMatchObject({ scope: "listener" });
    const own = new SidecarFilter(module, config, 1);
    const scheduled = own.start(0, request(), "somewhere_else", "x/fallback");
    expect(scheduled.header("x-lightsub-endpoint")).toMatch(/^api_ep[0-2]$/);
    expect(routes.selectBy((name) => scheduled.header(name))).toMatchObject({ routeName: "api/scheduled" });
    scheduled.respond(200, 0);
    // Without the scope (one filter for several destinations), the route's cluster decides: not ours, untouched.
    const routeScoped = JSON.parse(config.pluginJson) as Record<string, unknown>;
    delete routeScoped.scope;
    const filter = new SidecarFilter(module, { ...config, pluginJson: JSON.stringify(routeScoped) }, 1);
    const stream = filter.start(0, request(), "somewhere_else", "x/fallback");
    expect(stream.header("x-lightsub-endpoint")).toBeUndefined();
    expect(routes.selectBy((name) => stream.header(name))).toMatchObject({ routeName: "api/fallback" });
    stream.respond(503, RESPONSE_FLAGS.UpstreamConnectionFailure);
  });
});

describe("what the filter reads after the simulator re-routes", () => {
  it("the Wasm filter config gives the plugin's name (property plugin_name) and VM configuration", () => {
    const { listener } = compiled(text);
    expect(readWasmFilterConfig(listener)).toMatchObject({ name: "lightsub", rootId: "lightsub", vmId: "lightsub" });
    expect(readWasmFilterConfig(listener).vmConfig).toBeUndefined();
  });

  it("xds.cluster_name / xds.route_name name the new route in proxy_on_log, as on Envoy 1.40 (test/e2e/conformance-probe.test.ts)", async () => {
    const module = await fixtureModule();
    const filter = new SidecarFilter(module, { pluginJson: "", rootId: "lightsub", vmId: "lightsub", failOpen: true, name: "lightsub" }, 1);
    const stream = filter.start(0, request([["x-probe-log", "prop xds.cluster_name; prop xds.route_name; prop plugin_name"]]), "api", "api/fallback");
    stream.routed("api_ep1", "api/scheduled");
    stream.respond(200, 0);
    const results = filter.envoy.logs.map((l) => l.message).filter((m) => m.startsWith("probe|log|prop|"));
    const text = (hex: string) => Buffer.from(hex, "hex").toString("utf8");
    expect(results.map((r) => text(r.slice("probe|log|prop|0:".length)))).toEqual(["api_ep1", "api/scheduled", "lightsub"]);
  });
});

describe("Envoy's route matching rules on a hand-written listener", () => {
  const listener = {
    name: "l",
    filter_chains: [
      {
        filters: [
          {
            name: "envoy.filters.network.http_connection_manager",
            typed_config: {
              "@type": "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
              route_config: {
                virtual_hosts: [
                  { name: "any", domains: ["*"], routes: [{ name: "any/all", match: { prefix: "/" }, route: { cluster: "c_any" } }] },
                  { name: "exact", domains: ["api.example.com"], routes: [{ name: "exact/all", match: { prefix: "/" }, route: { cluster: "c_exact" } }] },
                  { name: "suffix", domains: ["*.example.com"], routes: [{ name: "suffix/all", match: { prefix: "/" }, route: { cluster: "c_suffix" } }] },
                  {
                    name: "rules",
                    domains: ["rules"],
                    routes: [
                      { name: "health", match: { path: "/healthz" }, direct_response: { status: 200 } },
                      { name: "regex", match: { safe_regex: { regex: "/v[0-9]+/items" } }, route: { cluster: "c_regex" } },
                      { name: "absent", match: { prefix: "/absent", headers: [{ name: "x-flag", present_match: false }] }, route: { cluster: "c_absent" } },
                      { name: "inverted", match: { prefix: "/inv", headers: [{ name: "x-env", string_match: { exact: "prod" }, invert_match: true }] }, route: { cluster: "c_inv" } },
                      { name: "by-header", match: { prefix: "/pick" }, route: { cluster_header: "x-target" } },
                      { name: "slow", match: { prefix: "/slow" }, route: { cluster: "c_slow", timeout: "0s" } },
                    ],
                  },
                ],
              },
            },
          },
        ],
      },
    ],
  };
  const routes = RouteTable.fromListener(listener, { knownClusters: new Set(["c_any", "c_exact", "c_suffix", "c_regex", "c_absent", "c_inv", "c_slow", "known"]) });
  const pick = (authority: string, path: string, extra: HeaderPairs = []) => routes.select([[":authority", authority], [":path", path], ...extra]);

  it("picks virtual hosts by exact domain, then the longest suffix wildcard, then *", () => {
    expect(pick("api.example.com", "/")).toMatchObject({ cluster: "c_exact" });
    expect(pick("API.example.com", "/")).toMatchObject({ cluster: "c_exact" });
    expect(pick("web.example.com", "/")).toMatchObject({ cluster: "c_suffix" });
    expect(pick("example.com", "/")).toMatchObject({ cluster: "c_any" });
  });

  it("matches paths, header presence and inverted matchers the way Envoy does", () => {
    expect(pick("rules", "/healthz?probe=1")).toEqual({ kind: "direct", routeName: "health", virtualHost: "rules", status: 200 });
    expect(pick("rules", "/v2/items?x=1")).toMatchObject({ cluster: "c_regex" });
    expect(pick("rules", "/v2/items/1")).toEqual({ kind: "noRoute" });
    expect(pick("rules", "/absent")).toMatchObject({ cluster: "c_absent" });
    expect(pick("rules", "/absent", [["x-flag", "1"]])).toEqual({ kind: "noRoute" });
    expect(pick("rules", "/inv", [["x-env", "dev"]])).toMatchObject({ cluster: "c_inv" });
    expect(pick("rules", "/inv", [["x-env", "prod"]])).toEqual({ kind: "noRoute" });
    // A missing header never matches a value matcher, inverted or not.
    expect(pick("rules", "/inv")).toEqual({ kind: "noRoute" });
  });

  it("resolves cluster_header, and reports an unknown or missing cluster", () => {
    expect(pick("rules", "/pick", [["x-target", "known"]])).toMatchObject({ kind: "cluster", cluster: "known" });
    expect(pick("rules", "/pick", [["x-target", "nope"]])).toMatchObject({ kind: "clusterNotFound", wanted: "nope" });
    expect(pick("rules", "/pick")).toMatchObject({ kind: "clusterNotFound", wanted: undefined });
  });

  it("reads timeouts: Envoy's 15 s default, 0s for none", () => {
    expect(pick("any", "/")).toMatchObject({ timeoutMs: 15_000 });
    expect(pick("rules", "/slow")).toMatchObject({ timeoutMs: 0 });
  });
});
