/**
 * Conformance of the Node proxy-wasm host with Envoy 1.40, observed through
 * the host tests' probe module (test/fixtures/host/probe.as.ts): each
 * scripted request runs through a real Envoy sidecar and through host/ with
 * the simulator's routing (test/support/conformance.ts), and the two
 * observations must be equal: the worker VM's callbacks in order with their
 * arguments, every property / header-map / metric / shared-data result the
 * probe logs, the module's own log lines, local replies (status, headers,
 * body), the headers and route the upstream got, the response the client got;
 * then the plugin's stats as /stats/prometheus shows them.
 *
 * Every difference found is either fixed in host/ or listed with its reason in
 * host/README.md ("Differences from Envoy 1.40").
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { Envoy, decodePairs } from "../../host/index.js";
import { buildFixture } from "../fixtures/host/build.js";
import { EnvoySide, HostSide, hostSideFor, normalise, type Observation, type ScriptedRequest } from "../support/conformance.js";
import { describeWithEnvoy } from "../support/real-envoy.js";
import { startUpstream, type UpstreamServer } from "../../e2e/upstream-server.js";

const ADMIN_PORT = 28911;
const A_PORT = 28111;
const B_PORT = 28112;

const POLICY = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: conformance }
spec:
  sidecar: { adminPort: ${ADMIN_PORT} }
  services:
    - name: client
      port: 28180
      meshPort: 28106
      endpoints: [{ address: 127.0.0.1, port: 28106 }]
      calls: [svc]
    - name: svc
      port: 28190
      endpoints: [{ address: 127.0.0.1, port: ${A_PORT} }, { address: 127.0.0.1, port: ${B_PORT} }]
`;

/** What the probe does at start-up (VM configuration lines, read in proxy_on_vm_start): a tick, metrics, a queue. */
const PROBE_VM_CONFIG = [
  "configure=tick 50; mdef 0 conf.c; mdef 1 conf.g; mdef 2 conf.h; qreg conf-q",
  "tick=resumeall",
  "",
].join("\n");

/** Reads in every stream's log phase: the properties lightsub reads, and more. */
const LOG_READS = [
  "prop xds.cluster_name", "prop xds.route_name", "prop response.code", "prop response.flags", "prop response.code_details",
  "prop response.grpc_status", "prop plugin_name", "prop plugin_root_id", "prop plugin_vm_id",
  "hpairs req", "hpairs resp", "hget req x-lightsub-endpoint", "hsize req",
].join("; ");

const REQUEST_READS = [
  "prop xds.cluster_name", "prop xds.route_name", "prop request.path", "prop request.url_path", "prop request.host",
  "prop request.scheme", "prop request.method", "prop request.query", "prop request.protocol", "hget req x-request-id",
  "prop request.useragent", "prop request.headers.x-probe-extra", "prop response.code", "prop plugin_name",
  "hpairs req", "hsize req", "hget req x-missing", "hpairs resp", "loglevel", "ctx",
].join("; ");

interface Scenario {
  name: string;
  req: ScriptedRequest;
  /** Wasm lines left out on both sides (timing-dependent ones). */
  ignore?: RegExp;
  /** After the request, let a tick run on both sides and drop what it logged. */
  drainTicks?: boolean;
  /** Client response headers left out on both sides. */
  dropHeaders?: string[];
}

const withLog = (headers: Record<string, string>): Record<string, string> => ({ ...headers, "x-probe-log": LOG_READS });

