/**
 * The live path of `npm run e2e` (exercise.ts: upstream servers, bring-up,
 * /ready, traffic over real sockets, /stats/prometheus, log, verdict) with a
 * fake runtime in place of Envoy: an in-process sidecar on the compiled
 * client config's own ports that runs the real filter in the Node host and
 * forwards over HTTP to the endpoint the filter picked. It emulates what
 * Envoy does around the filter (docs/design.md): drop a client's
 * x-lightsub-endpoint before the filter, route by the header the filter set
 * (else the aggregate cluster), never forward the header upstream.
 * Uses the e2e ports of e2e/mesh.yaml (17090-17091, 17101-17104, 17901).
 */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { E2eAssertionError } from "../../e2e/assertions.js";
import { compileMesh, type CompiledMesh } from "../../e2e/compile-mesh.js";
import { ENVOY_CONCURRENCY } from "../../e2e/envoy-binary.js";
import { execProcess } from "../../e2e/exec.js";
import { exerciseMesh, type ExerciseContext } from "../../e2e/exercise.js";
import type { Runtime, SidecarConfig, ValidateResult } from "../../e2e/runtime.js";
import { readSidecarView, type SidecarView } from "../../e2e/sidecar-view.js";
import { Envoy, type Vm } from "../../host/index.js";
import { SCHEDULING_HEADER } from "../../e2e/upstream-server.js";

const ROOT = join(import.meta.dirname, "..", "..");
let workDir: string;
let mesh: CompiledMesh;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lightsub-e2e-exercise-"));
  mesh = await compileMesh(execProcess, join(ROOT, "e2e", "mesh.yaml"), join(workDir, "mesh"));
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const ENVOY_LEVEL: Record<string, string> = { warn: "warning" };

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
}

/** A Runtime whose "Envoy" is the Node host with the given filter, serving the config's admin and outbound ports. */
class HostSidecarRuntime implements Runtime {
  readonly description = "in-process sidecar on the Node proxy-wasm host";
  upCalls = 0;
  downCalls = 0;
  private servers: Server[] = [];
  private envoy: Envoy | undefined;
  private started = Date.now();
  private nativeLbTurn = 0;

  constructor(private readonly wasm: Uint8Array, private readonly readyAfterMs = 0) {}

  async validate(): Promise<ValidateResult> {
    return { ok: true, output: "" };
  }

  failure(): string | undefined {
    return undefined;
  }

  /** Envoy's clock moves with real time: catch the host's virtual clock up before each filter call. */
  private tick(): void {
    const envoy = this.envoy!;
    const behind = Date.now() - envoy.nowMs();
    if (behind > 0) envoy.advance(behind);
  }

  async up(configs: readonly SidecarConfig[]): Promise<void> {
    this.upCalls++;
    const view = readSidecarView(parse(readFileSync(configs[0]!.file, "utf8")));
    const module = await Envoy.compile(this.wasm);
    const envoy = (this.envoy = new Envoy({ startTimeMs: Date.now() }));
    const vms = Array.from({ length: ENVOY_CONCURRENCY }, () => envoy.createVm(module, { vmId: "lightsub" }));
    for (const vm of vms) vm.configure(view.pluginJson, { rootId: "lightsub" });
    this.started = Date.now();

    const admin = createServer((req, res) => {
      if (req.url === "/ready") {
        const live = Date.now() - this.started >= this.readyAfterMs;
        res.writeHead(live ? 200 : 503).end(live ? "LIVE\n" : "PRE_INITIALIZING\n");
      } else if (req.url === "/stats/prometheus") {
        this.tick(); // Envoy's timers run in real time: the filter's tick publishes its batched counters
        res.writeHead(200, { "content-type": "text/plain" }).end(envoy.stats.prometheus(view.statsTags));
      } else res.writeHead(404).end();
    });
    await listen(admin, view.adminPort);
    this.servers.push(admin);
    let turn = 0;
    for (const dest of view.destinations) {
      const server = createServer((req, res) => this.proxy(view, dest.service, vms[turn++ % vms.length]!, req, res));
      await listen(server, dest.listenerPort);
      this.servers.push(server);
    }
  }

