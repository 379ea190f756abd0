/**
 * Big policies: a 10,000-service policy takes the fast parse paths and checks
 * correctly. How fast is a benchmark's question (npm run bench), not a test's.
 */
import { describe, expect, it } from "vitest";
import { checkPolicy } from "../../compiler/check-policy.js";
import { loadPolicyText } from "../../compiler/policy/load.js";

const N = 10_000;

function bigPolicy(brokenCalls: boolean): Record<string, unknown> {
  const services = Array.from({ length: N }, (_, i) => ({
    name: `svc-${i}`,
    port: 8080,
    protocol: i % 3 === 0 ? "grpc" : "http",
    endpoints: [
      { address: `svc-${i}-a`, port: 15006, weight: 2 },
      { address: `svc-${i}-b`, port: 15006 },
    ],
    calls: brokenCalls ? [`nope-${i}`] : [{ service: `svc-${(i + 1) % N}`, port: 7001 }, { service: `svc-${(i + 2) % N}`, port: 7002 }],
    scheduler: { strategy: "weighted" },
    connector: { timeout: "2s", retries: { attempts: 2, on: ["5xx", "reset"], perTryTimeout: "500ms" } },
  }));
  return { apiVersion: "lightsub/v1", kind: "Mesh", metadata: { name: "big" }, spec: { scheduler: { strategy: "least_latency" }, services } };
}

/** The same policy as hand-written block YAML (the yaml package's stringify would take seconds). */
function bigYaml(): string {
  const lines = ["apiVersion: lightsub/v1", "kind: Mesh", "metadata:", "  name: big", "spec:", "  scheduler:", "    strategy: least_latency", "  services:"];
  for (let i = 0; i < N; i++) {
    lines.push(
      `    - name: svc-${i}`,
      "      port: 8080",
      `      protocol: ${i % 3 === 0 ? "grpc" : "http"}`,
      "      endpoints:",
      `        - { address: svc-${i}-a, port: 15006, weight: 2 }`,
      `        - address: svc-${i}-b`,
      "          port: 15006",
      "      calls:",
      `        - service: svc-${(i + 1) % N}`,
      "          port: 7001",
      `        - { service: svc-${(i + 2) % N}, port: 7002 }  # comment`,
      "      scheduler: { strategy: weighted }",
      "      connector:",
      "        timeout: 2s",
      "        retries: { attempts: 2, on: [5xx, reset], perTryTimeout: 500ms }",
    );
  }
  return `${lines.join("\n")}\n`;
}

describe("10,000 services", () => {
  it("checks a block-style YAML policy on the fast path", () => {
    const text = bigYaml();
    const result = checkPolicy(text, "big.yaml");
    expect(loadPolicyText(text, "big.yaml").policy?.parser).toBe("fast-yaml");
    expect(result.diagnostics).toEqual([]);
    expect(result.model?.services).toHaveLength(N);
    expect(result.model?.services[N - 1]?.calls).toEqual([
      { service: "svc-0", port: 7001 },
      { service: "svc-1", port: 7002 },
    ]);
  });

  it("checks the same policy as JSON into the same model", () => {
    const result = checkPolicy(JSON.stringify(bigPolicy(false), null, 2), "big.json");
    expect(result.model).toEqual(checkPolicy(bigYaml(), "big.yaml").model);
  });

  it("reports all 10,000 problems", () => {
    const result = checkPolicy(JSON.stringify(bigPolicy(true), null, 2), "big.json");
    expect(result.model).toBeUndefined();
    expect(result.diagnostics.filter((d) => d.code === "LS012")).toHaveLength(N);
  });
});
