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
 *   lightsub:<s>    the compiled sidecar with build/lightsub.wasm, strategy s.
 *
 * Every Envoy runs at once with `--concurrency 1`, pinned to CPU 0 (taskset);
 * fortio (client and servers) is pinned to the other CPUs. Each repetition
 * runs every load mode over every run in a rotated order (interleaved), so a
 * burst of outside load lands on all of them alike. Each figure is a ratio to
 * a peer from the same repetition; reported as the median [min–max] over the
 * repetitions. Envoy's CPU is utime+stime from /proc/<pid>/stat around each
 * load (every thread of the process: workers, main thread, Wasm main VM).
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startSidecar, type LiveSidecar } from "../e2e/live/sidecar.js";
import { ENVOY_BIN, FORTIO_VERSION, cpuSeconds, cpuSets, envoyPid, ensureFortio, fortioPercentileMs, nativeEdit, pin, runFortio, type FortioLoad, startFortioServer, waitHttp } from "./envoy-harness.js";
import type { FigureInit } from "./figures.js";

export { ENVOY_BIN, FORTIO_BIN, FORTIO_VERSION, ensureFortio } from "./envoy-harness.js";

/** Ports (loopback): upstreams, Envoy admin and outbound listeners. */
const UPSTREAM_PORTS = [32101, 32102];
const BASE_PORT = 32200;

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
  modes: readonly LoadMode[];
  repetitions: number;
  payloadBytes: number;
}

interface Run {
  name: string;
  sidecar?: LiveSidecar;
  pid?: number;
  url: string;
}

interface Sample {
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
function policy(strategy: string, index: number): string {
  const p = BASE_PORT + index * 10;
  const weight = (i: number) => (strategy === "weighted" ? `, weight: ${i + 1}` : "");
  const extra = strategy === "consistent_hash" ? ", hashOn: { path: true }" : "";
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: bench }
spec:
  sidecar: { adminPort: ${p} }
  services:
    - name: client
      port: ${p + 1}
      meshPort: ${p + 2}
      endpoints: [{ address: 127.0.0.1, port: ${p + 2} }]
      calls: [svc]
    - name: svc
      port: ${p + 3}
      endpoints: [${UPSTREAM_PORTS.map((port, i) => `{ address: 127.0.0.1, port: ${port}${weight(i)} }`).join(", ")}]
      scheduler: { strategy: ${strategy}${extra} }
`;
}

/** Figure 1's fortio load: histogram resolution 10 µs, p50/p90/p99, 1 KiB POSTs. */
function fortioLoad(mode: LoadMode, payloadBytes: number): FortioLoad {
  return { qps: mode.qps, connections: mode.connections, seconds: mode.seconds, resolution: 0.00001, percentiles: [50, 90, 99], payloadBytes };
}

export async function measureEnvoyOverhead(options: EnvoyOverheadOptions, log: (line: string) => void): Promise<FigureInit[]> {
  if (!existsSync(ENVOY_BIN)) throw new Error(`no Envoy at ${ENVOY_BIN} (npm run setup:test installs it)`);
  const fortio = ensureFortio(log);
  const { envoyCpu, loadCpus } = cpuSets();
  const dir = mkdtempSync(join(tmpdir(), "lightsub-bench-envoy-"));
  const servers = UPSTREAM_PORTS.map((port) => startFortioServer(fortio, loadCpus, port));
  const runs: Run[] = [];
  try {
    for (const port of UPSTREAM_PORTS) await waitHttp(`http://127.0.0.1:${port}/`);
    runs.push({ name: "direct", url: `http://127.0.0.1:${UPSTREAM_PORTS[0]}/` });
    const specs: Array<{ name: string; strategy: string; wasm?: string; native?: boolean }> = [
      { name: "native", strategy: "round_robin", native: true },
      { name: "passthrough", strategy: "round_robin", wasm: options.passthroughWasm },
      ...options.strategies.map((s) => ({ name: `lightsub:${s}`, strategy: s, wasm: options.lightsubWasm })),
    ];
    for (const [i, spec] of specs.entries()) {
      const sidecar = await startSidecar({
        envoy: ENVOY_BIN,
        policy: policy(spec.strategy, i),
        service: "client",
        concurrency: 1,
        ...(spec.wasm ? { wasm: spec.wasm } : {}),
        ...(spec.native ? { editBootstrap: nativeEdit("svc") } : {}),
      });
      const pid = envoyPid(sidecar.workDir);
      pin(pid, envoyCpu);
      runs.push({ name: spec.name, sidecar, pid, url: sidecar.url("svc") });
    }
    log(`envoy-overhead: ${runs.length - 1} Envoys (--concurrency 1) on CPU ${envoyCpu}, fortio ${FORTIO_VERSION} on CPU ${loadCpus}`);
    // Warm-up: every run once, briefly (connections, Wasm JIT tiers).
    for (const run of runs) await runFortio(fortio, loadCpus, run.url, fortioLoad({ name: "warmup", qps: 0, connections: 4, seconds: 1 }, options.payloadBytes), dir);

