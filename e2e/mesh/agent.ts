/**
 * The mesh's client, run inside the client network namespace: the test
 * process (in the host's namespace, which has no route into the mesh) sends
 * it requests over the Node IPC channel and gets the answers back. Requests
 * to the edge service go to its sidecar's inbound listener, like traffic from
 * outside the mesh; requests to an app's control port go straight to the app.
 */
import { Agent, request, type ClientRequest, type IncomingMessage } from "node:http";
import { request as tlsRequest } from "node:https";
import type { TLSSocket } from "node:tls";
import type { AgentRequest, AgentResponse } from "./protocol.js";

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

function send(message: AgentResponse): void {
  process.send?.(message);
}

process.on("message", (raw) => {
  const m = raw as AgentRequest;
  const url = new URL(m.url);
  const common = { host: url.hostname, port: url.port, path: url.pathname + url.search, method: m.method ?? "GET", headers: m.headers ?? {}, timeout: m.timeoutMs ?? 15_000 };
  let peerSerial: string | undefined;
  let alpn: string | undefined;
  const onResponse = (res: IncomingMessage) => {
      const socket = res.socket as TLSSocket;
      if (m.tls && typeof socket.getPeerCertificate === "function") {
        peerSerial = socket.getPeerCertificate().serialNumber?.toLowerCase();
        alpn = socket.alpnProtocol || undefined;
      }
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(", ") : v;
        send({ id: m.id, status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString("utf8"), ...(peerSerial ? { peerSerial } : {}), ...(alpn ? { alpn } : {}) });
      });
      res.on("error", (e) => send({ id: m.id, status: 0, headers: {}, body: "", error: e.message }));
  };
  const req: ClientRequest = m.tls
    ? tlsRequest(
        {
          ...common,
          agent: false,
          ...(m.tls.cert ? { cert: m.tls.cert } : {}),
          ...(m.tls.key ? { key: m.tls.key } : {}),
          ...(m.tls.ca ? { ca: m.tls.ca } : {}),
          rejectUnauthorized: m.tls.ca !== undefined,
          // Mesh certificates name a SPIFFE ID (URI SAN), not a host name: the test checks the identity itself.
          checkServerIdentity: () => undefined,
        },
        onResponse,
      )
    : request({ ...common, agent }, onResponse);
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => send({ id: m.id, status: 0, headers: {}, body: "", error: e.message }));
  req.end(m.body);
});
// The test process owns this one: when its channel closes, stop.
process.on("disconnect", () => process.exit(0));
send({ id: -1, status: 0, headers: {}, body: "ready" });
