/**
 * One worker thread of the run pool: receives the simulation's inputs once,
 * then runs whichever runs it is handed, reporting progress and metrics.
 */
import { parentPort } from "node:worker_threads";
import { executeRun, type RunInputs, type RunOutput } from "./run-one.js";
import type { PlannedRun } from "./runs.js";
import { SidecarFilter } from "./sidecar-filter.js";
import type { CompiledModule } from "../host/index.js";

export type ToWorker = { type: "init"; inputs: RunInputs; wasm: Uint8Array | undefined } | { type: "run"; index: number; run: PlannedRun };
export type FromWorker =
  | { type: "progress"; index: number; done: number; total: number }
  | { type: "done"; index: number; output: RunOutput }
  | { type: "failed"; index: number; message: string };

const port = parentPort!;
let inputs: RunInputs | undefined;
let module: Promise<CompiledModule | undefined> = Promise.resolve(undefined);

port.on("message", (message: ToWorker) => {
  if (message.type === "init") {
    inputs = message.inputs;
    module = message.wasm ? SidecarFilter.compile(message.wasm) : Promise.resolve(undefined);
    return;
  }
  const { index, run } = message;
  void module.then(
    (compiled) => {
      try {
        const output = executeRun(run, { ...inputs!, module: compiled }, (done, total) => port.postMessage({ type: "progress", index, done, total } satisfies FromWorker));
        port.postMessage({ type: "done", index, output } satisfies FromWorker);
      } catch (error) {
        port.postMessage({ type: "failed", index, message: (error as Error).stack ?? String(error) } satisfies FromWorker);
      }
    },
    (error: unknown) => port.postMessage({ type: "failed", index, message: String(error) } satisfies FromWorker),
  );
});
