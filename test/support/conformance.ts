/**
 * The conformance harness: one scripted request runs through a real Envoy
 * sidecar (e2e/live/sidecar.ts) and through the Node proxy-wasm host (host/)
 * with the simulator's routing (envoy-model/route-table.ts, cluster-table.ts,
 * wasm-filter.ts, the reading of the Wasm filter config), and both sides
 * report the same Observation: the worker VM's Wasm log (callbacks in order
 * and whatever the module logged about properties, header maps, metrics…),
 * the response the client got, and the request the upstream got.
 *
 * The host has no HTTP connection manager, router or codec; the HostSide
 * below plays them, as Envoy 1.40 does for an HTTP/1.1 client and upstream
 * (each fact measured on Envoy 1.40, see host/README.md "Differences from
 * Envoy 1.40"):
 *  - the filter sees :authority, :path, :method, :scheme, the client's
 *    headers (hop-by-hop ones dropped), then x-forwarded-proto and
 *    x-request-id, after the early header mutations;
 *  - route selection on those headers; again after the filter (Envoy clears
 *    the route cache when an ABI 0.2.1 filter changes request headers), and
 *    xds.cluster_name / xds.route_name then name the new route;
 *  - the router edits the request map in place (request_headers_to_remove,
 *    then x-envoy-expected-rq-timeout-ms), so proxy_on_log sees that;
 *  - an upstream's HTTP/1.1 chunked answer reaches the filter as headers
 *    (with its connection and transfer-encoding, plus
 *    x-envoy-upstream-service-time), the body chunk, then an empty last chunk;
 *  - after the encoder filters the codec drops connection/transfer-encoding
 *    and the connection manager appends date (when missing) and server.
 * Values that differ run to run (x-request-id, date, service time) are
 * normalised on both sides.
 */
import { randomUUID } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { LiveSidecar } from "../../e2e/live/sidecar.js";
import { Envoy, RESPONSE_FLAGS, type CompiledModule, type Stream, type Vm } from "../../host/index.js";
import { readClusters, type ClusterInfo } from "../../envoy-model/cluster-table.js";
import { findListener } from "../../envoy-model/envoy-json.js";
import { RouteTable, type HeaderPairs, type RouteDecision } from "../../envoy-model/route-table.js";
import { readWasmFilterConfig } from "../../envoy-model/wasm-filter.js";
import { defaultAnswer, type UpstreamServer } from "../../e2e/upstream-server.js";

export interface ScriptedRequest {
  method?: string;
  path?: string;
  /** Client headers, sent in this order. */
  headers?: Record<string, string>;
  body?: string;
  /** The client gives up after this long (a response the filter holds for good). */
  timeoutMs?: number;
}

export interface Observation {
  /** The worker VM's Wasm log lines ("<level> <message>"), periodic tick noise removed, normalised. */
  wasm: string[];
  status: number;
  /** What the client received, hop-by-hop headers dropped, normalised. */
  responseHeaders: [string, string][];
  body: string;
  /** The request as the upstream received it; undefined when none did. */
  upstream?: { name: string; method: string; url: string; headers: [string, string][] };
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te"]);
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Replaces what differs run to run: request ids, dates, x-envoy-upstream-service-time (also inside percent-encoded pairs). */
export function normalise(text: string): string {
  // Read back in proxy_on_log, Envoy 1.40 sometimes returns the long x-probe* script values as NUL or
  // space bytes (seen on the probe's own command headers only); they are the script, not an observation.
  if (/^probe\|log\|hpairs\|/.test(text)) text = text.replace(/(x-probe[a-z-]*=)[^&]*/g, "$1<script>");
  return text
    .replace(UUID, "<uuid>")
    .replace(/(date=)[^&]*/g, "$1<date>")
    .replace(/(x-envoy-upstream-service-time=)\d+/g, "$1<ms>");
}

function normaliseHeaders(headers: [string, string][]): [string, string][] {
  return headers
    .filter(([k]) => !HOP_BY_HOP.has(k))
    .map(([k, v]) => {
      if (k === "date") return [k, "<date>"];
      if (k === "x-envoy-upstream-service-time") return [k, "<ms>"];
      return [k, normalise(v)];
    });
}

/** Drops the root's periodic ticks when they did nothing (their count depends on wall time vs virtual time). */
function isTickNoise(message: string): boolean {
  return message.startsWith("probe|event|tick|") || /^probe\|tick\|[^|]*\|$/.test(message);
}

// ---- Envoy side ------------------------------------------------------------------------------

interface WasmLine {
  thread: string;
  level: string;
  message: string;
}

/** Envoy's default log format: [time][thread][level][logger] [file:line] wasm log <name> <root_id> <vm_id>: message */
const WASM_LINE = /^\[[^\]]*\]\[(\d+)\]\[(\w+)\]\[wasm\] \[[^\]]*\] wasm log [^:]*: (.*)$/;
/** The VM's own errors (a trap): [time][thread][level][wasm] [.../wasm_vm.cc:NN] message */
const VM_LINE = /^\[[^\]]*\]\[(\d+)\]\[(\w+)\]\[wasm\] \[[^\]]*wasm_vm\.cc:\d+\] (.*)$/;
const LEVELS: Record<string, string> = { trace: "trace", debug: "debug", info: "info", warning: "warn", error: "error", critical: "critical" };

