/**
 * The live-sidecar harness with `spec.security` (what the real-Envoy
 * benchmark's mTLS runs use): two sidecars of one mTLS policy on loopback,
 * certificates from `lightsub certs` given as `certsDir`, the caller's
 * outbound → the callee's inbound over mutual TLS → a Node upstream. A
 * plaintext request straight to the callee's inbound never reaches the app.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { certsCommand } from "../../cli/certs.js";
import { startSidecar, stopAllSidecars } from "../../e2e/live/sidecar.js";
import { startUpstream } from "../../e2e/upstream-server.js";
import { describeWithEnvoy } from "../support/real-envoy.js";

afterAll(stopAllSidecars);

// Ports 43700-43799 (this file's own range).
const policy = (adminPort: number) => `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: live-mtls }
spec:
  security: { mtls: strict }
  sidecar: { adminPort: ${adminPort} }
  services:
    - name: client
      port: 43780
      meshPort: 43706
      public: true
      endpoints: [{ address: 127.0.0.1, port: 43706 }]
      calls: [server]
    - name: server
      port: 43721
      meshPort: 43716
      endpoints: [{ address: 127.0.0.1, port: 43716 }]
`;

describeWithEnvoy("live sidecar harness with mTLS (certsDir)", (envoy) => {
  it("a caller's sidecar reaches the callee's sidecar over mutual TLS; plaintext to the callee's inbound is refused", async () => {
    const app = await startUpstream({ name: "app", latencyMs: 1, failureRate: 0, port: 43711 });
    const dir = mkdtempSync(join(tmpdir(), "lightsub-live-mtls-"));
    try {
      const policyFile = join(dir, "policy.yaml");
      writeFileSync(policyFile, policy(43790));
      const errors: string[] = [];
      expect(await certsCommand([policyFile, "--out", join(dir, "certs")], { out: () => {}, err: (t: string) => void errors.push(t) })).toBe(0);
      // Each sidecar on its own admin port: one loopback.
      // The policy's app port of server is also the client's outbound listener port (one loopback, not two
      // containers): the server sidecar's local_app goes to the upstream's port instead.
      const toApp = (bootstrap: Record<string, unknown>) => {
        const clusters = (bootstrap.static_resources as { clusters: Array<{ name: string; load_assignment: any }> }).clusters; // eslint-disable-line @typescript-eslint/no-explicit-any
        clusters.find((c) => c.name === "local_app")!.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = 43711;
      };
      const server = await startSidecar({ envoy, policy: policy(43791), service: "server", certsDir: join(dir, "certs", "server"), concurrency: 1, editBootstrap: toApp });
      const client = await startSidecar({ envoy, policy: policy(43790), service: "client", certsDir: join(dir, "certs", "client"), concurrency: 1 }).catch(async (error: unknown) => {
        await server.stop();
        throw error;
      });
      try {
        expect(server.view.destinations).toEqual([]);
        for (let i = 0; i < 10; i++) {
          const response = await fetch(client.url("server"));
          expect(response.status).toBe(200);
          await response.text();
        }
        expect(app.counts().requests).toBe(10);
        const stats = await client.stats("^cluster\\.server_ep0\\.");
        expect(stats.get("cluster.server_ep0.ssl.handshake") ?? 0).toBeGreaterThan(0);
        expect(stats.get("cluster.server_ep0.upstream_rq_total")).toBe(10);

        // Plaintext to the callee's inbound: no TLS, no client certificate, so the app never sees it.
        const plain = await fetch("http://127.0.0.1:43716/").then(
          (r) => r.status,
          () => "refused",
        );
        expect(plain === "refused" || (typeof plain === "number" && plain >= 400)).toBe(true);
        expect(app.counts().requests).toBe(10);
      } finally {
        await client.stop();
        await server.stop();
      }
    } finally {
      await app.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
