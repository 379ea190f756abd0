/**
 * What the real-Envoy benchmarks (issue 18) share: the pinned fortio, the
 * Envoy binary, CPU pinning, Envoy's CPU time, fortio runs and servers, and
 * the "native" edit of a compiled sidecar (the Wasm filter taken out, the
 * fallback cluster's load balancer set). Used by envoy-overhead.ts (figure 1)
 * and envoy-scheduling.ts (figures 2 and 3).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { ROOT_DIR } from "./build.js";

export const FORTIO_VERSION = "v1.66.5";
export const FORTIO_BIN = join(ROOT_DIR, ".tools/bin/fortio");
export const ENVOY_BIN = process.env.ENVOY_BIN ?? join(ROOT_DIR, ".tools/bin/envoy");

/** Makes sure the pinned fortio is in .tools/bin (scripts/install-bench-deps.sh: idempotent, builds it with Go when missing). */
export function ensureFortio(log: (line: string) => void): string {
  if (!existsSync(FORTIO_BIN)) log(`envoy: installing fortio ${FORTIO_VERSION} into .tools/bin`);
  execFileSync("bash", [join(ROOT_DIR, "scripts/install-bench-deps.sh")], { stdio: ["ignore", "ignore", "inherit"] });
  return FORTIO_BIN;
}

/** Envoy gets CPU 0; the load (fortio, upstreams) the other CPU(s). */
export function cpuSets(): { envoyCpu: string; loadCpus: string } {
  const cores = availableParallelism();
  return { envoyCpu: "0", loadCpus: cores > 2 ? `1-${cores - 1}` : cores === 2 ? "1" : "0" };
}

type Listener = { name: string; filter_chains: Array<{ filters: Array<{ typed_config: { http_filters: Array<{ name: string }> } }> }> };
type Cluster = { name: string; lb_policy?: string };

/**
 * Takes the Wasm filter out of the outbound listener for `service`: Envoy then
 * routes by the fallback route to the aggregate cluster `service`, balanced by
 * `lbPolicy` (default ROUND_ROBIN, as compiled). The filter moves to the
 * inbound listener (which the benchmarks never call) because the live-sidecar
 * harness reads the sidecar's layout from it.
 */
export function nativeEdit(service: string, lbPolicy = "ROUND_ROBIN"): (bootstrap: Record<string, unknown>) => void {
  return (bootstrap) => {
    const resources = bootstrap.static_resources as { listeners: Listener[]; clusters: Cluster[] };
    const hcm = (l: Listener) => l.filter_chains[0]!.filters[0]!.typed_config;
    const outbound = hcm(resources.listeners.find((l) => l.name === `outbound_${service}`)!);
    const wasm = outbound.http_filters.filter((f) => f.name === "envoy.filters.http.wasm");
    if (wasm.length !== 1) throw new Error("the compiled outbound listener has no single Wasm filter to take out");
    outbound.http_filters = outbound.http_filters.filter((f) => f.name !== "envoy.filters.http.wasm");
    const inbound = hcm(resources.listeners.find((l) => l.name === "inbound")!);
    inbound.http_filters = [...wasm, ...inbound.http_filters];
    const cluster = resources.clusters.find((c) => c.name === service);
    if (!cluster) throw new Error(`the compiled sidecar has no cluster "${service}"`);
    cluster.lb_policy = lbPolicy;
  };
}

/** The pid of the Envoy whose command line names the sidecar's work directory. */
export function envoyPid(workDir: string): number {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, "utf8");
      if (cmd.includes(workDir) && cmd.includes("--concurrency")) return Number(entry);
    } catch {
      // the process ended meanwhile
    }
  }
  throw new Error(`no Envoy process found for ${workDir}`);
}

const CLOCK_TICKS = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** utime + stime of every thread of `pid`, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command (which may hold spaces) start at ") ".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return ticks / CLOCK_TICKS;
}

export function pin(pid: number, cpus: string): void {
  execFileSync("taskset", ["-a", "-cp", cpus, String(pid)], { stdio: "ignore" });
}

export interface FortioResult {
  ActualQPS: number;
  RetCodes: Record<string, number>;
  /** Socket/connection errors fortio counts apart from HTTP codes (code -1 in RetCodes). */
  ErrorsDurationHistogram?: { Count: number };
  DurationHistogram: { Count: number; Percentiles: Array<{ Percentile: number; Value: number }> };
}

export interface FortioLoad {
  /** 0 = closed loop (as fast as it goes). */
  qps: number;
  connections: number;
  seconds: number;
  /** Histogram resolution in seconds (fortio's -r). */
  resolution: number;
  /** Percentiles fortio reports, e.g. [50, 99, 99.9]. */
  percentiles: readonly number[];
  /** POST body bytes (0: GET). */
  payloadBytes?: number;
  /** fortio's -uniform: spread the connections' send times instead of starting them all at once. */
  uniform?: boolean;
  /** fortio's -allow-initial-errors: go on when a connection's first request fails (scenarios with failing endpoints). */
  allowInitialErrors?: boolean;
}

/** Runs `fortio load` on `cpus` and returns its JSON result. */
export async function runFortio(fortio: string, cpus: string, url: string, load: FortioLoad, dir: string): Promise<FortioResult> {
  const out = join(dir, `load-${process.hrtime.bigint()}.json`);
  const args = ["-c", cpus, fortio, "load", "-quiet", "-qps", String(load.qps), "-c", String(load.connections), "-t", `${load.seconds}s`];
  args.push("-r", String(load.resolution), "-p", load.percentiles.join(","), "-json", out);
  if (load.payloadBytes) args.push("-payload-size", String(load.payloadBytes));
  if (load.uniform) args.push("-uniform");
  if (load.allowInitialErrors) args.push("-allow-initial-errors");
  args.push(url);
  await new Promise<void>((resolve, reject) => {
    const child = spawn("taskset", args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`fortio load ${url} exited ${code}: ${err.slice(-500)}`))));
  });
  const result = JSON.parse(readFileSync(out, "utf8")) as FortioResult;
  rmSync(out, { force: true });
  return result;
}

/** A percentile of a fortio result in milliseconds. */
export function fortioPercentileMs(result: FortioResult, percentile: number): number {
  const p = result.DurationHistogram.Percentiles.find((x) => x.Percentile === percentile);
  if (!p) throw new Error(`fortio reported no p${percentile}`);
  return p.Value * 1000;
}

export function startFortioServer(fortio: string, cpus: string, port: number): ChildProcess {
  return spawn("taskset", ["-c", cpus, fortio, "server", "-quiet", "-http-port", `127.0.0.1:${port}`, "-grpc-port", "disabled", "-redirect-port", "disabled"], {
    stdio: "ignore",
  });
}

export async function waitHttp(url: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const r = await fetch(url);
      await r.text();
      if (r.ok) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The real-Envoy benchmarks' policy: `client` (its sidecar's admin port
 * `basePort`, listeners from basePort + 1) calls `svc`, whose endpoints are
 * `endpoints` (YAML flow entries); `scheduler` is the inside of svc's
 * scheduler mapping and `svcExtra` whole lines added to svc (admission,
 * connector).
 */
export function twoServicePolicy(o: { name: string; basePort: number; endpoints: readonly string[]; scheduler: string; svcExtra?: string }): string {
  const p = o.basePort;
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: ${o.name} }
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
      endpoints: [${o.endpoints.join(", ")}]
      scheduler: { ${o.scheduler} }
${o.svcExtra ?? ""}`;
}
