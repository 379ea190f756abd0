/**
 * The live-sidecar harness every real-Envoy test builds on: a compiled sidecar
 * runs on Envoy 1.40, routes through the filter to Node upstreams, reports the
 * filter's metrics, and leaves nothing running after stop().
 */
import { afterAll, expect, it } from "vitest";
import { startSidecar, stopAllSidecars } from "../../e2e/live/sidecar.js";
import { startUpstream, UPSTREAM_HEADER, type UpstreamServer } from "../../e2e/upstream-server.js";
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

  it("gives each outbound listener its own plugin in the shared VMs: a caller of two services steers both", async () => {
    // Loopback ports 43000-43999 only (other tests of the suite may run beside this one).
    const alpha = [43101, 43102];
    const beta = [43111, 43112, 43113];
    const ups = new Map<number, UpstreamServer>();
    for (const port of [...alpha, ...beta]) ups.set(port, await startUpstream({ name: `u${port}`, latencyMs: 1, failureRate: 0, port }));
    const list = (ports: number[]) => ports.map((port) => `{ address: 127.0.0.1, port: ${port} }`).join(", ");
    const policy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: live-two }
spec:
  sidecar: { adminPort: 43901 }
  services:
    - name: client
      port: 43080
      meshPort: 43006
      endpoints: [{ address: 127.0.0.1, port: 43006 }]
      calls: [alpha, beta]
    - name: alpha
      port: 43090
      endpoints: [${list(alpha)}]
      scheduler: { strategy: round_robin }
    - name: beta
      port: 43091
      endpoints: [${list(beta)}]
      scheduler: { strategy: round_robin }
`;
    const concurrency = 2;
    const sidecar = await startSidecar({ envoy, policy, service: "client", concurrency, logLevel: "info" });
    try {
      // Interleaved: each request through its callee's listener, steered onto one of that callee's endpoints.
      const seen = new Map<string, number>();
      for (let i = 0; i < 30; i++) {
        for (const service of i < 20 ? ["alpha", "beta"] : ["beta"]) {
          const response = await fetch(sidecar.url(service));
          expect(response.status).toBe(200);
          const who = `${service}:${response.headers.get(UPSTREAM_HEADER)}`;
          seen.set(who, (seen.get(who) ?? 0) + 1);
          await response.text();
        }
      }
      const expected = [...alpha.map((port) => `alpha:u${port}`), ...beta.map((port) => `beta:u${port}`)];
      expect([...seen.keys()].sort()).toEqual(expected.sort());
      // Round robin per worker: 20 requests over alpha's 2 endpoints, 30 over beta's 3, at most one off per worker.
      for (const [who, n] of seen) expect(Math.abs(n - 10), who).toBeLessThanOrEqual(concurrency);
      for (const [port, up] of ups) expect(up.counts().requests, `upstream ${port}`).toBe(seen.get(`${port < 43110 ? "alpha" : "beta"}:u${port}`));

      // Both destinations' metrics, per endpoint, in the one admin /stats.
      const statOf = (service: string, port: number) => `wasmcustom.lightsub.service.${service}.endpoint.127_0_0_1_${port}.rq_total`;
      const wanted = new Map([
        ...alpha.map((port): [string, number] => [statOf("alpha", port), ups.get(port)!.counts().requests]),
        ...beta.map((port): [string, number] => [statOf("beta", port), ups.get(port)!.counts().requests]),
      ]);
      let stats = new Map<string, number>();
      for (let tries = 0; tries < 50; tries++) {
        stats = await sidecar.stats("wasm");
        if ([...wanted].every(([name, n]) => stats.get(name) === n)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [name, n] of wanted) expect(stats.get(name), name).toBe(n);
      for (const service of ["alpha", "beta"]) expect(stats.get(`wasmcustom.lightsub.service.${service}.rq_unscheduled`), service).toBe(0);

      // One root context per listener in each worker's VM: each worker thread configured both
      // listeners' plugins, and there are no more VMs than with one listener (measured on Envoy
      // 1.40: 2 on the main thread + 1 per worker, whatever the number of outbound listeners).
      const configured = new Map<string, Set<string>>();
      for (const line of sidecar.log().split("\n")) {
        const m = /^\[[^\]]+\]\[(\d+)\]\[info\]\[wasm\].*lightsub: configured for service client, listener of destination (\w+)$/.exec(line);
        if (m) configured.set(m[2]!, (configured.get(m[2]!) ?? new Set()).add(m[1]!));
      }
      expect([...configured.keys()].sort()).toEqual(["alpha", "beta"]);
      expect(configured.get("alpha")!.size).toBeGreaterThanOrEqual(concurrency + 1); // the workers and the main thread
      expect(configured.get("beta")).toEqual(configured.get("alpha"));
      expect(sidecar.log()).not.toMatch(/destination\(s\)/); // no route-scoped configuration
      expect(stats.get("wasm.wasm_vm_count")).toBe(concurrency + 2);
    } finally {
      await sidecar.stop();
      for (const up of ups.values()) await up.close();
    }
  }, 60_000);
});
