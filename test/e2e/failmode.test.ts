/**
 * Fail open / fail closed on Envoy 1.40 through the real filter.
 *
 * "The filter cannot decide" is, in the filter (filter/lightsub/stream.ts),
 * a pick that fails because the endpoints' shared state cannot be read
 * (reason shared-data-unavailable) or stays contended past the CAS attempts
 * (shared-data-contention). A healthy Envoy never fails those host calls on
 * request, so the filter is loaded with that one host import replaced inside
 * the module (test/support/wasm-shim.ts); the rest is the built filter.
 *
 * "The VM fails": a module that traps while handling a request, and modules
 * that cannot start at all (corrupt bytes, a trap in proxy_on_configure, a
 * plugin configuration the filter refuses), under the failure_policy the
 * compiler writes from failMode (FAIL_OPEN / FAIL_CLOSED).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REASON_HEADER, REASONS } from "../../schemas/wire.js";
import { DEFAULT_WASM } from "../../compiler/compile.js";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { startUpstream, UPSTREAM_HEADER, type UpstreamServer } from "../../e2e/upstream-server.js";
import { describeWithEnvoy } from "../support/real-envoy.js";
import { replaceHostImports } from "../support/wasm-shim.js";

const ADMIN = 26901;
const EP = [26101, 26102];

function policy(failMode: "open" | "closed"): string {
  return `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: failmode }
spec:
  sidecar: { adminPort: ${ADMIN} }
  failMode: ${failMode}
  services:
    - name: client
      port: 26080
      meshPort: 26006
      endpoints: [{ address: 127.0.0.1, port: 26006 }]
      calls: [svc]
    - name: svc
      port: 26090
      endpoints: [{ address: 127.0.0.1, port: ${EP[0]} }, { address: 127.0.0.1, port: ${EP[1]} }]
      scheduler: { strategy: round_robin }
`;
}

interface Reply {
  status: number;
  reason: string | null;
  upstream: string | null;
}

async function get(url: string): Promise<Reply> {
  const response = await fetch(url);
  await response.text();
  return { status: response.status, reason: response.headers.get(REASON_HEADER), upstream: response.headers.get(UPSTREAM_HEADER) };
}

async function getMany(sidecar: LiveSidecar, n: number): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await get(sidecar.url("svc")));
  return out;
}

/** The plugin JSON inside the bootstrap, rewritten by `edit` (tests of deliberately broken set-ups). */
function editPluginJson(bootstrap: Record<string, unknown>, edit: (plugin: Record<string, unknown>) => unknown): void {
  let edited = 0;
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (typeof node !== "object" || node === null) return;
    const record = node as Record<string, unknown>;
    const configuration = record.configuration as Record<string, unknown> | undefined;
    if (record.root_id === "lightsub" && configuration && typeof configuration.value === "string") {
      configuration.value = JSON.stringify(edit(JSON.parse(configuration.value) as Record<string, unknown>));
      edited++;
    }
    Object.values(record).forEach(visit);
  };
  visit(bootstrap);
  if (edited !== 1) throw new Error(`expected one lightsub filter, edited ${edited}`);
}

afterAll(stopAllSidecars);

