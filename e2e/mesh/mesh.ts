/**
 * A whole lightsub mesh on one machine, run the way its docker-compose.yaml
 * runs it, with the compiled configs unchanged (e2e/mesh/README.md).
 *
 * startMesh compiles a policy with the real compiler (`compileToDirectory`,
 * i.e. `lightsub compile --out`), reads the docker-compose.yaml it wrote and,
 * for every compose instance, makes what compose would: a network namespace
 * (`ip netns`) on a bridge, with the instance's hostname and every other
 * instance's resolving through that namespace's own hosts file, the called
 * services mapped to 127.0.0.1 (compose's extra_hosts), the volumes at the
 * same paths (/etc/envoy/envoy.yaml, /etc/lightsub/lightsub.wasm: through
 * /etc/netns/<ns>/, see netns.ts), the app (app.ts) on the app port and Envoy
 * started as the official image starts it: `envoy -c /etc/envoy/envoy.yaml`
 * (plus `--disable-hot-restart`: containers have a /dev/shm each, these
 * processes share one). The test process reaches the mesh only through a
 * client agent (agent.ts) in a client namespace on the same bridge.
 *
 * Teardown: every namespace, process and directory is registered before it
 * is created; stop(), a failed start, SIGINT/SIGTERM/SIGHUP and process exit
 * all remove everything; every child runs under `setpriv --pdeathsig KILL`,
 * so even a SIGKILLed test process takes its Envoys and apps with it, and the
 * next start sweeps the namespaces such a run left (sweepStaleNamespaces).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, copyFileSync, cpSync, mkdirSync, statSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { COMPOSE_FILE_NAME, compileToDirectory, DEFAULT_WASM } from "../../compiler/compile.js";
import { ENVOY_CONFIG_IN_CONTAINER } from "../../compiler/compose/compose.js";
import { parsePrometheus, type PromSample } from "../assertions.js";
import { readSidecarView, type SidecarView } from "../sidecar-view.js";
import {
  destroyNamespace,
  ensureMountPoint,
  ETC_NETNS,
  ip,
  namespaceName,
  removeEmptyDir,
  removeUnusedMountPoints,
  sweepStaleNamespaces,
} from "./netns.js";
import type { AgentRequest, AgentResponse, AppBehaviour, AppConfig, AppCounts } from "./protocol.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "../..");
const BRIDGE = "lsb0";
const DEFAULT_SUBNET = "10.231.0.0/24";
const CONTROL_PORT = 15999;

export interface MeshOptions {
  envoy: string;
  /** The policy file, compiled as `lightsub compile <file> --out <dir>` would. */
  policyFile: string;
  /** The filter compile ships (default build/lightsub.wasm). */
  wasm?: string;
  /** The instance whose sidecar's inbound listener takes the client's requests (default: the first instance of the one service nobody calls). */
  edge?: string;
  /** Give up starting after this long (default 150 s); everything started is torn down. */
  deadlineMs?: number;
  /** Progress lines (namespaces made, processes started), e.g. for e2e/mesh/run.ts. */
  onEvent?: (event: MeshEvent) => void;
  /**
   * Runs after the compile, before anything reads docker-compose.yaml: e.g.
   * `lightsub certs` into `<outDir>/../<mesh>-certs`, where the compose file
   * of an mTLS mesh mounts each sidecar's certificates from.
   */
  prepare?: (outDir: string) => void | Promise<void>;
}

export type MeshEvent =
  | { kind: "namespace"; name: string }
  | { kind: "process"; what: "app" | "envoy" | "agent"; instance: string; pid: number }
  | { kind: "phase"; phase: string };

export interface MeshInstance {
  /** Container name and hostname in docker-compose.yaml (an endpoint address). */
  name: string;
  service: string;
  namespace: string;
  /** Its address on the mesh bridge. */
  address: string;
  appPort: number;
  meshPort: number;
  adminPort: number;
  controlPort: number;
  protocol: "http1" | "h2c";
  calls: Array<{ service: string; port: number }>;
  /** Files mounted into the instance: container path → file on the host (staged under /etc/netns/<ns>/). */
  mounts: Map<string, string>;
  /** The Envoy bootstrap this sidecar runs, parsed; its destinations when it calls others. */
  bootstrap: Record<string, unknown>;
  view?: SidecarView;
}

