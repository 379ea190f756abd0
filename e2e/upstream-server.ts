/**
 * Small HTTP upstream servers for tests and the end-to-end check: each plays
 * one endpoint of a service, answers after a set latency, fails a set share
 * of requests with a 503 it marks as injected, and counts what it saw. The
 * counts are the ground truth the e2e assertions compare Envoy's metrics and
 * the scheduler's shares against. Its behaviour can change while it runs
 * (`set`: a failing endpoint heals, a fast one turns slow), and it can hold
 * requests open until told to answer them (`hold` / `release`: a loaded
 * endpoint). It can answer a request its own way (`respond`), speak h2c
 * instead of HTTP/1.1, and lists every request it saw (`seen`).
 */
import { SCHEDULING_HEADER } from "../schemas/wire.js";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createH2cServer, type Http2ServerRequest, type Http2ServerResponse, type Http2Session } from "node:http2";
import type { AddressInfo } from "node:net";

/** Response header naming the upstream that answered (its endpoint stat). */
export const UPSTREAM_HEADER = "x-e2e-upstream";
/** Response header on the 503s an upstream fails on purpose. */
export const INJECTED_FAILURE_HEADER = "x-e2e-injected-failure";
/** Request header that must never reach an upstream (docs/design.md). */
export { SCHEDULING_HEADER };

export interface UpstreamBehaviour {
  /** Delay before answering, milliseconds. */
  latencyMs: number;
  /** Share of requests answered with an injected 503, 0..1. */
  failureRate: number;
}

export interface UpstreamOptions extends UpstreamBehaviour {
  /** Label of this upstream, sent back in `x-e2e-upstream` (use the endpoint stat). */
  name: string;
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Source of randomness for failures (tests pass a seeded one). */
  random?: () => number;
  /** Hold every request open (no answer) until `release()`; default false. */
  hold?: boolean;
  /** "h2c": HTTP/2 without TLS (prior knowledge, what Envoy's http2 upstreams speak) instead of HTTP/1.1. */
  protocol?: "http1" | "h2c";
  /** Per-request answer: overrides the status, latency or headers for this request (undefined: the usual answer). */
  respond?: (request: SeenRequest) => UpstreamAnswer | undefined;
  /**
   * Latencies under 1 ms are kept by turns of the event loop (setImmediate)
   * until the latency has passed since the request arrived, instead of a
   * timer, which Node never fires sooner than 1 ms (benchmarks with
   * sub-millisecond service times; the loop spins while such a request
   * waits); default false.
   */
  precise?: boolean;
  /**
   * Called as each answer is sent (not for held requests): the request, the
   * latency it was meant to have and performance.now() at the answer, so a
   * benchmark can measure how late the server's timers were.
   */
  onAnswer?: (request: SeenRequest, plannedMs: number, answeredAtMs: number) => void;
  /** Keep every request for `seen()` (default true); false for long benchmark runs, whose memory would grow with each request. */
  record?: boolean;
}

/** What an upstream saw of one request. */
export interface SeenRequest {
  /** 0-based arrival index. */
  index: number;
  method: string;
  path: string;
  /** "1.1" or "2.0". */
  httpVersion: string;
  headers: Record<string, string | string[] | undefined>;
  /** The headers as received: names lower-cased, wire order, repeated names kept (test/support/conformance.ts compares them). */
  rawHeaders: [string, string][];
  /** performance.now() at arrival. */
  atMs: number;
}

/** A per-request answer from `respond` (a status set here is not an injected failure). */
export interface UpstreamAnswer {
  status?: number;
  latencyMs?: number;
  headers?: Record<string, string>;
  body?: string;
}

/** What `set` can change while the server runs; it applies to requests that arrive afterwards. */
export interface UpstreamChange extends Partial<UpstreamBehaviour> {
  hold?: boolean;
}

export interface UpstreamCounts {
  /** Requests received (answered or not yet answered). */
  requests: number;
  /** Requests answered with an injected 503. */
  injectedFailures: number;
  /** Requests that arrived carrying the scheduling header. */
  schedulingHeaderSeen: number;
  /** Most requests ever being answered at once. */
  maxInFlight: number;
}

export interface UpstreamServer {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  counts(): UpstreamCounts;
  /** Changes latency, failure rate or holding for requests that arrive from now on. */
  set(change: UpstreamChange): void;
  /** Requests being answered or held now. */
  inFlight(): number;
  /** Requests held open now (see `hold`). */
  held(): number;
  /**
   * Answers held requests now (200, or an injected 503 by the failure rate they
   * arrived with): the `count` held longest, default all; returns how many.
   */
  release(count?: number): number;
  /** Every request seen so far, in arrival order. */
  seen(): SeenRequest[];
  close(): Promise<void>;
}

