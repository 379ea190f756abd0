/**
 * Linux network namespaces for the whole-mesh tests (e2e/mesh/): thin,
 * synchronous wrappers around `ip` (iproute2) plus the naming rule that makes
 * teardown and the stale-namespace sweep safe while several runs coexist.
 *
 * Every namespace a run creates is named `lsb-<pid>-<what>`, where <pid> is
 * the process that owns the run. The sweep removes only namespaces whose
 * owner is dead, so one run never tears down another that is still going.
 *
 * `ip netns exec <ns>` bind-mounts each entry of /etc/netns/<ns>/ over
 * /etc/<entry> in a private mount namespace: that is how each instance gets
 * its own hosts file, /etc/envoy/envoy.yaml and /etc/lightsub/lightsub.wasm
 * (the paths docker compose mounts), without touching the compiled config.
 * The kernel can only bind over an existing path, so /etc/<entry> must exist
 * on the host (ensureMountPoint); that is the only change outside /etc/netns.
 */
import { spawnSync } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync } from "node:fs";
import { join } from "node:path";

/** Every namespace (and /etc/netns directory) of a mesh run starts with this. */
export const NAMESPACE_PREFIX = "lsb-";
export const ETC_NETNS = "/etc/netns";
/** The /etc mount points runs created (one path a line), so that the last run, or a sweep, removes them. */
export const MOUNT_POINT_RECORD = "/run/lightsub-mesh-mount-points";

const OWNED = /^lsb-(\d+)-/;

class NetnsError extends Error {}

/** Runs `ip <args>`; throws with ip's own message when it fails. */
export function ip(...args: string[]): string {
  const result = spawnSync("ip", args, { encoding: "utf8" });
  if (result.error) throw new NetnsError(`ip ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) throw new NetnsError(`ip ${args.join(" ")} failed (exit ${result.status}): ${result.stderr.trim()}`);
  return result.stdout;
}

/** The namespace name of `what` in the run owned by `pid`. */
export function namespaceName(pid: number, what: string): string {
  return `${NAMESPACE_PREFIX}${pid}-${what}`;
}

/** The pid that owns a namespace named by namespaceName, or undefined for another name. */
function namespaceOwner(name: string): number | undefined {
  const m = OWNED.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** Names of all network namespaces (`ip netns list`). */
export function listNamespaces(): string[] {
  return ip("netns", "list")
    .split("\n")
    .map((line) => line.trim().split(/\s+/)[0] ?? "")
    .filter((name) => name !== "");
}

/** Pids of every process whose network namespace is `name` (`ip netns pids`); [] when it is gone. */
function namespacePids(name: string): number[] {
  const result = spawnSync("ip", ["netns", "pids", name], { encoding: "utf8" });
  if (result.status !== 0) return [];
  return result.stdout
    .split("\n")
    .map((s) => Number(s.trim()))
    .filter((pid) => Number.isInteger(pid) && pid > 0);
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Waits up to `timeoutMs` for the processes to be gone (a killed child is reaped a moment later); returns those still alive. */
export async function waitGone(pids: readonly number[], timeoutMs = 5_000): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  return pids.filter(isAlive);
}

/**
 * Removes one namespace completely: SIGKILLs every process still in it, deletes
 * it and its /etc/netns directory. Never throws (it runs in teardown paths);
 * returns what went wrong, if anything.
 */
export function destroyNamespace(name: string): string | undefined {
  for (const pid of namespacePids(name)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  let problem: string | undefined;
  const result = spawnSync("ip", ["netns", "delete", name], { encoding: "utf8" });
  if (result.status !== 0 && !/No such file/.test(result.stderr)) problem = `ip netns delete ${name}: ${result.stderr.trim()}`;
  try {
    rmSync(join(ETC_NETNS, name), { recursive: true, force: true });
  } catch (error) {
    problem ??= `rm ${join(ETC_NETNS, name)}: ${(error as Error).message}`;
  }
  return problem;
}

/**
 * Removes the namespaces (and /etc/netns directories) of runs whose owner
 * process is dead: what a run killed with SIGKILL, or a crashed host, left
 * behind. Returns the names removed.
 */
export function sweepStaleNamespaces(): string[] {
  const stale = new Set<string>();
  for (const name of listNamespaces()) {
    const owner = namespaceOwner(name);
    if (owner !== undefined && !isAlive(owner)) stale.add(name);
  }
  if (existsSync(ETC_NETNS)) {
    for (const name of readdirSync(ETC_NETNS)) {
      const owner = namespaceOwner(name);
      if (owner !== undefined && !isAlive(owner)) stale.add(name);
    }
  }
  for (const name of stale) destroyNamespace(name);
  removeEmptyDir(ETC_NETNS);
  removeUnusedMountPoints();
  return [...stale];
}

/** True when some live run (not `exceptPid`) still has namespaces. */
function otherRunsAlive(exceptPid: number): boolean {
  return listNamespaces().some((name) => {
    const owner = namespaceOwner(name);
    return owner !== undefined && owner !== exceptPid && isAlive(owner);
  });
}

/**
 * Makes the directory /etc/<entry> exist so `ip netns exec` can bind
 * /etc/netns/<ns>/<entry> over it. One it creates is recorded in
 * MOUNT_POINT_RECORD and removed by removeUnusedMountPoints.
 */
export function ensureMountPoint(entry: string): void {
  const path = join("/etc", entry);
  if (existsSync(path)) return;
  appendFileSync(MOUNT_POINT_RECORD, `${path}\n`); // recorded first: a crash right after still gets it removed
  mkdirSync(path);
}

/**
 * Once no run has a namespace any more, removes the (empty) mount points runs
 * created. Mount points are shared by all runs, so the last one out, or the
 * sweep after a killed run, does it.
 */
export function removeUnusedMountPoints(): void {
  if (!existsSync(MOUNT_POINT_RECORD)) return;
  if (listNamespaces().some((n) => n.startsWith(NAMESPACE_PREFIX))) return;
  for (const path of new Set(readFileSync(MOUNT_POINT_RECORD, "utf8").split("\n").filter((p) => p.startsWith("/etc/")))) removeEmptyDir(path);
  rmSync(MOUNT_POINT_RECORD, { force: true });
}

export function removeEmptyDir(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // not empty or not there: leave it
  }
}

/** Whether this process can create network namespaces (root and iproute2); the reason when not. */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "network namespaces need root";
  const probe = namespaceName(process.pid, "probe");
  try {
    ip("netns", "add", probe);
  } catch (error) {
    return (error as Error).message;
  }
  destroyNamespace(probe);
  const setpriv = spawnSync("setpriv", ["--version"], { encoding: "utf8" });
  if (setpriv.status !== 0) return "setpriv (util-linux) is missing";
  return undefined;
}
