// The configured plugin: destinations with their strategies, built from a
// validated PluginConfig, plus VM-wide facts learned at run time.
import { HeaderPair, WasmResult, callForeignFunction, incrementMetric, serializeHeaderPairs } from "../proxy-wasm/index";
import { Admission } from "./admission/admission";
import { PluginConfig, StrategyKind } from "./config/plugin";
import { fnv1a } from "./base/hash";
import { Destination, Strategy } from "./destination";
import { claimEndpoint, releaseEndpoint } from "./records/retire";
import { ensureState } from "./records/shared";
import { Availability } from "./strategies/availability";
import { ConsistentHash } from "./strategies/consistent-hash";
import { LeastLatency } from "./strategies/least-latency";
import { LeastLoad } from "./strategies/least-load";
import { RandomChoice } from "./strategies/random";
import { RoundRobin } from "./strategies/round-robin";
import { Weighted } from "./strategies/weighted";
import { defineAdmissionMetrics, defineDestinationMetrics } from "./telemetry/metrics";

export const REASON_SHARED_DATA = "shared_data_unavailable";
export const REASON_CONTENTION = "shared_data_contention";

const CLEAR_ROUTE_CACHE = String.UTF8.encode("clear_route_cache");
/** Envoy clears the route cache itself for ABI 0.2.1; newer ABIs need the call. Stop after NotFound. */
let clearRouteCacheAvailable = true;

export function clearRouteCache(): void {
  if (!clearRouteCacheAvailable) return;
  if (callForeignFunction(CLEAR_ROUTE_CACHE) == WasmResult.NotFound) clearRouteCacheAvailable = false;
}

/** Whether `bytes` equals the size bytes at ptr. */
export function sameBytes(bytes: ArrayBuffer, ptr: usize, size: usize): bool {
  return <usize>bytes.byteLength == size && memory.compare(changetype<usize>(bytes), ptr, size) == 0;
}

function strategyFor(destination: Destination): Strategy {
  switch (destination.kind) {
    case StrategyKind.RoundRobin: return new RoundRobin(destination.endpoints.length);
    case StrategyKind.Random: return new RandomChoice();
    case StrategyKind.Weighted: return new Weighted(destination);
    case StrategyKind.LeastLoad: return new LeastLoad(destination);
    case StrategyKind.LeastLatency: return new LeastLatency(destination);
    case StrategyKind.Availability: return new Availability(destination);
    default: return new ConsistentHash(destination);
  }
}

export class Plugin {
  headerBytes: ArrayBuffer;
  failClosed: bool;
  destinations: Destination[] = [];
  /**
   * Every endpoint cluster as FNV-1a(name) << 32 | destination index << 16 | endpoint
   * index, sorted: a route to an endpoint cluster is found by binary search.
   */
  endpointClusters: StaticArray<u64> = new StaticArray<u64>(0);
  /** Response code details of the fail-closed local reply. */
  localReplyDetails: ArrayBuffer = String.UTF8.encode("lightsub_unscheduled");

  constructor(config: PluginConfig) {
    this.headerBytes = String.UTF8.encode(config.header);
    this.failClosed = config.failClosed;
    for (let i = 0; i < config.destinations.length; i++) {
      const d = new Destination(config.destinations[i]);
      d.strategy = strategyFor(d);
      defineDestinationMetrics(d);
      const admission = config.destinations[i].admission;
      if (admission != null) {
        const a = new Admission(d, admission, this.headerBytes);
        defineAdmissionMetrics(d.service, a.metrics);
        a.publishLimit();
        d.admission = a;
      }
      for (let j = 0; j < d.endpoints.length; j++) {
        const ep = d.endpoints[j];
        if (!claimEndpoint(ep)) incrementMetric(d.casExhaustedMetric, 1);
        ensureState(ep);
      }
      this.destinations.push(d);
    }
    // Indexes fit in 16 bits: at most MAX_DESTINATIONS x MAX_ENDPOINTS (config.ts).
    const entries = new Array<u64>();
    for (let i = 0; i < this.destinations.length; i++) {
      const endpoints = this.destinations[i].endpoints;
      for (let j = 0; j < endpoints.length; j++) {
        const bytes = endpoints[j].clusterBytes;
        const h = fnv1a(changetype<usize>(bytes), <usize>bytes.byteLength);
        entries.push((<u64>h << 32) | (<u64>i << 16) | <u64>j);
      }
    }
    entries.sort((x: u64, y: u64): i32 => (x < y ? -1 : x > y ? 1 : 0));
    this.endpointClusters = StaticArray.fromArray<u64>(entries);
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
    // Not an aggregate cluster: binary search by hash instead of comparing every endpoint cluster.
    const entries = this.endpointClusters;
    const h = <u64>fnv1a(ptr, size);
    let lo = 0;
    let hi = entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (entries[mid] >> 32 < h) lo = mid + 1;
      else hi = mid;
    }
    for (let k = lo; k < entries.length && entries[k] >> 32 == h; k++) {
      const d = this.destinations[<i32>((entries[k] >> 16) & 0xffff)];
      if (sameBytes(d.endpoints[<i32>(entries[k] & 0xffff)].clusterBytes, ptr, size)) return d;
    }
    return null;
  }

  /** Serialized headers of the fail-closed local reply (failure path only: allocates). */
  reasonHeaders(reason: string): ArrayBuffer {
    return serializeHeaderPairs([new HeaderPair("x-lightsub-reason", reason)]);
  }
}