export interface Mesh {
  readonly instances: readonly MeshInstance[];
  readonly edge: MeshInstance;
  /** The compile output (configs, docker-compose.yaml, lightsub.wasm). */
  readonly outDir: string;
  readonly namespaces: readonly string[];
  /** Pids of every process the mesh runs (apps, Envoys, the agent). */
  pids(): number[];
  instance(name: string): MeshInstance;
  instancesOf(service: string): MeshInstance[];
  /** A request from the client namespace. */
  request(url: string, init?: Omit<AgentRequest, "id" | "url">): Promise<AgentResponse>;
  /** http://<edge hostname>:<meshPort><path>: the edge sidecar's inbound listener. */
  edgeUrl(path?: string): string;
  counts(instance: string): Promise<AppCounts>;
  setBehaviour(instance: string, behaviour: Partial<AppBehaviour>): Promise<void>;
  /** What a name resolves to inside the instance's namespace (its hosts file). */
  resolve(instance: string, name: string): Promise<string>;
  admin(instance: string, path: string, method?: "GET" | "POST"): Promise<AgentResponse>;
  prometheus(instance: string): Promise<PromSample[]>;
  /** The sidecar's counters and gauges (GET /stats?format=json). */
  stats(instance: string, filter?: string): Promise<Map<string, number>>;
  /** Envoy's log of one instance so far. */
  envoyLog(instance: string): string;
  /** Where a mounted file or directory of an instance is staged on the host (what the instance sees at `containerPath`). */
  mountedPath(instance: string, containerPath: string): string;
  stop(): Promise<void>;
}

// ------------------------------------------------------------------ teardown registry

interface Run {
  children: Set<ChildProcess>;
  namespaces: string[];
  workDir: string;
  done: boolean;
}

const liveRuns = new Set<Run>();
let runCounter = 0;
const SIGNALS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
const SIGNAL_CODES: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

function onSignal(signal: NodeJS.Signals): void {
  for (const run of [...liveRuns]) teardownSync(run);
  process.exit(128 + (SIGNAL_CODES[signal] ?? 0));
}
function onExit(): void {
  for (const run of [...liveRuns]) teardownSync(run);
}

function register(run: Run): void {
  if (liveRuns.size === 0) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on("exit", onExit);
  }
  liveRuns.add(run);
}

/**
 * Tears down every mesh of this process at once, including one still
 * starting (its startMesh then fails): the afterAll safety net.
 */
export function stopAllMeshes(): void {
  for (const run of [...liveRuns]) teardownSync(run);
}

/** Removes everything of a run at once, synchronously (it also runs in signal and exit handlers). */
function teardownSync(run: Run): string[] {
  if (run.done) return [];
  run.done = true;
  const problems: string[] = [];
  for (const child of run.children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  // The hub (bridge) last; destroyNamespace also kills whatever else still runs in a namespace.
  for (const ns of [...run.namespaces].reverse()) {
    const problem = destroyNamespace(ns);
    if (problem) problems.push(problem);
  }
  removeEmptyDir(ETC_NETNS);
  removeUnusedMountPoints();
  if (!process.env.LIGHTSUB_KEEP_MESH) rmSync(run.workDir, { recursive: true, force: true });
  liveRuns.delete(run);
  if (liveRuns.size === 0) {
    for (const s of SIGNALS) process.off(s, onSignal);
    process.off("exit", onExit);
  }
  return problems;
}

// ------------------------------------------------------------------ compose file → instances

interface ComposeService {
  image?: string;
  hostname?: string;
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string } | null>;
  network_mode?: string;
  extra_hosts?: string[];
  labels?: Record<string, string>;
}

