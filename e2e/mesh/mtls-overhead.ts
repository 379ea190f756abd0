/**
 * A small measurement of what mutual TLS adds (issue 17; the real-Envoy
 * benchmark measures it with fortio: bench/envoy-overhead.ts, runs mesh:*): the same two-service mesh (web,
 * public, calls ledger) with and without `spec.security`, both up at once in
 * network namespaces, requests from the client through web's sidecar to
 * ledger's (kept-alive connections, so this is the per-request cost, not the
 * handshake). Rounds alternate between the two meshes. Prints p50/p99 of the
 * client-side latency and the Envoy CPU time per request (both sidecars).
 *
 *   npx tsx e2e/mesh/mtls-overhead.ts [envoy] [rounds] [requests per round]
 */
import { readFileSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certsCommand } from "../../cli/certs.js";
import { envoyPath } from "../envoy-locate.js";
import { startMesh, type Mesh } from "./mesh.js";

const POLICY = (security: string) => `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: overhead }
spec:
${security}  services:
    - name: web
      port: 8080
${security ? "      public: true\n" : ""}      endpoints: [{ address: web-1, port: 15006 }]
      calls: [ledger]
    - name: ledger
      port: 8082
      endpoints: [{ address: ledger-1, port: 15006 }]
`;

function envoyCpuTicks(mesh: Mesh): number {
  let ticks = 0;
  for (const pid of mesh.pids()) {
    try {
      if (!readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("envoy")) continue;
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      /* gone */
    }
  }
  return ticks;
}

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

async function main(): Promise<void> {
  const envoy = process.argv[2] || envoyPath();
  if (!envoy) throw new Error("no envoy");
  const rounds = Number(process.argv[3] ?? 6);
  const perRound = Number(process.argv[4] ?? 300);
  const dir = mkdtempSync(join(tmpdir(), "lightsub-mtls-overhead-"));
  const files = { plaintext: join(dir, "plain.yaml"), mtls: join(dir, "mtls.yaml") };
  writeFileSync(files.plaintext, POLICY(""));
  writeFileSync(files.mtls, POLICY("  security: { mtls: strict }\n"));
  const silent = { out: () => {}, err: (t: string) => console.error(t) };
  const meshes: Record<string, Mesh> = {};
  try {
    meshes.plaintext = await startMesh({ envoy, policyFile: files.plaintext, edge: "web-1" });
    meshes.mtls = await startMesh({ envoy, policyFile: files.mtls, edge: "web-1", prepare: async (out) => void (await certsCommand([files.mtls, "--out", join(out, "..", "overhead-certs")], silent)) });
    const lat: Record<string, number[]> = { plaintext: [], mtls: [] };
    const cpu: Record<string, number> = { plaintext: 0, mtls: 0 };
    for (const m of Object.values(meshes)) for (let i = 0; i < 50; i++) await m.request(m.edgeUrl("/")); // warm up
    for (let r = 0; r < rounds; r++) {
      for (const kind of r % 2 === 0 ? ["plaintext", "mtls"] : ["mtls", "plaintext"]) {
        const m = meshes[kind]!;
        const before = envoyCpuTicks(m);
        for (let i = 0; i < perRound; i++) {
          const t = process.hrtime.bigint();
          const answer = await m.request(m.edgeUrl("/"));
          if (answer.status !== 200) throw new Error(`${kind}: ${answer.status} ${answer.body}`);
          lat[kind]!.push(Number(process.hrtime.bigint() - t) / 1e6);
        }
        cpu[kind]! += envoyCpuTicks(m) - before;
      }
    }
    const tick = 1000 / 100; // ms per clock tick (USER_HZ 100)
    for (const kind of ["plaintext", "mtls"]) {
      const n = lat[kind]!.length;
      console.log(`${kind.padEnd(9)} n=${n} p50=${pct(lat[kind]!, 50).toFixed(2)} ms p99=${pct(lat[kind]!, 99).toFixed(2)} ms envoy cpu=${((cpu[kind]! * tick * 1000) / n).toFixed(0)} µs/request`);
    }
    const ssl = await meshes.mtls.stats("web-1", "ledger_ep0.ssl.handshake");
    console.log(`mtls handshakes web → ledger_ep0: ${ssl.get("cluster.ledger_ep0.ssl.handshake") ?? 0}`);
  } finally {
    for (const m of Object.values(meshes)) await m.stop();
  }
}

await main();
