/**
 * A bounded burst of HTTP requests through a sidecar's outbound listener:
 * a fixed number of requests, a fixed number in flight, a timeout on each.
 */
import type { ResponseRecord } from "./assertions.js";
import { INJECTED_FAILURE_HEADER, SCHEDULING_HEADER, UPSTREAM_HEADER } from "./upstream-server.js";

export interface BurstOptions {
  /** Destination service (recorded with each response). */
  service: string;
  /** e.g. http://127.0.0.1:17090/ */
  url: string;
  requests: number;
  concurrency: number;
  /** Scheduling header value a spoofing client sends on request i, if any. */
  spoof: (i: number) => string | undefined;
  timeoutMs?: number;
}

async function one(options: BurstOptions, i: number): Promise<ResponseRecord> {
  const spoofed = options.spoof(i);
  const headers: Record<string, string> = { "x-e2e-request": String(i) };
  if (spoofed !== undefined) headers[SCHEDULING_HEADER] = spoofed;
  try {
    const response = await fetch(options.url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 5_000) });
    await response.arrayBuffer();
    return {
      service: options.service,
      status: response.status,
      upstream: response.headers.get(UPSTREAM_HEADER) ?? undefined,
      injected: response.headers.get(INJECTED_FAILURE_HEADER) === "1",
      ...(spoofed !== undefined ? { spoofed } : {}),
    };
  } catch {
    return { service: options.service, status: 0, injected: false, ...(spoofed !== undefined ? { spoofed } : {}) };
  }
}

/** Sends `requests` requests, `concurrency` at a time; resolves with every response in request order. */
export async function sendBurst(options: BurstOptions): Promise<ResponseRecord[]> {
  const results: ResponseRecord[] = new Array(options.requests);
  let next = 0;
  const worker = async () => {
    while (next < options.requests) {
      const i = next++;
      results[i] = await one(options, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, options.requests) }, worker));
  return results;
}