interface PlannedInstance {
  name: string;
  service: string;
  ipv4?: string;
  extraHosts: Array<[string, string]>;
  labels: Record<string, string>;
  volumes: Array<{ source: string; target: string }>;
}

/** The instances docker compose would run: one network namespace each, with the sidecar's volumes. */
export function planFromCompose(composeText: string, composeDir: string): { instances: PlannedInstance[]; subnet?: string } {
  const compose = parse(composeText) as { services?: Record<string, ComposeService>; networks?: Record<string, { ipam?: { config?: Array<{ subnet?: string }> } }> };
  const services = compose.services ?? {};
  const owners = new Map<string, PlannedInstance>();
  const volumesOf = (s: ComposeService) =>
    (s.volumes ?? []).map((v) => {
      const [source, target] = v.split(":");
      if (!source || !target) throw new Error(`docker-compose.yaml: volume "${v}" is not source:target`);
      return { source: isAbsolute(source) ? source : resolve(composeDir, source), target };
    });
  for (const [name, s] of Object.entries(services)) {
    if (s.network_mode) continue;
    const ipv4 = Object.values(s.networks ?? {}).find((n) => n?.ipv4_address)?.ipv4_address;
    const labels = s.labels ?? {};
    owners.set(name, {
      name: s.hostname ?? name,
      service: labels["lightsub.service"] ?? name,
      ...(ipv4 ? { ipv4 } : {}),
      extraHosts: (s.extra_hosts ?? []).map((h) => {
        const at = h.indexOf(":");
        return [h.slice(0, at), h.slice(at + 1)] as [string, string];
      }),
      labels,
      // An app container's volumes are its image's business; the sidecar's are what matters.
      volumes: labels["lightsub.role"] === "app" ? [] : volumesOf(s),
    });
  }
  for (const [name, s] of Object.entries(services)) {
    const joined = /^service:(.+)$/.exec(s.network_mode ?? "")?.[1];
    if (joined === undefined) continue;
    const owner = owners.get(joined);
    if (!owner) throw new Error(`docker-compose.yaml: ${name} joins the network of ${joined}, which is not defined`);
    owner.volumes.push(...volumesOf(s));
    Object.assign(owner.labels, { ...s.labels, ...owner.labels });
  }
  const subnet = Object.values(compose.networks ?? {})[0]?.ipam?.config?.[0]?.subnet;
  return { instances: [...owners.values()], ...(subnet ? { subnet } : {}) };
}

function portOf(label: string | undefined, what: string): number {
  const port = Number(label?.split(":").pop());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`docker-compose.yaml: label ${what} is missing or not a port (${label})`);
  return port;
}

function ipv4ToInt(a: string): number {
  return a.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}
function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

/** Addresses for every instance (compose's fixed ones kept) plus the client's, in `subnet`. */
function assignAddresses(planned: PlannedInstance[], subnet: string): { addresses: string[]; client: string; prefix: number } {
  const [base, prefixText] = subnet.split("/");
  const prefix = Number(prefixText);
  const first = ipv4ToInt(base!) + 1;
  const size = 2 ** (32 - prefix) - 2;
  const taken = new Set(planned.flatMap((p) => (p.ipv4 ? [p.ipv4] : [])));
  let next = first + 1; // .1 is left free, as a gateway would be
  const take = () => {
    while (taken.has(intToIpv4(next))) next++;
    if (next >= first + size) throw new Error(`subnet ${subnet} has no room for ${planned.length + 1} instances`);
    const a = intToIpv4(next++);
    taken.add(a);
    return a;
  };
  const addresses = planned.map((p) => p.ipv4 ?? take());
  return { addresses, client: take(), prefix };
}

/** Whether the sidecar's `local_app` cluster talks HTTP/2 to the app. */
function appProtocol(bootstrap: Record<string, unknown>): "http1" | "h2c" {
  const clusters = ((bootstrap.static_resources as Record<string, unknown> | undefined)?.clusters ?? []) as Array<Record<string, unknown>>;
  const local = clusters.find((c) => c.name === "local_app");
  return JSON.stringify(local ?? {}).includes("http2_protocol_options") ? "h2c" : "http1";
}

