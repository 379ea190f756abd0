/**
 * A small closed-loop HTTP client for the real-Envoy tests: `concurrency`
 * async loops share a request budget, each sending its next request when its
 * previous one is answered, so about `concurrency` requests are in flight at
 * once. It records who answered each request (the upstream's
 * `x-e2e-upstream` header) and when, for shares and timelines.
 *
 * node:http rather than fetch: the tests need to choose between keep-alive
 * connections (a pool of `concurrency` sockets) and a fresh connection per
 * request (which spreads requests over Envoy's worker threads), and Node 20's
 * fetch offers no dispatcher choice without adding undici as a dependency.
 */
import { Agent, request } from "node:http";
import { UPSTREAM_HEADER } from "../../e2e/upstream-server.js";

export interface LoadOptions {
  /** e.g. a sidecar's `url("svc")`. */
  url: string;
  /** Requests to send in all. */
  requests: number;
  /** Requests in flight at once (loops). */
  concurrency: number;
  /** Path and query of request i (default: the url's). */
  path?: (i: number) => string;
  /** Extra request headers for request i. */
  headers?: (i: number) => Record<string, string>;
  /** A new connection for every request instead of a keep-alive pool (default false). */
  freshConnections?: boolean;
  /** Per request; an unanswered request is recorded with status 0 (default 10 s). */
  timeoutMs?: number;
}

export interface LoadRecord {
  /** Index of the request (0 .. requests - 1). */
  i: number;
  /** HTTP status, 0 when no answer came. */
  status: number;
  /** Who answered (`x-e2e-upstream`), when an upstream did. */
  upstream?: string;
  /** performance.now() when the request was sent and when its answer ended. */
  startMs: number;
  endMs: number;
}

function one(url: URL, agent: Agent | false, headers: Record<string, string>, timeoutMs: number, i: number): Promise<LoadRecord> {
  const startMs = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number, upstream?: string) => {
      if (done) return;
      done = true;
      resolve({ i, status, ...(upstream !== undefined ? { upstream } : {}), startMs, endMs: performance.now() });
    };
    const req = request(url, { agent, headers: agent === false ? { ...headers, connection: "close" } : headers, timeout: timeoutMs }, (res) => {
      const upstream = res.headers[UPSTREAM_HEADER];
      res.resume();
      res.once("end", () => finish(res.statusCode ?? 0, typeof upstream === "string" ? upstream : undefined));
      res.once("error", () => finish(0));
    });
    req.once("timeout", () => req.destroy(new Error("timeout")));
    req.once("error", () => finish(0));
    req.end();
  });
}

/** Sends the requests; resolves with one record per request, in request order. */
export async function runLoad(options: LoadOptions): Promise<LoadRecord[]> {
  const url = new URL(options.url);
  const agent = options.freshConnections ? false : new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const timeoutMs = options.timeoutMs ?? 10_000;
  const records: LoadRecord[] = new Array(options.requests);
  let next = 0;
  const loop = async () => {
    while (next < options.requests) {
      const i = next++;
      const target = options.path ? new URL(options.path(i), url) : url;
      records[i] = await one(target, agent, options.headers?.(i) ?? {}, timeoutMs, i);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(options.concurrency, options.requests) }, loop));
  } finally {
    if (agent) agent.destroy();
  }
  return records;
}

/** How many of the records each upstream answered (records with no upstream are not counted). */
export function countByUpstream(records: readonly LoadRecord[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) if (r.upstream !== undefined) counts.set(r.upstream, (counts.get(r.upstream) ?? 0) + 1);
  return counts;
}
