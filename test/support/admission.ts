/**
 * Helpers for the admission tests (test/filter/admission-*.test.ts): plugin
 * configurations with an `admission` object (docs/design.md, "Admission") and
 * small readers of what the filter did to a stream.
 */
import type { Stream, Vm } from "../../host/index.js";
import { HEADER, type Sidecar, destination, pluginConfig } from "./filter-host.js";

const SERVICE = "catalog";

export interface AdmissionSpec {
  maxInFlight: number;
  maxQueue?: number;
  queueTimeoutMs?: number;
  tickMs?: number;
  priorityHeader?: string;
  levels?: string[];
  defaultLevel?: number;
  adaptive?: { minLimit: number; maxLimit: number; windowMs?: number };
  [key: string]: unknown;
}

/** What the compiler writes by default, with a priority header. */
export const BASE_ADMISSION = {
  maxQueue: 8,
  queueTimeoutMs: 200,
  tickMs: 10,
  priorityHeader: "x-priority",
  levels: ["high", "normal", "low"],
  defaultLevel: 1,
};

export function admissionConfig(endpointCount: number, admission: AdmissionSpec, strategy = "round_robin"): Record<string, unknown> {
  return pluginConfig([destination(SERVICE, strategy, endpointCount, { admission: { ...BASE_ADMISSION, ...admission } })]);
}

/** A destination-level metric of the catalog service. */
export function destinationStat(sc: Sidecar, metric: string): number | undefined {
  return sc.stat(`lightsub.service.${SERVICE}.${metric}`);
}

export function waitHistogram(sc: Sidecar): number[] {
  return sc.envoy.stats.histogram(`lightsub.service.${SERVICE}.admission_wait_ms`) ?? [];
}

/** A request to the catalog on `vm`, with an optional priority header value. */
export function call(sc: Sidecar, vm: Vm, priority?: string): Stream {
  return sc.request(SERVICE, priority === undefined ? [] : [["x-priority", priority]], "/items", vm);
}

/** The x-lightsub-reason of the stream's local reply, if it got one. */
export function rejection(s: Stream): string | undefined {
  if (!s.localReply) return undefined;
  return s.localReply.headers.find(([k]) => k === "x-lightsub-reason")?.[1];
}

/** The scheduling header value the filter set, if any. */
export function endpointOf(s: Stream): string | undefined {
  const values = s.requestHeaders.getAll(HEADER);
  return values.length === 1 ? values[0] : undefined;
}

/** Admitted: headers went on (at once or resumed) with a scheduling header. */
export function admitted(s: Stream): boolean {
  return !s.requestPaused && endpointOf(s) !== undefined && !s.localReply;
}

/** Still waiting: paused, no reply, no header. */
export function waiting(s: Stream): boolean {
  return s.requestPaused && !s.localReply && endpointOf(s) === undefined;
}