export function wasmLines(log: string): WasmLine[] {
  const out: WasmLine[] = [];
  for (const line of log.split("\n")) {
    const m = WASM_LINE.exec(line) ?? VM_LINE.exec(line);
    if (m) out.push({ thread: m[1]!, level: LEVELS[m[2]!] ?? m[2]!, message: m[3]! });
  }
  return out;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface ClientResponse {
  status: number;
  headers: [string, string][];
  body: string;
}

/** One HTTP/1.1 request with exactly these headers (Node adds host and connection). */
function send(url: string, req: ScriptedRequest): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...(req.headers ?? {}) };
    if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
    const r = httpRequest(url, { method: req.method ?? "GET", headers, ...(req.timeoutMs ? { timeout: req.timeoutMs } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
        resolve({ status: res.statusCode ?? 0, headers: pairs, body: Buffer.concat(chunks).toString("utf8") });
      });
      res.on("error", reject);
    });
    r.on("error", reject);
    r.on("timeout", () => r.destroy(new Error("client timeout")));
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

export class EnvoySide {
  private cursor = 0;
  private worker: string | undefined;

  /** `probe`: the module logs probe|event|delete|<id> when a stream ends (the probe does; lightsub does not). */
  constructor(
    readonly sidecar: LiveSidecar,
    private readonly service: string,
    private readonly upstreams: readonly UpstreamServer[],
    private readonly options: { probe?: boolean } = {},
  ) {}

  /** The worker VM's start-up lines (context_create, vm_start, configure …) and the threads that logged them. */
  startup(): { worker: string[]; otherThreads: number } {
    const lines = wasmLines(this.sidecar.log());
    const threads = [...new Set(lines.map((l) => l.thread))];
    const worker = lines.filter((l) => l.thread === threads[threads.length - 1] && !isTickNoise(l.message));
    return { worker: worker.map(render), otherThreads: threads.length - 1 };
  }

  async run(req: ScriptedRequest): Promise<Observation> {
    const before = this.upstreams.map((u) => u.seen().length);
    const started = wasmLines(this.sidecar.log()).length;
    this.cursor = Math.max(this.cursor, started);
    // A reset stream (proxy_close_stream, a failed plugin) reaches the client as a connection error: status 0.
    const response = await send(this.sidecar.url(this.service, req.path ?? "/"), req).catch(() => ({ status: 0, headers: [], body: "" }));
    return this.observe(response, before);
  }

  /** Several requests at once, each started after the previous one reached `ready` (e.g. its upstream). */
  async runConcurrently(reqs: { req: ScriptedRequest; before?: () => Promise<void> }[]): Promise<Observation[]> {
    const pending: Promise<ClientResponse>[] = [];
    for (const { req, before } of reqs) {
      if (before) await before();
      pending.push(send(this.sidecar.url(this.service, req.path ?? "/"), req));
    }
    const responses = await Promise.all(pending);
    await this.settle(responses.length);
    return responses.map((r) => ({ wasm: [], status: r.status, responseHeaders: normaliseHeaders(r.headers), body: r.body }));
  }

  /** The worker's Wasm lines logged since the last call, tick noise removed. */
  async takeWasm(): Promise<string[]> {
    const lines = wasmLines(this.sidecar.log());
    const fresh = lines.slice(this.cursor);
    this.cursor = lines.length;
    this.worker ??= fresh.find((l) => l.message.startsWith("probe|event|request_headers|") || l.message.startsWith("probe|event|context_create|2,"))?.thread;
    return fresh.filter((l) => (this.worker === undefined || l.thread === this.worker) && !isTickNoise(l.message)).map(render);
  }

