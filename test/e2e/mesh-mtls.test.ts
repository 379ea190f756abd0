/**
 * Mutual TLS and authorization (issue 17) on Envoy 1.40, in the
 * multi-namespace mesh (e2e/mesh/): test/fixtures/mesh/secure.yaml compiled
 * unchanged, its certificates made by `lightsub certs` and mounted where
 * docker compose mounts them. Requests from outside enter at the public edge
 * (web); the client agent also dials the sidecars' inbound listeners
 * directly, with and without certificates, to play the callers the mesh must
 * refuse.
 *
 * Run alone: npx vitest run test/e2e/mesh-mtls.test.ts
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { certsCommand } from "../../cli/certs.js";
import { CA_CERT_FILE, CA_DIR, CA_KEY_FILE, writeServiceCerts } from "../../compiler/certs/store.js";
import { createCa, issueLeaf, loadCa, type Ca, type Leaf } from "../../compiler/certs/x509.js";
import { CERTS_DIR_IN_CONTAINER, spiffeId } from "../../compiler/model/mesh.js";
import { startMesh, stopAllMeshes, type Mesh } from "../../e2e/mesh/mesh.js";
import type { AgentResponse, AppReply } from "../../e2e/mesh/protocol.js";
import { describeWithMesh } from "../support/mesh-gate.js";

const POLICY = "test/fixtures/mesh/secure.yaml";
const PERMISSIVE = "test/fixtures/mesh/permissive.yaml";
const TRUST = "secure.test";
const id = (service: string) => spiffeId(TRUST, service);
const HOUR = 3_600_000;

/** `lightsub certs <policy> --out <certs>`, as a user runs it before `docker compose up`: where compose looks by default, `../<mesh>-certs`. */
const certsDirOf = (outDir: string, mesh: string) => join(outDir, "..", `${mesh}-certs`);
async function makeCerts(policy: string, certsDir: string): Promise<void> {
  const lines: string[] = [];
  const code = await certsCommand([policy, "--out", certsDir], { out: (t) => lines.push(t), err: (t) => lines.push(t) });
  if (code !== 0) throw new Error(`lightsub certs failed (${code}): ${lines.join("\n")}`);
}

async function meshCa(mesh: Mesh): Promise<Ca> {
  const dir = join(certsDirOf(mesh.outDir, "secure"), CA_DIR);
  return loadCa(readFileSync(join(dir, CA_CERT_FILE), "utf8"), readFileSync(join(dir, CA_KEY_FILE), "utf8"));
}

