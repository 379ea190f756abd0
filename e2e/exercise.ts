/**
 * The live part of the e2e check: start the upstream servers of e2e/mesh.yaml,
 * bring the client's sidecar up, send the scenario's traffic through it, and
 * judge the outcome with the shared assertions (scenario.ts).
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { fetchPrometheus, settledPrometheus, waitReady } from "./admin.js";
import {
  assertNoProblems,
  checkLightsubMetrics,
  parseEnvoyLog,
  parsePrometheus,
  type EndpointObservation,
  type ResponseRecord,
} from "./assertions.js";
import type { CompiledMesh } from "./compile-mesh.js";
import type { Runtime } from "./runtime.js";
import { CALLER, CONCURRENCY, SCENARIO, checkOutcome, checkScenarioMatches, expectedMetrics, spoofFor } from "./scenario.js";
import { readSidecarView, type SidecarView } from "./sidecar-view.js";
import { sendBurst } from "./traffic.js";
import { startUpstream, type UpstreamServer } from "./upstream-server.js";

export interface ExerciseContext {
  /** Registers a cleanup that runs at teardown, whatever happens (also on timeout). */
  defer(cleanup: () => Promise<void>): void;
  log(line: string): void;
  /** How long Envoy may take to become ready (docker pulls the image first). */
  readyTimeoutMs: number;
  /** How long to wait for the filter's counters to catch up with the traffic (default 10 s). */
  settleTimeoutMs?: number;
}

function clientView(mesh: CompiledMesh): { view: SidecarView; config: CompiledMesh["sidecars"][number] } {
  const config = mesh.sidecars.find((s) => s.service === CALLER);
  if (!config) throw new Error(`${mesh.policy} compiled no sidecar for "${CALLER}"`);
  const view = readSidecarView(parse(readFileSync(config.file, "utf8")));
  assertNoProblems(checkScenarioMatches(view));
  return { view, config };
}

async function startUpstreams(view: SidecarView, ctx: ExerciseContext): Promise<Map<string, { service: string; server: UpstreamServer }>> {
  const servers = new Map<string, { service: string; server: UpstreamServer }>();
  for (const dest of SCENARIO) {
    const d = view.destinations.find((x) => x.service === dest.service)!;
    for (const [i, ep] of d.endpoints.entries()) {
      const server = await startUpstream({ name: ep.stat, host: ep.address, port: ep.port, ...dest.behaviours[i]! });
      ctx.defer(() => server.close());
      servers.set(`${dest.service}/${ep.stat}`, { service: dest.service, server });
    }
  }
  return servers;
}

export async function exerciseMesh(runtime: Runtime, mesh: CompiledMesh, ctx: ExerciseContext): Promise<void> {
  const { view, config } = clientView(mesh);
  const servers = await startUpstreams(view, ctx);
  ctx.log(`started ${servers.size} upstream servers; starting the "${CALLER}" sidecar`);

  await runtime.up([config]);
  await waitReady(view.adminPort, { timeoutMs: ctx.readyTimeoutMs, failure: () => runtime.failure() });
  await fetchPrometheus(view.adminPort); // the admin answers /stats/prometheus before any traffic

  const responses: ResponseRecord[] = [];
  for (const dest of SCENARIO) {
    const d = view.destinations.find((x) => x.service === dest.service)!;
    responses.push(
      ...(await sendBurst({
        service: dest.service,
        url: `http://127.0.0.1:${d.listenerPort}/`,
        requests: dest.requests,
        concurrency: CONCURRENCY,
        spoof: (i) => spoofFor(dest, view, i),
      })),
    );
  }

  const endpoints: EndpointObservation[] = [...servers.values()].map(({ service, server }) => ({
    service,
    stat: server.name,
    ...server.counts(),
  }));
  for (const e of endpoints) ctx.log(`  ${e.service} ${e.stat}: ${e.requests} requests, ${e.injectedFailures} injected failures`);

  const expected = expectedMetrics(view, endpoints);
  const prometheus = await settledPrometheus(
    view.adminPort,
    (text) => checkLightsubMetrics(parsePrometheus(text), expected).length === 0,
    ctx.settleTimeoutMs ?? 10_000,
  );
  const log = parseEnvoyLog(await runtime.logs());
  assertNoProblems(checkOutcome(view, { endpoints, responses, prometheus, log }));
}
