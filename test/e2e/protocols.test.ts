/**
 * `protocol: http2` and `protocol: grpc` services on Envoy 1.40 through the
 * real filter: HTTP/2 (h2c) upstreams, a real gRPC server and client
 * (@grpc/grpc-js), gRPC status propagation and the gRPC health check
 * (grpc.health.v1, served by grpc-health-check) the compiler emits for
 * `connector.healthCheck` on a grpc service.
 */
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startSidecar, stopAllSidecars, type LiveSidecar } from "../../e2e/live/sidecar.js";
import { startUpstream, UPSTREAM_HEADER, type UpstreamServer } from "../../e2e/upstream-server.js";
import { describeWithEnvoy } from "../support/real-envoy.js";

const GRPC_PORTS = [26311, 26312];
/** Second ports of the same gRPC servers (two services may not share an endpoint address). */
const GRPC_RETRY_PORTS = [26313, 26314];
const H2_PORTS = [26301, 26302];

const policy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: protocols }
spec:
  sidecar: { adminPort: 26931 }
  services:
    - name: client
      port: 26380
      meshPort: 26306
      endpoints: [{ address: 127.0.0.1, port: 26306 }]
      calls: [search, users, users-retry]
    - name: search
      port: 26390
      protocol: http2
      endpoints: [{ address: 127.0.0.1, port: ${H2_PORTS[0]} }, { address: 127.0.0.1, port: ${H2_PORTS[1]} }]
      scheduler: { strategy: round_robin }
      connector:
        healthCheck: { path: /ready, interval: 300ms, timeout: 250ms, unhealthyThreshold: 1, healthyThreshold: 1 }
    - name: users
      port: 26391
      protocol: grpc
      endpoints: [{ address: 127.0.0.1, port: ${GRPC_PORTS[0]} }, { address: 127.0.0.1, port: ${GRPC_PORTS[1]} }]
      scheduler: { strategy: round_robin }
      connector:
        timeout: 5s
        healthCheck: { interval: 300ms, timeout: 250ms, unhealthyThreshold: 1, healthyThreshold: 1 }
    # The same gRPC servers on their second ports, called with retries on the gRPC status UNAVAILABLE.
    - name: users-retry
      port: 26392
      protocol: grpc
      endpoints: [{ address: 127.0.0.1, port: ${GRPC_RETRY_PORTS[0]} }, { address: 127.0.0.1, port: ${GRPC_RETRY_PORTS[1]} }]
      connector: { timeout: 5s, retries: { attempts: 2, on: [unavailable] } }