  /** Waits until `streams` more streams were deleted (their proxy_on_delete logged) and the log is flushed. */
  private async settle(streams: number): Promise<void> {
    if (this.options.probe === false) {
      await sleep(50); // Envoy's log lines reach the file after the response
      return;
    }
    const count = () => wasmLines(this.sidecar.log()).slice(this.cursor).filter((l) => l.message.startsWith("probe|event|delete|")).length;
    for (let i = 0; i < 100 && count() < streams; i++) await sleep(20);
  }

  private async observe(response: ClientResponse, before: number[]): Promise<Observation> {
    await this.settle(1);
    const wasm = await this.takeWasm();
    let upstream: Observation["upstream"];
    this.upstreams.forEach((u, i) => {
      const got = u.seen().slice(before[i]);
      if (got.length > 0) {
        const r = got[got.length - 1]!;
        upstream = { name: u.name, method: r.method, url: r.path, headers: normaliseHeaders(r.rawHeaders) };
      }
    });
    return { wasm, status: response.status, responseHeaders: normaliseHeaders(response.headers), body: response.body, ...(upstream ? { upstream } : {}) };
  }
}

function render(l: { level: string; message: string }): string {
  return `${l.level} ${normalise(l.message)}`;
}

// ---- host side -------------------------------------------------------------------------------

export interface HostSideOptions {
  /** The outbound listener's name (e.g. outbound_svc). */
  listener: string;
  /** The upstream servers, found by address:port in the clusters' hosts. */
  upstreams: readonly { name: string; host: string; port: number }[];
  /** The client's :authority (Node sends host 127.0.0.1:<listener port>). */
  authority: string;
  /** Host log level (Envoy's -l). Default info. */
  logLevel?: "trace" | "debug" | "info" | "warn" | "error" | "critical";
  /** Envoy also runs the plugin in VMs on the main thread (2 seen on Envoy 1.40): they share stats and shared data. */
  mainThreadVms?: number;
}

/** A request on the host side, between its request headers and its end. */
export interface HostRequest {
  stream: Stream;
  decision: RouteDecision;
  /** The upstream chosen (endpoint name), once routed to a cluster. */
  upstream?: Observation["upstream"];
  done: boolean;
  result?: Observation;
  /** Where Envoy's own balancer sent this request on a several-host cluster (it starts at a random host): the same here. */
  nativePick?: string;
  /** The upstream that answers. */
  answerFrom?: string;
}

const HTTP_DATE = () => new Date().toUTCString();

/**
 * The host side of one live sidecar's outbound listener to `service`
 * (default "svc"): the same bootstrap, the same upstreams by address.
 */
export function hostSideFor(module: CompiledModule, sidecar: LiveSidecar, upstreams: readonly UpstreamServer[], service = "svc"): HostSide {
  return new HostSide(module, sidecar.bootstrap, {
    listener: `outbound_${service}`,
    authority: new URL(sidecar.url(service)).host,
    upstreams: upstreams.map((u) => ({ name: u.name, host: u.host, port: u.port })),
  });
}

export class HostSide {
  readonly envoy: Envoy;
  readonly worker: Vm;
  readonly routes: RouteTable;
  readonly clusters: Map<string, ClusterInfo>;
  private readonly byAddress = new Map<string, string>();
  private readonly rotation = new Map<string, number>();
  private logCursor = 0;
  private readonly authority: string;
  /** How Envoy 1.40 ends a stream whose client disconnected while the response was held (measured). */
  private readonly clientGaveUp = { responseFlags: RESPONSE_FLAGS.DownstreamConnectionTermination, responseCodeDetails: "downstream_remote_disconnect" };

  constructor(module: CompiledModule, bootstrap: unknown, options: HostSideOptions) {
    this.authority = options.authority;
    const listener = findListener(bootstrap, options.listener);
    this.clusters = readClusters(bootstrap);
    this.routes = RouteTable.fromListener(listener, { knownClusters: new Set(this.clusters.keys()) });
    const wasm = readWasmFilterConfig(listener);
    for (const u of options.upstreams) this.byAddress.set(`${u.host}:${u.port}`, u.name);
    this.envoy = new Envoy({ startTimeMs: Date.now(), logLevel: options.logLevel ?? "info" });
    const vmOptions = { vmId: wasm.vmId, ...(wasm.vmConfig !== undefined ? { vmConfig: wasm.vmConfig } : {}) };
    const configure = { rootId: wasm.rootId, name: wasm.name ?? "", failOpen: wasm.failOpen };
    for (let i = 0; i < (options.mainThreadVms ?? 2); i++) {
      if (!this.envoy.createVm(module, vmOptions).configure(wasm.pluginJson, configure)) throw new Error("main-thread VM refused the configuration");
    }
    this.logCursor = this.envoy.logs.length;
    this.worker = this.envoy.createVm(module, vmOptions);
    if (!this.worker.configure(wasm.pluginJson, configure)) throw new Error("worker VM refused the configuration");
  }

