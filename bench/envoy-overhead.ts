/**
 * Real-Envoy figure 1 (issue 18): added latency and CPU per request through
 * one sidecar on Envoy 1.40, measured with fortio (Istio's load generator;
 * hand-writing one would measure our client, not Envoy).
 *
 * Runs, all against the same fortio echo servers (two endpoints):
 *   direct          fortio → upstream, no Envoy (the latency floor);
 *   native          Envoy, the compiled sidecar with its Wasm filter removed:
 *                   the fallback route's cluster, native ROUND_ROBIN;
 *   passthrough     the same sidecar with build/passthrough.wasm (an empty
 *                   proxy-wasm filter built by the same asc);
 *   lightsub:<s>    the compiled sidecar with build/lightsub.wasm, strategy s;
 *   lightsub+admission:<s>
 *                   the same with an `admission` section on the called
 *                   service whose limit never binds (ADMISSION), so the
 *                   difference is the per-request cost of the bookkeeping;
 *   mesh:plaintext, mesh:mtls
 *                   two sidecars (issue 17's mTLS overhead): client sidecar
 *                   outbound (lightsub, round_robin) → server sidecar inbound
 *                   → the first fortio server, without and with
 *                   `spec.security: { mtls: strict }` (certificates from
 *                   `lightsub certs`); the CPU is both Envoys';
 *   mesh:plaintext-new-conn, mesh:mtls-new-conn
 *                   the same, but the client sidecar opens a new connection
 *                   to the server sidecar for every request
 *                   (max_requests_per_connection: 1 on its callee clusters),
 *                   so each request pays a TCP (and TLS) handshake on the
 *                   sidecar-to-sidecar hop. fortio's own connection stays
 *                   kept alive: a new connection from the app to its local
 *                   sidecar is plaintext loopback in both meshes, so the
 *                   handshake that mTLS adds is the one between sidecars.
 *                   Only in the modes of NEW_CONN_MODES (closed loop, one
 *                   connection); the kept-alive mesh runs only in
 *                   NEW_RUN_MODES and the admission runs only in
 *                   ADMISSION_MODES: to keep `--only envoy` under 15 minutes.
 *
 * Every Envoy runs at once with `--concurrency 1`, pinned to CPU 0 (taskset);
 * fortio (client and servers) is pinned to the other CPUs. Each repetition
 * runs every load mode over every run in a rotated order (interleaved), so a
 * burst of outside load lands on all of them alike. Each figure is a ratio to
 * a peer from the same repetition; reported as the median [min–max] over the
 * repetitions. Envoy's CPU is utime+stime from /proc/<pid>/stat around each
 * load (every thread of the process: workers, main thread, Wasm main VM).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { certsCommand } from "../cli/certs.js";
import { startSidecar, type LiveSidecar } from "../e2e/live/sidecar.js";
import { ENVOY_BIN, FORTIO_VERSION, cpuSeconds, cpuSets, envoyPid, ensureFortio, fortioPercentileMs, nativeEdit, pin, runFortio, type FortioLoad, startFortioServer, twoServicePolicy, waitHttp } from "./envoy-harness.js";
import type { FigureInit } from "./figures.js";
import { STRATEGY_NAMES, WASM_CUSTOM_STAT_NAMESPACE, destinationMetricName, type MetricName } from "../schemas/wire.js";


/**
 * Ports (loopback): upstreams at base+101 and base+102, Envoy admin and
 * listeners from base+200 (ten per run). Base 32000 unless
 * LIGHTSUB_BENCH_PORT_BASE says otherwise (to run beside other work).
 */
export function benchPorts(base = Number(process.env.LIGHTSUB_BENCH_PORT_BASE ?? 32000)): { upstreams: number[]; sidecars: number } {
  if (!Number.isInteger(base) || base < 1024 || base > 65535 - 1000) throw new Error(`LIGHTSUB_BENCH_PORT_BASE must be a port from 1024 to 64535, not ${base}`);
  return { upstreams: [base + 101, base + 102], sidecars: base + 200 };
}

