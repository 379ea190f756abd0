/** Envoy's admin interface (127.0.0.1:<adminPort>): readiness and /stats/prometheus. */

export interface WaitOptions {
  timeoutMs: number;
  /** A reason to stop waiting early (e.g. the Envoy process exited). */
  failure?: () => string | undefined;
  intervalMs?: number;
}

async function get(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return { status: response.status, text: await response.text() };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `GET /ready` answers 200 (Envoy is LIVE: listeners up, Wasm loaded); throws on timeout or failure. */
export async function waitReady(adminPort: number, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  let last = "no answer";
  for (;;) {
    const why = options.failure?.();
    if (why) throw new Error(`envoy is not ready: ${why}`);
    const answer = await get(`http://127.0.0.1:${adminPort}/ready`);
    if (answer?.status === 200) return;
    if (answer) last = `${answer.status} ${answer.text.trim()}`;
    if (Date.now() >= deadline) throw new Error(`envoy admin 127.0.0.1:${adminPort}/ready not 200 after ${options.timeoutMs} ms (last: ${last})`);
    await sleep(options.intervalMs ?? 200);
  }
}

export async function fetchPrometheus(adminPort: number): Promise<string> {
  const answer = await get(`http://127.0.0.1:${adminPort}/stats/prometheus`);
  if (!answer || answer.status !== 200) throw new Error(`GET 127.0.0.1:${adminPort}/stats/prometheus failed: ${answer?.status ?? "no answer"}`);
  return answer.text;
}

/**
 * The filter counts a request when its stream ends, which can be just after
 * the client has its response: polls until `settled(text)` or the timeout,
 * and returns the last text either way (the assertions then say what is off).
 */
export async function settledPrometheus(adminPort: number, settled: (text: string) => boolean, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = await fetchPrometheus(adminPort);
    if (settled(text) || Date.now() >= deadline) return text;
    await sleep(200);
  }
}