/** Serial numbers (lowercase hex) of the certificates a sidecar presents (admin /certs). */
async function servedSerials(mesh: Mesh, instance: string): Promise<string[]> {
  const answer = await mesh.admin(instance, "/certs");
  const body = JSON.parse(answer.body) as { certificates: Array<{ cert_chain?: Array<{ serial_number?: string }> }> };
  return body.certificates.flatMap((c) => (c.cert_chain ?? []).map((x) => (x.serial_number ?? "").toLowerCase()));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Every status in a reply tree: the edge's and each call's, recursively. */
function statuses(answer: AgentResponse): number[] {
  const out = [answer.status];
  const walk = (reply: AppReply | undefined) => {
    for (const c of Object.values(reply?.calls ?? {})) {
      out.push(c.status);
      walk(c.reply);
    }
  };
  try {
    walk(JSON.parse(answer.body) as AppReply);
  } catch {
    /* not a reply: the status says enough */
  }
  return out;
}

describeWithMesh("mTLS mesh (spec.security strict) in network namespaces", (envoy) => {
  let mesh: Mesh;
  let ca: Ca;
  let webLeaf: Leaf;
  const ledgerUrl = "https://ledger-1:15006/";

  beforeAll(async () => {
    mesh = await startMesh({ envoy, policyFile: POLICY, deadlineMs: 100_000, edge: "web-1", prepare: (out) => makeCerts(POLICY, certsDirOf(out, "secure")) });
    ca = await meshCa(mesh);
    webLeaf = await issueLeaf(ca, id("web"), HOUR);
  }, 120_000);
  afterAll(async () => {
    await mesh?.stop();
    stopAllMeshes();
  }, 30_000);

  const ledgerRequests = async () => (await mesh.counts("ledger-1")).requests + (await mesh.counts("ledger-2")).requests;

  it("an allowed caller's requests succeed over mutual TLS (handshakes counted at both ends, HTTP/2 kept for gRPC)", async () => {
    for (let i = 0; i < 8; i++) {
      const answer = await mesh.request(mesh.edgeUrl("/"));
      expect(statuses(answer), answer.body).toEqual([200, 200, 200, 200]); // web, api, api → ledger, ledger
    }
    const web = await mesh.stats("web-1", "ssl");
    const handshakes = (name: string) => web.get(`cluster.${name}.ssl.handshake`) ?? 0;
    expect(handshakes("ledger_ep0") + handshakes("ledger_ep1")).toBeGreaterThan(0);
    expect(handshakes("api_ep0")).toBeGreaterThan(0);
    const ledger = await mesh.stats("ledger-1", "ssl.handshake");
    expect(ledger.get("listener.0.0.0.0_15006.ssl.handshake") ?? 0).toBeGreaterThan(0);
    // gRPC callee: HTTP/2 negotiated through ALPN over TLS.
    const h2 = await mesh.stats("web-1", "upstream_cx_http2_total");
    expect(h2.get("cluster.api_ep0.upstream_cx_http2_total") ?? 0).toBeGreaterThan(0);
    // The filter's metrics carry the calling service's identity.
    const rq = (await mesh.prometheus("web-1")).filter((m) => m.name === "lightsub_rq_total");
    expect(rq.length).toBeGreaterThan(0);
    for (const m of rq) expect(m.labels["caller"]).toBe(id("web"));
    // A mesh certificate of an allowed caller, presented directly, is served too; the sidecar shows its own SPIFFE leaf.
    const direct = await mesh.request(ledgerUrl, { tls: { cert: webLeaf.certPem, key: webLeaf.keyPem, ca: ca.certPem } });
    expect(direct.status, direct.error ?? direct.body).toBe(200);
    expect(await servedSerials(mesh, "ledger-1")).toContain(direct.peerSerial);
  });

  it("a mesh service the graph does not allow gets 403 and the app never sees the request; the denial is counted and logged per caller", async () => {
    const reportsLeaf = await issueLeaf(ca, id("reports"), HOUR);
    const before = await ledgerRequests();
    const deniedBefore = (await mesh.stats("ledger-1", "rbac")).get("http.inbound.rbac.lightsub.denied") ?? 0;
    for (let i = 0; i < 3; i++) {
      const answer = await mesh.request(ledgerUrl, { tls: { cert: reportsLeaf.certPem, key: reportsLeaf.keyPem, ca: ca.certPem } });
      expect(answer.status, answer.error).toBe(403);
    }
    expect(await ledgerRequests()).toBe(before);
    const rbac = await mesh.stats("ledger-1", "rbac");
    expect((rbac.get("http.inbound.rbac.lightsub.denied") ?? 0) - deniedBefore).toBe(3);
    // Per caller: the shadow rule naming reports matched exactly these 3 requests (README "Seeing denials").
    expect(rbac.get("http.inbound.rbac.lightsub.policy.denied-caller.reports.shadow_denied"), JSON.stringify([...rbac])).toBe(3);
    expect(rbac.get("http.inbound.rbac.lightsub.policy.denied-caller.audit.shadow_denied") ?? 0).toBe(0);
    expect(mesh.envoyLog("ledger-1")).toContain(`[lightsub] denied caller=${id("reports")}`);
  });

  it("refuses a plaintext client, a certificate from another CA, another CA's certificate with an allowed SPIFFE ID, and an expired certificate", async () => {
    const before = await ledgerRequests();
    const plaintext = await mesh.request("http://ledger-1:15006/");
    expect(plaintext.status).toBe(0);

    const { ca: otherCa } = await createCa(TRUST, HOUR);
    const foreign = await issueLeaf(otherCa, id("reports"), HOUR);
    const impostor = await issueLeaf(otherCa, id("web"), HOUR); // claims web's identity, signed by the wrong CA
    const expired = await issueLeaf(ca, id("web"), HOUR, new Date(Date.now() - 3 * HOUR));
    for (const leaf of [foreign, impostor, expired]) {
      const answer = await mesh.request(ledgerUrl, { tls: { cert: leaf.certPem, key: leaf.keyPem, ca: ca.certPem } });
      expect(answer.status, answer.body).toBe(0);
    }
    // No client certificate at all.
    const anonymous = await mesh.request(ledgerUrl, { tls: { ca: ca.certPem } });
    expect(anonymous.status).toBe(0);
    expect(await ledgerRequests()).toBe(before);
    const ssl = await mesh.stats("ledger-1", "ssl");
    expect(ssl.get("listener.0.0.0.0_15006.ssl.fail_verify_error") ?? 0).toBeGreaterThanOrEqual(3);
  });

  it("rotating every leaf under steady traffic loses no request, and each sidecar serves its new certificate within seconds", async () => {
    const results: number[][] = [];
    let stop = false;
    const worker = async () => {
      while (!stop) results.push(statuses(await mesh.request(mesh.edgeUrl("/"))));
    };
    const load = Promise.all([worker(), worker()]);
    await sleep(1_000);
    const fresh = new Map<string, Leaf>();
    const rotatedAt = Date.now();
    for (const inst of mesh.instances) {
      const leaf = await issueLeaf(ca, id(inst.service), HOUR);
      fresh.set(inst.name, leaf);
      writeServiceCerts(mesh.mountedPath(inst.name, CERTS_DIR_IN_CONTAINER), leaf, ca.certPem);
    }
    const tookMs = new Map<string, number>();
    for (const inst of mesh.instances) {
      for (;;) {
        if ((await servedSerials(mesh, inst.name)).includes(fresh.get(inst.name)!.serial)) break;
        expect(Date.now() - rotatedAt, `${inst.name} still serves its old certificate`).toBeLessThan(15_000);
        await sleep(100);
      }
      tookMs.set(inst.name, Date.now() - rotatedAt);
    }
    await sleep(1_500); // traffic on the new certificates too
    stop = true;
    await load;
    const failed = results.filter((s) => s.some((code) => code !== 200));
    expect(results.length).toBeGreaterThan(20);
    expect(failed, JSON.stringify(failed.slice(0, 5))).toEqual([]);
    // What a caller sees on the wire: the new leaf.
    const webNew = fresh.get("web-1")!;
    const direct = await mesh.request(ledgerUrl, { tls: { cert: webNew.certPem, key: webNew.keyPem, ca: ca.certPem } });
    expect(direct.status).toBe(200);
    expect(direct.peerSerial).toBe(fresh.get("ledger-1")!.serial);
    if (process.env.LIGHTSUB_TEST_REPORT) console.log(`rotation: ${results.length} requests, 0 failed; new leaf served after ${JSON.stringify(Object.fromEntries(tookMs))} ms`);
  }, 60_000);

  it("a callee presenting another service's SPIFFE ID (a valid mesh certificate) is refused by its caller's sidecar", async () => {
    // audit-1 now presents api's identity; reports' sidecar has never connected to audit (no traffic, no health checks).
    const wrong = await issueLeaf(ca, id("api"), HOUR);
    writeServiceCerts(mesh.mountedPath("audit-1", CERTS_DIR_IN_CONTAINER), wrong, ca.certPem);
    for (const t = Date.now(); !(await servedSerials(mesh, "audit-1")).includes(wrong.serial); await sleep(100)) {
      expect(Date.now() - t, "audit-1 does not serve the swapped certificate").toBeLessThan(15_000);
    }
    const before = (await mesh.counts("audit-1")).requests;
    const answer = await mesh.request("http://reports-1:15006/"); // reports is public: plaintext from outside
    const reply = JSON.parse(answer.body) as AppReply;
    expect(reply.calls["api"]?.status).toBe(200);
    expect(reply.calls["audit"]?.status).toBe(503);
    expect((await mesh.counts("audit-1")).requests).toBe(before);
    const ssl = await mesh.stats("reports-1", "ssl");
    expect(ssl.get("cluster.audit_ep0.ssl.fail_verify_san") ?? 0, JSON.stringify([...ssl])).toBeGreaterThan(0);
  }, 40_000);
});

describeWithMesh("mTLS mesh (spec.security permissive) in network namespaces", (envoy) => {
  let mesh: Mesh;
  beforeAll(async () => {
    mesh = await startMesh({ envoy, policyFile: PERMISSIVE, deadlineMs: 100_000, edge: "web-1", prepare: (out) => makeCerts(PERMISSIVE, certsDirOf(out, "permissive")) });
  }, 120_000);
  afterAll(async () => {
    await mesh?.stop();
    stopAllMeshes();
  }, 30_000);

  it("accepts plaintext and mutual TLS on the same inbound port", async () => {
    // web's sidecar calls ledger over mTLS ...
    const viaMesh = await mesh.request(mesh.edgeUrl("/"));
    expect(statuses(viaMesh)).toEqual([200, 200]);
    expect((await mesh.stats("web-1", "ssl.handshake")).get("cluster.ledger_ep0.ssl.handshake") ?? 0).toBeGreaterThan(0);
    // ... and a plaintext client is served too.
    const before = (await mesh.counts("ledger-1")).requests;
    const plaintext = await mesh.request("http://ledger-1:15006/");
    expect(plaintext.status).toBe(200);
    expect((await mesh.counts("ledger-1")).requests).toBe(before + 1);
  });
});
