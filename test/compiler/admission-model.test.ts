/**
 * Admission (issue 8) from policy to Envoy config: the model's defaults, the
 * builder API giving the same model as a file, the plugin JSON's `admission`
 * object as docs/design.md fixes it, output unchanged for services without
 * admission, strict Envoy validation and determinism.
 */
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { Mesh } from "../../compiler/api.js";
import { formatDiagnostic } from "../../compiler/diagnostics/index.js";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import { sidecarPluginJson } from "../../compiler/envoy/plugin-config.js";
import { ADMISSION_DEFAULTS, type MeshModel } from "../../compiler/model/mesh.js";
import { checkPolicy, POLICY_SCHEMA } from "../../compiler/check-policy.js";
import { parseDuration } from "../../compiler/policy/duration.js";
import { loadEnvoyValidator, type EnvoyValidator } from "../../compiler/validate/index.js";

function policy(admission: string, connector = ""): string {
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: test }
spec:
  services:
    - name: frontend
      port: 8080
      endpoints: [{ address: frontend, port: 15006 }]
      calls: [catalog]
    - name: catalog
      port: 9090
      endpoints: [{ address: catalog-1, port: 15006 }, { address: catalog-2, port: 15006 }]
${connector}${admission}`;
}

function model(text: string): MeshModel {
  const result = checkPolicy(text, "p.yaml");
  expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
  return result.model!;
}

const catalog = (m: MeshModel) => m.services.find((s) => s.name === "catalog")!;
const destination = (m: MeshModel) => (JSON.parse(sidecarPluginJson(m, "frontend", "catalog")) as { destinations: Record<string, unknown>[] }).destinations[0]!;

const FULL = `      admission:
        maxInFlightPerEndpoint: 32
        maxQueue: 64
        queueTimeout: 200ms
        tick: 5ms
        priorityFrom: { header: X-Priority }
        levels: [critical, high, normal, low]
        defaultLevel: low
        adaptive: { minLimit: 4, maxLimit: 256, window: 2s }
