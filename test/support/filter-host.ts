/**
 * Helpers for the filter tests (test/filter/, test/guarantees/): load build/lightsub.wasm
 * into the Node proxy-wasm host with several worker VMs, build plugin
 * configurations (docs/design.md, "Plugin configuration"), and drive requests.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Envoy, SharedData, type CompiledModule, type Stream, type Vm, type WasmResultCode } from "../../host/index.js";

export const ROOT_DIR = fileURLToPath(new URL("../..", import.meta.url));
export const LIGHTSUB_WASM = fileURLToPath(new URL("../../build/lightsub.wasm", import.meta.url));
export const PASSTHROUGH_WASM = fileURLToPath(new URL("../../build/passthrough.wasm", import.meta.url));
export const HEADER = "x-lightsub-endpoint";
/**
 * The filter batches its per-endpoint counters and gauges per worker and
 * publishes them at least this often (docs/design.md, "Metrics"; the root's
 * tick period without admission).
 */
export const METRICS_FLUSH_MS = 1000;
/**
 * Worker-local destinations (round_robin, random, weighted, consistent_hash
 * without admission) keep successful claims and releases in the worker and
 * store them in the shared record on the root's tick, this often
 * (filter/lightsub/records/local.ts STORE_INTERVAL_MS); failures are stored at once.
 */
export const RECORDS_STORE_MS = 100;

/** The built module's bytes; builds the filter once if build/ has none. */
export function wasmBytes(path: string): Uint8Array {
  if (!existsSync(path)) {
    execFileSync("npm", ["run", "--silent", "build:filter"], { cwd: ROOT_DIR, stdio: "ignore" });
  }
  return readFileSync(path);
}

const compiled = new Map<string, Promise<CompiledModule>>();

export function compile(path: string = LIGHTSUB_WASM): Promise<CompiledModule> {
  let m = compiled.get(path);
  if (!m) {
    m = Envoy.compile(wasmBytes(path));
    compiled.set(path, m);
  }
  return m;
}

export interface EndpointSpec {
  cluster: string;
  stat: string;
  weight?: number;
}

export interface DestinationSpec {
  service: string;
  cluster: string;
  strategy: string;
  endpoints: EndpointSpec[];
  [option: string]: unknown;
}

/** `n` endpoints of service `service`: clusters `<service>_ep<i>`, stats `<service>-<i>_9090`. */
export function endpoints(service: string, n: number, weights?: number[]): EndpointSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    cluster: `${service}_ep${i}`,
    stat: `${service}-${i}_9090`,
    weight: weights?.[i] ?? 1,
  }));
}

export function destination(service: string, strategy: string, n: number, extra: Record<string, unknown> = {}): DestinationSpec {
  return { service, cluster: service, strategy, endpoints: endpoints(service, n), ...extra };
}

export function pluginConfig(destinations: DestinationSpec[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: 1, service: "frontend", header: HEADER, failMode: "open", destinations, ...extra };
}

/**
 * SharedData that counts the filter's reads (proxy_get_shared_data) and
 * writes (proxy_set_shared_data), and can refuse writes (failWrites: the
 * WasmResult code every write returns, e.g. 8 CasMismatch; undefined: none).
 */
export class CountingSharedData extends SharedData {
  reads = 0;
  writes = 0;
  failWrites: WasmResultCode | undefined;

  override read(vmId: string, key: string) {
    this.reads++;
    return super.read(vmId, key);
  }

  override write(vmId: string, key: string, value: Uint8Array, cas: number): WasmResultCode {
    this.writes++;
    if (this.failWrites !== undefined) return this.failWrites;
    return super.write(vmId, key, value, cas);
  }
}

/** One Envoy process with `workers` VMs (same vm_id, so they share data), all configured alike. */
export class Sidecar {
  readonly envoy: Envoy;
  readonly vms: Vm[] = [];
  /** The Envoy's shared data, counting host calls. */
  readonly shared: CountingSharedData;
  private next = 0;

