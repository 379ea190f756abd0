/** compiler/compose/compose.ts and emit/compose-yaml.ts: docker compose for a mesh, stock images only. */
import { describe, expect, it } from "vitest";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import { ComposeConflictError, composeConflicts, composeFile } from "../../compiler/compose/compose.js";
import type { Node } from "../support/envoy-nav.js";
import { fiveServiceModel, mesh, twoServiceModel } from "../support/models.js";

describe("compose file", () => {
  const model = fiveServiceModel();
  const file = composeFile(model) as Node;
  const services: Record<string, Node> = file.services;

  it("names the project after the mesh and puts every instance on one network", () => {
    expect(file.name).toBe("bookstore");
    expect(Object.keys(file.networks)).toEqual(["mesh"]);
  });

  it("runs one app and one sidecar per endpoint of a service with an image", () => {
    const search = model.services.find((s) => s.name === "search")!;
    for (const ep of search.endpoints) {
      const app = services[ep.address];
      const sidecar = services[`${ep.address}-sidecar`];
      expect(app.image).toBe(search.image);
      expect(app.hostname).toBe(ep.address);
      expect(sidecar.network_mode).toBe(`service:${ep.address}`);
      expect(sidecar.networks).toBeUndefined(); // joins the app's namespace
      expect(sidecar.hostname).toBeUndefined();
      expect(sidecar.extra_hosts).toBeUndefined(); // Docker refuses extra_hosts with network_mode service:
    }
  });

  it("lets the sidecar own the namespace under the endpoint hostname when there is no app image", () => {
    const orders = model.services.find((s) => s.name === "orders")!;
    expect(orders.image).toBeUndefined();
    for (const ep of orders.endpoints) {
      const own = services[ep.address];
      expect(own.image).toBe(model.sidecar.image);
      expect(own.hostname).toBe(ep.address);
      expect(own.networks).toEqual({ mesh: {} });
      expect(own.labels["lightsub.app"]).toBe(`run the app with network_mode: service:${ep.address}`);
      expect(services[`${ep.address}-sidecar`]).toBeUndefined();
    }
  });

  it("uses only the pinned official Envoy image and the apps' images, never a build", () => {
    const images = new Set([model.sidecar.image, ...model.services.flatMap((s) => (s.image ? [s.image] : []))]);
    for (const [name, svc] of Object.entries(services)) {
      expect(images.has(svc.image), name).toBe(true);
      expect(svc.build, name).toBeUndefined();
    }
    expect(model.sidecar.image).toMatch(/^envoyproxy\/envoy:v\d+\.\d+\.\d+$/);
  });

  it("mounts each service's own config and the filter read-only into every sidecar", () => {
    const configs = new Set([...sidecarBootstraps(model).keys()].map((s) => `./${s}/envoy.yaml`));
    for (const [name, svc] of Object.entries(services)) {
      if (svc.image !== model.sidecar.image) continue;
      const service = svc.labels["lightsub.service"];
      expect(svc.volumes, name).toEqual([
        `./${service}/envoy.yaml:/etc/envoy/envoy.yaml:ro`,
        `./lightsub.wasm:${model.sidecar.wasmPath}:ro`,
      ]);
      expect(configs.has(`./${service}/envoy.yaml`)).toBe(true);
    }
  });

  it("maps every called service to 127.0.0.1 in the namespace owner, and documents ports in labels", () => {
    const gateway = services["gateway-1"];
    expect(gateway.extra_hosts).toEqual(["users:127.0.0.1", "search:127.0.0.1", "cart:127.0.0.1"]);
    expect(gateway.labels).toMatchObject({
      "lightsub.service": "gateway",
      "lightsub.app-port": "8000",
      "lightsub.mesh-port": "15006",
      "lightsub.admin": "127.0.0.1:9902",
      "lightsub.outbound": "users=127.0.0.1:50051,search=127.0.0.1:9200,cart=127.0.0.1:8081",
    });
    expect(services["search-a"].labels["lightsub.mesh-port"]).toBe("15010");
    for (const svc of Object.values(services)) expect(svc.ports).toBeUndefined(); // nothing published
  });

  it("gives IPv4-literal endpoints their address on a subnet that holds them", () => {
    expect(services["users-0"].networks).toEqual({ mesh: { ipv4_address: "172.20.0.11" } });
    expect(services["users-1"].networks).toEqual({ mesh: { ipv4_address: "172.20.0.12" } });
    expect(file.networks.mesh).toEqual({ driver: "bridge", ipam: { config: [{ subnet: "172.20.0.0/24" }] } });
    const wide = composeFile(
      mesh("wide", [{ name: "a", port: 80, endpoints: [{ address: "10.1.2.3", port: 15006 }, { address: "10.9.0.1", port: 15006 }] }]),
    ) as Node;
    expect(wide.networks.mesh.ipam.config[0].subnet).toBe("10.0.0.0/12");
    expect((composeFile(twoServiceModel()) as Node).networks.mesh.ipam.config[0].subnet).toBe("10.0.0.0/24");
  });

  it("runs a sidecar for a service without endpoints (a pure caller)", () => {
    const m = mesh("edge", [
      { name: "edge", port: 8080, endpoints: [], calls: ["api"] },
      { name: "api", port: 9000, endpoints: [{ address: "api-1", port: 15006 }] },
    ]);
    const f = composeFile(m) as Node;
    expect(Object.keys(f.services)).toEqual(["edge", "api-1"]);
    expect(f.services.edge.extra_hosts).toEqual(["api:127.0.0.1"]);
    expect(f.networks.mesh.ipam).toBeUndefined();
  });

  it("is deterministic", () => {
    expect(JSON.stringify(composeFile(fiveServiceModel()))).toBe(JSON.stringify(file));
  });
});

