// The configured plugin: destinations, each with its strategy and admission,
// built from a validated PluginConfig, plus the admission tick and the
// hand-over of waiting requests when a configuration replaces another.
import { currentTimeNanos } from "../proxy-wasm/index";
import { sameBytes } from "./base/bytes";
import { fnv1a } from "./base/hash";
import { Admission } from "./admission/admission";
import { PluginConfig, StrategyKind } from "./config/plugin";
import { Destination } from "./destination";
import { delistEndpoint, enlistEndpoint } from "./records/retire";
import { ensureState } from "./records/shared";
import { Availability } from "./strategies/availability";
import { ConsistentHash } from "./strategies/consistent-hash";
import { LeastLatency } from "./strategies/least-latency";
import { LeastLoad } from "./strategies/least-load";
import { RandomChoice } from "./strategies/random";
import { RoundRobin } from "./strategies/round-robin";
import { Strategy } from "./strategies/strategy";
import { Weighted } from "./strategies/weighted";
import { Metric } from "./telemetry/table";

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

/** A destination as the plugin schedules it: its endpoints, its strategy, and its admission (null: none). */
export class Target {
  constructor(public destination: Destination, public strategy: Strategy, public admission: Admission | null) {}
}

/** The root's current plugin, shared with its streams (null until a configuration was accepted; a rejected one keeps the previous). */
export class CurrentPlugin {
  plugin: Plugin | null = null;
}

export class Plugin {
  headerBytes: ArrayBuffer;
  failClosed: bool;
  targets: Target[] = [];
  /**
   * The one target of a listener-scoped configuration (config/plugin.ts `scope`):
   * every request is its, found without reading the route. Null: find each
   * request's target by its route's cluster (targetFor).
   */
  listenerTarget: Target | null = null;
  /**
   * Every endpoint cluster as FNV-1a(name) << 32 | destination index << 16 | endpoint
   * index, sorted: a route to an endpoint cluster is found by binary search.
   */
  endpointClusters: StaticArray<u64> = new StaticArray<u64>(0);

  constructor(config: PluginConfig) {
    this.headerBytes = String.UTF8.encode(config.header);
    this.failClosed = config.failClosed;
    for (let i = 0; i < config.destinations.length; i++) {
      const d = new Destination(config.destinations[i]);
      const strategy = strategyFor(d);
      d.defineMetrics();
      let admission: Admission | null = null;
      const admissionConfig = config.destinations[i].admission;
      if (admissionConfig != null) {
        const a = new Admission(d, strategy, admissionConfig, this.headerBytes);
        d.defineAdmissionMetrics();
        a.publishLimit();
        admission = a;
      }
      // The new configuration enlists its endpoints before the old one delists them (root.ts),
      // so only endpoints it dropped are retired.
      for (let j = 0; j < d.endpoints.length; j++) {
        const ep = d.endpoints[j];
        if (!enlistEndpoint(ep)) d.count(Metric.CasExhausted);
        ensureState(ep);
      }
      this.targets.push(new Target(d, strategy, admission));
    }
    if (config.listenerScoped) this.listenerTarget = this.targets[0]; // config/plugin.ts checked: exactly one
    // Indexes fit in 16 bits: at most MAX_DESTINATIONS x MAX_ENDPOINTS (config/plugin.ts).
    const entries = new Array<u64>();
    for (let i = 0; i < this.targets.length; i++) {
      const endpoints = this.targets[i].destination.endpoints;
      for (let j = 0; j < endpoints.length; j++) {
        const bytes = endpoints[j].clusterBytes;
        const h = fnv1a(changetype<usize>(bytes), <usize>bytes.byteLength);
        entries.push((<u64>h << 32) | (<u64>i << 16) | <u64>j);
      }
    }
    entries.sort((x: u64, y: u64): i32 => (x < y ? -1 : x > y ? 1 : 0));
    this.endpointClusters = StaticArray.fromArray<u64>(entries);
  }

  /** This configuration is replaced or gone: endpoints no other configuration uses are retired (records/retire.ts). */
  retire(): void {
    for (let i = 0; i < this.targets.length; i++) {
      const d = this.targets[i].destination;
      for (let j = 0; j < d.endpoints.length; j++) {
        if (!delistEndpoint(d.endpoints[j])) d.count(Metric.CasExhausted);
      }
    }
  }

  /**
   * Target of the route's cluster (bytes at ptr/size), or null. Normally
   * the aggregate cluster. One of its endpoint clusters means a scheduling
   * header the filter did not set chose the route (a client's, where the
   * connection manager does not strip it first): the request is scheduled
   * like any other, so the filter's own choice replaces it.
   */
  targetFor(ptr: usize, size: usize): Target | null {
    for (let i = 0; i < this.targets.length; i++) {
      const t = this.targets[i];
      if (sameBytes(t.destination.clusterBytes, ptr, size)) return t;
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
      const t = this.targets[<i32>((entries[k] >> 16) & 0xffff)];
      if (sameBytes(t.destination.endpoints[<i32>(entries[k] & 0xffff)].clusterBytes, ptr, size)) return t;
    }
    return null;
  }

  /** Smallest tickMs of the destinations with admission; 0 when none has it. */
  admissionTickMs(): u32 {
    let tick: i32 = 0;
    for (let i = 0; i < this.targets.length; i++) {
      const a = this.targets[i].admission;
      if (a != null && (tick == 0 || a.tickMs < tick)) tick = a.tickMs;
    }
    return <u32>tick;
  }

  /** Root tick for every destination with admission (no host call when nothing waits). */
  tickAdmission(nowNs: u64): void {
    for (let i = 0; i < this.targets.length; i++) {
      const a = this.targets[i].admission;
      if (a != null) a.tick(nowNs);
    }
  }

  /**
   * This configuration is replaced by `next` (null: deleted). Each of its
   * admissions learns its successor (the same service's in `next`), so
   * requests of this configuration that end later free slots for the new
   * queue; waiting tasks move there or are answered (Admission.handOver).
   * Returns whether any task moved or was answered (the effective context
   * changed). No host call when nothing waits.
   */
  handOverAdmission(next: Plugin | null): bool {
    let nowNs: u64 = 0;
    let touched = false;
    for (let i = 0; i < this.targets.length; i++) {
      const old = this.targets[i].admission;
      if (old == null) continue;
      let successor: Admission | null = null;
      if (next != null) {
        for (let j = 0; j < next.targets.length; j++) {
          const t = next.targets[j];
          if (t.destination.service == old.destination.service && t.admission != null) successor = t.admission;
        }
      }
      old.successor = successor;
      if (old.queue.size == 0) continue;
      if (nowNs == 0) nowNs = currentTimeNanos();
      old.handOver(successor, nowNs);
      touched = true;
    }
    return touched;
  }
}