  constructor(module: CompiledModule, config: unknown, workers = 2, startTimeMs = 1_700_000_000_000) {
    let envoy: Envoy | undefined;
    this.shared = new CountingSharedData(() => envoy?.vms[0]?.vmId ?? "");
    envoy = new Envoy({ startTimeMs, sharedData: this.shared });
    this.envoy = envoy;
    for (let i = 0; i < workers; i++) {
      const vm = this.envoy.createVm(module, { vmId: "lightsub" });
      if (!vm.configure(JSON.stringify(config), { rootId: "lightsub" })) {
        throw new Error(`configure failed: ${JSON.stringify(this.envoy.logs)}`);
      }
      this.vms.push(vm);
    }
  }

  static async start(config: unknown, workers = 2, startTimeMs?: number): Promise<Sidecar> {
    return new Sidecar(await compile(), config, workers, startTimeMs);
  }

  /** Reconfigures every worker (Envoy pushing a new plugin configuration). */
  reconfigure(config: unknown): void {
    for (const vm of this.vms) {
      if (!vm.configure(JSON.stringify(config), { rootId: "lightsub" })) {
        throw new Error(`reconfigure failed: ${JSON.stringify(this.envoy.logs)}`);
      }
    }
  }

  /**
   * Configures root `rootId` on every worker: another listener's plugin in the
   * same VMs (Envoy gives each distinct plugin configuration its own root
   * context, host/README.md), or that root again (a new configuration for it).
   * Streams then use the last configured root unless `request` names one.
   */
  configureRoot(rootId: string, config: unknown): void {
    for (const vm of this.vms) {
      if (!vm.configure(JSON.stringify(config), { rootId, name: "lightsub" })) {
        throw new Error(`configure ${rootId} failed: ${JSON.stringify(this.envoy.logs)}`);
      }
    }
  }

  /** Next worker, round robin (like connections spread over Envoy's workers). */
  nextVm(): Vm {
    const vm = this.vms[this.next % this.vms.length]!;
    this.next++;
    return vm;
  }

  /**
   * A request routed to `cluster` (the route's xds.cluster_name) through request headers;
   * `rootId`: through that root's plugin (configureRoot), else the last configured one.
   */
  request(cluster: string | undefined, extraHeaders: [string, string][] = [], path = "/items", vm: Vm = this.nextVm(), rootId?: string): Stream {
    const s = vm.createStream({
      ...(cluster === undefined ? {} : { properties: { "xds.cluster_name": cluster } }),
      ...(rootId === undefined ? {} : { rootId }),
    });
    s.onRequestHeaders([[":method", "GET"], [":path", path], [":authority", "svc"], ...extraHeaders], true);
    return s;
  }

  /** Ends a stream with an upstream response `code` (0: none) and Envoy response flags. */
  finish(s: Stream, code: number, flags = 0): void {
    if (code > 0 && !s.localReply) s.onResponseHeaders([[":status", String(code)]], true);
    s.end({ responseCode: code, responseFlags: flags });
  }

  /** Lets every worker's tick fire once, so the batched counters and gauges reach the stats store. */
  publishStats(): void {
    this.envoy.advance(METRICS_FLUSH_MS);
  }

  /** Lets every worker's tick fire once, so worker-local claims and releases reach the shared records. */
  storeRecords(): void {
    this.envoy.advance(RECORDS_STORE_MS);
  }

  stat(name: string): number | undefined {
    return this.envoy.stats.get(name);
  }

  /** Shared in-flight count of an endpoint cluster (the filter's record: i32 at offset 4). */
  sharedInFlight(endpointCluster: string): number {
    const v = this.envoy.sharedData.get(`lightsub/v1/${endpointCluster}`, "lightsub");
    if (!v) throw new Error(`no shared record for ${endpointCluster}`);
    return new DataView(v.value.buffer, v.value.byteOffset, v.value.byteLength).getInt32(4, true);
  }

  /** Log lines the plugin itself wrote (they start with "lightsub:"). */
  pluginLogs(): { vm: number; level: string; message: string }[] {
    return this.envoy.logs.filter((l) => l.message.startsWith("lightsub:"));
  }
}

/** The scheduling header values the filter left on a request. */
export function chosen(s: Stream): string[] {
  return s.requestHeaders.getAll(HEADER);
}

export function endpointMetric(service: string, stat: string, metric: string): string {
  return `lightsub.service.${service}.endpoint.${stat}.${metric}`;
}

/** Counts of each value in a list. */
export function tally(values: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}
