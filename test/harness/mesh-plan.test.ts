/**
 * The whole-mesh harness's pure parts (no namespaces, no Envoy): how it reads
 * a docker-compose.yaml into instances (e2e/mesh/mesh.ts planFromCompose) and
 * that its metric checks (e2e/mesh/observe.ts) report every kind of mismatch,
 * so the real-Envoy mesh tests cannot pass by comparing nothing.
 */
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { compile } from "../../compiler/compile.js";
import { composeFile } from "../../compiler/compose/compose.js";
import type { PromSample } from "../../e2e/assertions.js";
import { planFromCompose, type Mesh, type MeshInstance } from "../../e2e/mesh/mesh.js";
import { checkMetricsAgree, checkMetricsPresent, type Snapshot } from "../../e2e/mesh/observe.js";
import type { AppCounts } from "../../e2e/mesh/protocol.js";
import { readSidecarView } from "../../e2e/sidecar-view.js";
import { fiveServiceModel } from "../support/models.js";

const CHAIN = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: chain }
spec:
  services:
    - name: edge
      port: 8080
      endpoints: [{ address: edge-1, port: 15006 }]
      calls: [back]
    - name: back
      port: 8082
      endpoints: [{ address: back-1, port: 15006 }, { address: back-2, port: 15006 }]
