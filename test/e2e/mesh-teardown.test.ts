/**
 * A whole mesh leaves nothing behind: no network namespace, no /etc/netns
 * directory, no process, whether its run ends normally, fails, passes its
 * deadline, is signalled mid-start or after start, or is killed outright
 * (then its processes die with it and the next run's sweep removes the
 * namespaces). Each case runs e2e/mesh/run.ts in a child process on a
 * three-service chain and watches it from outside.
 *
 * Run alone: npm run test:mesh.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { expect, it } from "vitest";
import { ETC_NETNS, isAlive, listNamespaces, MOUNT_POINT_RECORD, NAMESPACE_PREFIX, sweepStaleNamespaces, waitGone } from "../../e2e/mesh/netns.js";
import { describeWithMesh } from "../support/mesh-gate.js";

const POLICY = "test/fixtures/mesh/chain.yaml";

interface Watched {
  child: ChildProcess;
  /** Pids of every app, Envoy and agent the run reported starting. */
  pids: number[];
  namespaces: string[];
  phases: string[];
  up?: { status: number; body: string };
  stderr: string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when `predicate` holds for the events seen so far. */
  until(predicate: (w: Watched) => boolean, timeoutMs?: number): Promise<void>;
}

function runMesh(...extra: string[]): Watched {
  const child = spawn(process.execPath, ["--import", "tsx", "e2e/mesh/run.ts", POLICY, ...extra], { stdio: ["ignore", "pipe", "pipe"] });
  const waiters: Array<() => void> = [];
  const w: Watched = {
    child,
    pids: [],
    namespaces: [],
    phases: [],
    stderr: "",
    exit: new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal }))),
    until(predicate, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out; phases ${w.phases.join(",")}; stderr ${w.stderr}`)), timeoutMs);
        const check = () => {
          if (predicate(w)) {
            clearTimeout(timer);
            resolve();
            return true;
          }
          return false;
        };
        if (!check()) waiters.push(() => void check());
        void w.exit.then(() => {
          if (!check()) {
            clearTimeout(timer);
            reject(new Error(`the run exited first; phases ${w.phases.join(",")}; stderr ${w.stderr}`));
          }
        });
      });
    },
  };
  let buffer = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    buffer += chunk;
    for (let at = buffer.indexOf("\n"); at >= 0; at = buffer.indexOf("\n")) {
      const event = JSON.parse(buffer.slice(0, at)) as Record<string, unknown>;
      buffer = buffer.slice(at + 1);
      if (event.kind === "namespace") w.namespaces.push(String(event.name));
      if (event.kind === "process") w.pids.push(Number(event.pid));
      if (event.kind === "phase") w.phases.push(String(event.phase));
      if (event.up) w.up = event.up as Watched["up"];
      for (const waiter of waiters) waiter();
    }
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (w.stderr += chunk));
  return w;
}

/** The /etc mount points the mesh needs, and whether each was there before these tests. */
const MOUNT_POINTS = ["/etc/envoy", "/etc/lightsub"];
const existedBefore = new Map(MOUNT_POINTS.map((p) => [p, existsSync(p)]));

const ownedBy = (pid: number) => listNamespaces().filter((n) => n.startsWith(`${NAMESPACE_PREFIX}${pid}-`));

/** Nothing of the run remains: namespaces, their /etc/netns directories, processes. */
async function expectNothingLeft(w: Watched): Promise<void> {
  expect(await waitGone(w.pids), "processes still running").toEqual([]);
  expect(ownedBy(w.child.pid!)).toEqual([]);
  expect(w.namespaces.filter((ns) => existsSync(join(ETC_NETNS, ns)))).toEqual([]);
  // With no other run going, the mount points created for the run are gone too.
  if (!listNamespaces().some((n) => n.startsWith(NAMESPACE_PREFIX))) {
    expect(MOUNT_POINTS.filter((p) => existsSync(p) !== existedBefore.get(p))).toEqual([]);
    expect(existsSync(MOUNT_POINT_RECORD)).toBe(false);
  }
}

describeWithMesh("whole-mesh teardown", () => {
  it("SIGTERM once the mesh is up removes every namespace and process", async () => {
    const w = runMesh();
    await w.until((x) => x.up !== undefined);
    expect(w.up!.status).toBe(200);
    expect(JSON.parse(w.up!.body)).toMatchObject({ instance: "edge-1", calls: { middle: { status: 200, reply: { calls: { back: { status: 200 } } } } } });
    // 4 namespaces of instances + the hub + the client; 4 apps, 4 Envoys, the agent.
    expect(ownedBy(w.child.pid!).sort()).toEqual([...w.namespaces].sort());
    expect(w.namespaces.length).toBe(6);
    expect(w.pids.length).toBe(9);
    expect(w.pids.every(isAlive)).toBe(true);
    w.child.kill("SIGTERM");
    expect(await w.exit).toEqual({ code: 143, signal: null });
    await expectNothingLeft(w);
  }, 90_000);

  it("SIGTERM while the sidecars start removes everything started so far", async () => {
    const w = runMesh();
    await w.until((x) => x.phases.includes("sidecars") && x.pids.length >= 6);
    w.child.kill("SIGTERM");
    expect((await w.exit).code).toBe(143);
    expect(w.up).toBeUndefined();
    await expectNothingLeft(w);
  }, 90_000);

  it("a run that fails after start, and one past its deadline, leave nothing behind", async () => {
    const failing = runMesh("--fail-after-up");
    expect((await failing.exit).code).toBe(1);
    expect(failing.up?.status).toBe(200);
    expect(failing.stderr).toContain("failing on purpose");
    await expectNothingLeft(failing);

    const late = runMesh("--deadline-ms", "1500");
    expect((await late.exit).code).toBe(1);
    expect(late.stderr).toContain("deadline of 1500 ms passed");
    expect(late.namespaces.length).toBeGreaterThan(0);
    await expectNothingLeft(late);
  }, 120_000);

  it("SIGKILL: the processes die with the run, and the next sweep removes its namespaces", async () => {
    const w = runMesh();
    await w.until((x) => x.up !== undefined);
    w.child.kill("SIGKILL");
    expect((await w.exit).signal).toBe("SIGKILL");
    expect(await waitGone(w.pids)).toEqual([]); // setpriv --pdeathsig
    expect(ownedBy(w.child.pid!).length).toBe(6); // nothing could remove them…
    expect(sweepStaleNamespaces()).toEqual(expect.arrayContaining(w.namespaces)); // …until the next start sweeps
    await expectNothingLeft(w);
  }, 90_000);
});