const SCENARIOS: Scenario[] = [
  {
    name: "plain GET: callbacks, properties and header maps in each phase",
    req: { path: "/a/b?q=1&r=2", headers: withLog({ "x-probe": REQUEST_READS, "x-probe-extra": "v1", "x-probe-response": "hpairs resp; prop response.code; prop response.code_details; hpairs req" }) },
  },
  {
    name: "request and response header edits reach the upstream and the client",
    req: {
      headers: withLog({
        "x-probe": "hadd req x-added one; hadd req x-added two; hset req x-replaced new; hdel req x-gone; hdel req x-not-there; hget req x-added",
        "x-replaced": "old",
        "x-gone": "1",
        "x-probe-response": "hadd resp x-resp 1; hset resp content-type text%2Fhtml; hdel resp x-e2e-upstream",
      }),
    },
  },
  {
    name: "steering with x-lightsub-endpoint re-routes (route cache cleared), properties follow the new route",
    req: { headers: withLog({ "x-probe": "hset req x-lightsub-endpoint svc_ep1; prop xds.cluster_name" }) },
  },
  {
    name: "steering with clear_route_cache too",
    req: { headers: withLog({ "x-probe": "hset req x-lightsub-endpoint svc_ep0; ffi clear_route_cache" }) },
  },
  {
    name: "an unknown endpoint name does not match the scheduled route: fallback",
    req: { headers: withLog({ "x-probe": "hset req x-lightsub-endpoint svc_ep7" }) },
  },
  {
    name: "a client-sent x-lightsub-endpoint never reaches the filter",
    req: { headers: withLog({ "x-probe": "hget req x-lightsub-endpoint", "x-lightsub-endpoint": "svc_ep1" }) },
  },
  {
    name: "local reply with body and headers from request headers",
    req: {
      headers: withLog({
        "x-probe": "local 418 my%20details hello x-a b x-c d",
        "x-probe-response": "hpairs resp; prop response.code; prop response.code_details",
        "x-probe-respbody": "bufstatus respbody; buf respbody 0 100",
      }),
    },
  },
  {
    name: "local reply that sets its own content-type",
    req: { headers: withLog({ "x-probe": "local 422 bad %7B%7D content-type application%2Fjson", "x-probe-response": "hpairs resp" }) },
  },
  {
    name: "gRPC request: trailers-only local reply with the module's gRPC status",
    req: {
      method: "POST",
      body: "",
      headers: withLog({ "content-type": "application/grpc", "x-probe": "localgrpc 503 5 grpc%20details not%20here%25%0A%C3%A9 x-a b", "x-probe-response": "hpairs resp" }),
    },
  },
  {
    name: "gRPC request: local reply without a gRPC status (derived from the HTTP status)",
    req: { method: "POST", body: "", headers: withLog({ "content-type": "application/grpc", "x-probe": "localgrpc 429 -1 busy", "x-probe-response": "hpairs resp" }) },
  },
  {
    name: "local reply without a body",
    req: { headers: withLog({ "x-probe": "local 503 no%20body", "x-probe-response": "hpairs resp" }) },
  },
  {
    name: "paused at request headers, resumed from a tick with an added header",
    req: { headers: withLog({ "x-probe": "pause" }) },
  },
  {
    name: "a pause that continues in the same callback does not hold the request",
    req: { headers: withLog({ "x-probe": "continue request; pause" }) },
    // The probe still lists the stream as paused: its ticks (real time on Envoy) try to resume it.
    ignore: /probe\|tick\|resumeall\|/,
    drainTicks: true,
  },
  {
    name: "a response-side continue inside the pausing response callback does not release the response (the client gives up)",
    req: { headers: withLog({ "x-probe-response": "continue response; ret 1" }), timeoutMs: 1000 },
  },
  {
    name: "a request body held (buffered) by the filter and released from a tick",
    req: { method: "POST", body: "held-body", headers: withLog({ "x-probe-reqbody": "bufstatus reqbody; buf reqbody 0 100; pause" }) },
    // Envoy's router adds x-envoy-upstream-service-time to this response on some runs only: leave
    // out what shows it (the response map's size and pairs, the client's headers).
    ignore: /probe\|tick\|resumeall\||probe\|event\|response_headers\||probe\|log\|hpairs\|0:%3Astatus/,
    dropHeaders: ["x-envoy-upstream-service-time"],
    drainTicks: true,
  },
  {
    name: "metrics, module log lines at every level and the log level",
    req: {
      headers: withLog({
        "x-probe": "minc conf.c 3; minc conf.c 0; mrec conf.g 7; minc conf.g -2; mrec conf.h 12; mrec conf.h 40; mget conf.c; mget conf.g; mget conf.h; log 0 t; log 1 d; log 2 i; log 3 w; log 4 e; log 5 c; loglevel",
      }),
    },
  },
  {
    name: "shared data and shared queues",
    req: {
      headers: withLog({
        "x-probe": "sget conf-k; sset conf-k v1 0; sget conf-k; sset conf-k v2 1; sset conf-k v3 99; sget conf-k; qres lightsub conf-q; qenq 1 hello; qdeq 1; qdeq 1",
      }),
    },
  },
  {
    name: "a request body",
    req: { method: "POST", headers: withLog({ "x-probe": "hget req content-length", "x-probe-reqbody": "bufstatus reqbody; buf reqbody 0 100; prop request.size; prop request.total_size" }), body: "body-bytes" },
  },
  {
    name: "other host calls: foreign functions, callouts, stored properties, whole-map properties, status",
    req: {
      path: "/old?x=1",
      headers: withLog({
        "x-probe": [
          "ffi no_such_function", "ffinull clear_route_cache", "httpcall no-such-cluster", "setprop conf_state v1", "prop conf_state",
          "prop conf_state.sub", "prop response.code", "prop request.duration", "prop request", "prop nosuch.path",
          "propraw xds", "status", "hsize reqtr", "hget resptr x", "hpairs reqtr",
        ].join("; "),
        "x-probe-log": `${LOG_READS}; prop conf_state; prop response.size; prop response.total_size; prop request.size; prop request.headers.x-probe-extra; status`,
      }),
    },
  },
  {
    name: "the module closes the stream",
    req: { headers: withLog({ "x-probe": "close request; hget req x-probe" }) },
  },
  {
    name: "local reply from the response headers",
    req: { headers: withLog({ "x-probe-response": "local 502 from%20response late" }) },
  },
];