/**
 * The admission section of the lightsub+admission runs: the limit is far
 * above what the load can have in flight (at most 64 connections, so at most
 * 64 requests over both endpoints), so nothing ever waits or is rejected and
 * the figure is the cost of the bookkeeping. The bench checks that in the
 * filter's counters after the run.
 */
export const ADMISSION = { maxInFlightPerEndpoint: 256, maxQueue: 128, queueTimeout: "100ms" } as const;
const ADMISSION_TEXT = `admission { maxInFlightPerEndpoint: ${ADMISSION.maxInFlightPerEndpoint}, maxQueue: ${ADMISSION.maxQueue}, queueTimeout: ${ADMISSION.queueTimeout} } on the called service, never binding (the load has at most 64 requests in flight)`;
/** Strategies measured with admission: every one (issue 18: "for each strategy, with and without admission"). */
export const ADMISSION_STRATEGIES = STRATEGY_NAMES;

/**
 * The modes the kept-alive mesh runs join (per-request cost: the
 * fixed rate and one connection; not the 64-connection throughput mode), and
 * the one the new-connection mesh runs join: trimmed so `--only envoy` stays
 * under 15 minutes on 2 cores.
 */
export const NEW_RUN_MODES = ["fixed-1000qps", "closed-c1"] as const;
/**
 * The mode the admission runs join: the fixed rate, where the issue's
 * per-request targets are (one mode for all seven strategies keeps
 * `--only envoy` under 15 minutes).
 */
export const ADMISSION_MODES = ["fixed-1000qps"] as const;
export const NEW_CONN_MODES = ["closed-c1"] as const;

export interface LoadMode {
  /** "fixed-1000qps", "closed-c1", "closed-c64". */
  name: string;
  /** 0 = closed loop (as fast as it goes). */
  qps: number;
  connections: number;
  seconds: number;
}

export interface EnvoyOverheadOptions {
  lightsubWasm: string;
  passthroughWasm: string;
  strategies: readonly string[];
  /** Strategies also measured with an admission section (ADMISSION); default none. */
  admissionStrategies?: readonly string[];
  /** The two-sidecar mTLS / plaintext runs (default off). */
  mesh?: boolean;
  modes: readonly LoadMode[];
  repetitions: number;
  payloadBytes: number;
}

interface Run {
  name: string;
  /** The sidecar the load enters (the client sidecar of a mesh run). */
  sidecar?: LiveSidecar;
  /** Every other sidecar of the run (a mesh run's server sidecar). */
  others?: LiveSidecar[];
  /** Every Envoy of the run: its CPU is theirs together. */
  pids: number[];
  url: string;
  /** The modes this run takes part in (default all). */
  modes?: readonly string[];
  /** What is special about the run, for the table. */
  setup?: string;
  /** The run its extra cost is a ratio to ("-vs-peer" figures). */
  peer?: string;
  /** How the request reaches the upstream: "filter" (lightsub per-endpoint clusters) or "native" (the ROUND_ROBIN cluster). */
  routing: "filter" | "native";
  /** For admission runs: the destination whose admission counters must show no wait. */
  admission?: string;
}

/** A run's definition before it starts (exported for the harness tests). */
export interface RunSpec {
  name: string;
  strategy: string;
  wasm: "lightsub" | "passthrough" | "none";
  admission?: boolean;
  mesh?: { mtls: boolean; newConnections: boolean };
  modes?: readonly string[];
  setup?: string;
  peer?: string;
}

