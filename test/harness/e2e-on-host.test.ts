/**
 * The e2e scenario (e2e/scenario.ts) on the Node proxy-wasm host instead of
 * Envoy: the same compiled client sidecar (plugin JSON and stats_tags read
 * from its envoy.yaml, the .wasm the compiler copied), the same endpoint
 * behaviours, traffic and spoofing, judged by the same `checkOutcome`. This is
 * where the e2e assertion code runs on every `npm test`, with no Envoy.
 *
 * What Envoy itself does around the filter is emulated here, in the order of
 * docs/design.md: early header mutation drops a client's x-lightsub-endpoint
 * before the filter; the route then sends to the endpoint the filter named
 * (or, when it names none, to the aggregate cluster: Envoy's own balancing,
 * here a plain rotation); request_headers_to_remove keeps the header from the
 * upstream. Time is virtual, with CONCURRENCY requests in flight spread over
 * two worker VMs, like the live run's `--concurrency 2`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { EndpointObservation, ResponseRecord } from "../../e2e/assertions.js";
import { compileMesh, type CompiledMesh } from "../../e2e/compile-mesh.js";
import { ENVOY_CONCURRENCY } from "../../e2e/envoy-binary.js";
import { execProcess } from "../../e2e/exec.js";
import { CONCURRENCY, SCENARIO, checkOutcome, checkScenarioMatches, spoofFor, type Outcome } from "../../e2e/scenario.js";
import { readSidecarView, type SidecarView } from "../../e2e/sidecar-view.js";
import { Envoy, type Stream, type Vm } from "../../host/index.js";
import { INJECTED_FAILURE_HEADER, SCHEDULING_HEADER, UPSTREAM_HEADER } from "../../e2e/upstream-server.js";

const MESH_POLICY = join(import.meta.dirname, "..", "..", "e2e", "mesh.yaml");
const PASSTHROUGH_WASM = join(import.meta.dirname, "..", "..", "build", "passthrough.wasm");

let workDir: string;
let mesh: CompiledMesh;
let view: SidecarView;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lightsub-e2e-host-"));
  mesh = await compileMesh(execProcess, MESH_POLICY, join(workDir, "mesh"));
  const client = mesh.sidecars.find((s) => s.service === "client")!;
  view = readSidecarView(parse(readFileSync(client.file, "utf8")));
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface InFlight {
  stream: Stream;
  endsAt: number;
  service: string;
  stat: string | undefined;
  status: number;
  injected: boolean;
  spoofed: string | undefined;
}

/** Drives the scenario's traffic through `vms` (one Envoy process); returns the Outcome the live run would observe. */
function runOnHost(envoy: Envoy, vms: Vm[], sidecar: SidecarView): Outcome {
  const observations = new Map<string, EndpointObservation>();
  const responses: ResponseRecord[] = [];
  let nativeLbTurn = 0;
  let streamCount = 0;

  for (const dest of SCENARIO) {
    const d = sidecar.destinations.find((x) => x.service === dest.service)!;
    for (const ep of d.endpoints) {
      observations.set(ep.stat, { service: dest.service, stat: ep.stat, requests: 0, injectedFailures: 0, schedulingHeaderSeen: 0 });
    }
    const inFlight: InFlight[] = [];
    let next = 0;

    const finish = (f: InFlight) => {
      if (f.stat !== undefined) {
        const status = String(f.status);
        const headers: [string, string][] = [[":status", status], [UPSTREAM_HEADER, f.stat]];
        if (f.injected) headers.push([INJECTED_FAILURE_HEADER, "1"]);
        f.stream.onResponseHeaders(headers, true);
      }
      f.stream.end({ responseCode: f.status });
      responses.push({
        service: f.service,
        status: f.status,
        injected: f.injected,
        ...(f.stat !== undefined ? { upstream: f.stat } : {}),
        ...(f.spoofed !== undefined ? { spoofed: f.spoofed } : {}),
      });
    };

    while (next < dest.requests || inFlight.length > 0) {
      while (next < dest.requests && inFlight.length < CONCURRENCY) {
        const i = next++;
        const spoofed = spoofFor(dest, sidecar, i);
        const vm = vms[streamCount++ % vms.length]!;
        const stream = vm.createStream({ properties: { "xds.cluster_name": dest.service } });
        const sent: [string, string][] = [[":method", "GET"], [":path", "/"], [":authority", `127.0.0.1:${d.listenerPort}`], ["x-e2e-request", String(i)]];
        if (spoofed !== undefined) sent.push([SCHEDULING_HEADER, spoofed]);
        // Envoy's early header mutation: the filter never sees a client's scheduling header.
        stream.onRequestHeaders(sent.filter(([name]) => name !== SCHEDULING_HEADER), true);
        if (stream.localReply) {
          inFlight.push({ stream, endsAt: envoy.nowMs(), service: dest.service, stat: undefined, status: stream.localReply.status, injected: false, spoofed });
          continue;
        }
        const chosen = stream.requestHeaders.get(SCHEDULING_HEADER);
        let index = d.endpoints.findIndex((ep) => ep.cluster === chosen);
        if (index < 0) index = nativeLbTurn++ % d.endpoints.length; // no (valid) header: route 2, Envoy's own balancing
        const ep = d.endpoints[index]!;
        const behaviour = dest.behaviours[index]!;
        const seen = observations.get(ep.stat)!;
        seen.requests++;
        // deterministic failures: every (1/rate)-th request of this endpoint
        const fail = behaviour.failureRate > 0 && seen.requests % Math.max(1, Math.round(1 / behaviour.failureRate)) === 0;
        if (fail) seen.injectedFailures++;
        inFlight.push({ stream, endsAt: envoy.nowMs() + behaviour.latencyMs, service: dest.service, stat: ep.stat, status: fail ? 503 : 200, injected: fail, spoofed });
      }
      inFlight.sort((a, b) => a.endsAt - b.endsAt);
      const first = inFlight.shift()!;
      if (first.endsAt > envoy.nowMs()) envoy.advance(first.endsAt - envoy.nowMs());
      finish(first);
    }
  }

  envoy.advance(1000); // the filter publishes its batched counters on its tick (docs/design.md, "Metrics")
  return {
    endpoints: [...observations.values()],
    responses,
    prometheus: envoy.stats.prometheus(sidecar.statsTags),
    log: envoy.logs.map((l) => ({ level: l.level, message: l.message })),
  };
}

