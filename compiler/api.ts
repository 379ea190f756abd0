/**
 * A typed builder for policies, for code that generates meshes:
 *
 *   const { model, diagnostics } = new Mesh("shop")
 *     .setScheduler("least_latency", { decay: "5s" })
 *     .addService({ name: "frontend", port: 8080, endpoints: [{ address: "frontend", port: 15006 }], calls: ["catalog"] })
 *     .addService({ name: "catalog", port: 9090, protocol: "grpc", endpoints: [{ address: "catalog-1", port: 15006 }] })
 *     .setConnector("catalog", { timeout: "2s", retries: { attempts: 2 } })
 *     .setAdmission("catalog", { maxInFlightPerEndpoint: 32, queueTimeout: "200ms" })
 *     .toModel();
 *
 * `toPolicy()` gives the policy document (the same shape as a policy file);
 * `toModel()` serializes it and runs the very same checks as a file
 * (checkPolicy with file name `<api>`), so the builder and files can never
 * disagree. Diagnostics then point into `toText()`.
 */
import type { FailMode } from "./model/mesh.js";
import type { StrategyName } from "./model/strategies.js";
import { checkPolicy, type CheckResult } from "./check-policy.js";
import {
  API_VERSION,
  KIND,
  type AdmissionSpec,
  type ConnectorSpec,
  type PolicyDocument,
  type PolicySpec,
  type SchedulerSpec,
  type ServiceSpec,
  type SecuritySpec,
  type SidecarSpec,
} from "./policy/types.js";
import { stringify } from "yaml";

export type { AdmissionSpec, CallSpec, ConnectorSpec, EndpointSpec, HashOnSpec, PolicyDocument, SchedulerSpec, SecuritySpec, ServiceSpec, SidecarSpec } from "./policy/types.js";
export type { CheckResult } from "./check-policy.js";

/** Scheduler parameters besides the strategy. */
export type SchedulerParams = Omit<SchedulerSpec, "strategy">;

/** The file name diagnostics of builder policies carry. */
export const API_FILE = "<api>";

export class Mesh {
  private readonly services: ServiceSpec[] = [];
  private scheduler: SchedulerSpec | undefined;
  private failMode: FailMode | undefined;
  private sidecar: SidecarSpec | undefined;
  private security: SecuritySpec | undefined;

  constructor(readonly name: string) {}

  /** Adds a service (copied; later changes to the argument do not leak in). */
  addService(service: ServiceSpec): this {
    this.services.push(structuredClone(service));
    return this;
  }

  /** The mesh-wide default scheduler (spec.scheduler). */
  setScheduler(strategy: StrategyName, params: SchedulerParams = {}): this {
    this.scheduler = { strategy, ...structuredClone(params) };
    return this;
  }

  /** The scheduler for calls to one service, overriding the mesh default. */
  setServiceScheduler(service: string, strategy: StrategyName, params: SchedulerParams = {}): this {
    this.service(service, "setServiceScheduler").scheduler = { strategy, ...structuredClone(params) };
    return this;
  }

  /** How calls to `service` are made (replaces its connector). */
  setConnector(service: string, connector: ConnectorSpec): this {
    this.service(service, "setConnector").connector = structuredClone(connector);
    return this;
  }

  /**
   * Task admission for calls to `service` (replaces its admission): at most
   * `maxInFlightPerEndpoint` in flight per endpoint, the rest wait in a bounded
   * priority queue. `null` removes it.
   */
  setAdmission(service: string, admission: AdmissionSpec | null): this {
    const target = this.service(service, "setAdmission");
    if (admission === null) delete target.admission;
    else target.admission = structuredClone(admission);
    return this;
  }

  /** The mesh-wide fail mode (spec.failMode). */
  setFailMode(mode: FailMode): this {
    this.failMode = mode;
    return this;
  }

  setSidecar(sidecar: SidecarSpec): this {
    this.sidecar = structuredClone(sidecar);
    return this;
  }

  /** Mutual TLS and authorization (spec.security); services take `allow` and `public` in addService. */
  setSecurity(security: SecuritySpec): this {
    this.security = structuredClone(security);
    return this;
  }

  /** The policy document, as a policy file would hold it. */
  toPolicy(): PolicyDocument {
    // Key order as in the documentation: scheduler, failMode, sidecar, services.
    const spec: Partial<PolicySpec> = {};
    if (this.scheduler !== undefined) spec.scheduler = structuredClone(this.scheduler);
    if (this.failMode !== undefined) spec.failMode = this.failMode;
    if (this.sidecar !== undefined) spec.sidecar = structuredClone(this.sidecar);
    if (this.security !== undefined) spec.security = structuredClone(this.security);
    spec.services = structuredClone(this.services);
    return { apiVersion: API_VERSION, kind: KIND, metadata: { name: this.name }, spec: spec as PolicySpec };
  }

  /** The policy as text: JSON (the default, fastest to check) or YAML. */
  toText(format: "json" | "yaml" = "json"): string {
    const policy = this.toPolicy();
    return format === "json" ? `${JSON.stringify(policy, null, 2)}\n` : stringify(policy);
  }

  /** Checks the policy exactly as a file is checked; `model` only when there is no error. */
  toModel(): CheckResult {
    return checkPolicy(this.toText("json"), API_FILE);
  }

  private service(name: string, method: string): ServiceSpec {
    const found = this.services.find((s) => s.name === name);
    if (found === undefined) throw new Error(`${method}: no service ${JSON.stringify(name)}; add it with addService first`);
    return found;
  }
}
