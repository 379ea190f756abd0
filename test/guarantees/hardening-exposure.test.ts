/**
 * What the generated configs expose, for every example (examples/**\/*.yaml),
 * read from the YAML the compiler writes:
 * - Envoy's admin interface listens on 127.0.0.1 only;
 * - no listener beyond what the policy asks for: the inbound listener on the
 *   service's mesh port and one 127.0.0.1 listener per called service; no
 *   other socket address anywhere but the clusters' upstream endpoints;
 * - docker compose publishes no port to the host and shares no host network;
 * - the scheduling header is removed before routing and never reaches an
 *   upstream, on every route of every listener.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { SCHEDULING_HEADER } from "../../schemas/wire.js";
import { readClusters } from "../../envoy-model/cluster-table.js";
import { arrayField, field, httpConnectionManager, isObject, stringField, type Json } from "../../envoy-model/envoy-json.js";
import { RouteTable, type HeaderPairs } from "../../envoy-model/route-table.js";
import { compileExample, exampleFiles, type CompiledExample } from "../support/hardening.js";

const H = SCHEDULING_HEADER;
/** Top-level bootstrap sections the compiler may write. A new one must be checked for sockets it opens, then added here. */
const BOOTSTRAP_SECTIONS = ["node", "admin", "stats_config", "static_resources"];

let examples: CompiledExample[] = [];
beforeAll(async () => {
  examples = await Promise.all(exampleFiles().map(compileExample));
}, 120_000);

/** Every `socket_address` in a JSON tree, with the path where it sits. */
function socketAddresses(node: Json, path: string[] = []): { path: string; address: string; port: number }[] {
  if (Array.isArray(node)) return node.flatMap((x, i) => socketAddresses(x, [...path, String(i)]));
  if (!isObject(node)) return [];
  const out: { path: string; address: string; port: number }[] = [];
  for (const [key, value] of Object.entries(node)) {
    if (key === "socket_address" && isObject(value)) {
      out.push({ path: path.join("."), address: String(value.address), port: Number(value.port_value) });
    } else out.push(...socketAddresses(value, [...path, key]));
  }
  return out;
}

function forEachSidecar(check: (ex: CompiledExample, service: CompiledExample["model"]["services"][number], bootstrap: Json) => void): void {
  expect(examples.map((e) => e.file)).toEqual(exampleFiles());
  for (const ex of examples) for (const service of ex.model.services) check(ex, service, ex.bootstraps.get(service.name));
}

