/**
 * The live-sidecar harness every real-Envoy test builds on: a compiled sidecar
 * runs on Envoy 1.40, routes through the filter to Node upstreams, reports the
 * filter's metrics, and leaves nothing running after stop().
 */
import { afterAll, expect, it } from "vitest";
import { startSidecar, stopAllSidecars } from "../../e2e/live/sidecar.js";
import { startUpstream, UPSTREAM_HEADER } from "../../e2e/upstream-server.js";
import { describeWithEnvoy } from "../support/real-envoy.js";

afterAll(stopAllSidecars);

describeWithEnvoy("live sidecar harness", (envoy) => {
  it("routes round robin through the filter and counts every request under its endpoint label", async () => {
    const a = await startUpstream({ name: "a", latencyMs: 1, failureRate: 0, port: 24101 });
    const b = await startUpstream({ name: "b", latencyMs: 1, failureRate: 0, port: 24102 });
    const policy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: live }
spec:
  sidecar: { adminPort: 24901 }
  services:
    - name: client
      port: 24080
      meshPort: 24006
      endpoints: [{ address: 127.0.0.1, port: 24006 }]
      calls: [svc]
    - name: svc
      port: 24090
      endpoints: [{ address: 127.0.0.1, port: 24101 }, { address: 127.0.0.1, port: 24102 }]
      scheduler: { strategy: round_robin }
`;
    const sidecar = await startSidecar({ envoy, policy, service: "client" });
    try {
      const seen: Record<string, number> = {};
      for (let i = 0; i < 40; i++) {
        const response = await fetch(sidecar.url("svc"));
        expect(response.status).toBe(200);
        const who = response.headers.get(UPSTREAM_HEADER)!;
        seen[who] = (seen[who] ?? 0) + 1;
        await response.text();
      }
      expect(seen).toEqual({ a: 20, b: 20 });
      expect(a.counts().requests + b.counts().requests).toBe(40);
      let total = 0;
      for (let tries = 0; tries < 50 && total < 40; tries++) {
        total = (await sidecar.prometheus())
          .filter((s) => s.name === "lightsub_rq_total" && s.labels.service === "svc")
          .reduce((sum, s) => sum + s.value, 0);
        if (total < 40) await new Promise((r) => setTimeout(r, 100));
      }
      expect(total).toBe(40);
    } finally {
      await sidecar.stop();
      await a.close();
      await b.close();
    }
    expect(sidecar.exited()).toBeDefined();
  }, 60_000);
});
