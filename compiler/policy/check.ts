/**
 * Semantic checks: what the schema cannot express (names that must exist or be
 * unique, ports that must not clash, settings that contradict each other).
 *
 * Runs on the raw parsed value even when the schema found problems, so one run
 * reports everything: every check reads values through type guards and skips
 * what is malformed (the schema already reported that). Linear in the size of
 * the policy (maps keyed by name and address), apart from "did you mean"
 * suggestions, which are capped.
 */
import { isIPv4, isIPv6 } from "node:net";
import { MESH_PORT_DEFAULT, SIDECAR_DEFAULTS } from "../model/mesh.js";
import { DEFAULT_PROTOCOL, GRPC_ONLY_RETRY_ON, HEALTH_CHECK_DEFAULTS } from "../model/defaults.js";
import { DEFAULT_STRATEGY, isStrategyName, isWeightAware, PARAMETER_STRATEGY, STRATEGY_TABLE, WEIGHT_AWARE_STRATEGIES, type StrategyName } from "../model/strategies.js";
import { checkAdmission } from "./check-admission.js";
import { checkSecurity } from "./check-security.js";
import { clip, describeValue, fieldName } from "./describe.js";
import { formatDuration, MAX_DURATION_MS, parseDuration } from "./duration.js";
import { Diag } from "../diagnostics/index.js";
import { finding, type Finding } from "./findings.js";
import type { Path, PathSegment } from "./positions.js";
import { durationMs, DURATION_SHAPE, rec, type Rec } from "./raw-values.js";
import { POLICY_SCHEMA } from "./schema.js";
import { didYouMean } from "./suggest.js";

/** Edit-distance searches over all service names are costly; beyond this many unknown names, skip suggestions. */
const MAX_SUGGESTIONS = 200;

// The same pattern as the schema, so a value the schema rejected is never judged twice.
const DNS_LABEL = new RegExp(String(POLICY_SCHEMA.$defs!["dnsLabel"]!["pattern"]));

function list(value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : undefined;
}
function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
function port(value: unknown): number | undefined {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535 ? (value as number) : undefined;
}
function strategy(value: unknown): StrategyName | undefined {
  return isStrategyName(value) ? value : undefined;
}

interface ServiceInfo {
  index: number;
  path: Path;
  rec: Rec;
  name?: string;
  /** The strategy for calls to this service after defaults; undefined when a strategy value is invalid. */
  strategy?: StrategyName;
}

/** All semantic findings of one policy. */
export function checkSemantics(policy: unknown): Finding[] {
  const findings: Finding[] = [];
  const spec = rec(rec(policy)?.["spec"]);
  if (spec === undefined) return findings;
  const services = collectServices(spec);
  const meshScheduler = rec(spec["scheduler"]);

  checkServiceNames(services, findings);
  checkEndpoints(services, findings);
  checkCalls(services, findings);
  checkSidecarPorts(spec, services, findings);
  checkSchedulers(meshScheduler, services, findings);
  checkDurations(spec, services, findings);
  checkConnectors(services, findings);
  checkAdmission(services, findings);
  checkSecurity(spec, services, findings);
  return findings;
}

function collectServices(spec: Rec): ServiceInfo[] {
  const mesh = rec(spec["scheduler"]);
  const meshStrategy = mesh === undefined ? DEFAULT_STRATEGY : resolveMeshStrategy(mesh);
  const result: ServiceInfo[] = [];
  (list(spec["services"]) ?? []).forEach((value, index) => {
    const service = rec(value);
    if (service === undefined) return;
    const own = rec(service["scheduler"]);
    const ownStrategy = own?.["strategy"];
    const resolved = ownStrategy === undefined ? meshStrategy : strategy(ownStrategy);
    const info: ServiceInfo = { index, path: ["spec", "services", index], rec: service };
    const name = text(service["name"]);
    if (name !== undefined) info.name = name;
    if (resolved !== undefined) info.strategy = resolved;
    result.push(info);
  });
  return result;
}

