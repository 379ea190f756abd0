/**
 * Figure 1, filter cost per request: the whole lightsub per-request path
 * (request headers → schedule, response headers, end → log/done/delete) in
 * V8 through the Node host, against the empty pass-through filter built with
 * the same toolchain (build/passthrough.wasm: the cost of crossing the ABI and
 * of the host's own stream machinery, the floor). Both run the very same
 * driver calls, in alternating batches (bench/paired.ts); the figure is the
 * median per-round ratio. Also: host calls per request (exact, from the
 * host's counter).
 */
import { readFileSync } from "node:fs";
import { Envoy, type CompiledModule, type Vm } from "../host/index.js";
import type { FigureInit } from "./figures.js";
import { measurePaired, timePerOp } from "./paired.js";
import { SCHEDULING_HEADER, STRATEGY_NAMES } from "../schemas/wire.js";

export const STRATEGIES = STRATEGY_NAMES;

export interface FilterCostOptions {
  lightsubWasm: string;
  passthroughWasm: string;
  strategies: readonly string[];
  endpointCounts: readonly number[];
  /** Requests per timed batch. */
  batch: number;
  /** Batches of each filter per round, interleaved (bench/paired.ts). */
  slices: number;
  rounds: number;
  warmupRounds: number;
}

/** The plugin configuration of the benchmark: one destination "catalog" with `endpoints` endpoints. */
export function benchPluginConfig(strategy: string, endpoints: number): Record<string, unknown> {
  return {
    version: 1,
    service: "frontend",
    header: SCHEDULING_HEADER,
    failMode: "open",
    destinations: [
      {
        service: "catalog",
        cluster: "catalog",
        strategy,
        ...(strategy === "consistent_hash" ? { hashOn: { header: "x-user-id" } } : {}),
        endpoints: Array.from({ length: endpoints }, (_, i) => ({
          cluster: `catalog_ep${i}`,
          stat: `catalog-${i}_9090`,
          weight: 1 + (i % 3),
        })),
      },
    ],
  };
}

/** A sidecar with one worker VM running `module`, configured like lightsub. */
export class OneWorker {
  readonly envoy = new Envoy({ startTimeMs: 1_700_000_000_000 });
  readonly vm: Vm;

  constructor(module: CompiledModule, config: Record<string, unknown>) {
    this.vm = this.envoy.createVm(module, { vmId: "lightsub" });
    if (!this.vm.configure(JSON.stringify(config), { rootId: "lightsub" })) {
      throw new Error(`configure failed: ${JSON.stringify(this.envoy.logs.slice(-3))}`);
    }
  }
}

const STREAM_PROPERTIES = { "xds.cluster_name": "catalog" } as const;
const RESPONSE: [string, string][] = [[":status", "200"]];
/** Request headers with 256 different user ids (consistent_hash spreads by them). */
const REQUESTS: [string, string][][] = Array.from({ length: 256 }, (_, i) => [
  [":method", "GET"],
  [":path", "/items"],
  [":authority", "catalog"],
  ["x-user-id", `user-${i}`],
]);

/** One request through the worker: the path a scheduled request takes, 1 ms of virtual time long. */
export function oneRequest(w: OneWorker, i: number): void {
  const s = w.vm.createStream({ properties: STREAM_PROPERTIES });
  s.onRequestHeaders(REQUESTS[i & 255]!, true);
  w.envoy.advance(1);
  s.onResponseHeaders(RESPONSE, true);
  s.end({ responseCode: 200 });
}

export async function measureFilterCost(options: FilterCostOptions, onStep?: (label: string) => void): Promise<FigureInit[]> {
  const lightsub = await Envoy.compile(readFileSync(options.lightsubWasm));
  const passthrough = await Envoy.compile(readFileSync(options.passthroughWasm));
  const figures: FigureInit[] = [];
  for (const endpoints of options.endpointCounts) {
    for (const strategy of options.strategies) {
      onStep?.(`filter cost: ${strategy}, ${endpoints} endpoints`);
      const config = benchPluginConfig(strategy, endpoints);
      const floor = new OneWorker(passthrough, config);
      const filter = new OneWorker(lightsub, config);
      let floorCalls = 0;
      const callsPerRequest: number[] = [];
      let offset = 0;
      const batchOf = (w: OneWorker) => () => {
        const before = w.envoy.hostCalls;
        const base = offset;
        const ns = timePerOp(options.batch, (i) => oneRequest(w, base + i));
        offset += options.batch;
        const calls = (w.envoy.hostCalls - before) / options.batch;
        if (w === filter) callsPerRequest.push(calls);
        else floorCalls = Math.max(floorCalls, calls);
        return ns;
      };
      const samples = measurePaired(batchOf(floor), batchOf(filter), options);
      checkScheduled(filter, strategy);
      const params = { strategy, endpoints };
      const peer = "the empty pass-through filter (build/passthrough.wasm), same driver, same run";
      figures.push(
        {
          section: "filter-cost",
          name: "ratio",
          params,
          unit: "×",
          samples: samples.ratios,
          peer,
          target: { max: 1.5, text: "≤ 1.5× the empty filter" },
        },
        { section: "filter-cost", name: "lightsub-ns", params, unit: "ns/request", samples: samples.bNs },
        { section: "filter-cost", name: "passthrough-ns", params, unit: "ns/request", samples: samples.aNs },
        {
          section: "filter-cost",
          name: "host-calls",
          params,
          unit: "calls/request",
          samples: callsPerRequest.slice(-samples.ratios.length * options.slices),
          note: `the pass-through filter makes ${floorCalls} host calls per request`,
        },
      );
    }
  }
  return figures;
}

/** A benchmark of requests that were never scheduled would measure the wrong path. */
function checkScheduled(w: OneWorker, strategy: string): void {
  const s = w.vm.createStream({ properties: STREAM_PROPERTIES });
  s.onRequestHeaders(REQUESTS[0]!, true);
  const chosen = s.requestHeaders.get(SCHEDULING_HEADER);
  s.end({ responseCode: 200 });
  if (!chosen?.startsWith("catalog_ep") || w.vm.failed) {
    throw new Error(`filter cost (${strategy}): the filter did not schedule the request (header ${chosen ?? "absent"}, failed ${w.vm.failed})`);
  }
}