  /** The worker VM's start-up lines. */
  startup(): string[] {
    const out = this.takeWasm();
    return out;
  }

  /** The worker's Wasm log lines since the last call, tick noise removed. */
  takeWasm(): string[] {
    const fresh = this.envoy.logs.slice(this.logCursor);
    this.logCursor = this.envoy.logs.length;
    return fresh.filter((l) => l.vm === this.worker.index && !isTickNoise(l.message)).map(render);
  }

  /** The whole request, sequentially: request, (ticks while paused), upstream, response, end. */
  run(req: ScriptedRequest, options: { nativePick?: string } = {}): Observation {
    const r = this.begin(req, options);
    this.waitWhilePaused(r);
    if (!r.done) this.complete(r);
    const result = r.result!;
    return { ...result, wasm: this.takeWasm() };
  }

  /** Client request through the connection manager to the filter's request callbacks (and the router when not paused). */
  begin(req: ScriptedRequest, options: { nativePick?: string } = {}): HostRequest {
    const headers: HeaderPairs = [
      [":authority", this.authority],
      [":path", req.path ?? "/"],
      [":method", req.method ?? "GET"],
      [":scheme", "http"],
    ];
    for (const [k, v] of Object.entries(req.headers ?? {})) {
      const name = k.toLowerCase();
      if (name === "host") headers[0] = [":authority", v];
      else if (!HOP_BY_HOP.has(name)) headers.push([name, v]);
    }
    if (req.body !== undefined) headers.push(["content-length", String(Buffer.byteLength(req.body))]);
    headers.push(["x-forwarded-proto", "http"], ["x-request-id", randomUUID()]);
    this.routes.applyEarlyMutations(headers);
    const decision = this.routes.select(headers);
    const properties: Record<string, string> = {};
    if (decision.kind === "cluster") properties["xds.cluster_name"] = decision.cluster;
    if (decision.kind !== "noRoute") properties["xds.route_name"] = decision.routeName;
    const stream = this.worker.createStream({ properties });
    const r: HostRequest = { stream, decision, done: false, ...(options.nativePick !== undefined ? { nativePick: options.nativePick } : {}) };
    // A body-less request (or content-length: 0) ends with its headers.
    stream.onRequestHeaders(headers, !req.body);
    // HTTP/1.1 with content-length: the body, then an empty end of stream (as Envoy's codec delivers it).
    if (req.body && !stream.localReply) {
      stream.onRequestBody(req.body, false);
      if (!stream.localReply) stream.onRequestBody("", true);
    }
    if (stream.reset) {
      // proxy_close_stream: Envoy resets the downstream stream; no response, no upstream.
      stream.end({ responseCode: 0 });
      r.done = true;
      r.result = { wasm: [], status: 0, responseHeaders: [], body: "" };
      return r;
    }
    if (!stream.requestPaused || stream.localReply) this.route(r);
    return r;
  }

  /** Fires ticks (virtual time) until the request is no longer held by the filter; at most `maxTicks`. */
  waitWhilePaused(r: HostRequest, maxTicks = 1000): void {
    for (let i = 0; i < maxTicks && !r.done && r.stream.requestPaused && !r.stream.localReply; i++) {
      if (!this.envoy.advanceToNextTick()) break;
    }
    if (!r.done && !r.upstream) this.route(r);
  }

  /** Re-checks held requests (call after something that may continue them). */
  poll(requests: HostRequest[]): void {
    for (const r of requests) if (!r.done && !r.upstream && (!r.stream.requestPaused || r.stream.localReply)) this.route(r);
  }

