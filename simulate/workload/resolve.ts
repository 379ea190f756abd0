/**
 * A schema-valid workload + the policy's model → the resolved WorkloadModel,
 * with the checks the schema cannot express (names of services and endpoints,
 * exactly-one-of pairs, event order, durations above zero), all problems in
 * one pass.
 */
import { Diag, diagnosticAt, type Diagnostic, type DiagMessage, type MessageArgs } from "../../compiler/diagnostics/index.js";
import type { MeshModel, ServiceModel } from "../../compiler/model/mesh.js";
import { isStrategyName, STRATEGY_TABLE } from "../../compiler/model/strategies.js";
import { parseDurationUs } from "../../compiler/policy/duration.js";
import { expectedArrivals } from "../arrivals.js";
import {
  MAX_REQUESTS,
  WORKLOAD_DEFAULTS,
  type BurstModel,
  type EndpointBehaviour,
  type EndpointState,
  type LatencySpec,
  type OutageKind,
  type OverheadModel,
  type RequestMix,
  type RunName,
  type StateChange,
  type WorkloadModel,
} from "./model.js";
import { closest, displayPath } from "./schema-check.js";
import type { PathSegment, WorkloadSource } from "./yaml-source.js";

type RawLatency =
  | string
  | { distribution: "constant"; value: string }
  | { distribution: "exponential"; mean: string }
  | { distribution: "lognormal"; median: string; p99?: string; sigma?: number }
  | { distribution: "bimodal"; fast: RawLatency; slow: RawLatency; slowFraction: number };

interface RawBehaviour {
  latency?: RawLatency;
  concurrency?: number;
  queueLimit?: number;
  errorRate?: number;
  errorStatus?: number;
}

interface RawEvent {
  at: string;
  until?: string;
  slowdown?: number;
  outage?: OutageKind;
  errorRate?: number;
  recover?: true;
}

interface RawWorkload {
  from?: string;
  to?: string;
  seed?: number;
  workers?: number;
  callers?: number;
  arrivals: { process?: "poisson" | "constant"; rate: number; clients?: number; requests?: number; duration?: string; bursts?: { at: string; until: string; rate: number }[] };
  request?: { method?: string; path?: string; headers?: Record<string, string>; hashKeys?: number; mix?: { header: string; values: Record<string, number> } };
  backend?: RawBehaviour;
  endpoints?: (RawBehaviour & { endpoint: string | number; events?: RawEvent[] })[];
  overhead?: { request?: RawLatency; response?: RawLatency };
  compare?: RunName[];
}

/** z of the standard normal's 99th percentile: lognormal sigma = ln(p99 / median) / z. */
const Z99 = 2.3263478740408408;

