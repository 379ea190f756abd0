/**
 * A checked policy document → the resolved MeshModel (compiler/model/mesh.ts):
 * defaults applied, durations in milliseconds, one scheduler per service,
 * Envoy cluster names and unique metric labels for endpoints.
 *
 * Only call this on a policy that passed the schema and the semantic checks
 * without errors; it does not re-validate.
 */
import {
  ADMISSION_DEFAULTS,
  CONNECT_TIMEOUT_DEFAULT_MS,
  endpointCluster,
  endpointStat,
  MESH_PORT_DEFAULT,
  SCHEDULER_DEFAULTS,
  SIDECAR_DEFAULTS,
  type AdmissionModel,
  type CallModel,
  type ConnectorModel,
  type EndpointModel,
  type FailMode,
  type HashOn,
  type MeshModel,
  type SchedulerModel,
  type SecurityModel,
  type ServiceModel,
  spiffeId,
} from "../model/mesh.js";
import { DEFAULT_MTLS, DEFAULT_FAIL_MODE, DEFAULT_PROTOCOL, DEFAULT_WEIGHT, HEALTH_CHECK_DEFAULTS, RETRY_DEFAULTS } from "../model/defaults.js";
import { DEFAULT_STRATEGY, STRATEGY_TABLE } from "../model/strategies.js";
import { parseDuration } from "./duration.js";
import type { AdmissionSpec, ConnectorSpec, EndpointSpec, HashOnSpec, PolicyDocument, SchedulerSpec, ServiceSpec } from "./types.js";

export function toModel(policy: PolicyDocument): MeshModel {
  const { spec } = policy;
  const appPorts = new Map(spec.services.map((s) => [s.name, s.port]));
  const meshFailMode: FailMode = spec.failMode ?? DEFAULT_FAIL_MODE;
  const model: MeshModel = {
    name: policy.metadata.name,
    services: spec.services.map((service) => serviceModel(service, spec.scheduler, meshFailMode, appPorts)),
    sidecar: {
      adminPort: spec.sidecar?.adminPort ?? SIDECAR_DEFAULTS.adminPort,
      image: spec.sidecar?.image ?? SIDECAR_DEFAULTS.image,
      wasmPath: SIDECAR_DEFAULTS.wasmPath,
    },
  };
  const security = securityModel(policy);
  if (security !== undefined) {
    model.security = security;
    addAuthz(model, spec.services, security);
  }
  return model;
}

/** spec.security with its defaults, or undefined for plaintext (no section, or mtls: off). */
function securityModel(policy: PolicyDocument): SecurityModel | undefined {
  const spec = policy.spec.security;
  if (spec === undefined) return undefined;
  const mtls = spec.mtls ?? DEFAULT_MTLS;
  if (mtls === "off") return undefined;
  return { mtls, trustDomain: spec.trustDomain ?? policy.metadata.name };
}

/** Each service's allowed principals: its callers in the graph, then its `allow` extras. */
function addAuthz(model: MeshModel, specs: ServiceSpec[], security: SecurityModel): void {
  const callers = new Map<string, Set<string>>();
  for (const s of model.services) {
    for (const call of s.calls) {
      let set = callers.get(call.service);
      if (set === undefined) callers.set(call.service, (set = new Set()));
      set.add(spiffeId(security.trustDomain, s.name));
    }
  }
  model.services.forEach((s, i) => {
    const spec = specs[i]!;
    const principals = new Set(callers.get(s.name) ?? []);
    for (const extra of spec.allow ?? []) principals.add(typeof extra === "string" ? spiffeId(security.trustDomain, extra) : extra.principal);
    s.authz = { public: spec.public === true, principals: [...principals].sort() };
  });
}

function serviceModel(service: ServiceSpec, meshScheduler: SchedulerSpec | undefined, meshFailMode: FailMode, appPorts: Map<string, number>): ServiceModel {
  const model: ServiceModel = {
    name: service.name,
    port: service.port,
    meshPort: service.meshPort ?? MESH_PORT_DEFAULT,
    protocol: service.protocol ?? DEFAULT_PROTOCOL,
    endpoints: endpointModels(service.name, service.endpoints),
    calls: (service.calls ?? []).map((call): CallModel => {
      if (typeof call === "string") return { service: call, port: appPorts.get(call)! };
      return { service: call.service, port: call.port ?? appPorts.get(call.service)! };
    }),
    scheduler: resolveScheduler(meshScheduler, service.scheduler),
    connector: connectorModel(service.connector),
    failMode: service.failMode ?? meshFailMode,
  };
  if (service.admission !== undefined) model.admission = admissionModel(service.admission);
  if (service.image !== undefined) model.image = service.image;
  return model;
}

function endpointModels(service: string, endpoints: EndpointSpec[]): EndpointModel[] {
  const stats = new Set<string>();
  return endpoints.map((endpoint, index) => {
    // Distinct endpoints can map to one label (host `a.b.c.d.e.f.1.2` and IPv6 `a:b:c:d:e:f:1:2`); suffix to keep labels unique.
    let stat = endpointStat(endpoint.address, endpoint.port);
    if (stats.has(stat)) {
      let n = index;
      while (stats.has(`${stat}_${n}`)) n++;
      stat = `${stat}_${n}`;
    }
    stats.add(stat);
    return {
      address: endpoint.address,
      port: endpoint.port,
      weight: endpoint.weight ?? DEFAULT_WEIGHT,
      cluster: endpointCluster(service, index),
      stat,
    };
  });
}

/**
 * The scheduler for calls to a service: each field from the service's own
 * scheduler, else from spec.scheduler, else the default. hashOn is taken only
 * when the resulting strategy needs a hash key (consistent_hash).
 */
