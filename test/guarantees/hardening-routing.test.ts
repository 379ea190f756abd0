/**
 * End to end on every example: the compiled listener (Envoy's route selection
 * evaluated by envoy-model/route-table.ts: early header mutations, routes,
 * request_headers_to_remove) together with the real filter in the host,
 * configured exactly as the compiled Wasm filter entry says. What is checked
 * is where a request finally goes (the upstream cluster, or a local reply)
 * and which headers the upstream receives.
 *
 * - Spoofing: a client's x-lightsub-endpoint (another service's endpoint
 *   cluster, the aggregate cluster, one of the destination's own endpoints,
 *   garbage, many copies...) never decides where a request goes, whatever
 *   state the filter is in; each defence also holds alone (early removal
 *   without the filter's help; the filter without early removal; the route
 *   match without either).
 * - Fail modes: when the filter cannot decide (shared data unavailable or
 *   contended, the VM trapped), a failMode: open destination gets the
 *   aggregate cluster (Envoy's own balancing) and a failMode: closed one a
 *   local 503, as the policy chose.
 * - The upstream never sees the scheduling header.
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { MeshModel } from "../../compiler/model/mesh.js";
import { SCHEDULING_HEADER } from "../../schemas/wire.js";
import { Envoy, WasmResult, type CompiledModule, type SharedData, type Vm } from "../../host/index.js";
import { readClusters } from "../../envoy-model/cluster-table.js";
import { findListener } from "../../envoy-model/envoy-json.js";
import { RouteTable, type HeaderPairs, type RouteDecision } from "../../envoy-model/route-table.js";
import { readWasmFilterConfig, type WasmFilterConfig } from "../../envoy-model/wasm-filter.js";
import { RECORDS_STORE_MS, compile as compileFilter } from "../support/filter-host.js";
import { compileExample, exampleFiles, type CompiledExample } from "../support/hardening.js";

const H = SCHEDULING_HEADER;
const EPOCH_MS = 1_700_000_000_000;

type Outcome =
  | { kind: "upstream"; cluster: string; route: string; headers: HeaderPairs }
  | { kind: "local"; status: number; details: string; headers: [string, string][] }
  | { kind: "other"; decision: RouteDecision };

/** One listener of a compiled sidecar: its route table and, on outbound listeners, the filter. */
class CompiledListener {
  readonly routes: RouteTable;
  readonly wasm: WasmFilterConfig | undefined;
  envoy!: Envoy;
  vms: Vm[] = [];
  private sent = 0;

  constructor(
    bootstrap: unknown,
    readonly name: string,
    private readonly module: CompiledModule,
  ) {
    const listener = findListener(bootstrap, name);
    this.routes = RouteTable.fromListener(listener, { knownClusters: new Set(readClusters(bootstrap).keys()) });
    this.wasm = name === "inbound" ? undefined : readWasmFilterConfig(listener);
    this.restart();
  }

  /** A fresh Envoy with two workers, seeded alike every time (so runs can be compared request by request). */
  restart(): void {
    this.envoy = new Envoy({ startTimeMs: EPOCH_MS, seed: 7 });
    this.vms = [];
    this.sent = 0;
    if (!this.wasm) return;
    for (let i = 0; i < 2; i++) {
      const vm = this.envoy.createVm(this.module, { vmId: this.wasm.vmId });
      expect(vm.configure(this.wasm.pluginJson, { rootId: this.wasm.rootId, failOpen: this.wasm.failOpen })).toBe(true);
      this.vms.push(vm);
    }
  }