/** What an upstream answers when `respond` does not say otherwise: one definition for the server and for models of it (test/support/conformance.ts). */
export function defaultAnswer(name: string, fail: boolean): { status: number; headers: [string, string][]; body: string } {
  const headers: [string, string][] = [["content-type", "text/plain"], [UPSTREAM_HEADER, name]];
  if (fail) headers.push([INJECTED_FAILURE_HEADER, "1"]);
  return { status: fail ? 503 : 200, headers, body: fail ? "injected failure\n" : "ok\n" };
}

function pairsOf(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

export async function startUpstream(options: UpstreamOptions): Promise<UpstreamServer> {
  const { name } = options;
  let { latencyMs, failureRate } = options;
  let hold = options.hold ?? false;
  const host = options.host ?? "127.0.0.1";
  const random = options.random ?? Math.random;
  const counts: UpstreamCounts = { requests: 0, injectedFailures: 0, schedulingHeaderSeen: 0, maxInFlight: 0 };
  let inFlight = 0;
  const pending = new Set<NodeJS.Timeout>();
  const immediates = new Set<NodeJS.Immediate>();
  /** Held requests, longest held first: each answers when called. */
  const heldAnswers = new Set<() => void>();
  const seen: SeenRequest[] = [];

  const answer = (req: AnyRequest, res: AnyResponse) => {
    const request: SeenRequest = {
      index: counts.requests,
      method: req.method ?? "",
      path: req.url ?? "",
      httpVersion: req.httpVersion,
      headers: { ...req.headers },
      rawHeaders: pairsOf(req.rawHeaders),
      atMs: performance.now(),
    };
    if (options.record !== false) seen.push(request);
    counts.requests++;
    counts.maxInFlight = Math.max(counts.maxInFlight, ++inFlight);
    if (req.headers[SCHEDULING_HEADER] !== undefined) counts.schedulingHeaderSeen++;
    const custom = options.respond?.(request);
    const fail = custom?.status === undefined && random() < failureRate;
    req.resume(); // drain any body; the answer does not depend on it
    const respond = () => {
      inFlight--;
      if (fail) counts.injectedFailures++;
      const base = defaultAnswer(name, fail);
      const status = custom?.status ?? base.status;
      res.writeHead(status, { ...Object.fromEntries(base.headers), ...custom?.headers });
      res.end(custom?.body ?? (fail || status === 200 ? base.body : `status ${status}\n`));
    };
    if (hold) {
      const release = () => {
        heldAnswers.delete(release);
        respond();
      };
      heldAnswers.add(release);
      // A caller that gives up (closes the connection) no longer holds a slot here.
      res.once("close", () => {
        if (heldAnswers.delete(release)) inFlight--;
      });
      return;
    }
    const delayMs = custom?.latencyMs ?? latencyMs;
    const answerNow = options.onAnswer
      ? () => {
          respond();
          options.onAnswer!(request, delayMs, performance.now());
        }
      : respond;
    if (options.precise && delayMs < 1) {
      const dueMs = request.atMs + delayMs;
      const poll = () => {
        immediates.delete(immediate);
        if (performance.now() >= dueMs) answerNow();
        else immediates.add((immediate = setImmediate(poll)));
      };
      let immediate = setImmediate(poll);
      immediates.add(immediate);
      return;
    }
    const timer = setTimeout(() => {
      pending.delete(timer);
      answerNow();
    }, delayMs);
    pending.add(timer);
  };

  const sessions = new Set<Http2Session>();
  const h2c = options.protocol === "h2c";
  const server = h2c ? createH2cServer(answer) : createServer(answer);
  if (h2c) {
    server.on("session", (session: Http2Session) => {
      sessions.add(session);
      session.once("close", () => sessions.delete(session));
    });
  } else {
    (server as ReturnType<typeof createServer>).keepAliveTimeout = 30_000;
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    name,
    host,
    port,
    counts: () => ({ ...counts }),
    set(change) {
      if (change.latencyMs !== undefined) latencyMs = change.latencyMs;
      if (change.failureRate !== undefined) failureRate = change.failureRate;
      if (change.hold !== undefined) hold = change.hold;
    },
    inFlight: () => inFlight,
    held: () => heldAnswers.size,
    release(count = heldAnswers.size) {
      const answers = [...heldAnswers].slice(0, count);
      for (const respond of answers) respond();
      return answers.length;
    },
    seen: () => seen.map((r) => ({ ...r, rawHeaders: r.rawHeaders.map(([k, v]) => [k, v] as [string, string]) })),
    close() {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of pending) clearTimeout(timer);
        pending.clear();
        for (const immediate of immediates) clearImmediate(immediate);
        immediates.clear();
        heldAnswers.clear();
        server.close(() => resolve());
        // Keep-alive connections (HTTP/1) and sessions (HTTP/2) from Envoy would hold close() open.
        if (h2c) for (const session of sessions) session.destroy();
        else (server as ReturnType<typeof createServer>).closeAllConnections();
      });
      return closing;
    },
  };
}