describeWithEnvoy("fail modes on a real Envoy", (envoy) => {
  let dir = "";
  let upstreams: UpstreamServer[] = [];
  const variant = (name: string, replacements: Parameters<typeof replaceHostImports>[1]) => {
    const file = join(dir, `${name}.wasm`);
    replaceHostImports(DEFAULT_WASM, replacements, file);
    return file;
  };
  const served = () => upstreams.reduce((sum, u) => sum + u.counts().requests, 0);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "lightsub-failmode-"));
    upstreams = await Promise.all(EP.map((port, i) => startUpstream({ name: `ep${i}`, latencyMs: 1, failureRate: 0, port })));
  });
  afterAll(async () => {
    await Promise.all(upstreams.map((u) => u.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  describe("the filter cannot decide", () => {
    const cases = [
      { what: "shared data cannot be read", host: { proxy_get_shared_data: { returns: 10 } }, reason: REASONS.sharedDataUnavailable, casExhausted: false },
      { what: "shared data stays contended", host: { proxy_set_shared_data: { returns: 8 } }, reason: REASONS.sharedDataContention, casExhausted: true },
    ] as const;
    for (const c of cases) {
      it(`${c.what}: failMode open is served by Envoy's own balancing, closed gets 503 ${c.reason}`, async () => {
        const wasm = variant(c.reason, c.host);
        const open = await startSidecar({ envoy, policy: policy("open"), service: "client", wasm });
        try {
          const before = served();
          const replies = await getMany(open, 10);
          for (const r of replies) expect(r).toMatchObject({ status: 200, reason: null });
          expect(served() - before).toBe(10);
          // The fallback route's ROUND_ROBIN over the aggregate cluster: both endpoints serve.
          expect(new Set(replies.map((r) => r.upstream))).toEqual(new Set(["ep0", "ep1"]));
          const stats = await open.stats("lightsub.service.svc");
          expect(stats.get("wasmcustom.lightsub.service.svc.rq_unscheduled")).toBe(10);
          if (c.casExhausted) expect(stats.get("wasmcustom.lightsub.service.svc.cas_exhausted")).toBeGreaterThanOrEqual(10);
        } finally {
          await open.stop();
        }
        const closed = await startSidecar({ envoy, policy: policy("closed"), service: "client", wasm });
        try {
          const before = served();
          const replies = await getMany(closed, 10);
          for (const r of replies) expect(r).toEqual({ status: 503, reason: c.reason, upstream: null });
          expect(served() - before).toBe(0);
          expect((await closed.stats("lightsub.service.svc")).get("wasmcustom.lightsub.service.svc.rq_unscheduled")).toBe(10);
        } finally {
          await closed.stop();
        }
      }, 60_000);
    }

    it("a route cluster the plugin configuration does not name is not the filter's: the route serves it in either mode", async () => {
      // A route-scoped plugin JSON (no `"scope": "listener"`: the filter finds each
      // request's destination by its route's cluster) out of step with the routes
      // (its destination names another cluster): the filter cannot tell the request
      // is its own, so it neither steers nor rejects it (filter/lightsub/stream.ts:
      // "not ours"). The compiled, listener-scoped JSON does not look at the route.
      for (const failMode of ["open", "closed"] as const) {
        const sidecar = await startSidecar({
          envoy,
          policy: policy(failMode),
          service: "client",
          editBootstrap: (b) =>
            editPluginJson(b, (plugin) => {
              const destinations = plugin.destinations as Array<Record<string, unknown>>;
              destinations[0]!.cluster = "not_svc";
              expect(plugin.scope).toBe("listener");
              delete plugin.scope;
              return plugin;
            }),
        });
        try {
          const replies = await getMany(sidecar, 6);
          for (const r of replies) expect(r).toMatchObject({ status: 200, reason: null });
          // Not scheduled either: no endpoint counted a request once the batched counters were published (every 1 s).
          await new Promise((r) => setTimeout(r, 1_500));
          const stats = await sidecar.stats("lightsub.service.svc");
          expect(stats.get("wasmcustom.lightsub.service.svc.rq_unscheduled")).toBe(0);
          const endpointTotals = [...stats].filter(([name]) => name.includes(".endpoint.") && name.endsWith(".rq_total"));
          expect(endpointTotals.length).toBeGreaterThan(0);
          for (const [name, value] of endpointTotals) expect(value, name).toBe(0);
        } finally {
          await sidecar.stop();
        }
      }
    }, 60_000);
  });

  describe("the VM fails", () => {
    it("a trap while handling a request: FAIL_OPEN fails that request, then Envoy skips the filter; FAIL_CLOSED answers 503 from then on", async () => {
      // proxy_replace_header_map_value steers every scheduled request (the scheduling header), in
      // proxy_on_request_headers and nowhere else. (The listener's own configuration names its
      // destination, so a request reads no property before it.)
      const wasm = variant("trap-on-request", { proxy_replace_header_map_value: { trap: true } });
      // One worker: one VM handles every request, so the trap happens exactly once.
      const open = await startSidecar({ envoy, policy: policy("open"), service: "client", wasm, concurrency: 1 });
      try {
        expect(JSON.stringify(open.bootstrap)).toContain('"failure_policy":"FAIL_OPEN"');
        const before = served();
        const replies = await getMany(open, 8);
        expect(replies[0]).toEqual({ status: 503, reason: null, upstream: null });
        for (const r of replies.slice(1)) expect(r).toMatchObject({ status: 200, reason: null });
        expect(served() - before).toBe(7);
        expect(open.log()).toMatch(/proxy_on_request_headers failed: Uncaught RuntimeError: unreachable/);
      } finally {
        await open.stop();
      }
      const closed = await startSidecar({ envoy, policy: policy("closed"), service: "client", wasm, concurrency: 1 });
      try {
        expect(JSON.stringify(closed.bootstrap)).toContain('"failure_policy":"FAIL_CLOSED"');
        const before = served();
        const replies = await getMany(closed, 8);
        // Envoy's own 503 (no x-lightsub-reason: the filter is not running any more).
        for (const r of replies) expect(r).toEqual({ status: 503, reason: null, upstream: null });
        expect(served() - before).toBe(0);
      } finally {
        await closed.stop();
      }
    }, 60_000);

    const cannotStart = [
      {
        what: "a corrupt module",
        wasm: () => {
          const file = join(dir, "corrupt.wasm");
          writeFileSync(file, readFileSync(DEFAULT_WASM).subarray(0, 1000));
          return file;
        },
        edit: undefined,
        log: /Failed to parse corrupted Wasm module/,
      },
      {
        what: "a trap in proxy_on_configure",
        wasm: () => variant("trap-on-configure", { proxy_define_metric: { trap: true } }),
        edit: undefined,
        log: /proxy_on_configure failed: Uncaught RuntimeError: unreachable/,
      },
      {
        what: "a plugin configuration the filter refuses",
        wasm: () => undefined,
        edit: (b: Record<string, unknown>) => editPluginJson(b, (plugin) => ({ ...plugin, version: 99 })),
        log: /lightsub: configuration: version must be 1/,
      },
    ];
    for (const c of cannotStart) {
      it(`${c.what}: Envoy refuses the whole configuration at start-up under FAIL_OPEN and FAIL_CLOSED alike`, async () => {
        const wasm = c.wasm();
        for (const failMode of ["open", "closed"] as const) {
          const error = await startSidecar({
            envoy,
            policy: policy(failMode),
            service: "client",
            ...(wasm ? { wasm } : {}),
            ...(c.edit ? { editBootstrap: c.edit } : {}),
            readyTimeoutMs: 15_000,
          }).then(
            () => undefined,
            (e: Error) => e.message,
          );
          expect(error, `failMode ${failMode}`).toBeDefined();
          expect(error).toMatch(/envoy exited \(code 1\)/);
          expect(error).toMatch(/Plugin lightsub failed to load/);
          expect(error).toMatch(c.log);
        }
      }, 60_000);
    }
  });
});