export function resolveWorkload(
  source: WorkloadSource,
  rootLabel: string,
  model: MeshModel,
): { workload?: WorkloadModel; diagnostics: Diagnostic[] } {
  const raw = source.value as RawWorkload;
  const diagnostics: Diagnostic[] = [];
  const report: Report = (path, message, ...args) => {
    diagnostics.push(diagnosticAt({ file: source.file, ...source.position(path) }, message, ...args));
  };
  const where = (path: PathSegment[]) => displayPath(rootLabel, path);

  const duration = (text: string, path: PathSegment[], positive: boolean): number => {
    const parsed = parseDurationUs(text);
    if (!parsed.ok) {
      report(path, Diag.WorkloadDurationUnparsable, { where: where(path), got: JSON.stringify(text), reason: parsed.reason });
      return NaN;
    }
    const ms = parsed.us / 1_000;
    if (positive && ms <= 0) report(path, Diag.WorkloadDurationNotPositive, { where: where(path) });
    return ms;
  };

  // Who calls whom.
  const caller = resolveCaller(raw, model, report);
  const callee = caller ? resolveCallee(raw, model, caller, report) : undefined;

  // Arrivals.
  const arrivals = raw.arrivals;
  const bursts = resolveBursts(arrivals.bursts, duration, report, where);
  let requests = arrivals.requests ?? 0;
  if ((arrivals.requests === undefined) === (arrivals.duration === undefined)) {
    report(["arrivals"], Diag.ExactlyOneOf, { where: where(["arrivals"]), first: "requests", second: "duration" });
  } else if (arrivals.duration !== undefined) {
    const ms = duration(arrivals.duration, ["arrivals", "duration"], true);
    requests = bursts === undefined ? Math.floor((ms / 1000) * arrivals.rate) : Math.floor(expectedArrivals({ process: "poisson", ratePerSec: arrivals.rate, requests: 0, bursts }, ms) + 1e-9);
    if (requests > MAX_REQUESTS) {
      report(["arrivals"], Diag.TooManyRequests, { where: where(["arrivals"]), requests, max: MAX_REQUESTS });
    } else if (Number.isFinite(ms) && requests < 1) {
      report(["arrivals", "duration"], Diag.DurationTooShortForOne, { where: where(["arrivals", "duration"]) });
    }
  }

  // Backends.
  const latency = (rawLatency: RawLatency, path: PathSegment[]): LatencySpec => {
    if (typeof rawLatency === "string") return { distribution: "constant", valueMs: duration(rawLatency, path, true) };
    switch (rawLatency.distribution) {
      case "constant":
        return { distribution: "constant", valueMs: duration(rawLatency.value, [...path, "value"], true) };
      case "exponential":
        return { distribution: "exponential", meanMs: duration(rawLatency.mean, [...path, "mean"], true) };
      case "lognormal": {
        const medianMs = duration(rawLatency.median, [...path, "median"], true);
        if ((rawLatency.p99 === undefined) === (rawLatency.sigma === undefined)) {
          report(path, Diag.ExactlyOneOf, { where: where(path), first: "p99", second: "sigma" });
          return { distribution: "lognormal", medianMs, sigma: 1 };
        }
        if (rawLatency.sigma !== undefined) return { distribution: "lognormal", medianMs, sigma: rawLatency.sigma };
        const p99 = duration(rawLatency.p99!, [...path, "p99"], true);
        if (p99 <= medianMs) report([...path, "p99"], Diag.P99NotAboveMedian, { where: where([...path, "p99"]) });
        return { distribution: "lognormal", medianMs, sigma: Math.max(1e-9, Math.log(p99 / medianMs) / Z99) };
      }
      case "bimodal":
        return {
          distribution: "bimodal",
          fast: latency(rawLatency.fast, [...path, "fast"]),
          slow: latency(rawLatency.slow, [...path, "slow"]),
          slowFraction: rawLatency.slowFraction,
        };
    }
  };

  const backend = raw.backend ?? {};
  const defaults = {
    latency: backend.latency === undefined ? WORKLOAD_DEFAULTS.latency : latency(backend.latency, ["backend", "latency"]),
    concurrency: backend.concurrency ?? WORKLOAD_DEFAULTS.concurrency,
    queueLimit: backend.queueLimit ?? WORKLOAD_DEFAULTS.queueLimit,
    errorRate: backend.errorRate ?? WORKLOAD_DEFAULTS.errorRate,
    errorStatus: backend.errorStatus ?? WORKLOAD_DEFAULTS.errorStatus,
  };

  let overhead: OverheadModel | undefined;
  if (raw.overhead !== undefined) {
    const { request, response } = raw.overhead;
    overhead = {
      ...(request !== undefined ? { requestLeg: latency(request, ["overhead", "request"]) } : {}),
      ...(response !== undefined ? { responseLeg: latency(response, ["overhead", "response"]) } : {}),
    };
    if (overhead.requestLeg === undefined && overhead.responseLeg === undefined) overhead = undefined;
  }

  const endpoints: EndpointBehaviour[] = (callee?.endpoints ?? []).map(() => ({
    ...defaults,
    timeline: [{ atMs: 0, state: { slowdown: 1, errorRate: defaults.errorRate } }],
  }));
  const claimedBy = new Map<number, number>();
  (raw.endpoints ?? []).forEach((entry, i) => {
    const path: PathSegment[] = ["endpoints", i];
    if (!callee) return;
    const index = selectEndpoint(entry.endpoint, callee);
    if (typeof index === "string") {
      report([...path, "endpoint"], Diag.UnknownEndpoint, { where: where([...path, "endpoint"]), reason: index });
      return;
    }
    const earlier = claimedBy.get(index);
    if (earlier !== undefined) {
      report([...path, "endpoint"], Diag.EndpointSelectedTwice, { where: where([...path, "endpoint"]), earlier });
      return;
    }
    claimedBy.set(index, i);
    const behaviour: EndpointBehaviour = {
      latency: entry.latency === undefined ? defaults.latency : latency(entry.latency, [...path, "latency"]),
      concurrency: entry.concurrency ?? defaults.concurrency,
      queueLimit: entry.queueLimit ?? defaults.queueLimit,
      errorRate: entry.errorRate ?? defaults.errorRate,
      errorStatus: entry.errorStatus ?? defaults.errorStatus,
      timeline: [],
    };
    const events = (entry.events ?? []).map((event, j) => {
      const eventPath = [...path, "events", j];
      const atMs = duration(event.at, [...eventPath, "at"], false);
      const untilMs = event.until === undefined ? undefined : duration(event.until, [...eventPath, "until"], false);
      if (untilMs !== undefined && !(untilMs > atMs)) {
        report([...eventPath, "until"], Diag.UntilNotAfterAt, { where: where([...eventPath, "until"]) });
      }
      const changes = event.slowdown !== undefined || event.outage !== undefined || event.errorRate !== undefined;
      if (!changes && !event.recover) {
        report(eventPath, Diag.EventChangesNothing, { where: where(eventPath) });
      }
      if (event.recover && (changes || untilMs !== undefined)) {
        report(eventPath, Diag.RecoverWithChanges, { where: where(eventPath) });
      }
      return { atMs, untilMs, event };
    });
    behaviour.timeline = buildTimeline(behaviour.errorRate, events);
    endpoints[index] = behaviour;
  });

  // A strategy that hashes (consistent_hash) can only be compared when the destination says what to hash; the admission baselines need admission.
  (raw.compare ?? []).forEach((name, i) => {
    if (isStrategyName(name) && STRATEGY_TABLE[name].hashKey && callee && !callee.scheduler.hashOn) {
      report(["compare", i], Diag.CompareNeedsHashOn, { where: where(["compare", i]), callee: callee.name });
    }
    if ((name === "no_admission" || name === "circuit_breaker") && callee && !callee.admission) {
      report(["compare", i], Diag.CompareNeedsAdmission, { where: where(["compare", i]), run: name, callee: callee.name });
    }
  });

  // Several callers each run their own sidecar; the engine holds admission-queued requests for one sidecar only.
  if ((raw.callers ?? 1) > 1 && callee?.admission) {
    report(["callers"], Diag.SeveralCallersWithAdmission, { where: where(["callers"]), callee: callee.name });
  }

  const mix = resolveMix(raw.request?.mix, report, where);

  if (diagnostics.length > 0 || !caller || !callee) return { diagnostics };
  const headers = Object.entries(raw.request?.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
  return {
    diagnostics,
    workload: {
      from: caller.name,
      to: callee.name,
      seed: raw.seed,
      workers: raw.workers ?? WORKLOAD_DEFAULTS.workers,
      callers: raw.callers ?? WORKLOAD_DEFAULTS.callers,
      arrivals: {
        process: arrivals.process ?? WORKLOAD_DEFAULTS.process,
        ratePerSec: arrivals.rate ?? WORKLOAD_DEFAULTS.closedLoopRate,
        requests,
        ...(bursts ? { bursts } : {}),
        ...(arrivals.clients !== undefined ? { clients: arrivals.clients } : {}),
      },
      request: {
        method: raw.request?.method ?? WORKLOAD_DEFAULTS.method,
        path: raw.request?.path ?? WORKLOAD_DEFAULTS.path,
        headers,
        hashKeys: raw.request?.hashKeys ?? WORKLOAD_DEFAULTS.hashKeys,
        ...(mix ? { mix } : {}),
      },
      endpoints,
      ...(overhead ? { overhead } : {}),
      compare: raw.compare,
    },
  };
}

/** Reports a catalogue message at a path of the workload. */
type Report = <T extends string>(path: PathSegment[], message: DiagMessage<T>, ...args: MessageArgs<T>) => void;
/** A path as messages show it (`simulation.arrivals.duration`). */
type Where = (path: PathSegment[]) => string;

/** `request.mix` → values with cumulative shares; the shares must not all be 0. */
function resolveMix(raw: { header: string; values: Record<string, number> } | undefined, report: Report, where: Where): RequestMix | undefined {
  if (raw === undefined) return undefined;
  const entries = Object.entries(raw.values);
  const total = entries.reduce((sum, [, share]) => sum + share, 0);
  if (!(total > 0)) {
    const path = ["request", "mix", "values"];
    report(path, Diag.MixAllZero, { where: where(path) });
    return undefined;
  }
  let sum = 0;
  const cumulative = entries.map(([, share]) => (sum += share) / total);
  cumulative[cumulative.length - 1] = 1;
  return { header: raw.header.toLowerCase(), values: entries.map(([value]) => value), cumulative };
}

/** `arrivals.bursts` → sorted windows; `until` after `at`, no overlaps. Undefined when none are given. */
function resolveBursts(
  raw: { at: string; until: string; rate: number }[] | undefined,
  duration: (text: string, path: PathSegment[], positive: boolean) => number,
  report: Report,
  where: Where,
): BurstModel[] | undefined {
  if (raw === undefined || raw.length === 0) return undefined;
  const bursts = raw.map((b, i) => {
    const path: PathSegment[] = ["arrivals", "bursts", i];
    const atMs = duration(b.at, [...path, "at"], false);
    const untilMs = duration(b.until, [...path, "until"], true);
    if (!(untilMs > atMs)) report([...path, "until"], Diag.UntilNotAfterAt, { where: where([...path, "until"]) });
    return { atMs, untilMs, ratePerSec: b.rate, index: i };
  });
  const sorted = [...bursts].sort((a, b) => a.atMs - b.atMs || a.index - b.index);
  for (let k = 1; k < sorted.length; k++) {
    const earlier = sorted[k - 1]!;
    const later = sorted[k]!;
    const at = ["arrivals", "bursts", later.index, "at"];
    if (later.atMs < earlier.untilMs) report(at, Diag.BurstsOverlap, { where: where(at), earlier: earlier.index });
  }
  return sorted.map(({ atMs, untilMs, ratePerSec }) => ({ atMs, untilMs, ratePerSec }));
}

function resolveCaller(raw: RawWorkload, model: MeshModel, report: Report): ServiceModel | undefined {
  if (raw.from === undefined) {
    const first = model.services.find((s) => s.calls.length > 0);
    if (!first) report([], Diag.NoCallingService);
    return first;
  }
  const service = model.services.find((s) => s.name === raw.from);
  if (!service) {
    const hint = closest(raw.from, model.services.map((s) => s.name));
    report(["from"], Diag.UnknownCaller, { name: raw.from, hint: hint ? ` (did you mean "${hint}"?)` : "" });
    return undefined;
  }
  if (service.calls.length === 0) {
    report(["from"], Diag.CallerCallsNobody, { name: raw.from });
    return undefined;
  }
  return service;
}

function resolveCallee(raw: RawWorkload, model: MeshModel, caller: ServiceModel, report: Report): ServiceModel | undefined {
  const name = raw.to ?? caller.calls[0]!.service;
  if (!caller.calls.some((c) => c.service === name)) {
    const calls = caller.calls.map((c) => c.service);
    const hint = closest(name, calls);
    report(["to"], Diag.NotCalledByCaller, { caller: caller.name, name, hint: hint ? ` (did you mean "${hint}"?)` : `; it calls ${calls.join(", ")}` });
    return undefined;
  }
  return model.services.find((s) => s.name === name);
}

/** Endpoint index, or a message saying why none. */
function selectEndpoint(selector: string | number, callee: ServiceModel): number | string {
  const list = callee.endpoints.map((ep) => `${ep.address}:${ep.port}`).join(", ");
  if (typeof selector === "number") {
    return selector < callee.endpoints.length ? selector : `"${callee.name}" has ${callee.endpoints.length} endpoints (index 0 to ${callee.endpoints.length - 1})`;
  }
  const exact = callee.endpoints.findIndex((ep) => `${ep.address}:${ep.port}` === selector || ep.cluster === selector);
  if (exact >= 0) return exact;
  const byAddress = callee.endpoints.flatMap((ep, i) => (ep.address === selector ? [i] : []));
  if (byAddress.length === 1) return byAddress[0]!;
  if (byAddress.length > 1) return `"${selector}" matches ${byAddress.length} endpoints; write address:port`;
  return `"${selector}" is not an endpoint of "${callee.name}" (endpoints: ${list})`;
}

/**
 * Events → the endpoint's states over time. An event without `until` lasts
 * until the next `recover` after it (or forever). When events overlap, the one
 * listed later wins for what it sets.
 */
function buildTimeline(baseErrorRate: number, events: { atMs: number; untilMs?: number; event: RawEvent }[]): StateChange[] {
  const recoveries = events.filter((e) => e.event.recover).map((e) => e.atMs);
  const spans = events
    .filter((e) => !e.event.recover)
    .map((e) => ({
      from: e.atMs,
      to: e.untilMs ?? Math.min(Infinity, ...recoveries.filter((r) => r > e.atMs)),
      event: e.event,
    }));
  const times = [...new Set([0, ...spans.flatMap((s) => [s.from, s.to]).filter(Number.isFinite)])].sort((a, b) => a - b);
  const timeline: StateChange[] = [];
  for (const t of times) {
    const state: EndpointState = { slowdown: 1, errorRate: baseErrorRate };
    for (const span of spans) {
      if (span.from <= t && t < span.to) {
        if (span.event.slowdown !== undefined) state.slowdown = span.event.slowdown;
        if (span.event.outage !== undefined) state.outage = span.event.outage;
        if (span.event.errorRate !== undefined) state.errorRate = span.event.errorRate;
      }
    }
    const previous = timeline[timeline.length - 1]?.state;
    if (previous && sameState(previous, state)) continue;
    timeline.push({ atMs: t, state });
  }
  return timeline;
}

function sameState(a: EndpointState, b: EndpointState): boolean {
  return a.slowdown === b.slowdown && a.outage === b.outage && a.errorRate === b.errorRate;
}