function resolveScheduler(mesh: SchedulerSpec | undefined, own: SchedulerSpec | undefined): SchedulerModel {
  const pick = <K extends keyof SchedulerSpec>(key: K): SchedulerSpec[K] => own?.[key] ?? mesh?.[key];
  const duration = (key: "decay" | "window" | "probeInterval", fallback: number): number => {
    const value = pick(key);
    return value === undefined ? fallback : ms(value);
  };
  const strategy = pick("strategy") ?? DEFAULT_STRATEGY;
  const model: SchedulerModel = {
    strategy,
    decayMs: duration("decay", SCHEDULER_DEFAULTS.decayMs),
    windowMs: duration("window", SCHEDULER_DEFAULTS.windowMs),
    errorThreshold: pick("errorThreshold") ?? SCHEDULER_DEFAULTS.errorThreshold,
    minRequests: pick("minRequests") ?? SCHEDULER_DEFAULTS.minRequests,
    probeIntervalMs: duration("probeInterval", SCHEDULER_DEFAULTS.probeIntervalMs),
  };
  const hashOn = pick("hashOn");
  if (STRATEGY_TABLE[strategy].hashKey && hashOn !== undefined) model.hashOn = hashOnModel(hashOn);
  return model;
}

function hashOnModel(spec: HashOnSpec): HashOn {
  // Header names are case-insensitive; Envoy hands them to the filter in lowercase.
  if ("header" in spec) return { kind: "header", name: spec.header.toLowerCase() };
  if ("cookie" in spec) return { kind: "cookie", name: spec.cookie };
  return { kind: "path" };
}

function connectorModel(spec: ConnectorSpec | undefined): ConnectorModel {
  const model: ConnectorModel = {
    connectTimeoutMs: spec?.connectTimeout === undefined ? CONNECT_TIMEOUT_DEFAULT_MS : ms(spec.connectTimeout),
  };
  if (spec === undefined) return model;
  if (spec.timeout !== undefined) model.timeoutMs = ms(spec.timeout);
  if (spec.retries !== undefined) {
    const { attempts, on, perTryTimeout, statusCodes } = spec.retries;
    model.retries = { attempts: attempts ?? RETRY_DEFAULTS.attempts, on: [...(on ?? RETRY_DEFAULTS.on)] };
    if (perTryTimeout !== undefined) model.retries.perTryTimeoutMs = ms(perTryTimeout);
    if (statusCodes !== undefined) model.retries.statusCodes = [...statusCodes];
  }
  if (spec.circuitBreaker !== undefined) model.circuitBreaker = { ...spec.circuitBreaker };
  if (spec.outlierDetection !== undefined) {
    const { consecutive5xx, interval, baseEjectionTime, maxEjectionPercent } = spec.outlierDetection;
    model.outlierDetection = {};
    if (consecutive5xx !== undefined) model.outlierDetection.consecutive5xx = consecutive5xx;
    if (interval !== undefined) model.outlierDetection.intervalMs = ms(interval);
    if (baseEjectionTime !== undefined) model.outlierDetection.baseEjectionTimeMs = ms(baseEjectionTime);
    if (maxEjectionPercent !== undefined) model.outlierDetection.maxEjectionPercent = maxEjectionPercent;
  }
  if (spec.healthCheck !== undefined) {
    const hc = spec.healthCheck;
    model.healthCheck = {
      ...(hc.path === undefined ? {} : { path: hc.path }),
      intervalMs: hc.interval === undefined ? HEALTH_CHECK_DEFAULTS.intervalMs : ms(hc.interval),
      timeoutMs: hc.timeout === undefined ? HEALTH_CHECK_DEFAULTS.timeoutMs : ms(hc.timeout),
      unhealthyThreshold: hc.unhealthyThreshold ?? HEALTH_CHECK_DEFAULTS.unhealthyThreshold,
      healthyThreshold: hc.healthyThreshold ?? HEALTH_CHECK_DEFAULTS.healthyThreshold,
    };
  }
  return model;
}

/**
 * `admission` with its defaults: levels high/normal/low, the default level
 * `normal` when listed, else the last (lowest) level.
 */
function admissionModel(spec: AdmissionSpec): AdmissionModel {
  const levels = [...(spec.levels ?? ADMISSION_DEFAULTS.levels)];
  const wanted = spec.defaultLevel ?? ADMISSION_DEFAULTS.defaultLevelName;
  const found = levels.indexOf(wanted);
  const model: AdmissionModel = {
    maxInFlightPerEndpoint: spec.maxInFlightPerEndpoint,
    maxQueue: spec.maxQueue ?? ADMISSION_DEFAULTS.maxQueue,
    queueTimeoutMs: spec.queueTimeout === undefined ? ADMISSION_DEFAULTS.queueTimeoutMs : ms(spec.queueTimeout),
    tickMs: spec.tick === undefined ? ADMISSION_DEFAULTS.tickMs : ms(spec.tick),
    levels,
    defaultLevel: found >= 0 ? found : levels.length - 1,
  };
  // Header names are case-insensitive; Envoy hands them to the filter in lowercase.
  if (spec.priorityFrom !== undefined) model.priorityHeader = spec.priorityFrom.header.toLowerCase();
  if (spec.adaptive !== undefined) {
    const { minLimit, maxLimit, window } = spec.adaptive;
    model.adaptive = { minLimit, maxLimit, windowMs: window === undefined ? ADMISSION_DEFAULTS.adaptiveWindowMs : ms(window) };
  }
  return model;
}

function ms(duration: string): number {
  const parsed = parseDuration(duration);
  if (!parsed.ok) throw new Error(`to-model: unchecked duration ${JSON.stringify(duration)}`);
  return parsed.ms;
}