  /** A request as a client sends it (header names lower-cased, as Envoy's codecs do). */
  send(extra: HeaderPairs = [], options: { earlyMutations?: boolean } = {}): Outcome {
    const headers: HeaderPairs = [[":method", "GET"], [":path", `/items/${this.sent}`], [":authority", "svc"], ["x-user-id", `u${this.sent % 13}`], ...extra].map(
      ([k, v]) => [k.toLowerCase(), v],
    );
    const vm = this.vms[this.sent++ % 2];
    if (options.earlyMutations !== false) this.routes.applyEarlyMutations(headers);
    const first = this.routes.select(headers);
    if (first.kind !== "cluster") return { kind: "other", decision: first };
    if (!vm) return this.upstream(first, headers); // inbound: no filter
    const stream = vm.createStream({ properties: { "xds.cluster_name": first.cluster, "xds.route_name": first.routeName } });
    stream.onRequestHeaders(headers, true);
    if (stream.localReply) {
      const reply = stream.localReply;
      stream.end({ responseCode: reply.status });
      return { kind: "local", status: reply.status, details: reply.details, headers: reply.headers.map(([k, v]) => [k, v]) };
    }
    // Envoy (ABI 0.2.1) clears the route cache when a filter changes request headers: route again.
    const now = stream.requestHeaders;
    const decision = this.routes.selectBy((name) => (now.has(name) ? now.getAll(name).join(",") : undefined));
    stream.onResponseHeaders([[":status", "200"]], true);
    stream.end({ responseCode: 200 });
    if (decision.kind !== "cluster") return { kind: "other", decision };
    return this.upstream(decision, now.toPairs());
  }

  private upstream(decision: Extract<RouteDecision, { kind: "cluster" }>, headers: HeaderPairs): Outcome {
    return { kind: "upstream", cluster: decision.cluster, route: decision.routeName, headers: this.routes.upstreamHeaders(headers, decision) };
  }
}

interface OutboundCase {
  example: string;
  caller: string;
  callee: string;
  listener: CompiledListener;
  endpointClusters: string[];
  failMode: "open" | "closed";
  /** An endpoint cluster of another service in the same mesh (or an unknown one). */
  foreign: string;
}

function hasHeader(headers: HeaderPairs): boolean {
  return headers.some(([k]) => k.toLowerCase() === H);
}

function spoofs(c: OutboundCase): [string, HeaderPairs][] {
  const own = c.endpointClusters;
  return [
    ["another service's endpoint cluster", [[H, c.foreign]]],
    ["the aggregate cluster", [[H, c.callee]]],
    ["one of the destination's own endpoint clusters", [[H, own[own.length - 1]!]]],
    ["garbage", [[H, "../../etc/passwd; rm -rf / \u00e9\u00e8"]]],
    ["a regex naming every endpoint", [[H, own.join("|")]]],
    ["an empty value", [[H, ""]]],
    ["an 8 KiB value", [[H, own[0]!.repeat(Math.ceil(8192 / own[0]!.length))]]],
    ["many copies", Array.from({ length: 24 }, (_, i): [string, string] => [H, [c.foreign, c.callee, ...own, "junk"][i % (own.length + 3)]!])],
    ["a mixed-case header name", [["X-LightSub-Endpoint", own[own.length - 1]!]]],
  ];
}

/** What the filter decides for `n` requests without any spoofed header: the reference. */
function honestRun(c: OutboundCase, n: number): string[] {
  c.listener.restart();
  return Array.from({ length: n }, () => finalCluster(c.listener.send()));
}

function finalCluster(o: Outcome): string {
  if (o.kind !== "upstream") throw new Error(`expected an upstream request, got ${JSON.stringify(o)}`);
  expect(hasHeader(o.headers), "the upstream sees the scheduling header").toBe(false);
  return o.cluster;
}

let examples: CompiledExample[] = [];
let outbound: OutboundCase[] = [];
let inbound: { example: string; service: string; listener: CompiledListener }[] = [];

