/**
 * The app of one service instance in the whole-mesh tests: a small Node
 * server run inside the instance's network namespace, next to its sidecar,
 * exactly where docker compose would run the service's image (the app port
 * on 127.0.0.1, which the sidecar's `local_app` cluster dials).
 *
 * - It answers after a set latency and fails a set share of requests with a
 *   503 marked `x-e2e-injected-failure` (deterministically spread, so counts
 *   are exact), and counts what it saw: requests, health checks, requests
 *   carrying the scheduling header (SCHEDULING_HEADER), sessions (the `session` cookie).
 * - A service that calls others fans out to each of them through its sidecar
 *   (`http://<service>:<port>`, which the namespace's hosts file maps to
 *   127.0.0.1, as compose's extra_hosts do) and answers with every reply.
 *   It forwards the `cookie` header, and `x-mesh-spoof` tells it to put a
 *   client-chosen scheduling header on its calls (the spoofing tests).
 * - gRPC and HTTP/2 services speak h2c (their sidecar talks HTTP/2 to them);
 *   a gRPC health check gets SERVING.
 * - A control listener (HTTP/1, 0.0.0.0:<controlPort>) lets a test read the
 *   counts, set the behaviour and reach the sidecar's admin on 127.0.0.1.
 *
 * Configured by the MESH_APP environment variable (JSON, AppConfig). Prints
 * one line `{"ready":true}` when both listeners are up.
 *
 * Not e2e/upstream-server.ts: that one is an in-process HTTP/1
 * server; this must be a process of its own in a namespace, speak h2c, fan
 * out through its sidecar and be controlled from outside.
 */