`;

describe("admission in the model", () => {
  it("applies the defaults of ADMISSION_DEFAULTS", () => {
    const admission = catalog(model(policy("      admission: { maxInFlightPerEndpoint: 8 }\n"))).admission;
    expect(admission).toEqual({
      maxInFlightPerEndpoint: 8,
      maxQueue: ADMISSION_DEFAULTS.maxQueue,
      queueTimeoutMs: ADMISSION_DEFAULTS.queueTimeoutMs,
      tickMs: ADMISSION_DEFAULTS.tickMs,
      levels: [...ADMISSION_DEFAULTS.levels],
      defaultLevel: ADMISSION_DEFAULTS.levels.indexOf(ADMISSION_DEFAULTS.defaultLevelName),
    });
  });

  it("resolves every written field: durations in ms, the header lowercased, the default level as an index", () => {
    expect(catalog(model(policy(FULL))).admission).toEqual({
      maxInFlightPerEndpoint: 32,
      maxQueue: 64,
      queueTimeoutMs: 200,
      tickMs: 5,
      priorityHeader: "x-priority",
      levels: ["critical", "high", "normal", "low"],
      defaultLevel: 3,
      adaptive: { minLimit: 4, maxLimit: 256, windowMs: 2000 },
    });
  });

  it("takes `normal` as the default level when listed, else the last level; adaptive window defaults to 1s", () => {
    const withNormal = policy("      admission: { maxInFlightPerEndpoint: 8, priorityFrom: { header: p }, levels: [a, normal, b] }\n");
    expect(catalog(model(withNormal)).admission!.defaultLevel).toBe(1);
    const without = policy("      admission: { maxInFlightPerEndpoint: 8, priorityFrom: { header: p }, levels: [gold, silver, bronze], adaptive: { minLimit: 1, maxLimit: 8 } }\n");
    const admission = catalog(model(without)).admission!;
    expect(admission.defaultLevel).toBe(2);
    expect(admission.adaptive).toEqual({ minLimit: 1, maxLimit: 8, windowMs: ADMISSION_DEFAULTS.adaptiveWindowMs });
  });

  it("leaves services without admission without the field", () => {
    const m = model(policy(FULL));
    expect("admission" in m.services.find((s) => s.name === "frontend")!).toBe(false);
  });

  it("documents the same defaults in the schema as the compiler applies", () => {
    const props = (POLICY_SCHEMA.$defs!["admission"]!["properties"] as Record<string, Record<string, unknown>>)!;
    expect(props["maxQueue"]!["default"]).toBe(ADMISSION_DEFAULTS.maxQueue);
    expect(parseDuration(props["queueTimeout"]!["default"] as string)).toEqual({ ok: true, ms: ADMISSION_DEFAULTS.queueTimeoutMs });
    expect(parseDuration(props["tick"]!["default"] as string)).toEqual({ ok: true, ms: ADMISSION_DEFAULTS.tickMs });
    expect(props["levels"]!["default"]).toEqual([...ADMISSION_DEFAULTS.levels]);
    const adaptive = (props["adaptive"]!["properties"] as Record<string, Record<string, unknown>>)!;
    expect(parseDuration(adaptive["window"]!["default"] as string)).toEqual({ ok: true, ms: ADMISSION_DEFAULTS.adaptiveWindowMs });
    const withDescriptions = (node: Record<string, unknown>, at: string): void => {
      for (const [key, child] of Object.entries((node["properties"] ?? {}) as Record<string, Record<string, unknown>>)) {
        expect(typeof child["description"], `${at}.${key} has a description`).toBe("string");
        withDescriptions(child, `${at}.${key}`);
      }
    };
    withDescriptions(POLICY_SCHEMA.$defs!["admission"]!, "admission");
  });
});

describe("the builder API", () => {
  const build = (): Mesh =>
    new Mesh("test")
      .addService({ name: "frontend", port: 8080, endpoints: [{ address: "frontend", port: 15006 }], calls: ["catalog"] })
      .addService({ name: "catalog", port: 9090, endpoints: [{ address: "catalog-1", port: 15006 }, { address: "catalog-2", port: 15006 }] });

  it("setAdmission gives the same model as the policy file", () => {
    const spec = {
      maxInFlightPerEndpoint: 32,
      maxQueue: 64,
      queueTimeout: "200ms",
      tick: "5ms",
      priorityFrom: { header: "X-Priority" },
      levels: ["critical", "high", "normal", "low"],
      defaultLevel: "low",
      adaptive: { minLimit: 4, maxLimit: 256, window: "2s" },
    };
    const fromApi = build().setAdmission("catalog", spec).toModel();
    expect(fromApi.diagnostics).toEqual([]);
    expect(fromApi.model).toEqual(model(policy(FULL)));
    spec.maxQueue = 1; // the builder copied its argument
    expect(catalog(fromApi.model!).admission!.maxQueue).toBe(64);
  });

  it("runs the same checks (diagnostics point into its text) and null removes admission", () => {
    const mesh = build().setAdmission("catalog", { maxInFlightPerEndpoint: 8, adaptive: { minLimit: 9, maxLimit: 20 } });
    const checked = mesh.toModel();
    expect(checked.model).toBeUndefined();
    expect(checked.diagnostics.map((d) => d.code)).toEqual(["LS084"]);
    const line = mesh.toText().split("\n")[checked.diagnostics[0]!.line - 1]!;
    expect(line).toContain('"maxInFlightPerEndpoint": 8');
    expect(catalog(mesh.setAdmission("catalog", null).toModel().model!).admission).toBeUndefined();
    expect(() => build().setAdmission("nope", { maxInFlightPerEndpoint: 1 })).toThrow(/no service "nope"/);
  });
});

describe("the plugin configuration", () => {
  it("carries the destination's admission exactly as docs/design.md fixes it, keys in its order", () => {
    const admission = destination(model(policy(FULL)))["admission"] as Record<string, unknown>;
    expect(admission).toEqual({
      maxInFlight: 32,
      maxQueue: 64,
      queueTimeoutMs: 200,
      tickMs: 5,
      priorityHeader: "x-priority",
      levels: ["critical", "high", "normal", "low"],
      defaultLevel: 3,
      adaptive: { minLimit: 4, maxLimit: 256, windowMs: 2000 },
    });
    expect(Object.keys(admission)).toEqual(["maxInFlight", "maxQueue", "queueTimeoutMs", "tickMs", "priorityHeader", "levels", "defaultLevel", "adaptive"]);
  });

  it("always writes maxQueue, queueTimeoutMs, tickMs, levels and defaultLevel; priorityHeader and adaptive only when set", () => {
    const admission = destination(model(policy("      admission: { maxInFlightPerEndpoint: 8 }\n")))["admission"];
    expect(admission).toEqual({ maxInFlight: 8, maxQueue: 128, queueTimeoutMs: 1000, tickMs: 10, levels: ["high", "normal", "low"], defaultLevel: 1 });
  });

  it("is byte-identical without admission: the same text minus the admission key", () => {
    const withAdmission = model(policy(FULL));
    const without: MeshModel = { ...withAdmission, services: withAdmission.services.map(({ admission: _, ...rest }) => rest) };
    const plain = sidecarPluginJson(without, "frontend", "catalog");
    expect(plain).not.toContain("admission");
    const parsed = JSON.parse(sidecarPluginJson(withAdmission, "frontend", "catalog")) as { destinations: Record<string, unknown>[] };
    delete parsed.destinations[0]!["admission"];
    expect(JSON.stringify(parsed)).toBe(plain);
    // and equal to the model compiled from the file without admission
    expect(sidecarPluginJson(model(policy("")), "frontend", "catalog")).toBe(plain);
  });
});

describe("Envoy configs with admission", () => {
  let validator: EnvoyValidator;
  beforeAll(async () => {
    validator = await loadEnvoyValidator();
  });

  it("pass the strict check against Envoy's protos and compile deterministically", () => {
    const m = model(policy(FULL, "      connector: { timeout: 2s, circuitBreaker: { maxRequests: 512 } }\n"));
    const first = sidecarBootstraps(m);
    for (const [service, bootstrap] of first) expect(validator.validateBootstrap(bootstrap), service).toEqual([]);
    const again = sidecarBootstraps(model(policy(FULL, "      connector: { timeout: 2s, circuitBreaker: { maxRequests: 512 } }\n")));
    expect(JSON.stringify([...again])).toBe(JSON.stringify([...first]));
    // The admission reaches the frontend's Wasm filter configuration.
    expect(JSON.stringify(first.get("frontend"))).toContain('\\"admission\\":{\\"maxInFlight\\":32');
    expect(JSON.stringify(first.get("catalog"))).not.toContain("admission");
  });

  it("examples/bookstore.yaml has admission on catalog and checks without any diagnostic", () => {
    const file = new URL("../../examples/bookstore.yaml", import.meta.url);
    const result = checkPolicy(readFileSync(file, "utf8"), "bookstore.yaml");
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([]);
    const withAdmission = result.model!.services.filter((s) => s.admission !== undefined).map((s) => s.name);
    expect(withAdmission).toEqual(["catalog"]);
    for (const [service, bootstrap] of sidecarBootstraps(result.model!)) expect(validator.validateBootstrap(bootstrap), service).toEqual([]);
  });
});