async function hostWithFilter(wasm: Uint8Array): Promise<{ envoy: Envoy; vms: Vm[] }> {
  const module = await Envoy.compile(wasm);
  const envoy = new Envoy({ startTimeMs: Date.UTC(2025, 0, 1) });
  const vms = Array.from({ length: ENVOY_CONCURRENCY }, () => envoy.createVm(module, { vmId: "lightsub" }));
  return { envoy, vms };
}

describe("the e2e scenario on the Node host", () => {
  it("the compiled e2e mesh has the shape the scenario drives", () => {
    expect(checkScenarioMatches(view)).toEqual([]);
    expect(view.adminPort).toBe(17901);
    expect(view.destinations.map((d) => [d.service, d.listenerPort, d.endpoints.map((e) => `${e.address}:${e.port}`)])).toEqual([
      ["slow", 17090, ["127.0.0.1:17101", "127.0.0.1:17102"]],
      ["flaky", 17091, ["127.0.0.1:17103", "127.0.0.1:17104"]],
    ]);
  });

  it("passes every check of the live run with the real filter", async () => {
    const wasm = readFileSync(mesh.sidecars[0]!.wasmFile);
    const { envoy, vms } = await hostWithFilter(wasm);
    for (const vm of vms) expect(vm.configure(view.pluginJson, { rootId: "lightsub" })).toBe(true);
    const outcome = runOnHost(envoy, vms, view);
    expect(checkOutcome(view, outcome)).toEqual([]);
    // the run was not vacuous: every planned request was answered and counted
    expect(outcome.responses).toHaveLength(SCENARIO.reduce((n, d) => n + d.requests, 0));
    expect(outcome.prometheus).toMatch(/^lightsub_rq_total\{service="slow",endpoint="127_0_0_1_17101"\} [1-9]\d*$/m);
  });

  it("fails the same checks for a filter that does not schedule (the pass-through filter)", async () => {
    const { envoy, vms } = await hostWithFilter(readFileSync(PASSTHROUGH_WASM));
    for (const vm of vms) vm.configure(view.pluginJson, { rootId: "lightsub" });
    const problems = checkOutcome(view, runOnHost(envoy, vms, view));
    expect(problems.some((p) => /^slow \(least_latency\): 127_0_0_1_17102 got 50\.0%/.test(p))).toBe(true);
    expect(problems.some((p) => /^flaky \(availability\): 127_0_0_1_17104 got 50\.0%/.test(p))).toBe(true);
    expect(problems.some((p) => /lightsub_rq_total\{service="slow",endpoint="127_0_0_1_17101"\} is missing/.test(p))).toBe(true);
  });
});
