/**
 * Figure 3, shared-state scaling: scheduling throughput with 1, 2, 4 and 8
 * worker VMs sharing state, each VM in its own thread (as Envoy's workers
 * are), the records in one cross-thread store behind one lock
 * (bench/atomic-shared-data.ts), so CAS conflicts happen for real. Reported
 * per worker count: throughput as a ratio to 1 worker measured in the same
 * round, the absolute rate, and CAS retries (mismatches) per request.
 */
import { availableParallelism } from "node:os";
import { readFileSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { AtomicSharedData, createAtomicLayout } from "./atomic-shared-data.js";
import type { FigureInit } from "./figures.js";
import { benchPluginConfig } from "./filter-cost.js";
import type { FromSharedWorker, SharedWorkerData, ToSharedWorker } from "./shared-worker.js";
import { SHARED_KEY_PREFIX } from "../schemas/wire.js";

export interface SharedStateOptions {
  lightsubWasm: string;
  workerCounts: readonly number[];
  strategy: string;
  endpoints: number;
  /** Wall time each run schedules for. */
  durationMs: number;
  /** Requests each worker keeps open. */
  inflight: number;
  rounds: number;
}

interface RunResult {
  throughput: number;
  requests: number;
  casRetries: number;
  casExhausted: number;
  unscheduled: number;
  contendedLocks: number;
}

export async function measureSharedState(options: SharedStateOptions, onStep?: (label: string) => void): Promise<FigureInit[]> {
  const maxWorkers = Math.max(...options.workerCounts);
  const wasm = new Uint8Array(readFileSync(options.lightsubWasm));
  const pool = await WorkerPool.start(maxWorkers, wasm);
  try {
    const byCount = new Map<number, RunResult[]>(options.workerCounts.map((n) => [n, []]));
    const scaling = new Map<number, number[]>(options.workerCounts.map((n) => [n, []]));
    for (let round = 0; round < options.rounds; round++) {
      let single: number | undefined;
      for (const n of options.workerCounts) {
        onStep?.(`shared state: ${n} worker VM(s), round ${round + 1}/${options.rounds}`);
        const result = await runOnce(pool, n, options);
        byCount.get(n)!.push(result);
        if (n === 1) single = result.throughput;
        if (single !== undefined) scaling.get(n)!.push(result.throughput / single);
      }
    }
    const cores = availableParallelism();
    const params = (n: number) => ({ workers: n, strategy: options.strategy, endpoints: options.endpoints });
    const figures: FigureInit[] = [];
    for (const n of options.workerCounts) {
      const results = byCount.get(n)!;
      const exhausted = results.reduce((a, r) => a + r.casExhausted, 0);
      const unscheduled = results.reduce((a, r) => a + r.unscheduled, 0);
      const ratios = scaling.get(n)!;
      if (ratios.length > 0) {
        figures.push({
          section: "shared-state",
          name: "throughput-scaling",
          params: params(n),
          unit: "× 1 worker",
          samples: ratios,
          peer: "1 worker VM, same round",
          ...(n > cores ? { note: `${n} threads on ${cores} cores: they take turns, so no more than ${cores}× is possible` } : {}),
        });
      }
      figures.push(
        { section: "shared-state", name: "throughput", params: params(n), unit: "requests/s", samples: results.map((r) => r.throughput) },
        {
          section: "shared-state",
          name: "cas-retries",
          params: params(n),
          unit: "retries/request",
          samples: results.map((r) => r.casRetries / r.requests),
          note: `over all rounds: ${exhausted} updates gave up after 8 attempts, ${unscheduled} requests unscheduled`,
        },
        {
          section: "shared-state",
          name: "contended-locks",
          params: params(n),
          unit: "waits/request",
          samples: results.map((r) => r.contendedLocks / r.requests),
        },
      );
    }
    return figures;
  } finally {
    await pool.close();
  }
}

async function runOnce(pool: WorkerPool, n: number, options: SharedStateOptions): Promise<RunResult> {
  const config = benchPluginConfig(options.strategy, options.endpoints);
  const keys = Array.from({ length: options.endpoints }, (_, i) => `${SHARED_KEY_PREFIX}catalog_ep${i}`);
  const layout = createAtomicLayout(keys, "lightsub");
  const store = new AtomicSharedData(layout);
  const control = new SharedArrayBuffer(4);
  const workers = pool.workers.slice(0, n);
  const message: ToSharedWorker = { type: "run", layout, config, durationMs: options.durationMs, inflight: options.inflight, control };
  // Each worker answers "ready", then "done": wait for both in order.
  const readyReplies = workers.map((w) => pool.next(w));
  const doneReplies = workers.map((w) => pool.next(w));
  for (const w of workers) w.postMessage(message);
  await Promise.all(readyReplies.map((p) => p.then(expect("ready"))));
  const before = { cas: store.casMismatches(), locks: store.contendedLocks() };
  Atomics.store(new Int32Array(control), 0, 1);
  Atomics.notify(new Int32Array(control), 0);
  const done = await Promise.all(doneReplies.map((p) => p.then(expect("done"))));
  let throughput = 0;
  let requests = 0;
  for (const d of done) {
    if (d.scheduled === 0) throw new Error("shared state: a worker scheduled no request");
    throughput += (d.requests / d.elapsedMs) * 1000;
    requests += d.requests;
  }
  return {
    throughput,
    requests,
    casRetries: store.casMismatches() - before.cas,
    contendedLocks: store.contendedLocks() - before.locks,
    casExhausted: done.reduce((a, d) => a + d.casExhausted, 0),
    unscheduled: done.reduce((a, d) => a + d.unscheduled, 0),
  };
}

function expect<T extends FromSharedWorker["type"]>(type: T) {
  return (m: FromSharedWorker): Extract<FromSharedWorker, { type: T }> => {
    if (m.type === "error") throw new Error(`shared-state worker: ${m.message}`);
    if (m.type !== type) throw new Error(`shared-state worker: expected ${type}, got ${m.type}`);
    return m as Extract<FromSharedWorker, { type: T }>;
  };
}

/** Worker threads that answer messages in order; next(w) is w's next message. */
class WorkerPool {
  private readonly queues = new Map<Worker, { waiting: ((m: FromSharedWorker) => void)[]; failed?: Error }>();

  private constructor(readonly workers: Worker[]) {
    for (const w of workers) {
      const q = { waiting: [] as ((m: FromSharedWorker) => void)[] } as { waiting: ((m: FromSharedWorker) => void)[]; failed?: Error };
      this.queues.set(w, q);
      w.on("message", (m: FromSharedWorker) => q.waiting.shift()?.(m));
      const fail = (error: Error) => {
        q.failed = error;
        for (const resolve of q.waiting.splice(0)) resolve({ type: "error", message: error.message });
      };
      w.on("error", fail);
      w.on("exit", (code) => fail(new Error(`worker exited with code ${code}`)));
    }
  }

  static async start(count: number, wasm: Uint8Array): Promise<WorkerPool> {
    const entry = new URL("./shared-worker.mjs", import.meta.url);
    const workers = Array.from({ length: count }, () => new Worker(entry, { workerData: { wasm } satisfies SharedWorkerData }));
    await Promise.all(workers.map((w) => new Promise<void>((resolve, reject) => {
      w.once("online", () => resolve());
      w.once("error", reject);
    })));
    return new WorkerPool(workers);
  }

  /** The next message from `w` (registered before the message that causes it is sent). */
  next(w: Worker): Promise<FromSharedWorker> {
    const q = this.queues.get(w)!;
    if (q.failed) return Promise.resolve({ type: "error", message: q.failed.message });
    return new Promise((resolve) => q.waiting.push(resolve));
  }

  async close(): Promise<void> {
    for (const q of this.queues.values()) q.failed = new Error("closed");
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