function resolveMeshStrategy(mesh: Rec): StrategyName | undefined {
  return mesh["strategy"] === undefined ? DEFAULT_STRATEGY : strategy(mesh["strategy"]);
}

function checkServiceNames(services: ServiceInfo[], findings: Finding[]): void {
  const first = new Map<string, ServiceInfo>();
  for (const service of services) {
    if (service.name === undefined) continue;
    const earlier = first.get(service.name);
    if (earlier === undefined) first.set(service.name, service);
    else findings.push(finding(Diag.DuplicateServiceName, [...service.path, "name"], { name: describeValue(service.name), earlier: earlier.index }));
  }
}

function checkEndpoints(services: ServiceInfo[], findings: Finding[]): void {
  // address:port → which service lists it first (addresses compare case-insensitively, as DNS does)
  const owners = new Map<string, { service: ServiceInfo; endpoint: number }>();
  for (const service of services) {
    const endpoints = list(service.rec["endpoints"]) ?? [];
    endpoints.forEach((value, index) => {
      const endpoint = rec(value);
      const address = text(endpoint?.["address"]);
      const endpointPort = port(endpoint?.["port"]);
      const path = (): Path => [...service.path, "endpoints", index];
      if (address !== undefined) checkAddress(address, () => [...path(), "address"], findings);
      if (address === undefined || endpointPort === undefined) return;
      const key = `${address.toLowerCase()}:${endpointPort}`;
      const owner = owners.get(key);
      const shown = `${clip(address)}:${endpointPort}`;
      if (owner === undefined) {
        owners.set(key, { service, endpoint: index });
      } else if (owner.service === service) {
        findings.push(finding(Diag.EndpointListedTwice, path(), { endpoint: shown, earlier: owner.endpoint }));
      } else {
        const other = owner.service.name === undefined ? `spec.services[${owner.service.index}]` : `service ${describeValue(owner.service.name)}`;
        findings.push(finding(Diag.EndpointOfTwoServices, path(), { endpoint: shown, other }));
      }
    });
  }
}

/** The schema accepts hostname-shaped and IPv6-shaped text; here numbers must also be real addresses. */
function checkAddress(address: string, path: () => Path, findings: Finding[]): void {
  if (/^[0-9.]+$/.test(address) && !isIPv4(address)) {
    findings.push(finding(Diag.BadIpv4, path(), { address: describeValue(address) }));
  } else if (address.includes(":") && /^[0-9A-Fa-f:.]+$/.test(address) && !isIPv6(address)) {
    findings.push(finding(Diag.BadIpv6, path(), { address: describeValue(address) }));
  }
}

function checkCalls(services: ServiceInfo[], findings: Finding[]): void {
  const byName = new Map<string, ServiceInfo>();
  for (const service of services) if (service.name !== undefined && !byName.has(service.name)) byName.set(service.name, service);
  let suggestions = 0;
  for (const service of services) {
    const calls = list(service.rec["calls"]) ?? [];
    let seen: Map<string, number> | undefined;
    for (let index = 0; index < calls.length; index++) {
      const item = calls[index];
      const name = typeof item === "string" ? item : text(rec(item)?.["service"]);
      if (name === undefined || !DNS_LABEL.test(name)) continue; // the schema reports it
      const namePath = (): Path => (typeof item === "string" ? [...service.path, "calls", index] : [...service.path, "calls", index, "service"]);
      const quoted = JSON.stringify(name);
      if (name === service.name) {
        findings.push(finding(Diag.CallsItself, namePath(), { name: quoted }));
      } else if (!byName.has(name)) {
        const hint = suggestions++ < MAX_SUGGESTIONS ? didYouMean(name, byName.keys()) : "";
        findings.push(finding(Diag.UnknownCalledService, namePath(), { name: quoted, hint }));
      }
      const earlier = (seen ??= new Map()).get(name);
      if (earlier !== undefined) findings.push(finding(Diag.AlreadyCalled, namePath(), { name: quoted, earlier }));
      else seen.set(name, index);
    }
  }
}