describe("compose conflicts", () => {
  it("refuses a caller that maps a name to 127.0.0.1 which is also the hostname it dials", () => {
    const m = mesh("clash", [
      { name: "web", port: 8080, endpoints: [{ address: "web-1", port: 15006 }], calls: ["api"] },
      { name: "api", port: 9000, endpoints: [{ address: "api", port: 15006 }] },
    ]);
    expect(composeConflicts(m)).toEqual([
      {
        kind: "loopback",
        message:
          'endpoint api:15006 of service "api" is dialed by "web", which also calls a service named "api": compose maps that name to 127.0.0.1 there, so the sidecar would dial itself; give the endpoint another hostname (e.g. "api-1")',
        service: 1,
        endpoint: 0,
      },
    ]);
    expect(() => composeFile(m)).toThrow(ComposeConflictError);
  });

  it("refuses two instances with the same container name", () => {
    const m = mesh("dup", [
      { name: "a", port: 80, endpoints: [{ address: "box", port: 15006 }] },
      { name: "b", port: 81, endpoints: [{ address: "box", port: 15007 }] },
    ]);
    expect(composeConflicts(m)).toEqual([{ kind: "container-name", message: 'container name "box" is used by service "a" and service "b"', service: 1, endpoint: 0 }]);
  });

  it("refuses IPv6 endpoints and IPv4 endpoints that fit no /8", () => {
    const m = mesh("v6", [
      { name: "a", port: 80, endpoints: [{ address: "fd00::1", port: 15006 }] },
      { name: "b", port: 80, endpoints: [{ address: "10.0.0.1", port: 15006 }, { address: "11.0.0.1", port: 15006 }] },
    ]);
    const problems = composeConflicts(m);
    expect(problems.map(({ kind, service, endpoint }) => ({ kind, service, endpoint }))).toEqual([
      { kind: "ipv6", service: 0, endpoint: 0 },
      { kind: "ipv4-subnet", service: 1, endpoint: 1 },
    ]);
    expect(problems[0]!.message).toMatch(/IPv6 endpoint fd00::1/);
    expect(problems[1]!.message).toMatch(/do not fit in one \/8/);
  });

  it("finds none in the test models", () => {
    expect(composeConflicts(twoServiceModel())).toEqual([]);
    expect(composeConflicts(fiveServiceModel())).toEqual([]);
  });
});