// ------------------------------------------------------------------ processes

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Runs `command` in namespace `ns`, dying with this process (setpriv --pdeathsig). */
function spawnIn(run: Run, ns: string, command: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile: string; ipc?: boolean }): ChildProcess {
  if (run.done) throw new Error("the mesh was torn down while it started");
  const fd = openSync(options.logFile, "a");
  const child = spawn("ip", ["netns", "exec", ns, "setpriv", "--pdeathsig", "KILL", "--", command, ...args], {
    stdio: options.ipc ? ["ignore", "pipe", fd, "ipc"] : ["ignore", "pipe", fd],
    env: options.env ?? process.env,
    cwd: REPO,
  });
  closeSync(fd);
  run.children.add(child);
  // Kept flowing (drained); firstLine reads the app's ready message from it.
  child.stdout?.setEncoding("utf8");
  child.stdout?.resume();
  return child;
}

function exitText(child: ChildProcess): string | undefined {
  if (child.exitCode !== null) return `exited with code ${child.exitCode}`;
  if (child.signalCode !== null) return `killed by ${child.signalCode}`;
  return undefined;
}

// ------------------------------------------------------------------ start

export async function startMesh(options: MeshOptions): Promise<Mesh> {
  const started = Date.now();
  const deadline = started + (options.deadlineMs ?? 150_000);
  const emit = options.onEvent ?? (() => {});
  const deadlineText = (what: string) => `mesh start: deadline of ${options.deadlineMs ?? 150_000} ms passed while ${what}`;
  const checkDeadline = (what: string) => {
    if (run.done) throw new Error(`the mesh was torn down while ${what}`);
    if (Date.now() > deadline) throw new Error(deadlineText(what));
  };

  sweepStaleNamespaces();
  const workDir = mkdtempSync(join(tmpdir(), "lightsub-mesh-"));
  const run: Run = { children: new Set(), namespaces: [], workDir, done: false };
  register(run);
  const k = ++runCounter;
  const nsName = (what: string) => namespaceName(process.pid, `${k}-${what}`);

  try {
    emit({ kind: "phase", phase: "compile" });
    const outDir = join(workDir, "out");
    const logDir = join(workDir, "logs");
    mkdirSync(logDir);
    const policyText = readFileSync(options.policyFile, "utf8");
    const compiled = await compileToDirectory(policyText, options.policyFile, outDir, { wasmPath: options.wasm ?? DEFAULT_WASM });
    const errors = compiled.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0 || !compiled.written) {
      throw new Error(`${options.policyFile} does not compile:\n${errors.map((d) => `${d.line}:${d.column} ${d.code} ${d.message}`).join("\n")}`);
    }
    await options.prepare?.(outDir);
    if (!compiled.written.others.includes(COMPOSE_FILE_NAME)) throw new Error(`${options.policyFile}: compile wrote no ${COMPOSE_FILE_NAME} (the mesh cannot run under compose)`);
    const plan = planFromCompose(readFileSync(join(outDir, COMPOSE_FILE_NAME), "utf8"), outDir);
    const { addresses, client, prefix } = assignAddresses(plan.instances, plan.subnet ?? DEFAULT_SUBNET);

    // Mount points for the volumes (e.g. /etc/envoy, /etc/lightsub).
    const mountRoots = new Set<string>();
    for (const p of plan.instances) {
      for (const v of p.volumes) {
        if (!v.target.startsWith("/etc/") || v.target.split("/").length < 4) {
          throw new Error(`volume target ${v.target}: only files in a directory under /etc/ can be mounted per namespace`);
        }
        mountRoots.add(v.target.split("/")[2]!);
      }
    }
    for (const root of mountRoots) ensureMountPoint(root);

    const instances: MeshInstance[] = plan.instances.map((p, i) => {
      const mounts = new Map(p.volumes.map((v) => [v.target, v.source]));
      const configSource = mounts.get(ENVOY_CONFIG_IN_CONTAINER);
      if (!configSource) throw new Error(`docker-compose.yaml: ${p.name} mounts no ${ENVOY_CONFIG_IN_CONTAINER}`);
      const bootstrap = parse(readFileSync(configSource, "utf8")) as Record<string, unknown>;
      const calls = (p.labels["lightsub.outbound"] ?? "")
        .split(",")
        .filter((s) => s !== "")
        .map((entry) => {
          const [service, at] = entry.split("=");
          return { service: service!, port: portOf(at, `lightsub.outbound of ${p.name}`) };
        });
      const used = new Set([portOf(p.labels["lightsub.app-port"], "lightsub.app-port"), portOf(p.labels["lightsub.mesh-port"], "lightsub.mesh-port"), portOf(p.labels["lightsub.admin"], "lightsub.admin"), ...calls.map((c) => c.port)]);
      let controlPort = CONTROL_PORT;
      while (used.has(controlPort)) controlPort++;
      return {
        name: p.name,
        service: p.service,
        namespace: nsName(p.name),
        address: addresses[i]!,
        appPort: portOf(p.labels["lightsub.app-port"], "lightsub.app-port"),
        meshPort: portOf(p.labels["lightsub.mesh-port"], "lightsub.mesh-port"),
        adminPort: portOf(p.labels["lightsub.admin"], "lightsub.admin"),
        controlPort,
        protocol: appProtocol(bootstrap),
        calls,
        mounts,
        bootstrap,
        ...(calls.length > 0 ? { view: readSidecarView(bootstrap) } : {}),
      };
    });
    const edge = pickEdge(instances, options.edge);

    // Namespaces on one bridge, which lives in a hub namespace of its own (nothing touches the host's network).
    emit({ kind: "phase", phase: "namespaces" });
    const hub = nsName("hub");
    const clientNs = nsName("client");
    const addNamespace = (name: string) => {
      if (run.done) throw new Error("the mesh was torn down while it started");
      run.namespaces.push(name); // registered first: a failure half-way still removes it
      ip("netns", "add", name);
      emit({ kind: "namespace", name });
    };
    addNamespace(hub);
    ip("-n", hub, "link", "add", BRIDGE, "type", "bridge");
    ip("-n", hub, "link", "set", BRIDGE, "up");
    const attach = (ns: string, address: string, index: number) => {
      addNamespace(ns);
      const port = `v${index}`;
      ip("-n", hub, "link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", ns);
      ip("-n", hub, "link", "set", port, "master", BRIDGE, "up");
      ip("-n", ns, "addr", "add", `${address}/${prefix}`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", ns, "link", "set", "lo", "up");
    };
    // Docker resolves other containers by name; here every namespace's hosts file lists them.
    const meshHosts = instances.map((inst) => `${inst.address}\t${inst.name}`).join("\n");
    const stageEtc = (ns: string, hosts: string, mounts: Map<string, string>) => {
      const etc = join(ETC_NETNS, ns);
      mkdirSync(etc, { recursive: true });
      writeFileSync(join(etc, "hosts"), hosts);
      for (const [target, source] of mounts) {
        const staged = join(etc, target.slice("/etc/".length));
        mkdirSync(dirname(staged), { recursive: true });
        // A directory volume (an mTLS sidecar's certificates) keeps its symlinks, which rotation swaps.
        if (statSync(source).isDirectory()) cpSync(source, staged, { recursive: true, verbatimSymlinks: true });
        else copyFileSync(source, staged);
      }
    };
    instances.forEach((inst, i) => {
      checkDeadline("creating namespaces");
      attach(inst.namespace, inst.address, i + 1);
      // compose's /etc/hosts: localhost, the extra_hosts, the container's own name.
      const plannedHosts = plan.instances[i]!.extraHosts.map(([name, at]) => `${at}\t${name}`).join("\n");
      stageEtc(inst.namespace, `127.0.0.1\tlocalhost\n${plannedHosts}\n${meshHosts}\n`, inst.mounts);
    });
    attach(clientNs, client, instances.length + 1);
    stageEtc(clientNs, `127.0.0.1\tlocalhost\n${meshHosts}\n`, new Map());

    // Apps first, then sidecars, callees before callers (a caller's first health check then finds them up).
    emit({ kind: "phase", phase: "apps" });
    const appsByName = new Map<string, ChildProcess>();
    const envoys = new Map<string, ChildProcess>();
    const appPath = join(HERE, "app.ts");
    await Promise.all(
      instances.map(async (inst) => {
        const config: AppConfig = {
          instance: inst.name,
          service: inst.service,
          port: inst.appPort,
          protocol: inst.protocol,
          controlPort: inst.controlPort,
          adminPort: inst.adminPort,
          calls: inst.calls,
        };
        const logFile = join(logDir, `${inst.name}.app.log`);
        const child = spawnIn(run, inst.namespace, process.execPath, ["--import", "tsx", appPath], {
          env: { ...process.env, MESH_APP: JSON.stringify(config) },
          logFile,
        });
        appsByName.set(inst.name, child);
        emit({ kind: "process", what: "app", instance: inst.name, pid: child.pid ?? -1 });
        await firstLine(child, deadline, () => `app of ${inst.name}: ${exitText(child) ?? "no ready line"}\n${tail(logFile)}`, deadlineText);
      }),
    );

    emit({ kind: "phase", phase: "agent" });
    const agentLog = join(logDir, "client.agent.log");
    const agentChild = spawnIn(run, clientNs, process.execPath, ["--import", "tsx", join(HERE, "agent.ts")], { logFile: agentLog, ipc: true });
    emit({ kind: "process", what: "agent", instance: "client", pid: agentChild.pid ?? -1 });
    const agent = new AgentClient(agentChild);
    await agent.ready(deadline, () => `client agent: ${exitText(agentChild) ?? "not ready"}\n${tail(agentLog)}`, deadlineText);

    const controlUrl = (inst: MeshInstance, path: string) => `http://${inst.address}:${inst.controlPort}${path}`;
    const adminOf = (inst: MeshInstance, path: string, method = "GET") =>
      agent.request({ url: controlUrl(inst, `/_mesh/admin?path=${encodeURIComponent(path)}&method=${method}`), timeoutMs: 5_000 });

    emit({ kind: "phase", phase: "sidecars" });
    for (const wave of startWaves(instances)) {
      for (const inst of wave) {
        const logFile = join(logDir, `${inst.name}.envoy.log`);
        // The official image's command, with the config where compose mounts it.
        const child = spawnIn(run, inst.namespace, options.envoy, ["-c", ENVOY_CONFIG_IN_CONTAINER, "--disable-hot-restart"], { logFile });
        envoys.set(inst.name, child);
        emit({ kind: "process", what: "envoy", instance: inst.name, pid: child.pid ?? -1 });
      }
      await Promise.all(
        wave.map(async (inst) => {
          const child = envoys.get(inst.name)!;
          for (;;) {
            const exit = exitText(child);
            if (exit) throw new Error(`envoy of ${inst.name} ${exit}\n${tail(join(logDir, `${inst.name}.envoy.log`))}`);
            checkDeadline(`waiting for the sidecar of ${inst.name}`);
            const answer = await adminOf(inst, "/ready");
            if (answer.status === 200 && answer.body.trim() === "LIVE") return;
            await sleep(200);
          }
        }),
      );
    }

    // Every caller sees every endpoint healthy (its health checks, if any, have passed).
    emit({ kind: "phase", phase: "healthy" });
    for (const inst of instances.filter((i) => i.view)) {
      let unhealthy: string[] = [];
      for (;;) {
        checkDeadline(`waiting for the endpoints of ${inst.name} to be healthy (${unhealthy.join("; ").slice(0, 600) || "no /clusters answer"})`);
        const clusters = await adminOf(inst, "/clusters");
        const flags = clusters.body.split("\n").filter((line) => line.includes("::health_flags::"));
        if (clusters.status === 200 && flags.length > 0 && flags.every((line) => line.endsWith("::healthy"))) break;
        unhealthy = flags.filter((line) => !line.endsWith("::healthy"));
        await sleep(250);
      }
    }
    emit({ kind: "phase", phase: "up" });

    const byName = new Map(instances.map((i) => [i.name, i]));
    const get = (name: string) => {
      const inst = byName.get(name);
      if (!inst) throw new Error(`no instance "${name}" (have ${[...byName.keys()].join(", ")})`);
      return inst;
    };
    const control = async (name: string, path: string, init: Omit<AgentRequest, "id" | "url"> = {}) => {
      const answer = await agent.request({ url: controlUrl(get(name), path), timeoutMs: 5_000, ...init });
      if (answer.status !== 200) throw new Error(`${name} ${path}: ${answer.status} ${answer.error ?? answer.body}`);
      return answer.body;
    };
    let stopping: Promise<void> | undefined;
    const mesh: Mesh = {
      instances,
      edge,
      outDir,
      namespaces: [...run.namespaces],
      pids: () => [...run.children].flatMap((c) => (c.pid !== undefined && exitText(c) === undefined ? [c.pid] : [])),
      instance: get,
      instancesOf: (service) => instances.filter((i) => i.service === service),
      request: (url, init = {}) => agent.request({ url, ...init }),
      edgeUrl: (path = "/") => `http://${edge.name}:${edge.meshPort}${path}`,
      counts: async (name) => JSON.parse(await control(name, "/_mesh/counts")) as AppCounts,
      async setBehaviour(name, behaviour) {
        await control(name, "/_mesh/behaviour", { method: "PUT", body: JSON.stringify(behaviour), headers: { "content-type": "application/json" } });
      },
      async resolve(name, host) {
        const answer = JSON.parse(await control(name, `/_mesh/resolve?name=${encodeURIComponent(host)}`)) as { address?: string; error?: string };
        return answer.address ?? `error: ${answer.error}`;
      },
      admin: (name, path, method = "GET") => adminOf(get(name), path, method),
      async prometheus(name) {
        const answer = await adminOf(get(name), "/stats/prometheus");
        if (answer.status !== 200) throw new Error(`${name} /stats/prometheus: ${answer.status} ${answer.body}`);
        return parsePrometheus(answer.body);
      },
      async stats(name, filter) {
        const answer = await adminOf(get(name), filter ? `/stats?format=json&filter=${encodeURIComponent(filter)}` : "/stats?format=json");
        const body = JSON.parse(answer.body) as { stats: Array<{ name: string; value?: number }> };
        return new Map(body.stats.flatMap((s) => (typeof s.value === "number" ? [[s.name, s.value] as [string, number]] : [])));
      },
      envoyLog: (name) => tail(join(logDir, `${get(name).name}.envoy.log`), 100_000),
      mountedPath(name, containerPath) {
        if (!containerPath.startsWith("/etc/")) throw new Error(`${containerPath}: only paths under /etc/ are staged per namespace`);
        return join(ETC_NETNS, get(name).namespace, containerPath.slice("/etc/".length));
      },
      stop() {
        stopping ??= (async () => {
          agentChild.disconnect?.();
          for (const child of run.children) if (exitText(child) === undefined) child.kill("SIGTERM");
          const waitAll = Promise.all([...run.children].map((c) => (exitText(c) !== undefined ? undefined : new Promise((r) => c.once("exit", r)))));
          await Promise.race([waitAll, sleep(5_000)]);
          const problems = teardownSync(run);
          if (problems.length > 0) throw new Error(`mesh teardown: ${problems.join("; ")}`);
        })();
        return stopping;
      },
    };
    return mesh;
  } catch (error) {
    const problems = teardownSync(run);
    if (problems.length > 0) (error as Error).message += `\n(teardown: ${problems.join("; ")})`;
    throw error;
  }
}