/** One port a sidecar binds. Described only when it clashes (this runs for every call of every service). */
interface PortUse {
  port: number;
  kind: "admin" | "mesh" | "app" | "call";
  /** Where the port is written; undefined for a default. */
  path?: Path;
  /** kind "call": the called service, and whether the port is its app port (not written in the call). */
  callee?: string;
  implicit?: boolean;
}

function describePortUse(use: PortUse): string {
  switch (use.kind) {
    case "admin":
      return use.path === undefined
        ? `the admin port (default ${SIDECAR_DEFAULTS.adminPort}, set spec.sidecar.adminPort to move it)`
        : "the admin port (spec.sidecar.adminPort)";
    case "mesh":
      return use.path === undefined ? `the inbound mesh port (default ${MESH_PORT_DEFAULT}, set meshPort to move it)` : "the inbound mesh port (meshPort)";
    case "app":
      return "the app port (port)";
    case "call":
      return use.implicit
        ? `the outbound port for calls to ${describeValue(use.callee)} (its port ${use.port}; choose another with { service: ${clip(String(use.callee))}, port: <free port> })`
        : `the outbound port for calls to ${describeValue(use.callee)}`;
  }
}

function checkSidecarPorts(spec: Rec, services: ServiceInfo[], findings: Finding[]): void {
  const adminExplicit = port(rec(spec["sidecar"])?.["adminPort"]);
  const admin: PortUse =
    adminExplicit === undefined ? { port: SIDECAR_DEFAULTS.adminPort, kind: "admin" } : { port: adminExplicit, kind: "admin", path: ["spec", "sidecar", "adminPort"] };
  const appPorts = new Map<string, number>();
  for (const service of services) {
    const appPort = port(service.rec["port"]);
    if (service.name !== undefined && appPort !== undefined && !appPorts.has(service.name)) appPorts.set(service.name, appPort);
  }

  for (const service of services) {
    // Defaults first, so that a clash is reported where the user wrote a port.
    const defaults: PortUse[] = [];
    const written: PortUse[] = [];
    (admin.path === undefined ? defaults : written).push(admin);
    const meshPort = port(service.rec["meshPort"]);
    if (meshPort === undefined) defaults.push({ port: MESH_PORT_DEFAULT, kind: "mesh" });
    else written.push({ port: meshPort, kind: "mesh", path: [...service.path, "meshPort"] });
    const appPort = port(service.rec["port"]);
    if (appPort !== undefined) written.push({ port: appPort, kind: "app", path: [...service.path, "port"] });
    const calls = list(service.rec["calls"]) ?? [];
    let called: Set<string> | undefined;
    for (let index = 0; index < calls.length; index++) {
      const item = calls[index];
      const explicit = port(rec(item)?.["port"]);
      const callee = typeof item === "string" ? item : text(rec(item)?.["service"]);
      // Self-calls and repeated calls are reported as such (LS013, LS014), not as port clashes.
      if (callee === undefined || callee === service.name || called?.has(callee)) continue;
      (called ??= new Set()).add(callee);
      const callPort = explicit ?? appPorts.get(callee);
      if (callPort === undefined) continue;
      const path: Path = explicit === undefined ? [...service.path, "calls", index] : [...service.path, "calls", index, "port"];
      written.push({ port: callPort, kind: "call", path, callee, implicit: explicit === undefined });
    }
    const taken = new Map<number, PortUse>();
    for (const use of defaults) if (!taken.has(use.port)) taken.set(use.port, use);
    for (const use of written) {
      const earlier = taken.get(use.port);
      if (earlier === undefined) {
        taken.set(use.port, use);
        continue;
      }
      const owner = service.name === undefined ? "this service's sidecar" : `the sidecar of ${describeValue(service.name)}`;
      findings.push(finding(Diag.PortUsedTwice, use.path!, { port: use.port, owner, first: describePortUse(earlier), second: describePortUse(use) }));
    }
  }
}

