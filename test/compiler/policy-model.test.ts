/**
 * Every policy feature reaching the MeshModel: defaults, overrides, durations,
 * scheduler resolution, call ports, cluster names and metric labels.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatDiagnostic } from "../../compiler/diagnostics/index.js";
import type { MeshModel, SchedulerModel, ServiceModel } from "../../compiler/model/mesh.js";
import { formatDuration, parseDuration } from "../../compiler/policy/duration.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { dedent } from "../support/policy-marks.js";

const FIXTURES = new URL("../fixtures/policies/", import.meta.url);
function load(name: string): { model: MeshModel; warnings: string[] } {
  const result = checkPolicy(readFileSync(new URL(name, FIXTURES), "utf8"), name);
  if (result.model === undefined) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  return { model: result.model, warnings: result.diagnostics.map(formatDiagnostic) };
}
function model(text: string): MeshModel {
  const result = checkPolicy(dedent(text), "p.yaml");
  if (result.model === undefined) throw new Error(result.diagnostics.map(formatDiagnostic).join("\n"));
  return result.model;
}
function svc(m: MeshModel, name: string): ServiceModel {
  const found = m.services.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no service ${name}`);
  return found;
}
const defaults = { decayMs: 10_000, windowMs: 10_000, errorThreshold: 0.2, minRequests: 5, probeIntervalMs: 1_000 };
const sidecar = { adminPort: 9901, image: "envoyproxy/envoy:v1.40.0", wasmPath: "/etc/lightsub/lightsub.wasm" };

describe("the issue's example policy (shop.yaml)", () => {
  it("checks without errors or warnings (least_load follows its endpoint weights)", () => {
    const { warnings } = load("shop.yaml");
    expect(warnings).toEqual([]);
  });

  it("becomes exactly this model", () => {
    const expected: MeshModel = {
      name: "shop",
      services: [
        {
          name: "frontend",
          port: 8080,
          meshPort: 15006,
          protocol: "http",
          endpoints: [{ address: "frontend", port: 8080, weight: 1, cluster: "frontend_ep0", stat: "frontend_8080" }],
          calls: [{ service: "catalog", port: 9090 }],
          // The mesh default; its hashOn only applies to consistent_hash.
          scheduler: { strategy: "least_latency", ...defaults },
          connector: { connectTimeoutMs: 1_000 },
          failMode: "open",
        },
        {
          name: "catalog",
          port: 9090,
          meshPort: 15006,
          protocol: "grpc",
          endpoints: [
            { address: "catalog-1", port: 9090, weight: 2, cluster: "catalog_ep0", stat: "catalog-1_9090" },
            { address: "catalog-2", port: 9090, weight: 1, cluster: "catalog_ep1", stat: "catalog-2_9090" },
          ],
          calls: [],
          scheduler: { strategy: "least_load", ...defaults },
          connector: {
            timeoutMs: 2_000,
            connectTimeoutMs: 1_000,
            retries: { attempts: 2, on: ["5xx", "reset", "connect-failure"], perTryTimeoutMs: 500 },
            circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
            outlierDetection: { consecutive5xx: 5, intervalMs: 10_000, baseEjectionTimeMs: 30_000, maxEjectionPercent: 50 },
            healthCheck: { intervalMs: 5_000, timeoutMs: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 },
          },
          failMode: "open",
        },
      ],
      sidecar,
    };
    expect(load("shop.yaml").model).toEqual(expected);
  });
});

describe("defaults", () => {
  it("fills every default for the smallest policy (minimal.yaml)", () => {
    const { model: m, warnings } = load("minimal.yaml");
    expect(warnings).toEqual([]);
    expect(m).toEqual({
      name: "hello",
      services: [
        {
          name: "web",
          port: 8080,
          meshPort: 15006,
          protocol: "http",
          endpoints: [{ address: "web", port: 15006, weight: 1, cluster: "web_ep0", stat: "web_15006" }],
          calls: [],
          scheduler: { strategy: "round_robin", ...defaults },
          connector: { connectTimeoutMs: 1_000 },
          failMode: "open",
        },
      ],
      sidecar,
    } satisfies MeshModel);
  });

  it("fills retry and health check defaults inside a connector", () => {
    const m = model(`
      apiVersion: lightsub/v1
      kind: Mesh
      metadata: { name: x }
      spec:
        services:
          - name: a
            port: 1
            endpoints: [{ address: a, port: 2 }]
            connector: { retries: {}, healthCheck: { path: /h }, outlierDetection: {}, circuitBreaker: {} }
    `);
    expect(svc(m, "a").connector).toEqual({
      connectTimeoutMs: 1_000,
      retries: { attempts: 1, on: ["gateway-error", "connect-failure", "refused-stream", "reset"] },
      healthCheck: { path: "/h", intervalMs: 5_000, timeoutMs: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 },
      outlierDetection: {},
      circuitBreaker: {},
    });
  });
});

describe("every feature (bookstore.yaml, payments.json)", () => {
  const { model: m, warnings } = load("bookstore.yaml");

  // IPv6 endpoints are on purpose (Envoy takes them); only the docker compose network cannot.
  it("checks clean apart from compose's IPv6 limit, pointed at each IPv6 address", () =>
    expect(warnings).toEqual([
      'bookstore.yaml:46:22: warning LS070: docker-compose.yaml not written: service "reviews": IPv6 endpoint fd00::1 is not supported in docker compose',
      'bookstore.yaml:47:22: warning LS070: docker-compose.yaml not written: service "reviews": IPv6 endpoint fd00::2 is not supported in docker compose',
    ]));

  it("applies the sidecar settings and the mesh fail mode with per-service overrides", () => {
    expect(m.sidecar).toEqual({ ...sidecar, adminPort: 9000 });
    expect(m.services.map((s) => [s.name, s.failMode])).toEqual([
      ["gateway", "open"],
      ["books", "closed"],
      ["reviews", "closed"],
      ["ratings", "closed"],
    ]);
  });

  it("resolves call ports: explicit, else the called service's app port", () => {
    expect(svc(m, "gateway").calls).toEqual([
      { service: "books", port: 8081 },
      { service: "reviews", port: 7001 },
      { service: "ratings", port: 7002 },
    ]);
    expect(svc(m, "reviews").calls).toEqual([{ service: "ratings", port: 8082 }]);
  });

  it("keeps meshPort, protocol and image", () => {
    const gateway = svc(m, "gateway");
    expect([gateway.meshPort, gateway.protocol, gateway.image]).toEqual([15001, "http", "ghcr.io/acme/gateway:1.0"]);
    expect([svc(m, "books").protocol, svc(m, "reviews").protocol]).toEqual(["http2", "grpc"]);
    expect("image" in svc(m, "books")).toBe(false);
  });

  it("resolves each service's scheduler field by field: own, else spec.scheduler, else default", () => {
    const meshParams = { decayMs: 10_000, windowMs: 30_000, errorThreshold: 0.5, minRequests: 10, probeIntervalMs: 2_000 };
    expect(svc(m, "gateway").scheduler).toEqual({ strategy: "availability", ...meshParams } satisfies SchedulerModel);
    expect(svc(m, "books").scheduler).toEqual({ strategy: "weighted", ...meshParams });
    expect(svc(m, "reviews").scheduler).toEqual({ strategy: "consistent_hash", hashOn: { kind: "cookie", name: "session" }, ...meshParams });
    expect(svc(m, "ratings").scheduler).toEqual({ strategy: "least_latency", ...meshParams, decayMs: 2_500 });
  });

  it("converts durations and shares an aliased connector", () => {
    const expected = {
      timeoutMs: 90_000,
      connectTimeoutMs: 250,
      retries: { attempts: 3, on: ["gateway-error", "connect-failure", "refused-stream", "reset"], perTryTimeoutMs: 20_000 },
      outlierDetection: { consecutive5xx: 3 },
    };
    expect(svc(m, "books").connector).toEqual(expected);
    expect(svc(m, "reviews").connector).toEqual(expected);
    expect(svc(m, "ratings").connector).toEqual({
      connectTimeoutMs: 1_000,
      healthCheck: { path: "/ready", intervalMs: 5_000, timeoutMs: 1_000, unhealthyThreshold: 3, healthyThreshold: 2 },
      circuitBreaker: { maxRequests: 100 },
    });
  });

  it("names endpoint clusters by index and labels metrics by address and port", () => {
    expect(svc(m, "books").endpoints).toEqual([
      { address: "books-a", port: 15006, weight: 3, cluster: "books_ep0", stat: "books-a_15006" },
      { address: "books-b", port: 15006, weight: 1, cluster: "books_ep1", stat: "books-b_15006" },
    ]);
    expect(svc(m, "reviews").endpoints.map((e) => e.stat)).toEqual(["fd00__1_15006", "fd00__2_15006"]);
    expect(svc(m, "gateway").endpoints[0]!.stat).toBe("10_0_0_10_15001");
  });

  it("reads the JSON fixture: hashOn inherited from the mesh, header names lowercased, timeout 0s kept", () => {
    const p = load("payments.json");
    expect(p.warnings).toEqual([]);
    expect(svc(p.model, "ledger").scheduler.hashOn).toEqual({ kind: "header", name: "x-account-id" });
    expect(svc(p.model, "api").scheduler.hashOn).toEqual({ kind: "header", name: "x-account-id" });
    expect(svc(p.model, "fraud").scheduler.hashOn).toEqual({ kind: "path" });
    expect(svc(p.model, "fraud").connector.timeoutMs).toBe(0);
    expect(svc(p.model, "api").calls).toEqual([
      { service: "ledger", port: 8001 },
      { service: "fraud", port: 8002 },
    ]);
    expect(svc(p.model, "ledger").connector.retries).toEqual({ attempts: 2, on: ["unavailable", "reset"] });
  });
});

describe("model details", () => {
  it("keeps metric labels unique when two endpoints map to the same label", () => {
    const m = model(`
      apiVersion: lightsub/v1
      kind: Mesh
      metadata: { name: x }
      spec:
        services:
          - name: a
            port: 1
            endpoints:
              - { address: a.b.c.d.e.f.1.2, port: 80 }
              - { address: "a:b:c:d:e:f:1:2", port: 80 }
    `);
    expect(svc(m, "a").endpoints.map((e) => [e.cluster, e.stat])).toEqual([
      ["a_ep0", "a_b_c_d_e_f_1_2_80"],
      ["a_ep1", "a_b_c_d_e_f_1_2_80_1"],
    ]);
  });

  it("takes hashOn only for consistent_hash, and the mesh's parameters as defaults for overrides", () => {
    const m = model(`
      apiVersion: lightsub/v1
      kind: Mesh
      metadata: { name: x }
      spec:
        scheduler: { strategy: least_latency, decay: 5s, hashOn: { cookie: sid } }
        services:
          - { name: a, port: 1, endpoints: [{ address: a, port: 2 }] }
          - { name: b, port: 1, endpoints: [{ address: b, port: 2 }], scheduler: { strategy: consistent_hash } }
          - { name: c, port: 1, endpoints: [{ address: c, port: 2 }], scheduler: { strategy: availability, errorThreshold: 0.05 } }
    `);
    expect(svc(m, "a").scheduler).toEqual({ strategy: "least_latency", ...defaults, decayMs: 5_000 });
    expect(svc(m, "b").scheduler).toEqual({ strategy: "consistent_hash", hashOn: { kind: "cookie", name: "sid" }, ...defaults, decayMs: 5_000 });
    expect(svc(m, "c").scheduler).toEqual({ strategy: "availability", ...defaults, decayMs: 5_000, errorThreshold: 0.05 });
  });

  it("produces no model when there is an error, and a model despite warnings", () => {
    const base = readFileSync(new URL("shop.yaml", FIXTURES), "utf8");
    const broken = checkPolicy(base.replace("calls: [catalog]", "calls: [catalogue]"), "p.yaml");
    expect(broken.model).toBeUndefined();
    expect(broken.diagnostics.some((d) => d.code === "LS012")).toBe(true);
    const warned = checkPolicy(base, "p.yaml");
    expect(warned.diagnostics.every((d) => d.severity === "warning")).toBe(true);
    expect(warned.model).toBeDefined();
  });
});

describe("durations", () => {
  it("reads units, decimals and sums exactly", () => {
    const cases: Array<[string, number]> = [
      ["250ms", 250], ["2s", 2_000], ["1.5s", 1_500], ["0.001s", 1], ["1.001s", 1_001], ["0.3s", 300],
      ["1m", 60_000], ["1.5m", 90_000], ["1h", 3_600_000], ["1m30s", 90_000], ["1h0m0.5s", 3_600_500], ["0s", 0],
    ];
    for (const [text, ms] of cases) expect(parseDuration(text), text).toEqual({ ok: true, ms });
  });

  it("refuses malformed and sub-millisecond values", () => {
    for (const text of ["", "2", "s", "2sec", "-1s", "1.5", "0.5ms", "1.0001s", " 1s", "1s ", "1e3ms", "9999999999999h"]) {
      expect(parseDuration(text).ok, text).toBe(false);
    }
  });

  it("formats milliseconds back into the shortest policy spelling", () => {
    for (const [ms, text] of [[250, "250ms"], [1_500, "1.5s"], [2_000, "2s"], [90_000, "90s"], [60_000, "1m"], [7_200_000, "2h"], [0, "0s"]] as const) {
      expect(formatDuration(ms)).toBe(text);
      expect(parseDuration(text)).toEqual({ ok: true, ms });
    }
  });
});
