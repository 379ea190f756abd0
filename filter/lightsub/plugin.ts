// The configured plugin: destinations with their strategies, built from a
// validated PluginConfig, plus VM-wide facts learned at run time.
import { HeaderPair, WasmResult, callForeignFunction, incrementMetric, serializeHeaderPairs } from "../proxy-wasm/index";
import { PluginConfig, StrategyKind } from "./config";
import { Destination, Strategy } from "./model";
import { claimEndpoint, releaseEndpoint } from "./retire";
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

function sameBytes(bytes: ArrayBuffer, ptr: usize, size: usize): bool {
  return <usize>bytes.byteLength == size && memory.compare(changetype<usize>(bytes), ptr, size) == 0;
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
      for (let j = 0; j < d.endpoints.length; j++) {
        const ep = d.endpoints[j];
        if (!claimEndpoint(ep)) incrementMetric(d.casExhaustedMetric, 1);
        ensureState(ep);
      }
      this.destinations.push(d);
    }
  }

  /** This configuration is replaced or gone: endpoints no other configuration uses are retired (retire.ts). */
  retire(): void {
    for (let i = 0; i < this.destinations.length; i++) {
      const d = this.destinations[i];
      for (let j = 0; j < d.endpoints.length; j++) {
        if (!releaseEndpoint(d.endpoints[j])) incrementMetric(d.casExhaustedMetric, 1);
      }
    }
  }

  /**
   * Destination of the route's cluster (bytes at ptr/size), or null. Normally
   * the aggregate cluster. One of its endpoint clusters means a scheduling
   * header the filter did not set chose the route (a client's, where the
   * connection manager does not strip it first): the request is scheduled
   * like any other, so the filter's own choice replaces it.
   */
  destinationFor(ptr: usize, size: usize): Destination | null {
    for (let i = 0; i < this.destinations.length; i++) {
      const d = this.destinations[i];
      if (sameBytes(d.clusterBytes, ptr, size)) return d;
    }
    for (let i = 0; i < this.destinations.length; i++) {
      const d = this.destinations[i];
      for (let j = 0; j < d.endpoints.length; j++) {
        if (sameBytes(d.endpoints[j].clusterBytes, ptr, size)) return d;
      }
    }
    return null;
  }

  /** Serialized headers of the fail-closed local reply (failure path only: allocates). */
  reasonHeaders(reason: string): ArrayBuffer {
    return serializeHeaderPairs([new HeaderPair("x-lightsub-reason", reason)]);
  }
}