function pickEdge(instances: MeshInstance[], edge: string | undefined): MeshInstance {
  if (edge !== undefined) {
    const found = instances.find((i) => i.name === edge);
    if (!found) throw new Error(`edge instance "${edge}" is not in the mesh`);
    return found;
  }
  const called = new Set(instances.flatMap((i) => i.calls.map((c) => c.service)));
  const roots = [...new Set(instances.filter((i) => !called.has(i.service)).map((i) => i.service))];
  if (roots.length !== 1) throw new Error(`cannot tell the edge service (services nobody calls: ${roots.join(", ") || "none"}); pass edge`);
  return instances.find((i) => i.service === roots[0])!;
}

/** Instances in start order: those whose called services have all started come next (a cycle just starts the rest). */
function startWaves(instances: MeshInstance[]): MeshInstance[][] {
  const waves: MeshInstance[][] = [];
  const started = new Set<string>();
  let left = [...instances];
  while (left.length > 0) {
    const services = new Set(left.map((i) => i.service));
    let wave = left.filter((i) => i.calls.every((c) => !services.has(c.service) || c.service === i.service));
    if (wave.length === 0) wave = left;
    waves.push(wave);
    for (const i of wave) started.add(i.name);
    left = left.filter((i) => !started.has(i.name));
  }
  return waves;
}

