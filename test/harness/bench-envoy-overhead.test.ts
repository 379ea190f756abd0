/**
 * The parts of real-Envoy figure 1 (bench/envoy-overhead.ts) that need no
 * Envoy and no timing: the runs it measures (admission on/off, the two-sidecar
 * mTLS / plaintext mesh), their policies (checked by the real compiler), the
 * bootstrap edits a local run makes, the local certificate paths of
 * startSidecar, the figures built from given samples and the Markdown table.
 * The measurements themselves are the benchmark's job (`npm run bench -- --only envoy`).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compile } from "../../compiler/compile.js";
import { CERTS_DIR_IN_CONTAINER } from "../../compiler/model/mesh.js";
import {
  ADMISSION,
  ADMISSION_MODES,
  ADMISSION_STRATEGIES,
  NEW_CONN_MODES,
  NEW_RUN_MODES,
  benchPorts,
  figures,
  meshEdits,
  meshPolicy,
  policy,
  runSpecs,
  type LoadMode,
  type Sample,
} from "../../bench/envoy-overhead.js";
import { STRATEGY_NAMES } from "../../schemas/wire.js";
import { makeFigure } from "../../bench/figures.js";
import type { BenchResults } from "../../bench/results.js";
import { renderTable } from "../../bench/table.js";
import { localCerts } from "../../e2e/live/sidecar.js";
import { readSidecarView } from "../../e2e/sidecar-view.js";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Envoy bootstraps in assertions

const PORTS = benchPorts(43000);

async function compiled(text: string, service: string): Promise<Json> {
  const result = await compile(text, "bench.yaml", { withoutWasm: true, withoutCompose: true });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  expect(errors).toEqual([]);
  const warnings = result.diagnostics.filter((d) => d.severity === "warning");
  expect(warnings.map((w) => `${w.code} ${w.message}`)).toEqual([]);
  const config = result.files!.get(`${service}/envoy.yaml`);
  expect(typeof config).toBe("string");
  return parse(config as string) as Json;
}

function plugin(bootstrap: Json): Json {
  return JSON.parse(readSidecarView(bootstrap).pluginJson) as Json;
}

describe("the runs of figure 1", () => {
  it("adds an admission run for every strategy (issue 18), each compared with the same strategy without admission, at the fixed rate", () => {
    const specs = runSpecs({ strategies: STRATEGY_NAMES, admissionStrategies: ADMISSION_STRATEGIES });
    expect([...ADMISSION_STRATEGIES].sort()).toEqual([...STRATEGY_NAMES].sort());
    const admission = specs.filter((s) => s.admission);
    expect(admission.map((s) => s.name)).toEqual(ADMISSION_STRATEGIES.map((s) => `lightsub+admission:${s}`));
    for (const s of admission) {
      expect(s.peer).toBe(`lightsub:${s.strategy}`);
      expect(specs.some((x) => x.name === s.peer)).toBe(true);
      expect(s.setup).toContain(`maxInFlightPerEndpoint: ${ADMISSION.maxInFlightPerEndpoint}`);
      expect(s.modes).toEqual(ADMISSION_MODES);
    }
    expect(ADMISSION_MODES).toEqual(["fixed-1000qps"]);
    expect(specs.some((s) => s.mesh)).toBe(false);
  });

  it("adds the mesh runs: mTLS against plaintext, kept alive and with a new connection per request", () => {
    const specs = runSpecs({ strategies: ["round_robin"], mesh: true });
    const mesh = specs.filter((s) => s.mesh);
    expect(mesh.map((s) => [s.name, s.mesh!.mtls, s.mesh!.newConnections, s.peer ?? null])).toEqual([
      ["mesh:plaintext", false, false, null],
      ["mesh:mtls", true, false, "mesh:plaintext"],
      ["mesh:plaintext-new-conn", false, true, null],
      ["mesh:mtls-new-conn", true, true, "mesh:plaintext-new-conn"],
    ]);
    expect(mesh.filter((s) => s.mesh!.newConnections).every((s) => s.modes === NEW_CONN_MODES)).toBe(true);
    // Every name is unique: samples are keyed by run name.
    expect(new Set(specs.map((s) => s.name)).size).toBe(specs.length);
  });

  it("keeps the ports in the given base's range and refuses a base that does not fit", () => {
    expect(PORTS).toEqual({ upstreams: [43101, 43102], sidecars: 43200 });
    expect(() => benchPorts(70000)).toThrow(/LIGHTSUB_BENCH_PORT_BASE/);
    expect(() => benchPorts(Number.NaN)).toThrow(/LIGHTSUB_BENCH_PORT_BASE/);
  });
});

describe("policies of the new runs (real compiler)", () => {
  it("the admission policy compiles cleanly and puts its limit into the filter's destination", async () => {
    for (const strategy of ADMISSION_STRATEGIES) {
      const bootstrap = await compiled(policy(strategy, 3, { admission: true, ports: PORTS }), "client");
      const dest = (plugin(bootstrap).destinations as Json[]).find((d) => d.service === "svc")!;
      expect(dest.strategy).toBe(strategy);
      expect(dest.admission).toMatchObject({ maxInFlight: ADMISSION.maxInFlightPerEndpoint, maxQueue: ADMISSION.maxQueue, queueTimeoutMs: 100 });
      expect(dest.endpoints).toHaveLength(2);
    }
    const without = await compiled(policy("round_robin", 3, { ports: PORTS }), "client");
    expect((plugin(without).destinations as Json[])[0]!.admission).toBeUndefined();
  });

  it("the mesh policy compiles for both sidecars; with mTLS the hop between them is TLS, without it is plaintext", async () => {
    for (const mtls of [false, true]) {
      const client = await compiled(meshPolicy(12, mtls, "client", PORTS), "client");
      const server = await compiled(meshPolicy(12, mtls, "server", PORTS), "server");
      const p = PORTS.sidecars + 120;
      expect(client.admin.address.socket_address.port_value).toBe(p);
      expect(server.admin.address.socket_address.port_value).toBe(p + 5);
      const callee = (client.static_resources.clusters as Json[]).find((c) => c.name === "server_ep0")!;
      expect(callee.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(p + 4);
      const inbound = (server.static_resources.listeners as Json[]).find((l) => l.name === "inbound")!;
      expect(inbound.address.socket_address.port_value).toBe(p + 4);
      expect(JSON.stringify(callee).includes("UpstreamTlsContext")).toBe(mtls);
      expect(JSON.stringify(inbound).includes("DownstreamTlsContext")).toBe(mtls);
      // The server sidecar calls nobody: the live harness reads it as inbound-only.
      expect(readSidecarView(server).destinations).toEqual([]);
      expect(readSidecarView(client).destinations.map((d) => d.service)).toEqual(["server"]);
    }
  });

  it("meshEdits binds inbound to loopback, points the server at the upstream and makes one request per connection", async () => {
    const server = await compiled(meshPolicy(0, true, "server", PORTS), "server");
    meshEdits("server", PORTS.upstreams[0]!, false)(server);
    const app = (server.static_resources.clusters as Json[]).find((c) => c.name === "local_app")!;
    expect(app.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value).toBe(PORTS.upstreams[0]);
    const inbound = (server.static_resources.listeners as Json[]).find((l) => l.name === "inbound")!;
    expect(inbound.address.socket_address.address).toBe("127.0.0.1");

    for (const newConnections of [false, true]) {
      const client = await compiled(meshPolicy(0, true, "client", PORTS), "client");
      meshEdits("client", PORTS.upstreams[0]!, newConnections)(client);
      const callees = (client.static_resources.clusters as Json[]).filter((c) => c.name.startsWith("server"));
      expect(callees.length).toBeGreaterThan(0);
      for (const c of callees) {
        const options = c.typed_extension_protocol_options?.["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"];
        expect(options?.common_http_protocol_options?.max_requests_per_connection).toBe(newConnections ? 1 : undefined);
        if (newConnections) expect(options["@type"]).toBe("type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions");
      }
      // The TLS transport socket stays as compiled.
      expect(JSON.stringify(callees[0]).includes("UpstreamTlsContext")).toBe(true);
    }
  });
});

describe("startSidecar's local certificates", () => {
  it("points every certificate path and SDS file of an mTLS sidecar at the local directory", async () => {
    const bootstrap = await compiled(meshPolicy(0, true, "client", PORTS), "client");
    expect(JSON.stringify(bootstrap)).toContain(CERTS_DIR_IN_CONTAINER);
    const work = mkdtempSync(join(tmpdir(), "lightsub-bench-test-"));
    const certs = join(work, "certs", "client");
    const sds = join(work, "sds");
    localCerts(bootstrap, certs, sds);
    const text = JSON.stringify(bootstrap);
    expect(text).not.toContain(CERTS_DIR_IN_CONTAINER);
    expect(text).toContain(join(sds, "identity.yaml"));
    expect(text).toContain(join(sds, "ca.yaml"));
    const identity = parse(readFileSync(join(sds, "identity.yaml"), "utf8")) as Json;
    expect(identity.resources[0].tls_certificate.certificate_chain.filename).toBe(join(certs, "cert.pem"));
    expect(identity.resources[0].tls_certificate.watched_directory.path).toBe(certs);
    const ca = parse(readFileSync(join(sds, "ca.yaml"), "utf8")) as Json;
    expect(ca.resources[0].validation_context.trusted_ca.filename).toBe(join(certs, "ca.pem"));
  });

  it("refuses a certificate directory for a sidecar that names no certificates", async () => {
    const bootstrap = await compiled(meshPolicy(0, false, "client", PORTS), "client");
    const work = mkdtempSync(join(tmpdir(), "lightsub-bench-test-"));
    expect(() => localCerts(bootstrap, join(work, "c"), join(work, "s"))).toThrow(/names no certificates/);
  });
});

const MODES: LoadMode[] = [
  { name: "fixed-1000qps", qps: 1000, connections: 16, seconds: 4 },
  { name: "closed-c1", qps: 0, connections: 1, seconds: 3 },
  { name: "closed-c64", qps: 0, connections: 64, seconds: 3 },
];

/** Samples where each run's latency is direct's plus a known extra and its CPU per request is known. */
function syntheticSamples(): { runs: Parameters<typeof figures>[0]; samples: Map<string, Sample[]> } {
  const extra: Record<string, { ms: number; cpuPerReq: number; modes?: readonly string[]; peer?: string; setup?: string }> = {
    native: { ms: 0.2, cpuPerReq: 1e-4 },
    passthrough: { ms: 0.25, cpuPerReq: 1.2e-4 },
    "lightsub:round_robin": { ms: 0.3, cpuPerReq: 1.5e-4 },
    "lightsub+admission:round_robin": { ms: 0.33, cpuPerReq: 1.8e-4, modes: NEW_RUN_MODES, peer: "lightsub:round_robin", setup: "admission limit 256" },
    "mesh:plaintext": { ms: 0.5, cpuPerReq: 3e-4, modes: NEW_RUN_MODES, setup: "two sidecars, plaintext" },
    "mesh:mtls": { ms: 0.6, cpuPerReq: 3.3e-4, modes: NEW_RUN_MODES, peer: "mesh:plaintext", setup: "two sidecars, mTLS" },
    "mesh:plaintext-new-conn": { ms: 0.7, cpuPerReq: 4e-4, modes: NEW_CONN_MODES },
    "mesh:mtls-new-conn": { ms: 1.4, cpuPerReq: 8e-4, modes: NEW_CONN_MODES, peer: "mesh:plaintext-new-conn" },
  };
  const runs: Parameters<typeof figures>[0] = [
    { name: "direct", pids: [] },
    ...Object.entries(extra).map(([name, e]) => ({
      name,
      pids: name.startsWith("mesh:") ? [1, 2] : [1],
      ...(e.modes ? { modes: e.modes } : {}),
      ...(e.peer ? { peer: e.peer } : {}),
      ...(e.setup ? { setup: e.setup } : {}),
    })),
  ];
  const samples = new Map<string, Sample[]>();
  for (const mode of MODES) {
    const base = [0.1, 0.12, 0.11, 0.1, 0.13]; // direct p50 per repetition
    samples.set(`${mode.name}|direct`, base.map((b) => ({ p50: b, p90: b * 2, p99: b * 4, qps: 1000, count: 4000 })));
    for (const [name, e] of Object.entries(extra)) {
      if (e.modes && !e.modes.includes(mode.name)) continue;
      samples.set(
        `${mode.name}|${name}`,
        base.map((b) => ({ p50: b + e.ms, p90: b * 2 + e.ms, p99: b * 4 + 2 * e.ms, qps: 1000 / (1 + e.ms), count: 4000, cpuS: 4000 * e.cpuPerReq })),
      );
    }
  }
  return { runs, samples };
}

