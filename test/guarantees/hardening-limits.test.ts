/**
 * Resource limits, end to end through the CLI (in process): each oversized
 * input ends quickly in one clear LS001/LS011 diagnostic with a position, exit
 * code 1, and nothing written. The limits: file size, services, endpoints per
 * service, YAML alias expansion, nesting depth, and the size of the generated
 * configs (Envoy clusters in all sidecars), which grows with calls × endpoints
 * rather than with the file.
 */
import { existsSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { main } from "../../cli/main.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import {
  MAX_ALIAS_COUNT,
  MAX_ENDPOINTS_PER_SERVICE,
  MAX_FILE_BYTES,
  MAX_MESH_CLUSTERS,
  MAX_SERVICES,
  MAX_SIDECAR_CLUSTERS,
} from "../../compiler/policy/limits.js";
import { generatePolicy } from "../../bench/policy-gen.js";

const dir = mkdtempSync(join(tmpdir(), "lightsub-limits-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/** Generous for a loaded CI machine; these inputs are refused in well under a second here. */
const QUICK_MS = 5_000;

let n = 0;
async function compileCli(write: (path: string) => void): Promise<{ code: number; lines: string[]; out: string; ms: number; path: string }> {
  const path = join(dir, `policy-${n}.yaml`);
  const out = join(dir, `out-${n++}`);
  write(path);
  const lines: string[] = [];
  const started = performance.now();
  const code = await main(["compile", path, "--out", out], { out: (t) => lines.push(t), err: (t) => lines.push(...t.split("\n")) });
  return { code, lines, out, ms: performance.now() - started, path };
}

/** One error with the given code, positioned, then the summary line; nothing written, quickly. */
function expectRefused(r: Awaited<ReturnType<typeof compileCli>>, code: string, message: RegExp, at?: { line: number }): void {
  expect(r.code, r.lines.join("\n")).toBe(1);
  expect(r.lines).toHaveLength(2);
  const m = /^(.+):(\d+):(\d+): error (LS\d{3}): (.+)$/.exec(r.lines[0]!);
  expect(m, r.lines[0]).not.toBeNull();
  expect(m![1]).toBe(r.path);
  expect(m![4]).toBe(code);
  expect(m![5]).toMatch(message);
  if (at) expect(Number(m![2])).toBe(at.line);
  expect(r.lines[1]).toBe("1 error, 0 warnings");
  expect(existsSync(r.out)).toBe(false);
  expect(r.ms).toBeLessThan(QUICK_MS);
}

function meshJson(services: unknown[]): string {
  return JSON.stringify({ apiVersion: "lightsub/v1", kind: "Mesh", metadata: { name: "m" }, spec: { services } }, null, 1);
}

/** S services with E endpoints each; service i calls the next K services (each with its own port). */
function callMesh(S: number, E: number, K: number): string {
  const lines = ["apiVersion: lightsub/v1", "kind: Mesh", "metadata: { name: big }", "spec:", "  services:"];
  for (let i = 0; i < S; i++) {
    lines.push(`    - name: s${i}`, "      port: 8080", "      endpoints:");
    for (let j = 0; j < E; j++) lines.push(`        - { address: s${i}-${j}, port: 15006 }`);
    const calls = Array.from({ length: K }, (_, k) => (i + k + 1) % S).map((c) => `{ service: s${c}, port: ${10_000 + c} }`);
    lines.push(`      calls: [${calls.join(", ")}]`);
  }
  return `${lines.join("\n")}\n`;
}

describe("limits, through lightsub compile", () => {
  it(`file size: over ${MAX_FILE_BYTES / 1024 / 1024} MiB is refused before it is read`, async () => {
    const r = await compileCli((path) => {
      writeFileSync(path, "apiVersion: lightsub/v1\n");
      truncateSync(path, MAX_FILE_BYTES + 1); // sparse: nothing to read unless the size check is skipped
    });
    expectRefused(r, "LS001", /^the policy is 16\.0 MiB; the limit is 16 MiB$/, { line: 1 });
  });

  it(`services: more than ${MAX_SERVICES.toLocaleString("en-US")}`, async () => {
    const services = Array.from({ length: MAX_SERVICES + 1 }, (_, i) => ({ name: `s${i}`, port: 8080, endpoints: [{ address: `s${i}`, port: 15006 }] }));
    const r = await compileCli((path) => writeFileSync(path, meshJson(services)));
    expectRefused(r, "LS011", new RegExp(`^spec\\.services lists ${MAX_SERVICES + 1} services; the limit is ${MAX_SERVICES}$`));
  });

  it(`endpoints: more than ${MAX_ENDPOINTS_PER_SERVICE.toLocaleString("en-US")} in one service`, async () => {
    const wide = { name: "wide", port: 8080, endpoints: Array.from({ length: MAX_ENDPOINTS_PER_SERVICE + 1 }, (_, i) => ({ address: `h${i}`, port: 15006 })) };
    const text = meshJson([{ name: "a", port: 8080, endpoints: [{ address: "a", port: 15006 }] }, wide]);
    const r = await compileCli((path) => writeFileSync(path, text));
    const line = text.split("\n").findIndex((l) => l.includes('"h0"')) - 1; // the `"endpoints": [` line, 1-based
    expectRefused(r, "LS011", new RegExp(`^endpoints lists ${MAX_ENDPOINTS_PER_SERVICE + 1} endpoints; the limit is ${MAX_ENDPOINTS_PER_SERVICE} per service$`), { line });
  });

  it("YAML alias expansion: a billion laughs, refused at its first alias", async () => {
    const lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
    for (let i = 1; i < 10; i++) lines.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(", ")}]`);
    lines.push("apiVersion: lightsub/v1", "kind: Mesh", "metadata: { name: *l9 }", "spec: { services: *l9 }");
    const r = await compileCli((path) => writeFileSync(path, `${lines.join("\n")}\n`));
    expectRefused(r, "LS011", new RegExp(`^YAML aliases expand to too much data \\(limit ${MAX_ALIAS_COUNT} alias expansions weighted by size\\)$`), { line: 2 });
  });

  it("nesting: a thousand levels deep", async () => {
    const r = await compileCli((path) => writeFileSync(path, `apiVersion: lightsub/v1\nkind: Mesh\nmetadata: ${"[".repeat(1000)}${"]".repeat(1000)}\n`));
    expect(r.lines[0]).toMatch(/: error LS011: .*nest/);
    expectRefused(r, "LS011", /nest/, { line: 3 });
  });

  it(`generated configs: more than ${MAX_MESH_CLUSTERS.toLocaleString("en-US")} Envoy clusters across the sidecars`, async () => {
    // 1,000 services, 20 endpoints each, each calling 25 others: 525,000 clusters (about 850 MB of YAML) from a 1.6 MB file.
    const text = callMesh(1000, 20, 25);
    const r = await compileCli((path) => writeFileSync(path, text));
    expectRefused(
      r,
      "LS011",
      /^the sidecars would need 525,000 Envoy clusters in total, about 856 MB of configs to write \(each call adds the called service's endpoints \+ 1; "s0" alone needs 525\); the limit is 500,000$/,
      { line: text.split("\n").findIndex((l) => l.startsWith("      calls:")) + 1 },
    );
  });

  it(`generated configs: a sidecar with more than ${MAX_SIDECAR_CLUSTERS.toLocaleString("en-US")} Envoy clusters`, async () => {
    // One caller of 40 services with 256 endpoints each (the most a service may have): 10,280 clusters in its sidecar, the mesh's only one.
    const callees = Array.from({ length: 40 }, (_, i) => ({
      name: `big-${i}`,
      port: 8080,
      endpoints: Array.from({ length: MAX_ENDPOINTS_PER_SERVICE }, (_, j) => ({ address: `big-${i}-${j}`, port: 15006 })),
    }));
    const caller = { name: "caller", port: 8080, endpoints: [{ address: "caller", port: 15006 }], calls: callees.map((c, i) => ({ service: c.name, port: 9000 + i })) };
    const r = await compileCli((path) => writeFileSync(path, meshJson([...callees, caller])));
    expectRefused(r, "LS011", /^the sidecar of "caller" would need 10,280 Envoy clusters \(each call adds the called service's endpoints \+ 1\); the limit is 10,000 per sidecar$/);
  });

  it("a 10,000-service mesh, 3 endpoints and 5 calls per service (200,000 clusters), validates", async () => {
    // Issue 14: refused before by a mesh-wide cap of 150,000, though each sidecar has only 20 clusters.
    const path = join(dir, "mesh-10k.yaml");
    writeFileSync(path, generatePolicy(10_000, 5).text);
    const lines: string[] = [];
    const code = await main(["validate", path], { out: (t) => lines.push(t), err: (t) => lines.push(...t.split("\n")) });
    expect(lines).toEqual([`${path}: ok, 10000 services; every sidecar config passes Envoy's API check`]);
    expect(code).toBe(0);
  }, 180_000);

  it("a mesh just under the output limit is not refused", () => {
    // 1,000 services × 20 endpoints × 23 calls: 483,000 clusters, 483 in each sidecar.
    const { diagnostics } = checkPolicy(callMesh(1000, 20, 23), "under.yaml");
    expect(diagnostics.filter((d) => d.code === "LS011")).toEqual([]);
  });
});
