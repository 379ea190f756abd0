/**
 * One Envoy worker thread of the shared-state benchmark: its own Envoy (host)
 * with one lightsub VM whose shared data is the cross-thread store
 * (bench/atomic-shared-data.ts). On "run" it builds a fresh VM, says ready,
 * waits for the common start signal, then schedules requests for the given
 * wall time, keeping `inflight` requests open (each ends when a newer one
 * starts), and reports how many it completed.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Envoy, type CompiledModule, type Stream } from "../host/index.js";
import { AtomicSharedData, type AtomicLayout } from "./atomic-shared-data.js";
import { SCHEDULING_HEADER, destinationMetricName } from "../schemas/wire.js";

export interface SharedWorkerData {
  wasm: Uint8Array;
}

export type ToSharedWorker = {
  type: "run";
  layout: AtomicLayout;
  config: Record<string, unknown>;
  durationMs: number;
  inflight: number;
  /** Int32Array[0] becomes 1 when every worker is ready: go. */
  control: SharedArrayBuffer;
};

export type FromSharedWorker =
  | { type: "ready" }
  | { type: "done"; requests: number; elapsedMs: number; scheduled: number; casExhausted: number; unscheduled: number }
  | { type: "error"; message: string };

const port = parentPort!;
const { wasm } = workerData as SharedWorkerData;
const STREAM_PROPERTIES = { "xds.cluster_name": "catalog" } as const;
const REQUEST: [string, string][] = [[":method", "GET"], [":path", "/items"], [":authority", "catalog"]];
const RESPONSE: [string, string][] = [[":status", "200"]];

let modulePromise: Promise<CompiledModule> | undefined;

/** Wall-clock ms shared by all threads (performance.now() has a per-thread origin). */
function wallMs(): number {
  return performance.timeOrigin + performance.now();
}

async function run(message: ToSharedWorker): Promise<FromSharedWorker> {
  modulePromise ??= Envoy.compile(wasm);
  const module = await modulePromise;
  const shared = new AtomicSharedData(message.layout);
  const startMs = wallMs();
  const envoy = new Envoy({ startTimeMs: Math.floor(startMs), sharedData: shared });
  const vm = envoy.createVm(module, { vmId: message.layout.vmId });
  if (!vm.configure(JSON.stringify(message.config), { rootId: "lightsub" })) {
    return { type: "error", message: `configure failed: ${JSON.stringify(envoy.logs.slice(-3))}` };
  }
  port.postMessage({ type: "ready" } satisfies FromSharedWorker);
  const control = new Int32Array(message.control);
  Atomics.wait(control, 0, 0);

  const open: Stream[] = [];
  let requests = 0;
  let scheduled = 0;
  let virtualMs = Math.floor(startMs);
  const begin = wallMs();
  const end = begin + message.durationMs;
  let now = begin;
  // Check the clock every few requests: reading it costs about as much as a host call.
  while (now < end) {
    for (let k = 0; k < 16; k++) {
      const s = vm.createStream({ properties: STREAM_PROPERTIES });
      s.onRequestHeaders(REQUEST, true);
      if (s.requestHeaders.has(SCHEDULING_HEADER)) scheduled++;
      open.push(s);
      if (open.length > message.inflight) finish(open.shift()!);
    }
    now = wallMs();
    // The virtual clock follows the wall clock, so latencies and EWMA stamps agree across threads.
    if (now > virtualMs) {
      envoy.advance(now - virtualMs);
      virtualMs = now;
    }
  }
  for (const s of open) finish(s);
  const elapsedMs = wallMs() - begin;
  if (vm.failed) return { type: "error", message: `the VM failed: ${String(vm.trap)}` };
  return {
    type: "done",
    requests,
    elapsedMs,
    scheduled,
    casExhausted: envoy.stats.get(destinationMetricName("catalog", "cas_exhausted")) ?? 0,
    unscheduled: envoy.stats.get(destinationMetricName("catalog", "rq_unscheduled")) ?? 0,
  };

  function finish(s: Stream): void {
    s.onResponseHeaders(RESPONSE, true);
    s.end({ responseCode: 200 });
    requests++;
  }
}

port.on("message", (message: ToSharedWorker) => {
  run(message).then(
    (reply) => port.postMessage(reply),
    (error: unknown) => port.postMessage({ type: "error", message: error instanceof Error ? error.stack ?? error.message : String(error) } satisfies FromSharedWorker),
  );
});