let workDir: string;
let bytes: Uint8Array;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lightsub-conformance-"));
  bytes = await buildFixture("probe.as.ts");
  writeFileSync(join(workDir, "probe.wasm"), bytes);
});

afterAll(async () => {
  await stopAllSidecars();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describeWithEnvoy("conformance: host/ vs Envoy, probe module", (envoyBinary) => {
  let sidecar: LiveSidecar;
  let upstreams: UpstreamServer[];
  let envoySide: EnvoySide;
  let hostSide: HostSide;

  beforeAll(async () => {
    // 20 ms: the request is complete before the answer, so Envoy's router adds
    // x-envoy-upstream-service-time (it does only then) on every run.
    upstreams = [
      await startUpstream({ name: "a", latencyMs: 20, failureRate: 0, port: A_PORT }),
      await startUpstream({ name: "b", latencyMs: 20, failureRate: 0, port: B_PORT }),
    ];
    sidecar = await startSidecar({
      envoy: envoyBinary,
      policy: POLICY,
      service: "client",
      wasm: join(workDir, "probe.wasm"),
      concurrency: 1,
      logLevel: "info",
      editBootstrap: (bootstrap) => {
        // Histograms reach /stats/prometheus at each stats flush (default 5 s).
        bootstrap.stats_flush_interval = "0.2s";
        for (const listener of (bootstrap.static_resources as { listeners: Record<string, unknown>[] }).listeners) {
          if (listener.name !== "outbound_svc") continue;
          const hcm = (listener.filter_chains as { filters: { typed_config: { http_filters: { typed_config: { config: Record<string, unknown> } }[] } }[] }[])[0]!.filters[0]!.typed_config;
          const config = hcm.http_filters[0]!.typed_config.config;
          (config.vm_config as Record<string, unknown>).configuration = { "@type": "type.googleapis.com/google.protobuf.StringValue", value: PROBE_VM_CONFIG };
        }
      },
    });
    envoySide = new EnvoySide(sidecar, "svc", upstreams);
    const module = await Envoy.compile(bytes);
    hostSide = hostSideFor(module, sidecar, upstreams);
  }, 60_000);

  afterAll(async () => {
    await sidecar?.stop();
    for (const u of upstreams ?? []) await u.close();
  });

  it("start-up: the worker VM's callbacks and results are the same", () => {
    const envoy = envoySide.startup();
    expect(hostSide.startup()).toEqual(envoy.worker);
    // Envoy also starts the plugin twice on the main thread; the HostSide does the same (mainThreadVms).
    expect(envoy.otherThreads).toBe(1);
  });

  for (const scenario of SCENARIOS) {
    it(scenario.name, async () => {
      const fromEnvoy = await envoySide.run(scenario.req);
      const fromHost = hostSide.run(scenario.req, { nativePick: fromEnvoy.upstream?.name });
      if (scenario.dropHeaders) {
        for (const o of [fromEnvoy, fromHost]) o.responseHeaders = o.responseHeaders.filter(([k]) => !scenario.dropHeaders!.includes(k));
      }
      if (scenario.ignore) {
        fromEnvoy.wasm = fromEnvoy.wasm.filter((l) => !scenario.ignore!.test(l));
        fromHost.wasm = fromHost.wasm.filter((l) => !scenario.ignore!.test(l));
      }
      if (scenario.drainTicks) {
        await new Promise((r) => setTimeout(r, 150)); // > the probe's 50 ms tick
        await envoySide.takeWasm();
        hostSide.envoy.advanceToNextTick();
        hostSide.takeWasm();
      }
      dump(scenario.name, fromEnvoy, fromHost);
      expectSame(fromHost, fromEnvoy);
    });
  }

  it("whole header maps as properties: the same pairs (Envoy lists them in its own order)", async () => {
    const req: ScriptedRequest = { headers: { "x-probe": "prop request.headers", "x-probe-log": "prop request.headers; prop response.headers" } };
    const pairsOf = (o: Observation) =>
      o.wasm
        .filter((l) => / probe\|(request|log)\|prop\|/.test(l))
        .map((l) => {
          const hex = l.slice(l.indexOf("|prop|0:") + 8);
          const bytes = Uint8Array.from(hex.match(/../g)!.map((b) => parseInt(b, 16)));
          return (decodePairs(bytes) ?? []).map(([k, v]) => normalise(`${k}=${v}`)).sort();
        });
    const envoyRun = await envoySide.run(req);
    const fromEnvoy = pairsOf(envoyRun);
    const fromHost = pairsOf(hostSide.run(req, { nativePick: envoyRun.upstream?.name }));
    expect(fromEnvoy).toHaveLength(3);
    expect(fromEnvoy[0]).toContain("x-request-id=<uuid>");
    expect(fromHost).toEqual(fromEnvoy);
  });

  it("known difference: Envoy answers 404 (no route) after the module replaces the whole request map", async () => {
    // host/README.md "Differences from Envoy 1.40": the simulator's routing selects a route on the new map.
    const req: ScriptedRequest = { path: "/old", headers: { "x-probe": "hsetpairs req :authority 127.0.0.1%3A28190 :path %2Fnew :method GET :scheme http x-kept yes" } };
    const fromEnvoy = await envoySide.run(req);
    const fromHost = hostSide.run(req, { nativePick: "a" });
    expect(fromEnvoy.status).toBe(404);
    expect(fromEnvoy.upstream).toBeUndefined();
    expect(fromHost.status).toBe(200);
    expect(fromHost.upstream?.url).toBe("/new");
  });

  it("the plugin's stats read the same on /stats/prometheus", async () => {
    await new Promise((r) => setTimeout(r, 600)); // two stats flushes
    const envoyText = await (await fetch(`http://127.0.0.1:${ADMIN_PORT}/stats/prometheus`)).text();
    // The probe's metrics are named conf.*; Envoy's histogram sum is approximate (circllhist bins).
    const custom = (text: string) =>
      text
        .split("\n")
        .filter((l) => /^(# TYPE )?conf_/.test(l))
        .map((l) => l.replace(/^(conf_h_sum\S*) (\d+)(\.\d+)?$/, "$1 ~$2"));
    const fromEnvoy = custom(envoyText);
    if (process.env.LIGHTSUB_CONFORMANCE_DUMP) writeFileSync(join(process.env.LIGHTSUB_CONFORMANCE_DUMP, "prometheus.envoy.txt"), envoyText);
    expect(fromEnvoy).toContain("conf_c{} 3");
    expect(custom(hostSide.envoy.stats.prometheus([]))).toEqual(fromEnvoy);
  });

  // Last: a trap fails the plugin for good (failMode open → failure_policy FAIL_OPEN).
  it("a trap: the error line, then requests pass without the filter", async () => {
    const trap: ScriptedRequest = { headers: withLog({ "x-probe": "log 2 before; trap" }) };
    const after: ScriptedRequest = { headers: withLog({ "x-probe": "log 2 never" }) };
    const fromEnvoy = [await envoySide.run(trap), await envoySide.run(after)];
    const fromHost = [hostSide.run(trap, { nativePick: fromEnvoy[0]!.upstream?.name }), hostSide.run(after, { nativePick: fromEnvoy[1]!.upstream?.name })];
    dump("trap", fromEnvoy, fromHost);
    expect(fromHost).toEqual(fromEnvoy);
  });
});

/** LIGHTSUB_CONFORMANCE_DUMP=<dir> writes both observations of each scenario there (to diff by eye). */
function dump(name: string, envoy: unknown, host: unknown): void {
  const dir = process.env.LIGHTSUB_CONFORMANCE_DUMP;
  if (!dir) return;
  const file = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  writeFileSync(join(dir, `${file}.envoy.json`), JSON.stringify(envoy, null, 1));
  writeFileSync(join(dir, `${file}.host.json`), JSON.stringify(host, null, 1));
}

/** Equal observations; on a difference the message shows both sides. */
function expectSame(host: Observation, envoy: Observation): void {
  expect(host).toEqual(envoy);
}