`;

describe("planFromCompose", () => {
  it("makes one instance per namespace owner, with the sidecar's volumes, compose's extra_hosts and labels", async () => {
    const out = await compile(CHAIN, "chain.yaml", { withoutWasm: true });
    const plan = planFromCompose(String(out.files!.get("docker-compose.yaml")), "/out");
    expect(plan.instances.map((i) => [i.name, i.service])).toEqual([
      ["edge-1", "edge"],
      ["back-1", "back"],
      ["back-2", "back"],
    ]);
    const edge = plan.instances[0]!;
    expect(edge.volumes).toEqual([
      { source: "/out/edge/envoy.yaml", target: "/etc/envoy/envoy.yaml" },
      { source: "/out/lightsub.wasm", target: "/etc/lightsub/lightsub.wasm" },
    ]);
    expect(edge.extraHosts).toEqual([["back", "127.0.0.1"]]);
    expect(edge.labels["lightsub.outbound"]).toBe("back=127.0.0.1:8082");
    expect(plan.instances[1]!.extraHosts).toEqual([]);
    expect(plan.subnet).toBeUndefined();
  });

  it("gives an app container's namespace the volumes of the sidecar that joins it", () => {
    const model = fiveServiceModel();
    const plan = planFromCompose(stringify(composeFile(model)), "/out");
    const search = model.services.find((s) => s.name === "search")!;
    expect(search.image).toBeDefined();
    for (const ep of search.endpoints) {
      const inst = plan.instances.find((i) => i.name === ep.address)!;
      expect(inst.service).toBe("search");
      expect(inst.volumes.map((v) => v.target)).toEqual(["/etc/envoy/envoy.yaml", "/etc/lightsub/lightsub.wasm"]);
    }
    // No instance for the sidecar containers themselves: they share their app's namespace.
    expect(plan.instances.some((i) => i.name.endsWith("-sidecar"))).toBe(false);
  });
});

describe("mesh metric checks", async () => {
  const out = await compile(CHAIN, "chain.yaml", { withoutWasm: true });
  const bootstrap = parse(String(out.files!.get("edge/envoy.yaml"))) as Record<string, unknown>;
  const edge = { name: "edge-1", service: "edge", view: readSidecarView(bootstrap) } as MeshInstance;
  const backs = ["back-1", "back-2"].map((name) => ({ name, service: "back" }) as MeshInstance);
  const mesh = { instances: [edge, ...backs] } as unknown as Mesh;
  const counts = (requests: number, injectedFailures = 0): AppCounts => ({
    requests,
    injectedFailures,
    healthChecks: 0,
    schedulingHeaderSeen: 0,
    spoofSent: 0,
    sessions: {},
  });
  /** A snapshot in which back-1 served r1 and back-2 served r2 (f2 of them injected failures), all metrics agreeing. */
  const snap = (r1: number, r2: number, f2 = 0): Snapshot => {
    const samples: PromSample[] = [];
    const stats = new Map<string, number>();
    for (const [stat, cluster, r, f] of [
      ["back-1_15006", "back_ep0", r1, 0],
      ["back-2_15006", "back_ep1", r2, f2],
    ] as const) {
      const labels = { service: "back", endpoint: stat };
      for (const [name, value] of [
        ["rq_total", r],
        ["rq_error", f],
        ["rq_5xx", f],
        ["rq_reset", 0],
        ["rq_timeout", 0],
        ["rq_active", 0],
        ["latency_ewma_us", 1000],
        ["rq_latency_ms_count", r],
        ["rq_latency_ms_sum", r],
      ] as const) {
        samples.push({ name: `lightsub_${name}`, labels, value: value });
      }
      samples.push({ name: "lightsub_rq_latency_ms_bucket", labels: { ...labels, le: "+Inf" }, value: r });
      stats.set(`cluster.${cluster}.upstream_rq_total`, r);
      stats.set(`cluster.${cluster}.upstream_rq_5xx`, f);
    }
    samples.push({ name: "lightsub_rq_unscheduled", labels: { service: "back" }, value: 0 });
    samples.push({ name: "lightsub_cas_exhausted", labels: { service: "back" }, value: 0 });
    return {
      apps: new Map([
        ["edge-1", counts(r1 + r2)],
        ["back-1", counts(r1)],
        ["back-2", counts(r2, f2)],
      ]),
      prometheus: new Map([["edge-1", samples]]),
      stats: new Map([["edge-1", stats]]),
    };
  };
  const before = snap(3, 4, 1);

  it("agree when every count matches, and the served counts are the apps'", () => {
    const after = snap(10, 12, 5);
    const result = checkMetricsAgree(mesh, before, after);
    expect(result.problems).toEqual([]);
    expect(Object.fromEntries(result.served)).toEqual({ "back-1": 7, "back-2": 8 });
    expect(checkMetricsPresent(mesh, after)).toEqual([]);
  });

  it("report a lightsub count, an Envoy count, a failure count or a gauge that differs", () => {
    const after = snap(10, 12, 5);
    after.apps.set("back-1", counts(8));
    after.stats.get("edge-1")!.set("cluster.back_ep1.upstream_rq_total", 13);
    after.apps.set("back-2", counts(12, 6));
    after.prometheus.get("edge-1")!.find((s) => s.name === "lightsub_rq_active" && s.labels.endpoint === "back-1_15006")!.value = 1;
    const problems = checkMetricsAgree(mesh, before, after).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/back-1: lightsub_rq_total summed over its callers is 7, the app counted 5/),
        expect.stringMatching(/back-2: Envoy's upstream_rq_total summed over its callers is 9, the app counted 8/),
        expect.stringMatching(/back-2: lightsub_rq_5xx summed over its callers is 4, the app counted 5/),
        expect.stringMatching(/lightsub_rq_active\{service="back",endpoint="back-1_15006"\} is 1/),
      ]),
    );
  });

  it("report a metric that is missing or has lost its labels", () => {
    const after = snap(10, 12);
    const samples = after.prometheus.get("edge-1")!;
    samples.splice(samples.findIndex((s) => s.name === "lightsub_rq_total" && s.labels.endpoint === "back-2_15006"), 1);
    samples.push({ name: "lightsub_rq_total", labels: {}, value: 1 });
    expect(checkMetricsAgree(mesh, before, after).problems).toContainEqual(expect.stringMatching(/back-2: lightsub_rq_total summed over its callers is NaN/));
    expect(checkMetricsPresent(mesh, after)).toEqual([
      'edge-1: lightsub_rq_total{"service":"back","endpoint":"back-2_15006"} is missing',
      "edge-1: lightsub_rq_total has no service label",
    ]);
  });
});