describe("figures and table", () => {
  const { runs, samples } = syntheticSamples();
  const inits = figures(runs, { modes: MODES, payloadBytes: 1024 }, samples, "0", "1");
  const find = (name: string, mode: string, run: string) => inits.find((f) => f.name === name && f.params?.mode === mode && f.params?.run === run);
  const median = (name: string, mode: string, run: string) => makeFigure(find(name, mode, run)!, "test").median;

  it("takes each new run's ratios to its own peer in the same repetition", () => {
    expect(median("added-p50-vs-peer", "fixed-1000qps", "mesh:mtls")).toBeCloseTo(0.6 / 0.5, 9);
    expect(median("added-p99-vs-peer", "fixed-1000qps", "mesh:mtls")).toBeCloseTo(1.2 / 1.0, 9);
    expect(median("cpu-vs-peer", "fixed-1000qps", "mesh:mtls")).toBeCloseTo(3.3 / 3, 9);
    expect(median("added-p50-vs-peer", "closed-c1", "mesh:mtls-new-conn")).toBeCloseTo(1.4 / 0.7, 9);
    expect(median("cpu-vs-peer", "closed-c1", "lightsub+admission:round_robin")).toBeCloseTo(1.8 / 1.5, 9);
    expect(find("cpu-vs-peer", "closed-c1", "lightsub+admission:round_robin")!.peer).toBe("lightsub:round_robin");
    // CPU per 10k requests (both Envoys' CPU for a mesh run, as measured).
    expect(median("cpu-s-per-10k", "fixed-1000qps", "mesh:mtls")).toBeCloseTo(3.3, 9);
  });

  it("treats admission runs as lightsub (ratios to the empty filter, with the issue's targets) and mesh runs not", () => {
    const vsEmpty = find("added-p50-vs-passthrough", "fixed-1000qps", "lightsub+admission:round_robin")!;
    expect(vsEmpty.target?.max).toBe(1.5);
    expect(makeFigure(vsEmpty, "test").median).toBeCloseTo(0.33 / 0.25, 9);
    expect(find("added-p50-vs-passthrough", "fixed-1000qps", "mesh:mtls")).toBeUndefined();
    expect(find("cpu-vs-peer", "fixed-1000qps", "lightsub:round_robin")).toBeUndefined();
  });

  it("measures a run only in its modes and records its set-up", () => {
    expect(find("p50-ms", "closed-c64", "mesh:mtls")).toBeUndefined();
    expect(find("p50-ms", "fixed-1000qps", "mesh:mtls-new-conn")).toBeUndefined();
    expect(find("p50-ms", "closed-c1", "mesh:mtls-new-conn")).toBeDefined();
    expect(find("p50-ms", "closed-c64", "lightsub:round_robin")).toBeDefined();
    expect(find("p50-ms", "fixed-1000qps", "lightsub+admission:round_robin")!.params!.setup).toBe("admission limit 256");
  });

  it("prints the new rows in their modes' tables with the peer columns, and lists what each run is", () => {
    const results: BenchResults = {
      version: 1,
      command: "test",
      quick: false,
      startedAt: "2026-01-01T00:00:00.000Z",
      durationMs: 1,
      machine: { cpu: "test", cores: 2, memoryGiB: 1, os: "linux", node: "v20", v8: "11", loadAverage1m: 0, summary: "test machine" },
      figures: inits.map((i) => makeFigure(i, "test machine")),
      missing: [],
    };
    const text = renderTable(results);
    const block = (mode: string) => text.split(`*${mode}*`)[1]!.split(/\n\*[a-z]|\nRuns:/)[0]!;
    const row = (mode: string, run: string) => block(mode).split("\n").find((l) => l.startsWith(`| ${run} |`));
    expect(block("fixed-1000qps")).toContain("| peer | added p50 × peer | added p99 × peer | CPU × peer |");
    expect(row("fixed-1000qps", "mesh:mtls")).toMatch(/\| mesh:plaintext \| 1\.20[^|]* \| 1\.20[^|]* \| 1\.10[^|]* \|$/);
    expect(row("closed-c1", "mesh:mtls-new-conn")).toMatch(/\| mesh:plaintext-new-conn \| 2\.00[^|]* \| 2\.00[^|]* \| 2\.00[^|]* \|$/);
    expect(row("closed-c64", "mesh:mtls")).toBeUndefined();
    expect(row("fixed-1000qps", "mesh:mtls-new-conn")).toBeUndefined();
    expect(row("closed-c64", "lightsub:round_robin")).toBeDefined();
    expect(text).toContain("- `lightsub+admission:round_robin`: admission limit 256 (modes: fixed-1000qps, closed-c1).");
    expect(text).toContain("- `mesh:mtls`: two sidecars, mTLS (modes: fixed-1000qps, closed-c1).");
  });
});