  private proxy(view: SidecarView, service: string, vm: Vm, req: IncomingMessage, res: ServerResponse): void {
    const dest = view.destinations.find((d) => d.service === service)!;
    this.tick();
    const stream = vm.createStream({ properties: { "xds.cluster_name": service } });
    const headers: [string, string][] = [[":method", req.method ?? "GET"], [":path", req.url ?? "/"], [":authority", req.headers.host ?? ""]];
    for (const [name, value] of Object.entries(req.headers)) {
      if (name !== "host" && name !== SCHEDULING_HEADER && typeof value === "string") headers.push([name, value]); // early header mutation
    }
    stream.onRequestHeaders(headers, true);
    if (stream.localReply) {
      res.writeHead(stream.localReply.status).end(stream.localReply.body);
      stream.end({ responseCode: stream.localReply.status });
      return;
    }
    // no (valid) header: route 2, the aggregate cluster with Envoy's own balancing (here a rotation)
    const chosen =
      dest.endpoints.find((e) => e.cluster === stream.requestHeaders.get(SCHEDULING_HEADER)) ??
      dest.endpoints[this.nativeLbTurn++ % dest.endpoints.length]!;
    const upstreamHeaders = Object.fromEntries(stream.requestHeaders.pairs().filter(([n]) => !n.startsWith(":") && n !== SCHEDULING_HEADER));
    const upstream = request({ host: chosen.address, port: chosen.port, path: req.url, method: req.method, headers: upstreamHeaders }, (up) => {
      const body: Buffer[] = [];
      up.on("data", (chunk: Buffer) => body.push(chunk));
      up.on("end", () => {
        this.tick();
        const status = up.statusCode ?? 502;
        const responseHeaders: [string, string][] = [[":status", String(status)]];
        for (const [name, value] of Object.entries(up.headers)) if (typeof value === "string") responseHeaders.push([name, value]);
        stream.onResponseHeaders(responseHeaders, true);
        res.writeHead(status, Object.fromEntries(responseHeaders.filter(([n]) => !n.startsWith(":")))).end(Buffer.concat(body));
        stream.end({ responseCode: status });
      });
    });
    upstream.on("error", () => {
      this.tick();
      res.writeHead(503).end("upstream connect error\n");
      stream.end({ responseCode: 503 });
    });
    upstream.end();
  }

  async down(): Promise<void> {
    this.downCalls++;
    await Promise.all(
      this.servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
  }

  /** The host's log in Envoy's default format, logger `wasm`. */
  async logs(): Promise<string> {
    return (this.envoy?.logs ?? [])
      .map((l) => `[2025-01-01 00:00:00.000][1][${ENVOY_LEVEL[l.level] ?? l.level}][wasm] [context.cc:1] wasm log lightsub: ${l.message}`)
      .join("\n");
  }
}

async function exercise(runtime: HostSidecarRuntime): Promise<{ lines: string[] }> {
  const cleanups: (() => Promise<void>)[] = [];
  const lines: string[] = [];
  const ctx: ExerciseContext = { defer: (c) => cleanups.push(c), log: (l) => lines.push(l), readyTimeoutMs: 10_000, settleTimeoutMs: 1_000 };
  try {
    await exerciseMesh(runtime, mesh, ctx);
    return { lines };
  } finally {
    await runtime.down();
    for (const c of cleanups.reverse()) await c();
  }
}

describe("exerciseMesh over real sockets", () => {
  it("passes with the real filter, after waiting for /ready", async () => {
    const runtime = new HostSidecarRuntime(readFileSync(mesh.sidecars[0]!.wasmFile), 500);
    const { lines } = await exercise(runtime);
    expect(runtime.upCalls).toBe(1);
    expect(lines[0]).toBe('started 4 upstream servers; starting the "client" sidecar');
    const counted = lines.slice(1).map((l) => l.trim());
    expect(counted).toHaveLength(4);
    const requests = counted.map((l) => Number(/: (\d+) requests/.exec(l)![1]));
    expect(requests[0]! + requests[1]!).toBe(120);
    expect(requests[2]! + requests[3]!).toBe(120);
  });

  it("fails with every problem named when the filter does not schedule", async () => {
    const runtime = new HostSidecarRuntime(readFileSync(join(ROOT, "build", "passthrough.wasm")));
    const failure = await exercise(runtime).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(E2eAssertionError);
    const problems = (failure as E2eAssertionError).problems;
    expect(problems).toContain(
      'slow (least_latency): 127_0_0_1_17102 got 50.0% of 120 requests, at most 20.0% allowed (counts {"127_0_0_1_17101":60,"127_0_0_1_17102":60})',
    );
    expect(problems.some((p) => /lightsub_rq_total\{service="flaky",endpoint="127_0_0_1_17103"\} is missing/.test(p))).toBe(true);
  });
});
