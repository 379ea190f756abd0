// The configured plugin: destinations with their strategies, built from a
// validated PluginConfig, plus VM-wide facts learned at run time.
import { HeaderPair, WasmResult, callForeignFunction, serializeHeaderPairs } from "../proxy-wasm/index";
import { PluginConfig, StrategyKind } from "./config";
import { Destination, Strategy } from "./model";
import { ensureState } from "./shared";
import { Availability } from "./strategies/availability";
import { ConsistentHash } from "./strategies/consistentHash";
import { LeastLatency } from "./strategies/leastLatency";
import { LeastLoad } from "./strategies/leastLoad";
import { RandomChoice } from "./strategies/random";
import { RoundRobin } from "./strategies/roundRobin";
import { Weighted } from "./strategies/weighted";
import { defineDestinationMetrics } from "./telemetry";

export const REASON_SHARED_DATA = "shared_data_unavailable";
export const REASON_CONTENTION = "shared_data_contention";

const CLEAR_ROUTE_CACHE = String.UTF8.encode("clear_route_cache");
/** Envoy clears the route cache itself for ABI 0.2.1; newer ABIs need the call. Stop after NotFound. */
let clearRouteCacheAvailable = true;

export function clearRouteCache(): void {
  if (!clearRouteCacheAvailable) return;
  if (callForeignFunction(CLEAR_ROUTE_CACHE) == WasmResult.NotFound) clearRouteCacheAvailable = false;
}

function strategyFor(destination: Destination): Strategy {
  switch (destination.kind) {
    case StrategyKind.RoundRobin: return new RoundRobin(destination.endpoints.length);
    case StrategyKind.Random: return new RandomChoice();
    case StrategyKind.Weighted: return new Weighted(destination);
    case StrategyKind.LeastLoad: return new LeastLoad();
    case StrategyKind.LeastLatency: return new LeastLatency();
    case StrategyKind.Availability: return new Availability();
    default: return new ConsistentHash(destination);
  }
}

export class Plugin {
  headerBytes: ArrayBuffer;
  failClosed: bool;
  destinations: Destination[] = [];
  /** Response code details of the fail-closed local reply. */
  localReplyDetails: ArrayBuffer = String.UTF8.encode("lightsub_unscheduled");

  constructor(config: PluginConfig) {
    this.headerBytes = String.UTF8.encode(config.header);
    this.failClosed = config.failClosed;
    for (let i = 0; i < config.destinations.length; i++) {
      const d = new Destination(config.destinations[i]);
      d.strategy = strategyFor(d);
      defineDestinationMetrics(d);
      for (let j = 0; j < d.endpoints.length; j++) ensureState(d.endpoints[j]);
      this.destinations.push(d);
    }
  }

  /** Destination whose aggregate cluster name equals the bytes at ptr/size, or null. */
  destinationFor(ptr: usize, size: usize): Destination | null {
    for (let i = 0; i < this.destinations.length; i++) {
      const d = this.destinations[i];
      if (<usize>d.clusterBytes.byteLength == size && memory.compare(changetype<usize>(d.clusterBytes), ptr, size) == 0) return d;
    }
    return null;
  }

  /** Serialized headers of the fail-closed local reply (failure path only: allocates). */
  reasonHeaders(reason: string): ArrayBuffer {
    return serializeHeaderPairs([new HeaderPair("x-lightsub-reason", reason)]);
  }
}