    const samples = new Map<string, Sample[]>(); // `${mode}|${run}` → per repetition
    for (let rep = 0; rep < options.repetitions; rep++) {
      for (const mode of options.modes) {
        const order = runs.map((_, i) => runs[(i + rep) % runs.length]!);
        if (rep % 2 === 1) order.reverse();
        for (const run of order) {
          const before = run.pid ? cpuSeconds(run.pid) : 0;
          const r = await runFortio(fortio, loadCpus, run.url, fortioLoad(mode, options.payloadBytes), dir);
          const after = run.pid ? cpuSeconds(run.pid) : 0;
          const ok = r.RetCodes["200"] ?? 0;
          const count = r.DurationHistogram.Count;
          if (ok !== count) throw new Error(`${run.name} ${mode.name}: ${count - ok} of ${count} requests did not get 200 (${JSON.stringify(r.RetCodes)})`);
          const p = (q: number) => fortioPercentileMs(r, q);
          const s: Sample = { p50: p(50), p90: p(90), p99: p(99), qps: r.ActualQPS, count };
          if (run.pid) s.cpuS = after - before;
          const key = `${mode.name}|${run.name}`;
          samples.set(key, [...(samples.get(key) ?? []), s]);
        }
        log(`envoy-overhead: repetition ${rep + 1}/${options.repetitions} ${mode.name} done`);
      }
    }
    await checkRouting(runs);
    return figures(runs, options, samples, envoyCpu, loadCpus);
  } finally {
    for (const run of runs) await run.sidecar?.stop();
    for (const s of servers) s.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The runs did what they are named for: lightsub routed by its per-endpoint clusters, native and passthrough by the ROUND_ROBIN cluster. */
async function checkRouting(runs: readonly Run[]): Promise<void> {
  for (const run of runs) {
    if (!run.sidecar) continue;
    const stats = await run.sidecar.stats("upstream_rq_total");
    const perEndpoint = (stats.get("cluster.svc_ep0.upstream_rq_total") ?? 0) + (stats.get("cluster.svc_ep1.upstream_rq_total") ?? 0);
    const native = stats.get("cluster.svc.upstream_rq_total") ?? 0;
    const viaFilter = run.name.startsWith("lightsub:");
    if (viaFilter ? perEndpoint === 0 || native > 0 : native === 0 || perEndpoint > 0) {
      throw new Error(`${run.name} did not route as intended: per-endpoint clusters ${perEndpoint} requests, ROUND_ROBIN cluster ${native}`);
    }
  }
}

function figures(runs: readonly Run[], options: EnvoyOverheadOptions, samples: Map<string, Sample[]>, envoyCpu: string, loadCpus: string): FigureInit[] {
  const out: FigureInit[] = [];
  const section = "envoy-overhead" as const;
  const note = `Envoy 1.40 --concurrency 1 on CPU ${envoyCpu}, fortio ${FORTIO_VERSION} client and servers on CPU ${loadCpus}, ${options.payloadBytes}-byte POSTs`;
  const per = (mode: string, run: string) => samples.get(`${mode}|${run}`)!;
  for (const mode of options.modes) {
    const direct = per(mode.name, "direct");
    const params = (run: string) => ({ mode: mode.name, run });
    out.push({ section, name: "qps", params: params("direct"), unit: "requests/s", samples: direct.map((s) => s.qps), note });
    for (const q of ["p50", "p90", "p99"] as const) out.push({ section, name: `${q}-ms`, params: params("direct"), unit: "ms", samples: direct.map((s) => s[q]), note });
    for (const run of runs) {
      if (!run.sidecar) continue;
      const mine = per(mode.name, run.name);
      for (const q of ["p50", "p90", "p99"] as const) {
        out.push({ section, name: `${q}-ms`, params: params(run.name), unit: "ms", samples: mine.map((s) => s[q]), note });
        out.push({ section, name: `added-${q}-ms`, params: params(run.name), unit: "ms", peer: "direct", samples: mine.map((s, i) => s[q] - direct[i]![q]), note });
      }
      out.push({ section, name: "cpu-s-per-10k", params: params(run.name), unit: "CPU s / 10k requests", samples: mine.map((s) => (s.cpuS! / s.count) * 10_000), note });
      out.push({ section, name: "qps", params: params(run.name), unit: "requests/s", samples: mine.map((s) => s.qps), note });
      if (run.name === "passthrough" && mode.qps === 0) {
        const native = per(mode.name, "native");
        out.push({ section, name: "throughput-vs-native", params: params(run.name), unit: "×", peer: "native", samples: mine.map((s, i) => s.qps / native[i]!.qps), note });
      }
      if (!run.name.startsWith("lightsub:")) continue;
      const empty = per(mode.name, "passthrough");
      const native = per(mode.name, "native");
      // Ratios per repetition (same repetition's peer), then the median of those.
      out.push({
        section,
        name: "added-p50-vs-passthrough",
        params: params(run.name),
        unit: "×",
        peer: "passthrough",
        samples: mine.map((s, i) => (s.p50 - direct[i]!.p50) / Math.max(empty[i]!.p50 - direct[i]!.p50, 1e-3)),
        ...(mode.qps > 0 ? { target: { max: 1.5, text: "≤ 1.5× the empty Wasm filter's added p50" } } : {}),
        note,
      });
      out.push({
        section,
        name: "cpu-vs-passthrough",
        params: params(run.name),
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
          params: params(run.name),
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