`;

// A unary echo service with JSON messages: grpc-js takes any serializer, so
// the test needs no .proto file.
interface EchoRequest {
  n: number;
  /** Answer with this gRPC status code instead of OK. */
  fail?: number;
}
interface EchoReply {
  n: number;
  server: string;
}
const json = {
  serialize: (value: unknown) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString("utf8")) as unknown,
};
const echoService = {
  call: {
    path: "/lightsub.test.Echo/Call",
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize as (bytes: Buffer) => EchoRequest,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize as (bytes: Buffer) => EchoReply,
  },
} satisfies grpc.ServiceDefinition;
const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

interface GrpcEndpoint {
  name: string;
  port: number;
  server: grpc.Server;
  health: HealthImplementation;
  calls: number;
}

async function startGrpcEndpoint(name: string, port: number, secondPort: number): Promise<GrpcEndpoint> {
  const server = new grpc.Server();
  const endpoint: GrpcEndpoint = { name, port, server, health: new HealthImplementation({ "": "SERVING" }), calls: 0 };
  server.addService(echoService, {
    call: (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, callback: grpc.sendUnaryData<EchoReply>) => {
      endpoint.calls++;
      if (call.request.fail !== undefined) {
        callback({ code: call.request.fail, details: `refused by ${name}` });
        return;
      }
      callback(null, { n: call.request.n, server: name });
    },
  });
  endpoint.health.addToServer(server);
  for (const p of [port, secondPort]) {
    await new Promise<void>((resolve, reject) =>
      server.bindAsync(`127.0.0.1:${p}`, grpc.ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())),
    );
  }
  return endpoint;
}

function unary(client: grpc.Client, request: EchoRequest): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    (client as unknown as Record<string, Function>).call!(request, { deadline: Date.now() + 5_000 }, (error: grpc.ServiceError | null, reply: EchoReply) =>
      error ? reject(error) : resolve(reply),
    );
  });
}

/**
 * Envoy's active health-check verdict on each host of the sidecar's clusters
 * whose port is `port`, at priority 0 (an endpoint cluster's failover copies
 * of the other endpoints, at priority 1, are not actively checked there:
 * docs/design.md "Failover").
 */
async function hcFailed(sidecar: LiveSidecar, port: number): Promise<boolean[]> {
  const body = JSON.parse(await sidecar.admin("/clusters?format=json", "GET")) as {
    cluster_statuses: Array<{
      name: string;
      host_statuses?: Array<{ address: { socket_address: { port_value: number } }; priority?: number; health_status: Record<string, unknown> }>;
    }>;
  };
  return body.cluster_statuses
    .flatMap((c) => c.host_statuses ?? [])
    .filter((h) => h.address.socket_address.port_value === port && (h.priority ?? 0) === 0)
    .map((h) => h.health_status.failed_active_health_check === true);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

afterAll(stopAllSidecars);

describeWithEnvoy("HTTP/2 and gRPC upstreams on a real Envoy", (envoy) => {
  let sidecar: LiveSidecar;
  let h2: UpstreamServer[] = [];
  let grpcEndpoints: GrpcEndpoint[] = [];
  let client: grpc.Client;
  let retryClient: grpc.Client;
  /** h2c endpoint names whose /ready answers 503. */
  const notReady = new Set<string>();
  const isCall = (path: string) => path !== "/ready";

  beforeAll(async () => {
    h2 = await Promise.all(
      H2_PORTS.map((port, i) =>
        startUpstream({
          name: `h2-${i}`,
          latencyMs: 1,
          failureRate: 0,
          port,
          protocol: "h2c",
          respond: (r) => (r.path === "/ready" && notReady.has(`h2-${i}`) ? { status: 503 } : undefined),
        }),
      ),
    );
    grpcEndpoints = await Promise.all(GRPC_PORTS.map((port, i) => startGrpcEndpoint(`grpc-${i}`, port, GRPC_RETRY_PORTS[i]!)));
    sidecar = await startSidecar({ envoy, policy, service: "client" });
    // Hosts of health-checked clusters count as healthy once a check passed.
    for (const p of [...GRPC_PORTS, ...H2_PORTS]) await until(`${p} healthy`, async () => (await hcFailed(sidecar, p)).every((f) => !f));
    const port = (service: string) => sidecar.view.destinations.find((d) => d.service === service)!.listenerPort;
    client = new EchoClient(`127.0.0.1:${port("users")}`, grpc.credentials.createInsecure());
    retryClient = new EchoClient(`127.0.0.1:${port("users-retry")}`, grpc.credentials.createInsecure());
  }, 60_000);

  afterAll(async () => {
    client?.close();
    retryClient?.close();
    await sidecar?.stop();
    await Promise.all(h2.map((u) => u.close()));
    for (const e of grpcEndpoints) e.server.forceShutdown();
  });

  it("protocol http2: an HTTP/1.1 caller's requests reach h2c upstreams over HTTP/2, spread round robin", async () => {
    const seen: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      const response = await fetch(sidecar.url("search", `/q/${i}`));
      expect(response.status).toBe(200);
      const who = response.headers.get(UPSTREAM_HEADER)!;
      seen[who] = (seen[who] ?? 0) + 1;
      await response.text();
    }
    expect(seen).toEqual({ "h2-0": 10, "h2-1": 10 });
    const requests = h2.flatMap((u) => u.seen());
    expect(requests.filter((r) => isCall(r.path))).toHaveLength(20);
    // Calls and Envoy's HTTP health checks (codec HTTP2) alike.
    for (const r of requests) expect(r.httpVersion).toBe("2.0");
    expect(requests.some((r) => !isCall(r.path))).toBe(true);
    // The scheduling header never leaves the sidecar, whatever the protocol.
    for (const u of h2) expect(u.counts().schedulingHeaderSeen).toBe(0);
  }, 30_000);

  it("protocol http2 health check: a 503 on the path marks the host failed, a 200 restores it", async () => {
    const [ok, sick] = [h2[0]!, h2[1]!];
    notReady.add(sick.name);
    try {
      await until("the h2c endpoint marked failed", async () => (await hcFailed(sidecar, sick.port)).every((f) => f));
      expect((await hcFailed(sidecar, ok.port)).every((f) => !f)).toBe(true);
    } finally {
      notReady.delete(sick.name);
    }
    await until("the h2c endpoint healthy again", async () => (await hcFailed(sidecar, sick.port)).every((f) => !f));
  }, 30_000);

  describe("protocol grpc", () => {
    it("unary calls through the sidecar are spread round robin over the gRPC servers", async () => {
      const before = grpcEndpoints.map((e) => e.calls);
      const replies = [];
      for (let n = 0; n < 20; n++) replies.push(await unary(client, { n }));
      expect(replies.map((r) => r.n)).toEqual([...Array(20).keys()]);
      const byServer = replies.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.server]: (acc[r.server] ?? 0) + 1 }), {});
      expect(byServer).toEqual({ "grpc-0": 10, "grpc-1": 10 });
      expect(grpcEndpoints.map((e, i) => e.calls - before[i]!)).toEqual([10, 10]);
    }, 30_000);

    it("a gRPC error status and message propagate to the caller unchanged", async () => {
      for (const code of [grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED, grpc.status.RESOURCE_EXHAUSTED]) {
        const error = await unary(client, { n: 1, fail: code }).then(
          () => undefined,
          (e: grpc.ServiceError) => e,
        );
        expect(error?.code).toBe(code);
        expect(error?.details).toMatch(/^refused by grpc-[01]$/);
      }
    }, 30_000);

    it("retries on [unavailable]: a call answered UNAVAILABLE is tried 3 times; another status is not retried", async () => {
      const calls = () => grpcEndpoints.reduce((sum, e) => sum + e.calls, 0);
      let before = calls();
      const unavailable = await unary(retryClient, { n: 1, fail: grpc.status.UNAVAILABLE }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(unavailable?.code).toBe(grpc.status.UNAVAILABLE);
      expect(unavailable?.details).toMatch(/^refused by grpc-[01]$/); // the last try's own status, not Envoy's
      expect(calls() - before).toBe(3);
      before = calls();
      const notFound = await unary(retryClient, { n: 2, fail: grpc.status.NOT_FOUND }).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      expect(notFound?.code).toBe(grpc.status.NOT_FOUND);
      expect(calls() - before).toBe(1);
    }, 30_000);

    it("the gRPC health check: a server answering NOT_SERVING is marked failed by Envoy, and healthy again once SERVING", async () => {
      const [healthy, sick] = grpcEndpoints as [GrpcEndpoint, GrpcEndpoint];
      // The aggregate cluster and the endpoint's own endpoint cluster check it (failover copies elsewhere are not checked).
      expect((await hcFailed(sidecar, sick.port)).length).toBeGreaterThan(0);
      sick.health.setStatus("", "NOT_SERVING");
      try {
        await until("the NOT_SERVING endpoint marked failed", async () => (await hcFailed(sidecar, sick.port)).every((f) => f));
        expect((await hcFailed(sidecar, healthy.port)).every((f) => !f)).toBe(true);
      } finally {
        sick.health.setStatus("", "SERVING");
      }
      // Back within a few 300 ms intervals, traffic or not: the compiler sets
      // no_traffic_interval to the interval (Envoy's default would be 60 s).
      const back = performance.now();
      await until("the endpoint healthy again", async () => (await hcFailed(sidecar, sick.port)).every((f) => !f));
      expect(performance.now() - back).toBeLessThan(5_000);
      const checks = [...(await sidecar.stats("health_check.success"))]
        .filter(([name]) => name.startsWith("cluster."))
        .reduce((sum, [, v]) => sum + v, 0);
      expect(checks).toBeGreaterThan(0);
    }, 30_000);
  });
});
