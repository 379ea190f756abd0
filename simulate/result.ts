/**
 * The result of `lightsub simulate`: the documented, stable shape behind
 * `--json` (simulate/README.md describes every field). Bump `version` on any
 * incompatible change.
 */
import type { StrategyName } from "../compiler/model/strategies.js";
import type { EndpointUsage, RunMetrics } from "./metrics.js";
import type { RunKind, SkippedRun } from "./runs.js";
import type { RunName } from "./workload/model.js";

export const RESULT_VERSION = 1;

export interface EndpointInfo {
  cluster: string;
  address: string;
  port: number;
  weight: number;
  /** Service time, as written in the workload (e.g. "constant 10ms"). */
  latency: string;
  meanServiceMs: number;
  concurrency: number;
  /** null: unbounded. */
  queueLimit: number | null;
  errorRate: number;
  /** Timed state changes (slowdowns, outages, error bursts) after the start. */
  events: { atMs: number; slowdown: number; outage: string | null; errorRate: number }[];
}

export interface ScenarioInfo {
  from: string;
  to: string;
  policyStrategy: StrategyName;
  workers: number;
  /** `bursts` only when the workload has some: `{ atMs, untilMs, ratePerSec }` windows with another rate. */
  arrivals: { process: "poisson" | "constant"; ratePerSec: number; requests: number; bursts?: { atMs: number; untilMs: number; ratePerSec: number }[] };
  /** The route timeout (0: none). */
  timeoutMs: number;
  retries: { numRetries: number; retryOn: string[]; perTryTimeoutMs: number | null } | null;
  endpoints: EndpointInfo[];
  /** The workload's overhead per try outside the endpoints (absent without one): each leg described, and their means' sum. */
  overhead?: { request: string | null; response: string | null; meanMs: number };
  /** The destination's admission as compiled into the plugin JSON (absent without admission). */
  admission?: {
    maxInFlight: number;
    maxQueue: number;
    queueTimeoutMs: number;
    tickMs: number;
    priorityHeader: string | null;
    levels: string[];
    defaultLevel: number;
    adaptive: { minLimit: number; maxLimit: number; windowMs: number } | null;
  };
}

export interface RunResult extends Omit<RunMetrics, "endpoints"> {
  name: RunName;
  kind: RunKind;
  /** This run uses the strategy the policy sets. */
  isPolicy: boolean;
  endpoints: (EndpointUsage & { cluster: string })[];
  /** This run's latency percentiles divided by the oracle's (null without an oracle run). */
  ratioToOracle: { p50: number; p90: number; p99: number; p999: number } | null;
  /** lightsub runs: what the filter reported. */
  filter: { unscheduled: number; errorLogs: number; failed: boolean } | null;
}

export interface SimulationResult {
  version: typeof RESULT_VERSION;
  policy: string;
  workload: string;
  seed: number;
  scenario: ScenarioInfo;
  skipped: SkippedRun[];
  runs: RunResult[];
}

/** JSON text of a result: NaN and ±Infinity (empty or unbounded values) become null. */
export function resultJson(result: SimulationResult): string {
  return JSON.stringify(result, (_key, value) => (typeof value === "number" && !Number.isFinite(value) ? null : value), 2);
}