/** The runs of figure 1 (besides `direct`), in start order. */
export function runSpecs(options: Pick<EnvoyOverheadOptions, "strategies" | "admissionStrategies" | "mesh">): RunSpec[] {
  const specs: RunSpec[] = [
    { name: "native", strategy: "round_robin", wasm: "none" },
    { name: "passthrough", strategy: "round_robin", wasm: "passthrough" },
    ...options.strategies.map((s): RunSpec => ({ name: `lightsub:${s}`, strategy: s, wasm: "lightsub" })),
  ];
  for (const s of options.admissionStrategies ?? []) {
    specs.push({ name: `lightsub+admission:${s}`, strategy: s, wasm: "lightsub", admission: true, modes: ADMISSION_MODES, setup: ADMISSION_TEXT, peer: `lightsub:${s}` });
  }
  if (options.mesh) {
    const two = "two sidecars (client outbound with lightsub round_robin → server inbound → the fortio server); CPU of both Envoys";
    const newConn = "a new sidecar-to-sidecar connection for every request (max_requests_per_connection: 1 on the client sidecar's callee clusters; fortio's connection is kept alive)";
    specs.push(
      { name: "mesh:plaintext", strategy: "round_robin", wasm: "lightsub", mesh: { mtls: false, newConnections: false }, modes: NEW_RUN_MODES, setup: `${two}, plaintext` },
      { name: "mesh:mtls", strategy: "round_robin", wasm: "lightsub", mesh: { mtls: true, newConnections: false }, modes: NEW_RUN_MODES, setup: `${two}, spec.security { mtls: strict } (TLS 1.3, ECDSA P-256 leaves from lightsub certs), kept-alive connections`, peer: "mesh:plaintext" },
      { name: "mesh:plaintext-new-conn", strategy: "round_robin", wasm: "lightsub", mesh: { mtls: false, newConnections: true }, modes: NEW_CONN_MODES, setup: `mesh:plaintext with ${newConn}: a TCP handshake per request` },
      { name: "mesh:mtls-new-conn", strategy: "round_robin", wasm: "lightsub", mesh: { mtls: true, newConnections: true }, modes: NEW_CONN_MODES, setup: `mesh:mtls with ${newConn}: a TCP + TLS 1.3 handshake per request`, peer: "mesh:plaintext-new-conn" },
    );
  }
  return specs;
}

export interface Sample {
  p50: number;
  p90: number;
  p99: number;
  qps: number;
  count: number;
  /** Envoy CPU seconds during the load (undefined for direct). */
  cpuS?: number;
}

/**
 * The bench's two-service policy. weighted gets weights 1 and 2 (equal weights
 * would be round_robin, LS032); consistent_hash hashes the path (fortio always
 * asks for "/", so every request maps to the same endpoint: the figure is the
 * per-request cost of hashing, not a spread).
 */
export function policy(strategy: string, index: number, options: { admission?: boolean; ports?: ReturnType<typeof benchPorts> } = {}): string {
  const ports = options.ports ?? benchPorts();
  const p = ports.sidecars + index * 10;
  const weight = (i: number) => (strategy === "weighted" ? `, weight: ${i + 1}` : "");
  const extra = strategy === "consistent_hash" ? ", hashOn: { path: true }" : "";
  const admission = options.admission
    ? `      admission: { maxInFlightPerEndpoint: ${ADMISSION.maxInFlightPerEndpoint}, maxQueue: ${ADMISSION.maxQueue}, queueTimeout: ${ADMISSION.queueTimeout} }\n`
    : "";
  return twoServicePolicy({
    name: "bench",
    basePort: p,
    endpoints: ports.upstreams.map((port, i) => `{ address: 127.0.0.1, port: ${port}${weight(i)} }`),
    scheduler: `strategy: ${strategy}${extra}`,
    svcExtra: admission,
  });
}

/**
 * The two-sidecar policy of the mesh runs: client calls server, whose one
 * endpoint is its sidecar's inbound listener (meshPort). Both sidecars are
 * compiled from it; `adminPort` differs per sidecar (one loopback). The
 * server's app port in the policy is the client's outbound listener port
 * (they would share it in containers); the bench points the server
 * sidecar's local_app cluster at the fortio server instead (meshEdits).
 * With mTLS the client is `public` (nothing in the mesh calls it; without
 * it the compiler warns, LS094); the bench never calls its inbound.
 */