beforeAll(async () => {
  const module = await compileFilter();
  examples = await Promise.all(exampleFiles().map(compileExample));
  for (const ex of examples) {
    const model: MeshModel = ex.model;
    for (const service of model.services) {
      const bootstrap = ex.bootstraps.get(service.name);
      inbound.push({ example: ex.file, service: service.name, listener: new CompiledListener(bootstrap, "inbound", module) });
      for (const call of service.calls) {
        const callee = model.services.find((s) => s.name === call.service)!;
        const other = model.services.find((s) => s.name !== callee.name && s.endpoints.length > 0);
        outbound.push({
          example: ex.file,
          caller: service.name,
          callee: callee.name,
          listener: new CompiledListener(bootstrap, `outbound_${callee.name}`, module),
          endpointClusters: callee.endpoints.map((e) => e.cluster),
          failMode: callee.failMode,
          foreign: other ? other.endpoints[0]!.cluster : "nowhere_ep0",
        });
      }
    }
  }
}, 120_000);

describe("the examples", () => {
  it("cover both fail modes and every example file", () => {
    expect(new Set(outbound.map((c) => c.example))).toEqual(new Set(exampleFiles()));
    expect(new Set(outbound.map((c) => c.failMode))).toEqual(new Set(["open", "closed"]));
  });

  it("configure each outbound listener's filter with its destination's fail mode", () => {
    for (const c of outbound) {
      expect(c.listener.wasm!.failOpen, `${c.example} ${c.caller}→${c.callee}`).toBe(c.failMode === "open");
      expect(JSON.parse(c.listener.wasm!.pluginJson).failMode).toBe(c.failMode);
    }
  });
});

describe("spoofing the scheduling header never decides where a request goes", () => {
  const N = 24;

  it("with the compiled config and a working filter: the same choices as without the header, never the header's", () => {
    for (const c of outbound) {
      const honest = honestRun(c, N);
      for (const e of honest) expect(c.endpointClusters).toContain(e);
      for (const [name, spoof] of spoofs(c)) {
        c.listener.restart();
        const spoofed = Array.from({ length: N }, () => finalCluster(c.listener.send(spoof)));
        expect(spoofed, `${c.example} ${c.caller}→${c.callee}: ${name}`).toEqual(honest);
      }
    }
  });

  it("by the filter alone (early header removal skipped): it replaces every copy with its own choice", () => {
    for (const c of outbound) {
      const honest = honestRun(c, N);
      for (const [name, spoof] of spoofs(c)) {
        c.listener.restart();
        const spoofed = Array.from({ length: N }, () => finalCluster(c.listener.send(spoof, { earlyMutations: false })));
        expect(spoofed, `${c.example} ${c.caller}→${c.callee}: ${name}`).toEqual(honest);
      }
    }
  });

  it("by early header removal alone: with the filter failed (open), requests take the aggregate cluster", () => {
    for (const c of outbound.filter((x) => x.failMode === "open")) {
      c.listener.restart();
      for (const vm of c.listener.vms) trap(vm);
      for (const [name, spoof] of spoofs(c)) {
        const o = c.listener.send(spoof);
        expect(o.kind === "upstream" && o.route, `${c.example} ${c.caller}→${c.callee}: ${name}`).toBe(`${c.callee}/fallback`);
        expect(finalCluster(o)).toBe(c.callee);
      }
    }
  });

  it("by the route match alone: only the destination's own endpoint clusters are accepted, one value at a time", () => {
    for (const c of outbound) {
      const routes = c.listener.routes;
      const pick = (values: string[]) => routes.select([[":method", "GET"], [":path", "/"], [":authority", "svc"], ...values.map((v): [string, string] => [H, v])]);
      for (const ep of c.endpointClusters) expect(pick([ep])).toMatchObject({ kind: "cluster", routeName: `${c.callee}/scheduled`, cluster: ep });
      const rejected = [[c.foreign], [c.callee], ["garbage"], [""], [c.endpointClusters.join("|")], [`${c.callee}_ep${c.endpointClusters.length}`], [c.endpointClusters[0]!.toUpperCase()], [` ${c.endpointClusters[0]}`], c.endpointClusters.slice(0, 2).concat(c.endpointClusters[0]!)];
      for (const values of rejected) expect(pick(values), `${c.example} ${c.callee}: ${JSON.stringify(values)}`).toMatchObject({ routeName: `${c.callee}/fallback`, cluster: c.callee });
    }
  });

  it("on inbound listeners: removed before routing and never passed to the app", () => {
    for (const { example, service, listener } of inbound) {
      for (const spoof of [[[H, "x_ep0"]], [[H, "a"], [H, "b"]], [["X-Lightsub-Endpoint", "local_app"]]] as HeaderPairs[]) {
        for (const earlyMutations of [true, false]) {
          const o = listener.send(spoof, { earlyMutations });
          expect(o, `${example} ${service}`).toMatchObject({ kind: "upstream", cluster: "local_app" });
          if (o.kind === "upstream") expect(hasHeader(o.headers)).toBe(false);
        }
      }
    }
  });
});

