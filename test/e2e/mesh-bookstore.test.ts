/**
 * examples/bookstore.yaml, unchanged, as a whole mesh on Envoy 1.40: every
 * one of its 15 sidecars in its own network namespace, run as its
 * docker-compose.yaml runs it (e2e/mesh/). Requests enter at frontend's
 * inbound listener from a client namespace and cross frontend's sidecar, the
 * callee's and, for cart → inventory and reviews → ratings, a third.
 *
 * Run alone: npm run test:mesh.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { startMesh, stopAllMeshes, type Mesh } from "../../e2e/mesh/mesh.js";
import { listNamespaces, namespaceName, waitGone } from "../../e2e/mesh/netns.js";
import { appDelta, checkMetricsPresent, settledAgreement, snapshot } from "../../e2e/mesh/observe.js";
import { SCHEDULING_HEADER, SPOOF_INSTRUCTION_HEADER, type AppReply } from "../../e2e/mesh/protocol.js";
import { ENVOY_CONFIG_IN_CONTAINER } from "../../compiler/compose/compose.js";
import { describeWithMesh } from "../support/mesh-gate.js";

const POLICY = "examples/bookstore.yaml";
const FANOUT = ["catalog", "cart", "search", "reviews"];

interface Sent {
  session: string;
  status: number;
  reply?: AppReply;
}

/** `count` requests through the edge, `inFlight` at a time, sessions s0…s(sessions-1) in turn. */
async function drive(mesh: Mesh, count: number, headers: Record<string, string> = {}, sessions = 12, inFlight = 4): Promise<Sent[]> {
  const sent: Sent[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const session = `s${next++ % sessions}`;
      const answer = await mesh.request(mesh.edgeUrl("/"), { headers: { ...headers, cookie: `session=${session}` } });
      let reply: AppReply | undefined;
      try {
        reply = JSON.parse(answer.body) as AppReply;
      } catch {
        reply = undefined;
      }
      sent.push({ session, status: answer.status, ...(reply ? { reply } : {}) });
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return sent;
}

/** Instance that answered `service` in each reply, following the call chain (e.g. ["cart", "inventory"]). */
function answeredBy(sent: readonly Sent[], chain: string[]): string[] {
  return sent.map((s) => {
    let reply: AppReply | undefined = s.reply;
    for (const service of chain) reply = reply?.calls[service]?.reply;
    return reply?.instance ?? "(none)";
  });
}

function tally(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

const share = (t: Record<string, number>, name: string) => (t[name] ?? 0) / Object.values(t).reduce((a, b) => a + b, 0);

describeWithMesh("bookstore mesh in network namespaces", (envoy) => {
  let mesh: Mesh;
  /** session → cart instance, from the first traffic (consistent_hash on the session cookie). */
  const cartOfSession = new Map<string, string>();

  beforeAll(async () => {
    mesh = await startMesh({ envoy, policyFile: POLICY, deadlineMs: 100_000 });
  }, 120_000);
  afterAll(async () => {
    const pids = mesh?.pids() ?? [];
    await mesh?.stop();
    stopAllMeshes(); // a start that outlived beforeAll's timeout
    // Nothing of the mesh is left: no namespace of this process, no process.
    expect(listNamespaces().filter((n) => n.startsWith(namespaceName(process.pid, "")))).toEqual([]);
    expect(await waitGone(pids)).toEqual([]);
  }, 30_000);

  it("runs every sidecar of the compose file, each in its namespace with compose's names and mounts", async () => {
    expect(mesh.instances.map((i) => i.name).sort()).toEqual(
      ["frontend", "catalog-1", "catalog-2", "cart-1", "cart-2", "cart-3", "search-1", "search-2", "reviews-1", "reviews-2", "ratings-1", "ratings-2", "ratings-3", "inventory-1", "inventory-2"].sort(),
    );
    expect(new Set(mesh.instances.map((i) => i.namespace)).size).toBe(15);
    expect(mesh.instances.map((i) => i.mounts.get(ENVOY_CONFIG_IN_CONTAINER))).not.toContain(undefined);
    // extra_hosts: called services are this namespace's loopback; instances resolve to their own namespaces.
    expect(await mesh.resolve("frontend", "cart")).toBe("127.0.0.1");
    expect(await mesh.resolve("cart-2", "inventory")).toBe("127.0.0.1");
    expect(await mesh.resolve("frontend", "cart-2")).toBe(mesh.instance("cart-2").address);
    expect(await mesh.resolve("cart-2", "inventory-1")).toBe(mesh.instance("inventory-1").address);
    expect(await mesh.resolve("inventory-1", "cart")).toMatch(/^error/);
    // Envoy runs the compiled file as mounted: the filter from /etc/lightsub, as compose mounts it.
    const dump = await mesh.admin("frontend", "/config_dump");
    expect(dump.body).toContain('"filename": "/etc/lightsub/lightsub.wasm"');
    expect(mesh.pids().length).toBe(31); // 15 apps, 15 Envoys, the client agent
    // catalog (grpc) is health-checked by frontend's sidecar through its own sidecar: the h2c app said SERVING.
    for (const name of ["catalog-1", "catalog-2"]) expect((await mesh.counts(name)).healthChecks, name).toBeGreaterThan(0);
    const clusters = (await mesh.admin("frontend", "/clusters")).body;
    expect(clusters).toMatch(/^catalog_ep0::.*::health_flags::healthy$/m);
    expect(clusters).toMatch(/^catalog_ep1::.*::health_flags::healthy$/m);
  });

  it("serves requests from the edge through two and three sidecars, and the metrics equal what the apps counted", async () => {
    const before = await snapshot(mesh);
    const sent = await drive(mesh, 48);
    expect(sent.map((s) => s.status)).toEqual(Array(48).fill(200));
    for (const s of sent) {
      for (const service of FANOUT) expect(s.reply?.calls[service]?.status, `${service} in ${JSON.stringify(s.reply)}`).toBe(200);
      expect(s.reply?.calls.cart?.reply?.calls.inventory?.status).toBe(200);
      expect(s.reply?.calls.reviews?.reply?.calls.ratings?.status).toBe(200);
    }
    const carts = answeredBy(sent, ["cart"]);
    sent.forEach((s, i) => {
      const known = cartOfSession.get(s.session);
      if (known === undefined) cartOfSession.set(s.session, carts[i]!);
      else expect(carts[i], `session ${s.session}`).toBe(known); // consistent_hash: a session stays on its cart
    });
    expect(new Set(cartOfSession.values()).size).toBeGreaterThan(1);
    const catalogs = tally(answeredBy(sent, ["catalog"]));
    expect(share(catalogs, "catalog-1")).toBeGreaterThanOrEqual(0.6); // weighted 3:1
    expect(share(catalogs, "catalog-1")).toBeLessThanOrEqual(0.9);
    const inventories = tally(answeredBy(sent, ["cart", "inventory"]));
    expect(Object.keys(inventories).sort()).toEqual(["inventory-1", "inventory-2"]);

    const { after, agreement } = await settledAgreement(mesh, before);
    expect(agreement.problems).toEqual([]);
    expect(checkMetricsPresent(mesh, after)).toEqual([]);
    // The apps' counts are the replies' counts: every request reached exactly the app that answered it.
    const answered = tally(
      [["catalog"], ["cart"], ["search"], ["reviews"], ["cart", "inventory"], ["reviews", "ratings"]].flatMap((chain) => answeredBy(sent, chain)),
    );
    for (const inst of mesh.instances.filter((i) => i.service !== "frontend")) {
      expect(appDelta(before, after, inst.name, "requests"), inst.name).toBe(answered[inst.name] ?? 0);
    }
    expect(appDelta(before, after, "frontend", "requests")).toBe(48);
  }, 90_000);

  it("never lets a client-sent x-lightsub-endpoint steer, and no app ever sees it", async () => {
    const before = await snapshot(mesh);
    const spoof = "catalog=catalog_ep1,cart=cart_ep2,search=search_ep1,reviews=reviews_ep1,ratings=ratings_ep2,inventory=inventory_ep1";
    const sent = await drive(mesh, 48, { [SCHEDULING_HEADER]: "frontend_ep0", [SPOOF_INSTRUCTION_HEADER]: spoof });
    expect(sent.map((s) => s.status)).toEqual(Array(48).fill(200));
    const { after, agreement } = await settledAgreement(mesh, before);
    expect(agreement.problems).toEqual([]);
    // The apps did send the header on every call they made…
    expect(appDelta(before, after, "frontend", "spoofSent")).toBe(48 * FANOUT.length);
    const sum = (service: string, field: "spoofSent" | "requests") => mesh.instancesOf(service).reduce((n, i) => n + appDelta(before, after, i.name, field), 0);
    expect(sum("cart", "spoofSent")).toBe(48);
    expect(sum("reviews", "spoofSent")).toBe(48);
    // …and no app, at any hop, ever received it.
    for (const inst of mesh.instances) expect(after.apps.get(inst.name)!.schedulingHeaderSeen, inst.name).toBe(0);
    // Scheduling went on as if there were no header: sessions keep their cart; the targets get their usual share.
    answeredBy(sent, ["cart"]).forEach((cart, i) => expect(cart, sent[i]!.session).toBe(cartOfSession.get(sent[i]!.session)));
    expect(share(tally(answeredBy(sent, ["catalog"])), "catalog-2")).toBeLessThanOrEqual(0.5); // weighted 1 of 4
    expect(share(tally(answeredBy(sent, ["cart", "inventory"])), "inventory-2")).toBeLessThanOrEqual(0.75); // round robin: half
    expect(share(tally(answeredBy(sent, ["reviews", "ratings"])), "ratings-3")).toBeLessThanOrEqual(0.75);
    expect(share(tally(answeredBy(sent, ["reviews"])), "reviews-2")).toBeLessThan(1);
    expect(share(tally(answeredBy(sent, ["search"])), "search-2")).toBeLessThan(1);
  }, 90_000);

  it("follows the latency and failures each app is set to, and counts the failures where they happened", async () => {
    await mesh.setBehaviour("inventory-2", { failureRate: 0.5 });
    await mesh.setBehaviour("ratings-3", { latencyMs: 150 });
    try {
      const before = await snapshot(mesh);
      const sent = await drive(mesh, 60);
      expect(sent.map((s) => s.status)).toEqual(Array(60).fill(200));
      const { after, agreement } = await settledAgreement(mesh, before);
      expect(agreement.problems).toEqual([]);
      // inventory has no retries: each injected failure reached cart's app as a 503, and lightsub and Envoy counted it.
      const injected = appDelta(before, after, "inventory-2", "injectedFailures");
      expect(injected).toBe(Math.floor(appDelta(before, after, "inventory-2", "requests") * 0.5));
      expect(injected).toBeGreaterThan(0);
      expect(sent.filter((s) => s.reply?.calls.cart?.reply?.calls.inventory?.status === 503).length).toBe(injected);
      // least_latency (reviews → ratings) keeps most requests off the slow instance.
      expect(share(tally(answeredBy(sent, ["reviews", "ratings"])), "ratings-3")).toBeLessThanOrEqual(0.25);
    } finally {
      await mesh.setBehaviour("inventory-2", { failureRate: 0 });
      await mesh.setBehaviour("ratings-3", { latencyMs: 0 });
    }
  }, 90_000);
});
