/**
 * The builder API produces the same policy and model as the equivalent file,
 * through the same checks.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { API_FILE, Mesh } from "../../compiler/api.js";
import { formatDiagnostic } from "../../compiler/diagnostics/index.js";
import { checkPolicy } from "../../compiler/check-policy.js";

const FIXTURES = new URL("../fixtures/policies/", import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), "utf8");

/** The example policy (shop.yaml), built in code. */
function shop(): Mesh {
  return new Mesh("shop")
    .setScheduler("least_latency", { hashOn: { header: "x-user-id" } })
    .addService({
      name: "frontend",
      port: 8080,
      protocol: "http",
      endpoints: [{ address: "frontend", port: 8080 }],
      calls: ["catalog"],
    })
    .addService({
      name: "catalog",
      port: 9090,
      protocol: "grpc",
      endpoints: [
        { address: "catalog-1", port: 9090, weight: 2 },
        { address: "catalog-2", port: 9090 },
      ],
      scheduler: { strategy: "least_load" },
    })
    .setConnector("catalog", {
      timeout: "2s",
      retries: { attempts: 2, on: ["5xx", "reset", "connect-failure"], perTryTimeout: "500ms" },
      circuitBreaker: { maxConnections: 1024, maxPendingRequests: 1024, maxRequests: 1024, maxRetries: 3 },
      outlierDetection: { consecutive5xx: 5, interval: "10s", baseEjectionTime: "30s", maxEjectionPercent: 50 },
      healthCheck: { interval: "5s", timeout: "1s", unhealthyThreshold: 3, healthyThreshold: 2 },
    });
}

describe("Mesh builder", () => {
  it("builds the same policy document as the file", () => {
    expect(shop().toPolicy()).toEqual(parse(fixture("shop.yaml")));
  });

  it("gives the same model and diagnostics (by code and message) as the file", () => {
    const fromFile = checkPolicy(fixture("shop.yaml"), "shop.yaml");
    const fromApi = shop().toModel();
    expect(fromApi.model).toBeDefined();
    expect(fromApi.model).toEqual(fromFile.model);
    const summary = (ds: typeof fromApi.diagnostics): string[] => ds.map((d) => `${d.severity} ${d.code}: ${d.message}`);
    expect(summary(fromApi.diagnostics)).toEqual(summary(fromFile.diagnostics));
    expect(fromApi.diagnostics.every((d) => d.file === API_FILE)).toBe(true);
  });

  it("reports problems with positions in its own text", () => {
    const mesh = new Mesh("shop")
      .addService({ name: "frontend", port: 8080, endpoints: [{ address: "frontend", port: 15006 }], calls: ["catalg"] })
      .addService({ name: "catalog", port: 9090, endpoints: [{ address: "catalog-1", port: 15006 }] });
    const result = mesh.toModel();
    expect(result.model).toBeUndefined();
    const text = mesh.toText();
    const line = text.split("\n").findIndex((l) => l.includes('"catalg"')) + 1;
    const column = text.split("\n")[line - 1]!.indexOf('"catalg"') + 1;
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      `<api>:${line}:${column}: error LS012: service "catalg" in calls is not defined (did you mean "catalog"?)`,
    ]);
  });

  it("sets the mesh fail mode, the sidecar and per-service schedulers", () => {
    const mesh = new Mesh("m")
      .setFailMode("closed")
      .setSidecar({ adminPort: 9000 })
      .addService({ name: "a", port: 1, endpoints: [{ address: "a", port: 2 }], calls: [{ service: "b", port: 7001 }] })
      .addService({ name: "b", port: 1, endpoints: [{ address: "b-1", port: 2 }, { address: "b-2", port: 2, weight: 3 }] })
      .setServiceScheduler("b", "weighted");
    expect(Object.keys(mesh.toPolicy().spec)).toEqual(["failMode", "sidecar", "services"]);
    const { model, diagnostics } = mesh.toModel();
    expect(diagnostics).toEqual([]);
    expect(model?.sidecar.adminPort).toBe(9000);
    expect(model?.services.map((s) => [s.name, s.failMode, s.scheduler.strategy])).toEqual([
      ["a", "closed", "round_robin"],
      ["b", "closed", "weighted"],
    ]);
    expect(model?.services[0]?.calls).toEqual([{ service: "b", port: 7001 }]);
  });

  it("checks YAML and JSON renderings of its policy identically", () => {
    const mesh = shop();
    expect(checkPolicy(mesh.toText("yaml"), "x.yaml").model).toEqual(checkPolicy(mesh.toText("json"), "x.json").model);
  });

  it("copies its inputs, so later changes to them do not leak in", () => {
    const endpoints = [{ address: "a", port: 2 }];
    const mesh = new Mesh("m").addService({ name: "a", port: 1, endpoints });
    endpoints.push({ address: "b", port: 2 });
    expect(mesh.toPolicy().spec.services[0]!.endpoints).toHaveLength(1);
    const policy = mesh.toPolicy();
    policy.spec.services[0]!.port = 99;
    expect(mesh.toPolicy().spec.services[0]!.port).toBe(1);
  });

  it("refuses to configure a service that was not added", () => {
    expect(() => new Mesh("m").setConnector("ghost", { timeout: "1s" })).toThrow(/no service "ghost"/);
    expect(() => new Mesh("m").setServiceScheduler("ghost", "random")).toThrow(/no service "ghost"/);
  });

  it("leaves duplicates and other mistakes to the checks", () => {
    const result = new Mesh("Bad")
      .addService({ name: "a", port: 1, endpoints: [{ address: "a", port: 2 }] })
      .addService({ name: "a", port: 1, endpoints: [{ address: "a", port: 3 }] })
      .toModel();
    expect(result.diagnostics.map((d) => d.code)).toEqual(["LS008", "LS010"]);
  });
});