function checkSchedulers(mesh: Rec | undefined, services: ServiceInfo[], findings: Finding[]): void {
  const meshStrategy = mesh === undefined ? DEFAULT_STRATEGY : resolveMeshStrategy(mesh);
  const meshPath: Path = ["spec", "scheduler"];
  const meshHashOn = mesh?.["hashOn"] !== undefined;
  if (mesh !== undefined && meshStrategy !== undefined && STRATEGY_TABLE[meshStrategy].hashKey && !meshHashOn) {
    findings.push(finding(Diag.HashOnMissing, [...meshPath, "strategy"]));
  }

  for (const service of services) {
    const own = rec(service.rec["scheduler"]);
    const ownPath: Path = [...service.path, "scheduler"];
    const resolved = service.strategy;
    if (resolved === undefined) continue;
    if (own !== undefined) {
      if (own["hashOn"] !== undefined && !STRATEGY_TABLE[resolved].hashKey) {
        findings.push(finding(Diag.HashOnUnused, [...ownPath, "hashOn"], { strategy: resolved }));
      }
      if (STRATEGY_TABLE[resolved].hashKey && own["hashOn"] === undefined && own["strategy"] !== undefined && !meshHashOn) {
        findings.push(finding(Diag.HashOnMissing, [...ownPath, "strategy"]));
      }
      for (const [parameter, user] of Object.entries(PARAMETER_STRATEGY)) {
        if (own[parameter] !== undefined && resolved !== user) {
          findings.push(finding(Diag.ParameterUnused, [...ownPath, parameter], { parameter, user, strategy: resolved }));
        }
      }
    }
    checkWeights(service, resolved, own, findings);
  }

  // The mesh's hashOn and parameters are defaults for every service that uses the strategy
  // they belong to; unused defaults are harmless, so they are not reported.
}

function checkWeights(service: ServiceInfo, resolved: StrategyName, own: Rec | undefined, findings: Finding[]): void {
  const endpoints = list(service.rec["endpoints"]) ?? [];
  const weights = endpoints.map((e) => rec(e)?.["weight"]);
  const firstExplicit = weights.findIndex((w) => w !== undefined);
  if (firstExplicit !== -1 && !isWeightAware(resolved)) {
    const strategies = WEIGHT_AWARE_STRATEGIES.join(", ").replace(/, (?=[^,]*$)/, " and ");
    findings.push(finding(Diag.WeightsIgnored, [...service.path, "endpoints", firstExplicit, "weight"], { strategy: resolved, strategies }));
  }
  if (resolved === "weighted" && own?.["strategy"] === "weighted" && endpoints.length > 1) {
    const effective = weights.map((w) => (w === undefined ? 1 : w));
    if (effective.every((w) => w === effective[0])) {
      findings.push(finding(Diag.EqualWeights, [...service.path, "scheduler", "strategy"]));
    }
  }
}

/** Durations: the schema checks the shape; here the value (zero, sub-millisecond, above 24h). */
function checkDurations(spec: Rec, services: ServiceInfo[], findings: Finding[]): void {
  const check = (container: unknown, path: Path, key: string, zeroAllowed = false): void => {
    const value = text(rec(container)?.[key]);
    if (value === undefined || !DURATION_SHAPE.test(value)) return;
    const parsed = parseDuration(value);
    if (parsed.ok && (parsed.ms > 0 || zeroAllowed) && parsed.ms <= MAX_DURATION_MS) return;
    const at: Path = [...path, key];
    const field = fieldName(at);
    if (!parsed.ok) findings.push(finding(Diag.DurationUnparsable, at, { field, reason: parsed.reason, got: describeValue(value) }));
    else if (parsed.ms === 0) findings.push(finding(Diag.DurationZero, at, { field }));
    else findings.push(finding(Diag.DurationAbove24h, at, { field, got: describeValue(value) }));
  };
  const scheduler = (value: unknown, path: Path): void => {
    for (const key of ["decay", "window", "probeInterval"]) check(value, path, key);
  };
  scheduler(spec["scheduler"], ["spec", "scheduler"]);
  for (const service of services) {
    scheduler(service.rec["scheduler"], [...service.path, "scheduler"]);
    const admission = rec(service.rec["admission"]);
    if (admission !== undefined) {
      // LS050 as for every duration; their tighter admission bounds (LS088) are check-admission.ts's.
      const path: Path = [...service.path, "admission"];
      check(admission, path, "queueTimeout");
      check(admission, path, "tick");
      check(admission["adaptive"], [...path, "adaptive"], "window");
    }
    const connector = rec(service.rec["connector"]);
    if (connector === undefined) continue;
    const path: Path = [...service.path, "connector"];
    check(connector, path, "timeout", true);
    check(connector, path, "connectTimeout");
    check(connector["retries"], [...path, "retries"], "perTryTimeout");
    check(connector["outlierDetection"], [...path, "outlierDetection"], "interval");
    check(connector["outlierDetection"], [...path, "outlierDetection"], "baseEjectionTime");
    check(connector["healthCheck"], [...path, "healthCheck"], "interval");
    check(connector["healthCheck"], [...path, "healthCheck"], "timeout");
  }
}

