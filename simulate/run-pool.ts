/**
 * Runs are independent (each has its own host process, backends and random
 * streams), so they can run on several threads with identical results: a pool
 * of worker threads takes runs one at a time, the fastest thread taking the
 * next. With one thread, or where workers cannot start, runs go in this thread.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { CompiledModule } from "../host/index.js";
import { executeRun, type RunInputs, type RunOutput } from "./run-one.js";
import type { FromWorker, ToWorker } from "./run-worker.js";
import type { PlannedRun } from "./runs.js";
import { SidecarFilter } from "./sidecar-filter.js";

export type RunProgress = (index: number, done: number, total: number) => void;

/** Threads to use by default: the cores there are, at most 4. */
export function defaultThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Starting a worker thread costs about a second (it loads and compiles the
 * TypeScript again); below this much work (requests × filter runs, the
 * expensive kind) the runs go faster in this thread.
 */
const MIN_WORK_FOR_THREADS = 60_000;

export function worthThreads(runs: readonly PlannedRun[], requests: number): boolean {
  const filterRuns = runs.filter((r) => r.kind === "lightsub").length;
  return filterRuns * requests >= MIN_WORK_FOR_THREADS;
}

export async function executeRuns(
  runs: readonly PlannedRun[],
  inputs: RunInputs,
  wasm: Uint8Array | undefined,
  threads: number,
  onProgress?: RunProgress,
  /** Told where the runs went: worker threads, or this thread. */
  onMode?: (mode: "threads" | "inline") => void,
): Promise<RunOutput[]> {
  const count = Math.min(threads, runs.length);
  if (count > 1) {
    const outputs = await inWorkers(runs, inputs, wasm, count, onProgress).catch((error: unknown) => {
      if (error instanceof WorkerStartError) return undefined;
      throw error;
    });
    if (outputs) {
      onMode?.("threads");
      return outputs;
    }
  }
  onMode?.("inline");
  const module: CompiledModule | undefined = wasm ? await SidecarFilter.compile(wasm) : undefined;
  return runs.map((run, index) => executeRun(run, { ...inputs, module }, onProgress && ((done, total) => onProgress(index, done, total))));
}

class WorkerStartError extends Error {}

function inWorkers(runs: readonly PlannedRun[], inputs: RunInputs, wasm: Uint8Array | undefined, count: number, onProgress?: RunProgress): Promise<RunOutput[]> {
  const entry = new URL("./run-worker.mjs", import.meta.url);
  return new Promise((resolve, reject) => {
    const outputs: RunOutput[] = new Array(runs.length);
    const workers: Worker[] = [];
    let next = 0;
    let finished = 0;
    let settled = false;
    const stop = (error?: unknown) => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      if (error === undefined) resolve(outputs);
      else reject(error);
    };
    const give = (worker: Worker) => {
      if (next >= runs.length) return;
      const index = next++;
      worker.postMessage({ type: "run", index, run: runs[index]! } satisfies ToWorker);
    };
    for (let i = 0; i < count; i++) {
      let worker: Worker;
      try {
        worker = new Worker(entry);
      } catch (error) {
        stop(new WorkerStartError(String(error)));
        return;
      }
      workers.push(worker);
      let started = false;
      worker.on("message", (message: FromWorker) => {
        started = true;
        if (message.type === "progress") onProgress?.(message.index, message.done, message.total);
        else if (message.type === "failed") stop(new Error(`simulation run ${runs[message.index]!.name} failed: ${message.message}`));
        else {
          outputs[message.index] = message.output;
          finished++;
          if (finished === runs.length) stop();
          else give(worker);
        }
      });
      // A worker that dies before its first message could not load (e.g. no TypeScript loader): run here instead.
      worker.on("error", (error) => stop(started ? error : new WorkerStartError(String(error))));
      worker.on("exit", (code) => {
        if (code !== 0) stop(started ? new Error(`a simulation worker exited with code ${code}`) : new WorkerStartError(`exit ${code}`));
      });
      worker.postMessage({ type: "init", inputs, wasm } satisfies ToWorker);
      give(worker);
    }
  });
}
