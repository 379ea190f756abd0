/**
 * The one table of scheduling strategies: every fact the compiler, the
 * simulator and the tests need about a strategy is a column here, and
 * everything in TypeScript reads it. schemas/policy.schema.json (the
 * `strategy` enum) and the filter (AssemblyScript, which cannot import this)
 * spell the names too; test/compiler/strategy-table.test.ts checks that both
 * accept exactly these names.
 *
 * The order of the rows is the order users see (the schema's enum, the
 * simulator's comparison runs).
 */
import { STRATEGY_NAMES, type StrategyName } from "../../schemas/wire.js";

/** Scheduler parameters as the policy names them, and the model field (and plugin JSON key) each becomes. */
export const SCHEDULER_PARAMETERS = {
  decay: "decayMs",
  window: "windowMs",
  errorThreshold: "errorThreshold",
  minRequests: "minRequests",
  probeInterval: "probeIntervalMs",
} as const;
export type SchedulerParameter = keyof typeof SCHEDULER_PARAMETERS;

/** Envoy's native load-balancing policies the strategies fall back to. */
export type NativeLbPolicy = "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST" | "RING_HASH";

export interface StrategyFacts {
  /**
   * What the endpoint weights do: `share` — each endpoint's share of the
   * requests follows its weight (smooth weighted round robin; the hash ring's
   * virtual nodes per weight); `load` — the load compared is per unit of weight
   * (least_load's weighted P2C, which availability uses among healthy
   * endpoints); `ignored` — the choice is by turn, chance or latency, and
   * weights set there draw LS031. Envoy's native fallback gets the weights
   * exactly when they are not ignored.
   */
  weights: "share" | "load" | "ignored";
  /** Needs a hash key (`hashOn`, LS041); `hashOn` is read by no other strategy (LS040). */
  hashKey: boolean;
  /**
   * Envoy's lb_policy closest to the strategy: the aggregate cluster's (the
   * fail-open path when the filter does not decide) and, except ROUND_ROBIN and
   * RING_HASH, the failover endpoints' in an endpoint cluster.
   */
  nativeLb: NativeLbPolicy;
  /** The scheduler parameters this strategy reads, in plugin JSON order; a service setting another draws LS043. */
  parameters: readonly SchedulerParameter[];
}

export const STRATEGY_TABLE = {
  round_robin: { weights: "ignored", hashKey: false, nativeLb: "ROUND_ROBIN", parameters: [] },
  random: { weights: "ignored", hashKey: false, nativeLb: "RANDOM", parameters: [] },
  weighted: { weights: "share", hashKey: false, nativeLb: "ROUND_ROBIN", parameters: [] },
  least_load: { weights: "load", hashKey: false, nativeLb: "LEAST_REQUEST", parameters: [] },
  least_latency: { weights: "ignored", hashKey: false, nativeLb: "LEAST_REQUEST", parameters: ["decay"] },
  availability: {
    weights: "load",
    hashKey: false,
    nativeLb: "LEAST_REQUEST",
    parameters: ["window", "errorThreshold", "minRequests", "probeInterval"],
  },
  consistent_hash: { weights: "share", hashKey: true, nativeLb: "RING_HASH", parameters: [] },
} as const satisfies Record<StrategyName, StrategyFacts>;

// The names themselves are the wire contract's (schemas/wire.ts); the table has a row for each, in that order.
export { STRATEGY_NAMES, type StrategyName };

export const DEFAULT_STRATEGY: StrategyName = "round_robin";

export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === "string" && Object.hasOwn(STRATEGY_TABLE, value);
}

/** Strategies whose choice follows the weights: those that share by weight first, then those that weigh load (LS031 names them in this order). */
export const WEIGHT_AWARE_STRATEGIES: readonly StrategyName[] = Object.freeze([
  ...STRATEGY_NAMES.filter((name) => STRATEGY_TABLE[name].weights === "share"),
  ...STRATEGY_NAMES.filter((name) => STRATEGY_TABLE[name].weights === "load"),
]);

export function isWeightAware(name: StrategyName): boolean {
  return STRATEGY_TABLE[name].weights !== "ignored";
}

/** Each scheduler parameter and the one strategy that reads it. */
export const PARAMETER_STRATEGY: Readonly<Record<SchedulerParameter, StrategyName>> = Object.freeze(
  Object.fromEntries(STRATEGY_NAMES.flatMap((name) => STRATEGY_TABLE[name].parameters.map((p) => [p, name]))) as Record<SchedulerParameter, StrategyName>,
);