function checkConnectors(services: ServiceInfo[], findings: Finding[]): void {
  for (const service of services) {
    const connector = rec(service.rec["connector"]);
    if (connector === undefined) continue;
    const path: Path = [...service.path, "connector"];
    const retries = rec(connector["retries"]);
    const timeout = durationMs(connector["timeout"]);
    const perTry = durationMs(retries?.["perTryTimeout"]);
    if (timeout !== undefined && timeout > 0 && perTry !== undefined && perTry >= timeout) {
      findings.push(finding(Diag.PerTryTimeoutTooLong, [...path, "retries", "perTryTimeout"], { perTry: formatDuration(perTry), timeout: formatDuration(timeout) }));
    }
    const healthCheck = rec(connector["healthCheck"]);
    if (healthCheck !== undefined) {
      const interval = healthCheck["interval"] === undefined ? HEALTH_CHECK_DEFAULTS.intervalMs : durationMs(healthCheck["interval"]);
      const hcTimeout = healthCheck["timeout"] === undefined ? HEALTH_CHECK_DEFAULTS.timeoutMs : durationMs(healthCheck["timeout"]);
      if (interval !== undefined && hcTimeout !== undefined && hcTimeout >= interval) {
        const at: PathSegment[] = [...path, "healthCheck"];
        if (healthCheck["timeout"] !== undefined) at.push("timeout");
        findings.push(finding(Diag.HealthCheckTimeoutTooLong, at, { timeout: formatDuration(hcTimeout), interval: formatDuration(interval) }));
      }
    }
    const protocol = service.rec["protocol"] ?? DEFAULT_PROTOCOL;
    if (healthCheck !== undefined) {
      const at: PathSegment[] = [...path, "healthCheck"];
      if (protocol === "grpc" && healthCheck["path"] !== undefined) {
        findings.push(finding(Diag.GrpcHealthCheckPath, [...at, "path"]));
      } else if ((protocol === "http" || protocol === "http2") && healthCheck["path"] === undefined) {
        findings.push(finding(Diag.HealthCheckPathMissing, at, { protocol }));
      }
    }
    const statusCodes = retries?.["statusCodes"];
    const on = list(retries?.["on"]);
    const retriesStatusCodes = on?.includes("retriable-status-codes") === true;
    if (retries !== undefined && retriesStatusCodes && statusCodes === undefined) {
      const index = on!.indexOf("retriable-status-codes");
      findings.push(finding(Diag.StatusCodesMissing, [...path, "retries", "on", index]));
    } else if (statusCodes !== undefined && !retriesStatusCodes) {
      findings.push(finding(Diag.StatusCodesWithoutCondition, [...path, "retries", "statusCodes"]));
    }
    // An unknown protocol is the schema's finding (LS007); no warning about it here.
    if (protocol === "http" || protocol === "http2") {
      (list(retries?.["on"]) ?? []).forEach((condition, index) => {
        if (typeof condition === "string" && GRPC_ONLY_RETRY_ON.has(condition as never)) {
          findings.push(finding(Diag.GrpcOnlyRetryCondition, [...path, "retries", "on", index], { condition: JSON.stringify(condition), protocol }));
        }
      });
    }
  }
}
