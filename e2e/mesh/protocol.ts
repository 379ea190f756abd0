/** What the mesh harness (mesh.ts) and the per-instance app (app.ts) agree on. */
export { SCHEDULING_HEADER } from "../../schemas/wire.js";
export { INJECTED_FAILURE_HEADER } from "../upstream-server.js";

export interface AppConfig {
  instance: string;
  service: string;
  port: number;
  /** h2c for services whose sidecar dials the app with HTTP/2 (protocol http2 or grpc). */
  protocol: "http1" | "h2c";
  controlPort: number;
  adminPort: number;
  /** Called services, each reached at http://<service>:<port>. */
  calls: Array<{ service: string; port: number }>;
}

export interface AppBehaviour {
  latencyMs: number;
  failureRate: number;
}

export interface AppCounts {
  /** Requests that were not health checks. */
  requests: number;
  healthChecks: number;
  injectedFailures: number;
  /** Requests that arrived carrying the scheduling header (SCHEDULING_HEADER). */
  schedulingHeaderSeen: number;
  /** Outgoing calls on which this app put a spoofed scheduling header. */
  spoofSent: number;
  /** Requests per `session` cookie value. */
  sessions: Record<string, number>;
}

export interface CallReply {
  status: number;
  reply?: AppReply;
  error?: string;
}

export interface AppReply {
  instance: string;
  service: string;
  injected?: boolean;
  calls: Record<string, CallReply>;
}

/** Request header: `service=value,…`, the scheduling header value an app puts on its call to that service. Forwarded downstream. */
export const SPOOF_INSTRUCTION_HEADER = "x-mesh-spoof";
export const GRPC_HEALTH_PATH = "/grpc.health.v1.Health/Check";


/** Test process → client agent (IPC). */
export interface AgentRequest {
  id: number;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
  /**
   * Speak TLS (a fresh connection and handshake per request): the client
   * certificate and key to present, if any, and the CA to check the server
   * against (without one the server is not checked). PEM text.
   */
  tls?: { cert?: string; key?: string; ca?: string };
}

/** Client agent → test process; status 0 and `error` when no response came. The agent's first message (id -1) says it is ready. */
export interface AgentResponse {
  id: number;
  status: number;
  headers: Record<string, string>;
  body: string;
  error?: string;
  /** TLS requests: the server certificate's serial number (lowercase hex) and the negotiated ALPN protocol. */
  peerSerial?: string;
  alpn?: string;
}