export function meshPolicy(index: number, mtls: boolean, sidecar: "client" | "server", ports = benchPorts()): string {
  const p = ports.sidecars + index * 10;
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: bench }
spec:
${mtls ? "  security: { mtls: strict }\n" : ""}  sidecar: { adminPort: ${sidecar === "client" ? p : p + 5} }
  services:
    - name: client
      port: ${p + 1}
      meshPort: ${p + 2}
${mtls ? "      public: true\n" : ""}      endpoints: [{ address: 127.0.0.1, port: ${p + 2} }]
      calls: [server]
    - name: server
      port: ${p + 3}
      meshPort: ${p + 4}
      endpoints: [{ address: 127.0.0.1, port: ${p + 4} }]
      scheduler: { strategy: round_robin }
`;
}

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Envoy's bootstrap, edited by known field names

/**
 * The local-process edits of a mesh run's sidecars: inbound listeners bind
 * 127.0.0.1 (loopback only); the server sidecar's app is the fortio server;
 * with `newConnections`, the client sidecar's clusters towards the server
 * allow one request per connection.
 */
export function meshEdits(sidecar: "client" | "server", appPort: number, newConnections: boolean): (bootstrap: Json) => void {
  return (bootstrap) => {
    const resources = bootstrap.static_resources as { listeners: Json[]; clusters: Json[] };
    for (const l of resources.listeners) if (l.name === "inbound") l.address.socket_address.address = "127.0.0.1";
    if (sidecar === "server") {
      const app = resources.clusters.find((c) => c.name === "local_app");
      if (!app) throw new Error("the server sidecar has no local_app cluster");
      app.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.port_value = appPort;
      return;
    }
    if (!newConnections) return;
    const callee = resources.clusters.filter((c) => typeof c.name === "string" && c.name.startsWith("server"));
    if (callee.length === 0) throw new Error("the client sidecar has no cluster towards server");
    const key = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
    for (const c of callee) {
      c.typed_extension_protocol_options ??= {};
      const existing = c.typed_extension_protocol_options[key] as Json | undefined;
      const options: Json = existing ?? { "@type": `type.googleapis.com/${key}`, explicit_http_config: { http_protocol_options: {} } };
      options.common_http_protocol_options = { ...(options.common_http_protocol_options ?? {}), max_requests_per_connection: 1 };
      c.typed_extension_protocol_options[key] = options;
    }
  };
}

/** Figure 1's fortio load: histogram resolution 10 µs, p50/p90/p99, 1 KiB POSTs. */
function fortioLoad(mode: LoadMode, payloadBytes: number): FortioLoad {
  return { qps: mode.qps, connections: mode.connections, seconds: mode.seconds, resolution: 0.00001, percentiles: [50, 90, 99], payloadBytes };
}

export async function measureEnvoyOverhead(options: EnvoyOverheadOptions, log: (line: string) => void): Promise<FigureInit[]> {
  if (!existsSync(ENVOY_BIN)) throw new Error(`no Envoy at ${ENVOY_BIN} (npm run setup:test installs it)`);
  const fortio = ensureFortio(log);
  const { envoyCpu, loadCpus } = cpuSets();
  const ports = benchPorts();
  const dir = mkdtempSync(join(tmpdir(), "lightsub-bench-envoy-"));
  const servers = ports.upstreams.map((port) => startFortioServer(fortio, loadCpus, port));
  const runs: Run[] = [];
  try {
    for (const port of ports.upstreams) await waitHttp(`http://127.0.0.1:${port}/`);
    runs.push({ name: "direct", url: `http://127.0.0.1:${ports.upstreams[0]}/`, pids: [], routing: "native" });
    const wasmFile = (w: RunSpec["wasm"]) => (w === "lightsub" ? options.lightsubWasm : w === "passthrough" ? options.passthroughWasm : undefined);
    for (const [i, spec] of runSpecs(options).entries()) {
      const wasm = wasmFile(spec.wasm);
      const common = { envoy: ENVOY_BIN, concurrency: 1, ...(wasm ? { wasm } : {}) };
      const base = { name: spec.name, routing: spec.wasm === "lightsub" ? ("filter" as const) : ("native" as const) };
      const extra = { ...(spec.modes ? { modes: spec.modes } : {}), ...(spec.setup ? { setup: spec.setup } : {}), ...(spec.peer ? { peer: spec.peer } : {}) };
      if (spec.mesh) {
        let certsDir: string | undefined;
        if (spec.mesh.mtls) {
          const policyFile = join(dir, `mesh-${i}.yaml`);
          writeFileSync(policyFile, meshPolicy(i, true, "client", ports));
          certsDir = join(dir, `certs-${i}`);
          const errors: string[] = [];
          const code = await certsCommand([policyFile, "--out", certsDir], { out: () => {}, err: (t: string) => void errors.push(t) });
          if (code !== 0) throw new Error(`lightsub certs exited ${code}: ${errors.join("")}`);
        }
        const start = (side: "client" | "server") =>
          startSidecar({
            ...common,
            policy: meshPolicy(i, spec.mesh!.mtls, side, ports),
            service: side,
            editBootstrap: meshEdits(side, ports.upstreams[0]!, spec.mesh!.newConnections),
            ...(certsDir ? { certsDir: join(certsDir, side) } : {}),
          });
        const server = await start("server");
        const client = await start("client");
        const pids = [envoyPid(client.workDir), envoyPid(server.workDir)];
        for (const pid of pids) pin(pid, envoyCpu);
        runs.push({ ...base, ...extra, sidecar: client, others: [server], pids, url: client.url("server") });
        continue;
      }
      const sidecar = await startSidecar({
        ...common,
        policy: policy(spec.strategy, i, { admission: spec.admission === true, ports }),
        service: "client",
        ...(spec.wasm === "none" ? { editBootstrap: nativeEdit("svc") } : {}),
      });
      const pid = envoyPid(sidecar.workDir);
      pin(pid, envoyCpu);
      runs.push({ ...base, ...extra, sidecar, pids: [pid], url: sidecar.url("svc"), ...(spec.admission ? { admission: "svc" } : {}) });
    }
    const envoys = runs.reduce((n, r) => n + r.pids.length, 0);
    log(`envoy-overhead: ${envoys} Envoys (--concurrency 1) for ${runs.length - 1} runs on CPU ${envoyCpu}, fortio ${FORTIO_VERSION} on CPU ${loadCpus}`);
    // Warm-up: every run once, briefly (connections, Wasm JIT tiers).
    for (const run of runs) await runFortio(fortio, loadCpus, run.url, fortioLoad({ name: "warmup", qps: 0, connections: 4, seconds: 1 }, options.payloadBytes), dir);

    const samples = new Map<string, Sample[]>(); // `${mode}|${run}` → per repetition
    const cpuOf = (run: Run) => run.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    for (let rep = 0; rep < options.repetitions; rep++) {
      for (const mode of options.modes) {
        const joined = runs.filter((r) => !r.modes || r.modes.includes(mode.name));
        const order = joined.map((_, i) => joined[(i + rep) % joined.length]!);
        if (rep % 2 === 1) order.reverse();
        for (const run of order) {
          const before = cpuOf(run);
          const r = await runFortio(fortio, loadCpus, run.url, fortioLoad(mode, options.payloadBytes), dir);
          const after = cpuOf(run);
          const ok = r.RetCodes["200"] ?? 0;
          const count = r.DurationHistogram.Count;
          if (ok !== count) throw new Error(`${run.name} ${mode.name}: ${count - ok} of ${count} requests did not get 200 (${JSON.stringify(r.RetCodes)})`);
          const p = (q: number) => fortioPercentileMs(r, q);
          const s: Sample = { p50: p(50), p90: p(90), p99: p(99), qps: r.ActualQPS, count };
          if (run.pids.length > 0) s.cpuS = after - before;
          const key = `${mode.name}|${run.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
        log(`envoy-overhead: repetition ${rep + 1}/${options.repetitions} ${mode.name} done`);
      }
    }
    await checkRouting(runs);
    return figures(runs, options, samples, envoyCpu, loadCpus);
  } finally {
    for (const run of runs) for (const s of [run.sidecar, ...(run.others ?? [])]) await s?.stop();
    for (const s of servers) s.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The runs did what they are named for: lightsub routed by its per-endpoint
 * clusters, native and passthrough by the ROUND_ROBIN cluster; admission
 * admitted requests and never made one wait; mTLS runs' connections between
 * the sidecars were TLS handshakes (and plaintext runs' were not), and the
 * new-connection runs opened about one connection per request.
 */
async function checkRouting(runs: readonly Run[]): Promise<void> {
  for (const run of runs) {
    if (!run.sidecar) continue;
    const dest = run.sidecar.view.destinations[0]!;
    const stats = await run.sidecar.stats("^cluster\\.");
    const perEndpoint = dest.endpoints.reduce((n, e) => n + (stats.get(`cluster.${e.cluster}.upstream_rq_total`) ?? 0), 0);
    const native = stats.get(`cluster.${dest.service}.upstream_rq_total`) ?? 0;
    const viaFilter = run.routing === "filter";
    if (viaFilter ? perEndpoint === 0 || native > 0 : native === 0 || perEndpoint > 0) {
      throw new Error(`${run.name} did not route as intended: per-endpoint clusters ${perEndpoint} requests, ROUND_ROBIN cluster ${native}`);
    }
    if (run.admission) {
      const a = await run.sidecar.stats(`^${WASM_CUSTOM_STAT_NAMESPACE}\\.`);
      const service = run.admission;
      const metric = (name: MetricName) => a.get(`${WASM_CUSTOM_STAT_NAMESPACE}.${destinationMetricName(service, name)}`) ?? 0;
      const waited = metric("admission_delayed") + metric("admission_rejected_queue_full") + metric("admission_rejected_queue_timeout");
      if (metric("admission_admitted") < perEndpoint * 0.9 || waited > 0) {
        throw new Error(`${run.name}: admission admitted ${metric("admission_admitted")} of ${perEndpoint} requests and delayed or rejected ${waited} (the limit must not bind)`);
      }
    }
    if (run.name.startsWith("mesh:")) {
      const handshakes = dest.endpoints.reduce((n, e) => n + (stats.get(`cluster.${e.cluster}.ssl.handshake`) ?? 0), 0);
      const connections = dest.endpoints.reduce((n, e) => n + (stats.get(`cluster.${e.cluster}.upstream_cx_total`) ?? 0), 0);
      const tls = run.name.startsWith("mesh:mtls");
      if (tls ? handshakes === 0 || handshakes < connections * 0.9 : handshakes > 0) {
        throw new Error(`${run.name}: ${handshakes} TLS handshakes for ${connections} connections to the server sidecar`);
      }
      const newConn = run.name.endsWith("-new-conn");
      if (newConn ? connections < perEndpoint * 0.9 : connections > Math.max(100, perEndpoint * 0.01)) {
        throw new Error(`${run.name}: ${connections} connections to the server sidecar for ${perEndpoint} requests`);
      }
    }
  }
}

/** The figures of one measurement (exported for the harness tests: no timing in it). */
export function figures(
  runs: ReadonlyArray<Pick<Run, "name" | "pids" | "modes" | "setup" | "peer">>,
  options: Pick<EnvoyOverheadOptions, "modes" | "payloadBytes">,
  samples: ReadonlyMap<string, readonly Sample[]>,
  envoyCpu: string,
  loadCpus: string,
): FigureInit[] {
  const out: FigureInit[] = [];
  const section = "envoy-overhead" as const;
  const note = `Envoy 1.40 --concurrency 1 on CPU ${envoyCpu}, fortio ${FORTIO_VERSION} client and servers on CPU ${loadCpus}, ${options.payloadBytes}-byte POSTs`;
  const per = (mode: string, run: string) => samples.get(`${mode}|${run}`)!;
  const isLightsub = (run: string) => run.startsWith("lightsub:") || run.startsWith("lightsub+admission:");
  for (const mode of options.modes) {
    const direct = per(mode.name, "direct");
    const params = (run: { name: string; setup?: string | undefined }) => ({ mode: mode.name, run: run.name, ...(run.setup ? { setup: run.setup } : {}) });
    const d = { name: "direct" };
    out.push({ section, name: "qps", params: params(d), unit: "requests/s", samples: direct.map((s) => s.qps), note });
    for (const q of ["p50", "p90", "p99"] as const) out.push({ section, name: `${q}-ms`, params: params(d), unit: "ms", samples: direct.map((s) => s[q]), note });
    for (const run of runs) {
      if (run.pids.length === 0) continue;
      if (run.modes && !run.modes.includes(mode.name)) continue;
      const mine = per(mode.name, run.name);
      for (const q of ["p50", "p90", "p99"] as const) {
        out.push({ section, name: `${q}-ms`, params: params(run), unit: "ms", samples: mine.map((s) => s[q]), note });
        out.push({ section, name: `added-${q}-ms`, params: params(run), unit: "ms", peer: "direct", samples: mine.map((s, i) => s[q] - direct[i]![q]), note });
      }
      out.push({ section, name: "cpu-s-per-10k", params: params(run), unit: "CPU s / 10k requests", samples: mine.map((s) => (s.cpuS! / s.count) * 10_000), note });
      out.push({ section, name: "qps", params: params(run), unit: "requests/s", samples: mine.map((s) => s.qps), note });
      if (run.peer) {
        // The run's own peer (same strategy without admission; mTLS → plaintext): the ratio of what each adds over direct, and of CPU per request.
        const peer = per(mode.name, run.peer);
        for (const q of ["p50", "p99"] as const) {
          out.push({
            section,
            name: `added-${q}-vs-peer`,
            params: params(run),
            unit: "×",
            peer: run.peer,
            samples: mine.map((s, i) => (s[q] - direct[i]![q]) / Math.max(peer[i]![q] - direct[i]![q], 1e-3)),
            note,
          });
        }
        out.push({ section, name: "cpu-vs-peer", params: params(run), unit: "×", peer: run.peer, samples: mine.map((s, i) => s.cpuS! / s.count / (peer[i]!.cpuS! / peer[i]!.count)), note });
      }
      if (run.name === "passthrough" && mode.qps === 0) {
        const native = per(mode.name, "native");
        out.push({ section, name: "throughput-vs-native", params: params(run), unit: "×", peer: "native", samples: mine.map((s, i) => s.qps / native[i]!.qps), note });
      }
      if (!isLightsub(run.name)) continue;
      const empty = per(mode.name, "passthrough");
      const native = per(mode.name, "native");
      // Ratios per repetition (same repetition's peer), then the median of those.
      out.push({
        section,
        name: "added-p50-vs-passthrough",
        params: params(run),
        unit: "×",
        peer: "passthrough",
        samples: mine.map((s, i) => (s.p50 - direct[i]!.p50) / Math.max(empty[i]!.p50 - direct[i]!.p50, 1e-3)),
        ...(mode.qps > 0 ? { target: { max: 1.5, text: "≤ 1.5× the empty Wasm filter's added p50" } } : {}),
        note,
      });
      out.push({
        section,
        name: "cpu-vs-passthrough",
        params: params(run),
        unit: "×",
        peer: "passthrough",
        samples: mine.map((s, i) => s.cpuS! / s.count / (empty[i]!.cpuS! / empty[i]!.count)),
        ...(mode.qps > 0 ? { target: { max: 1.5, text: "≤ 1.5× the empty Wasm filter's CPU per request" } } : {}),
        note,
      });
      if (mode.qps === 0) {
        out.push({
          section,
          name: "throughput-vs-native",
          params: params(run),
          unit: "×",
          peer: "native",
          samples: mine.map((s, i) => s.qps / native[i]!.qps),
          ...(mode.connections >= 64 ? { target: { min: 0.85, text: "≥ 85 % of native Envoy's max throughput (one worker)" } } : {}),
          note,
        });
      }
    }
  }
  return out;
}