async function firstLine(child: ChildProcess, deadline: number, why: () => string, late: (what: string) => string): Promise<string> {
  return new Promise<string>((resolvePromise, reject) => {
    let buffer = "";
    const timer = setTimeout(() => finish(new Error(late(`waiting for the ${why()}`))), Math.max(0, deadline - Date.now()));
    const onData = (chunk: string) => {
      buffer += chunk;
      const at = buffer.indexOf("\n");
      if (at >= 0) finish(undefined, buffer.slice(0, at));
    };
    const onExit = () => setTimeout(() => finish(new Error(why())), 50);
    const finish = (error?: Error, line?: string) => {
      clearTimeout(timer);
      child.stdout?.off("data", onData);
      child.off("exit", onExit);
      child.stdout?.resume(); // later output is not read
      if (error) reject(error);
      else resolvePromise(line!);
    };
    child.stdout?.on("data", onData);
    child.once("exit", onExit);
  });
}

/** The test process's side of the client agent's IPC channel. */
class AgentClient {
  private nextId = 0;
  private readonly pending = new Map<number, (r: AgentResponse) => void>();
  private readyResolve?: () => void;
  private readonly readyPromise = new Promise<void>((r) => (this.readyResolve = r));

  constructor(private readonly child: ChildProcess) {
    child.on("message", (raw) => {
      const m = raw as AgentResponse;
      if (m.id === -1) return this.readyResolve?.();
      const done = this.pending.get(m.id);
      this.pending.delete(m.id);
      done?.(m);
    });
    child.once("exit", () => {
      for (const [id, done] of this.pending) done({ id, status: 0, headers: {}, body: "", error: "the client agent exited" });
      this.pending.clear();
    });
  }

  async ready(deadline: number, why: () => string, late: (what: string) => string): Promise<void> {
    const timeout = sleep(Math.max(0, deadline - Date.now())).then(() => "timeout" as const);
    const exited = new Promise<"exit">((r) => this.child.once("exit", () => r("exit")));
    const result = await Promise.race([this.readyPromise.then(() => "ready" as const), timeout, exited]);
    if (result === "timeout") throw new Error(late(`waiting for the ${why()}`));
    if (result !== "ready") throw new Error(why());
  }

  request(request: Omit<AgentRequest, "id">): Promise<AgentResponse> {
    const id = this.nextId++;
    return new Promise((resolvePromise) => {
      if (!this.child.connected) return resolvePromise({ id, status: 0, headers: {}, body: "", error: "the client agent is not connected" });
      this.pending.set(id, resolvePromise);
      this.child.send({ ...request, id });
    });
  }
}
