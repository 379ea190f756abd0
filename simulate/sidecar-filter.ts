/**
 * The lightsub filter of the simulated sidecar: the built `.wasm` running in
 * the Node proxy-wasm host, one VM per Envoy worker, configured exactly as the
 * compiled bootstrap configures it (plugin JSON, root id, vm id, failure_policy).
 */
import { Envoy, type CompiledModule, type Stream, type Vm } from "../host/index.js";
import { EnvoyConfigError } from "../envoy-model/envoy-json.js";
import type { WasmFilterConfig } from "../envoy-model/wasm-filter.js";
import type { HeaderPairs } from "../envoy-model/route-table.js";
import { REASON_HEADER, SERVED_BY_PROPERTY_PATH } from "../schemas/wire.js";

const utf8 = new TextEncoder();
/** Where Envoy shows the serving host's `lightsub` metadata (docs/design.md "Failover"). */
const SERVED_BY_PROPERTY = SERVED_BY_PROPERTY_PATH.join(".");

/** One request as the filter sees it. */
export interface FilterStream {
  /** Set when the filter answered the request itself (fail closed, admission). */
  readonly localReplyStatus: number | undefined;
  /** The REASON_HEADER of that local reply (a LOCAL_REPLY_REASONS value, schemas/wire.ts), "" without one. */
  readonly localReplyReason: string | undefined;
  /** The filter returned StopIteration and has not continued the stream yet. */
  readonly paused: boolean;
  /** A request header as it is now; several values joined with "," (Envoy's matcher view). */
  header(name: string): string | undefined;
  /**
   * The response (from the upstream or the router): response headers, then the
   * stream's end. `servedBy`: the `lightsub` metadata of the host that answered
   * (a failover host), if it has any.
   */
  respond(code: number, flags: number, servedBy?: string): void;
  /**
   * The route selected again after the filter: like Envoy once the route cache is cleared,
   * xds.cluster_name / xds.route_name read later (e.g. in proxy_on_log) name the new route.
   */
  routed(clusterName: string | undefined, routeName: string | undefined): void;
}

/** Virtual time of the host at simulation time 0 (an arbitrary wall-clock-like epoch). */
const HOST_EPOCH_MS = 1_700_000_000_000;

export class SidecarFilter {
  readonly envoy: Envoy;
  private readonly vms: Vm[] = [];
  private readonly propertyCache = new Map<string, Record<string, Uint8Array>>();

  /** `seed` feeds the host's random_get and shifts the VMs' start times (the filter may seed from the clock). */
  constructor(module: CompiledModule, config: WasmFilterConfig, workers: number, seed = 1) {
    // Real workers start their VMs microseconds apart; a filter seeding its
    // PRNG from the clock must not get the same seed in every VM.
    const startGapMs = 0.001;
    const seedShiftMs = (seed % 4096) * 0.01;
    // One histogram value per request: keep bucket counts only, so memory does not grow with the requests.
    this.envoy = new Envoy({ startTimeMs: HOST_EPOCH_MS - seedShiftMs - workers * startGapMs, seed: seed >>> 0 || 1, keepHistogramValues: false });
    for (let w = 0; w < workers; w++) {
      this.envoy.advance(startGapMs);
      const vm = this.envoy.createVm(module, { vmId: config.vmId, ...(config.vmConfig !== undefined ? { vmConfig: config.vmConfig } : {}) });
      if (!vm.configure(config.pluginJson, { rootId: config.rootId, name: config.name ?? config.rootId, failOpen: config.failOpen })) {
        const log = this.envoy.logs.map((l) => l.message).join("\n");
        throw new EnvoyConfigError(`the filter refused the compiled plugin configuration:\n${log}`);
      }
      this.vms.push(vm);
    }
    this.advanceTo(0);
  }

  static compile(bytes: Uint8Array): Promise<CompiledModule> {
    return Envoy.compile(bytes);
  }

  /** Milliseconds from the host's now to the next tick of any worker VM; undefined when none is armed. */
  nextTickInMs(): number | undefined {
    return this.envoy.nextTickInMs();
  }

  /** Fires the next tick at its exact due time (the host clock moves there). */
  fireNextTick(): void {
    this.envoy.advanceToNextTick();
  }

  /** Moves the host clock to simulation time `ms`, firing due ticks in order. */
  advanceTo(ms: number): void {
    const delta = HOST_EPOCH_MS + ms - this.envoy.nowMs();
    if (delta > 0) this.envoy.advance(delta);
  }

  /** The route's properties, encoded once per route (every request on it carries the same). */
  private routeProperties(clusterName: string | undefined, routeName: string | undefined): Record<string, Uint8Array> {
    const key = `${clusterName ?? ""}\n${routeName ?? ""}`;
    let properties = this.propertyCache.get(key);
    if (!properties) {
      properties = {};
      if (clusterName !== undefined) properties["xds.cluster_name"] = utf8.encode(clusterName);
      if (routeName !== undefined) properties["xds.route_name"] = utf8.encode(routeName);
      this.propertyCache.set(key, properties);
    }
    return properties;
  }

  get failed(): boolean {
    return this.vms.some((vm) => vm.failed);
  }

  start(worker: number, headers: HeaderPairs, clusterName: string | undefined, routeName: string | undefined): FilterStream {
    const stream = this.vms[worker]!.createStream({ properties: this.routeProperties(clusterName, routeName) });
    const status = stream.onRequestHeaders(headers, true);
    return new HostFilterStream(stream, status !== "Continue");
  }
}

class HostFilterStream implements FilterStream {
  constructor(
    private readonly stream: Stream,
    private readonly stopped: boolean,
  ) {}

  get localReplyStatus(): number | undefined {
    return this.stream.localReply?.status;
  }

  get localReplyReason(): string | undefined {
    const reply = this.stream.localReply;
    if (reply === undefined) return undefined;
    for (const [name, value] of reply.headers) if (name === REASON_HEADER) return value;
    return "";
  }

  get paused(): boolean {
    return this.stopped && this.stream.continueCount === 0 && this.stream.localReply === undefined;
  }

  header(name: string): string | undefined {
    // Pseudo-headers occur once: skip getAll's allocations on the hot path.
    if (name.charCodeAt(0) === 58 /* ':' */) return this.stream.requestHeaders.get(name);
    const values = this.stream.requestHeaders.getAll(name);
    if (values.length === 0) return undefined;
    return values.length === 1 ? values[0] : values.join(",");
  }

  routed(clusterName: string | undefined, routeName: string | undefined): void {
    if (clusterName !== undefined) this.stream.setProperty("xds.cluster_name", clusterName);
    if (routeName !== undefined) this.stream.setProperty("xds.route_name", routeName);
  }

  respond(code: number, flags: number, servedBy?: string): void {
    if (servedBy !== undefined) this.stream.setProperty(SERVED_BY_PROPERTY, servedBy);
    if (this.stream.localReply === undefined) this.stream.onResponseHeaders([[":status", String(code)]], true);
    this.stream.end({ responseCode: code, responseFlags: flags });
  }
}