import { lookup } from "node:dns/promises";
import { Agent, createServer, request as httpRequest, type IncomingMessage, type IncomingHttpHeaders } from "node:http";
import { createServer as createH2Server, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import type { ServerResponse } from "node:http";
import { GRPC_HEALTH_PATH, INJECTED_FAILURE_HEADER, SCHEDULING_HEADER, SPOOF_INSTRUCTION_HEADER, type AppBehaviour, type AppConfig, type AppCounts, type AppReply, type CallReply } from "./protocol.js";

function main(): void {
  const config = JSON.parse(process.env.MESH_APP ?? "") as AppConfig;
  let behaviour: AppBehaviour = { latencyMs: 0, failureRate: 0 };
  const counts: AppCounts = { requests: 0, healthChecks: 0, injectedFailures: 0, schedulingHeaderSeen: 0, spoofSent: 0, sessions: {} };
  let failSeq = 0;
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });

  type Req = IncomingMessage | Http2ServerRequest;
  type Res = ServerResponse | Http2ServerResponse;

  const healthCheck = (req: Req, res: Res) => {
    counts.healthChecks++;
    req.resume();
    if (req.url === GRPC_HEALTH_PATH) {
      // HealthCheckResponse { status: SERVING (1) } in one gRPC frame, then grpc-status 0.
      res.writeHead(200, { "content-type": "application/grpc" });
      (res as Http2ServerResponse).addTrailers?.({ "grpc-status": "0" });
      res.end(Buffer.from([0, 0, 0, 0, 2, 0x08, 0x01]));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
  };

  const call = (service: string, port: number, headers: Record<string, string>): Promise<CallReply> =>
    new Promise((resolve) => {
      const req = httpRequest({ host: service, port, path: "/", method: "GET", headers, agent, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          try {
            resolve({ status: res.statusCode ?? 0, reply: JSON.parse(text) as AppReply });
          } catch {
            resolve({ status: res.statusCode ?? 0, error: text.slice(0, 200) });
          }
        });
        res.on("error", (e) => resolve({ status: 0, error: e.message }));
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (e) => resolve({ status: 0, error: e.message }));
      req.end();
    });

  const serve = async (req: Req, res: Res) => {
    const ua = String(req.headers["user-agent"] ?? "");
    if (req.url === GRPC_HEALTH_PATH || ua.startsWith("Envoy/HC")) return healthCheck(req, res);
    req.resume();
    counts.requests++;
    if (req.headers[SCHEDULING_HEADER] !== undefined) counts.schedulingHeaderSeen++;
    const session = /(?:^|;\s*)session=([^;]*)/.exec(String(req.headers.cookie ?? ""))?.[1];
    if (session !== undefined) counts.sessions[session] = (counts.sessions[session] ?? 0) + 1;
    // Deterministic spread: exactly floor(n * rate) of the first n requests fail.
    const fail = Math.floor((failSeq + 1) * behaviour.failureRate) > Math.floor(failSeq * behaviour.failureRate);
    failSeq++;
    const latency = behaviour.latencyMs;
    if (latency > 0) await new Promise((r) => setTimeout(r, latency));
    if (fail) {
      counts.injectedFailures++;
      const body: AppReply = { instance: config.instance, service: config.service, injected: true, calls: {} };
      res.writeHead(503, { "content-type": "application/json", [INJECTED_FAILURE_HEADER]: "1" });
      res.end(JSON.stringify(body));
      return;
    }
    const spoofs = parseSpoof(req.headers);
    const calls: Record<string, CallReply> = {};
    await Promise.all(
      config.calls.map(async (c) => {
        const headers: Record<string, string> = {};
        if (req.headers.cookie !== undefined) headers.cookie = String(req.headers.cookie);
        const instruction = req.headers[SPOOF_INSTRUCTION_HEADER];
        if (instruction !== undefined) headers[SPOOF_INSTRUCTION_HEADER] = String(instruction);
        const spoof = spoofs.get(c.service);
        if (spoof !== undefined) {
          headers[SCHEDULING_HEADER] = spoof;
          counts.spoofSent++;
        }
        calls[c.service] = await call(c.service, c.port, headers);
      }),
    );
    const body: AppReply = { instance: config.instance, service: config.service, calls };
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const onRequest = (req: Req, res: Res) => {
    serve(req, res).catch((error: Error) => {
      try {
        res.writeHead(500);
        res.end(error.message);
      } catch {
        // the response had begun
      }
    });
  };
  const app = config.protocol === "h2c" ? createH2Server(onRequest) : createServer(onRequest);

  const control = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://control");
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(value));
      };
      if (url.pathname === "/_mesh/counts") return json(200, counts);
      if (url.pathname === "/_mesh/behaviour" && req.method === "PUT") {
        const next = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as Partial<AppBehaviour>;
        behaviour = { ...behaviour, ...next };
        failSeq = 0;
        return json(200, behaviour);
      }
      if (url.pathname === "/_mesh/resolve") {
        lookup(url.searchParams.get("name") ?? "", { family: 4 }).then(
          (r) => json(200, { address: r.address }),
          (e: Error) => json(200, { error: e.message }),
        );
        return;
      }
      if (url.pathname === "/_mesh/admin") {
        // The sidecar's admin listens on 127.0.0.1 inside this namespace only.
        const path = url.searchParams.get("path") ?? "/ready";
        const method = url.searchParams.get("method") ?? "GET";
        const proxied = httpRequest({ host: "127.0.0.1", port: config.adminPort, path, method }, (answer) => {
          res.writeHead(answer.statusCode ?? 502, { "content-type": String(answer.headers["content-type"] ?? "text/plain") });
          answer.pipe(res);
        });
        proxied.on("error", (e) => json(502, { error: e.message }));
        proxied.end();
        return;
      }
      json(404, { error: `no control path ${url.pathname}` });
    });
  });

  let listening = 0;
  const up = () => {
    if (++listening === 2) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  };
  app.listen(config.port, "127.0.0.1", up);
  control.listen(config.controlPort, "0.0.0.0", up);
  const fail = (error: Error) => {
    process.stderr.write(`app ${config.instance}: ${error.message}\n`);
    process.exit(1);
  };
  app.on("error", fail);
  control.on("error", fail);
  process.on("SIGTERM", () => process.exit(0));
}

function parseSpoof(headers: IncomingHttpHeaders): Map<string, string> {
  const out = new Map<string, string>();
  const raw = headers[SPOOF_INSTRUCTION_HEADER];
  if (raw === undefined) return out;
  for (const part of String(raw).split(",")) {
    const [service, value] = part.split("=");
    if (service && value) out.set(service.trim(), value.trim());
  }
  return out;
}

main();