  /** After the filter let the request go (or answered it): local reply, or route and pick the upstream. */
  private route(r: HostRequest): void {
    const s = r.stream;
    if (r.done || r.upstream) return;
    if (s.localReply) {
      this.finishLocal(r);
      return;
    }
    if (s.requestPaused) return;
    // The route cache was cleared if the filter changed the headers: select again.
    const decision = this.routes.selectBy((name) => {
      const values = s.requestHeaders.getAll(name);
      return values.length === 0 ? undefined : values.join(",");
    });
    if (decision.kind !== "noRoute") s.setProperty("xds.route_name", decision.routeName);
    if (decision.kind === "cluster") s.setProperty("xds.cluster_name", decision.cluster);
    r.decision = decision;
    if (decision.kind !== "cluster") {
      const [status, flags, details] =
        decision.kind === "noRoute" ? [404, RESPONSE_FLAGS.NoRouteFound, "route_not_found"]
        : decision.kind === "clusterNotFound" ? [503, RESPONSE_FLAGS.NoClusterFound, "cluster_not_found"]
        : [decision.status, 0, "direct_response"];
      s.onResponseHeaders([[":status", String(status)]], true);
      this.finishResponse(r, status, "", { responseFlags: flags, responseCodeDetails: details });
      return;
    }
    // The router edits the downstream request map in place.
    for (const name of decision.headersToRemove) s.requestHeaders.remove(name);
    if (decision.timeoutMs > 0) s.requestHeaders.set("x-envoy-expected-rq-timeout-ms", String(decision.timeoutMs));
    const cluster = this.clusters.get(decision.cluster)!;
    const turn = this.rotation.get(cluster.name) ?? 0;
    this.rotation.set(cluster.name, turn + 1);
    const names = cluster.hosts.map((h) => this.byAddress.get(`${h.address}:${h.port}`) ?? `${h.address}:${h.port}`);
    const name = r.nativePick !== undefined && names.includes(r.nativePick) ? r.nativePick : names[turn % names.length]!;
    const upstreamHeaders: [string, string][] = [["host", s.requestHeaders.get(":authority") ?? ""]];
    for (const [k, v] of s.requestHeaders.pairs()) if (!k.startsWith(":")) upstreamHeaders.push([k, v]);
    r.upstream = {
      name,
      method: s.requestHeaders.get(":method") ?? "",
      url: s.requestHeaders.get(":path") ?? "",
      headers: normaliseHeaders(upstreamHeaders),
    };
    r.answerFrom = name;
  }

  /** The upstream answers (HTTP/1.1, chunked) and the stream ends. */
  complete(r: HostRequest, fail = false): void {
    if (r.done) return;
    if (!r.upstream) this.route(r);
    if (r.done) return;
    if (!r.upstream) throw new Error("complete: the request is still held by the filter");
    const answer = defaultAnswer(r.answerFrom ?? r.upstream.name, fail);
    const s = r.stream;
    s.onResponseHeaders(
      [[":status", String(answer.status)], ...answer.headers, ["date", HTTP_DATE()], ["connection", "keep-alive"], ["transfer-encoding", "chunked"], ["x-envoy-upstream-service-time", "0"]],
      false,
    );
    if (s.responsePaused && !s.localReply) {
      // The filter holds the response for good: the client gives up and disconnects. The connection
      // manager's edits of the response map still show in proxy_on_log.
      for (const h of HOP_BY_HOP) s.responseHeaders.remove(h);
      s.responseHeaders.set("server", "envoy");
      s.end({ responseCode: answer.status, ...this.clientGaveUp });
      r.done = true;
      r.result = { wasm: [], status: 0, responseHeaders: [], body: "", ...(r.upstream ? { upstream: r.upstream } : {}) };
      return;
    }
    if (!s.localReply) {
      s.onResponseBody(answer.body, false);
      s.onResponseBody("", true);
    }
    this.finishResponse(r, s.localReply ? s.localReply.status : answer.status, undefined, {});
  }

  private finishLocal(r: HostRequest): void {
    // The body that went through the filter (a gRPC reply has none: its message is in grpc-message).
    this.finishResponse(r, r.stream.localReply!.status, undefined, {});
  }

  private finishResponse(r: HostRequest, status: number, body: string | undefined, end: { responseFlags?: number; responseCodeDetails?: string }): void {
    const s = r.stream;
    // After the encoder filters: the codec drops hop-by-hop headers, the connection manager adds date and server.
    for (const h of HOP_BY_HOP) s.responseHeaders.remove(h);
    if (!s.responseHeaders.has("date")) s.responseHeaders.add("date", HTTP_DATE());
    s.responseHeaders.set("server", "envoy");
    const text = body ?? new TextDecoder().decode(s.responseBody);
    const responseStatus = Number(s.responseHeaders.get(":status") ?? status);
    s.end({ responseCode: responseStatus, ...end });
    r.done = true;
    const headers = s.responseHeaders.toPairs().filter(([k]) => !k.startsWith(":"));
    // The HTTP/1.1 codec writes content-length: 0 for a response without body or length.
    if (text.length === 0 && !s.responseHeaders.has("content-length")) headers.push(["content-length", "0"]);
    r.result = {
      wasm: [],
      status: responseStatus,
      responseHeaders: normaliseHeaders(headers),
      body: text,
      ...(r.upstream ? { upstream: r.upstream } : {}),
    };
  }
}