describe("every example's sidecars", () => {
  it("bind admin to 127.0.0.1 only, on the policy's admin port", () => {
    forEachSidecar((ex, _service, b) => {
      expect(field(b, "admin"), ex.file).toEqual({ address: { socket_address: { address: "127.0.0.1", port_value: ex.model.sidecar.adminPort } } });
    });
  });

  it("open exactly the listeners the policy asks for, on the addresses it implies", () => {
    forEachSidecar((ex, service, b) => {
      const listeners = arrayField(field(b, "static_resources"), "listeners").map((l) => ({
        name: stringField(l, "name"),
        keys: Object.keys(l as object).sort(),
        address: field(field(l, "address"), "socket_address"),
      }));
      const expected = [
        { name: "inbound", address: { address: "0.0.0.0", port_value: service.meshPort } },
        ...service.calls.map((c) => ({ name: `outbound_${c.service}`, address: { address: "127.0.0.1", port_value: c.port } })),
      ];
      expect(listeners.map(({ name, address }) => ({ name, address })), `${ex.file} ${service.name}`).toEqual(expected);
      // No extra addresses, no socket options that change what is bound. An mTLS inbound listener that
      // also takes plaintext (spec.security permissive, public services) sniffs TLS, and nothing else.
      for (const l of listeners) expect(l.keys.filter((k) => k !== "listener_filters")).toEqual(["address", "filter_chains", "name", "traffic_direction"]);
      for (const l of arrayField(field(b, "static_resources"), "listeners")) {
        const filters = (l as { listener_filters?: Array<{ name: string }> }).listener_filters;
        if (filters !== undefined) expect(filters.map((f) => f.name)).toEqual(["envoy.filters.listener.tls_inspector"]);
      }
    });
  });

  it("name no socket address outside admin, those listeners and the clusters' upstream endpoints", () => {
    forEachSidecar((ex, service, b) => {
      expect(Object.keys(b as object).filter((k) => !BOOTSTRAP_SECTIONS.includes(k)), ex.file).toEqual([]);
      expect(Object.keys(field(b, "static_resources") as object).sort()).toEqual(["clusters", "listeners"]);
      for (const s of socketAddresses(b)) {
        const allowed = s.path === "admin.address" || /^static_resources\.listeners\.\d+\.address$/.test(s.path) ||
          /^static_resources\.clusters\.\d+\.load_assignment\.endpoints\.\d+\.lb_endpoints\.\d+\.endpoint\.address$/.test(s.path);
        expect(allowed, `${ex.file} ${service.name}: ${s.path} ${s.address}:${s.port}`).toBe(true);
      }
    });
  });

  it("publish no port and share no host network under docker compose", () => {
    for (const ex of examples) {
      if (ex.compose === undefined) continue;
      const services = field(ex.compose, "services") as Record<string, Json>;
      for (const [name, svc] of Object.entries(services)) {
        const forbidden = ["ports", "expose", "ipc", "pid", "privileged", "cap_add"];
        expect(Object.keys(svc as object).filter((k) => forbidden.includes(k)), `${ex.file} ${name}`).toEqual([]);
        const mode = stringField(svc, "network_mode");
        if (mode !== undefined) expect(mode, `${ex.file} ${name}`).toMatch(/^service:[a-z0-9-]+$/);
      }
    }
  });
});

describe("the scheduling header, on every listener of every example", () => {
  it("is removed by every HTTP connection manager before routing", () => {
    forEachSidecar((ex, service, b) => {
      for (const l of arrayField(field(b, "static_resources"), "listeners")) {
        const routes = RouteTable.fromListener(l);
        expect(routes.earlyRemovals, `${ex.file} ${service.name} ${stringField(l, "name")}`).toContain(H);
        const headers: HeaderPairs = [[":path", "/"], [":authority", "x"], [H, "a"], ["other", "1"], [H, "b"]];
        expect(routes.applyEarlyMutations(headers).map(([k]) => k)).toEqual([":path", ":authority", "other"]);
      }
    });
  });

  it("never reaches an upstream, whichever route a request takes (every route is taken)", () => {
    forEachSidecar((ex, service, b) => {
      const known = new Set(readClusters(b).keys());
      for (const l of arrayField(field(b, "static_resources"), "listeners")) {
        const routes = RouteTable.fromListener(l, { knownClusters: known });
        const routeNames = arrayField(field(httpConnectionManager(l), "route_config"), "virtual_hosts").flatMap((vh) =>
          arrayField(vh, "routes").map((r) => stringField(r, "name")),
        );
        // Header values a request could carry when the router sees it: none, the filter's choice, anything else.
        const values: (string[] | undefined)[] = [undefined, ["garbage"], ["a", "b"], ...[...known].map((c) => [c])];
        const taken = new Set<string>();
        for (const v of values) {
          const headers: HeaderPairs = [[":method", "GET"], [":path", "/x"], [":authority", "svc"], ...(v ?? []).map((x): [string, string] => [H, x])];
          const decision = routes.select(headers);
          if (decision.kind !== "cluster") continue;
          taken.add(decision.routeName);
          expect(routes.upstreamHeaders(headers, decision).some(([k]) => k === H), `${ex.file} ${service.name} ${decision.routeName}`).toBe(false);
        }
        expect([...taken].sort(), `${ex.file} ${service.name} ${stringField(l, "name")}`).toEqual([...routeNames].sort());
      }
    });
  });
});