type Fault = "shared data unavailable" | "shared data contention" | "VM trapped";

/** Makes every worker of the listener unable to decide, the way `fault` says. */
function inject(listener: CompiledListener, fault: Fault): () => void {
  if (fault === "VM trapped") {
    for (const vm of listener.vms) trap(vm);
    return () => {};
  }
  const shared: SharedData = listener.envoy.sharedData;
  const write = shared.write;
  shared.write = (vmId, key, value, cas) => {
    if (fault === "shared data unavailable") return WasmResult.InternalFailure;
    const current = shared.read(vmId, key);
    if (current) write.call(shared, vmId, key, current.value, 0); // another worker always writes first
    return write.call(shared, vmId, key, value, cas);
  };
  return () => {
    shared.write = write;
  };
}

/** A real trap inside the module: it cannot satisfy the host's allocation and aborts. */
function trap(vm: Vm): void {
  vm.invoke(vm.root("lightsub")!, "proxy_on_memory_allocate", 0xfffffff0);
  expect(vm.failState).toBe("RuntimeError");
}

const REASONS: Record<Exclude<Fault, "VM trapped">, string> = {
  "shared data unavailable": "shared-data-unavailable",
  "shared data contention": "shared-data-contention",
};

describe("when the filter cannot decide, the policy's fail mode applies", () => {
  const faults: Fault[] = ["shared data unavailable", "shared data contention", "VM trapped"];

  it.each(faults)("%s: open → the aggregate cluster (Envoy's balancing); closed → a local 503", (fault) => {
    for (const c of outbound) {
      const label = `${c.example} ${c.caller}→${c.callee} (${c.failMode})`;
      c.listener.restart();
      expect(finalCluster(c.listener.send())).toMatch(/_ep\d+$/); // healthy first
      const heal = inject(c.listener, fault);
      // A worker-local destination (round_robin, random, weighted, consistent_hash) finds the fault
      // when its tick next stores the record (filter/lightsub/records/local.ts); the others at once.
      if (fault !== "VM trapped") c.listener.envoy.advance(RECORDS_STORE_MS);
      for (const [, spoof] of [["none", []] as [string, HeaderPairs], ...spoofs(c)]) {
        const o = c.listener.send(spoof);
        if (c.failMode === "open") {
          expect(o.kind === "upstream" && o.route, label).toBe(`${c.callee}/fallback`);
          expect(finalCluster(o), label).toBe(c.callee);
        } else {
          expect(o.kind, label).toBe("local");
          if (o.kind !== "local") continue;
          expect(o.status).toBe(503);
          if (fault === "VM trapped") expect(o.details).toBe("wasm_fail_stream");
          else {
            expect(o.details).toBe("lightsub_unscheduled");
            expect(o.headers).toContainEqual(["x-lightsub-reason", REASONS[fault]]);
          }
        }
      }
      if (fault !== "VM trapped") {
        const unscheduled = c.listener.envoy.stats.get(`lightsub.service.${c.callee}.rq_unscheduled`);
        expect(unscheduled, label).toBe(spoofs(c).length + 1);
        heal();
        const o = c.listener.send([[H, c.foreign]]);
        expect(o.kind === "upstream" && o.route, `${label}: recovers`).toBe(`${c.callee}/scheduled`);
      }
    }
  });
});
