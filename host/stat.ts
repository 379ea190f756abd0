/**
 * One plugin metric as Envoy's stats store keeps it: a counter, a gauge or a
 * histogram (with Envoy's default bucket bounds). The store (stats.ts) and the
 * Prometheus text (prometheus.ts) both read these.
 */

/** Envoy's default histogram bucket bounds (HistogramSettingsImpl::defaultBuckets). */
export const DEFAULT_HISTOGRAM_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000,
  3600000,
] as const;

export class CounterStat {
  readonly kind = "counter";
  value = 0;
  constructor(readonly name: string) {}
}

export class GaugeStat {
  readonly kind = "gauge";
  value = 0;
  constructor(readonly name: string) {}
}

export class HistogramStat {
  readonly kind = "histogram";
  /** Every recorded value, in order (empty when the store does not keep values). */
  readonly values: number[] = [];
  sum = 0;
  count = 0;
  /** below[i]: values recorded below DEFAULT_HISTOGRAM_BUCKETS[i] (Prometheus' cumulative buckets). */
  readonly below = new Float64Array(DEFAULT_HISTOGRAM_BUCKETS.length);
  constructor(
    readonly name: string,
    private readonly keepValues = true,
  ) {}
  record(v: number): void {
    if (this.keepValues) this.values.push(v);
    this.sum += v;
    this.count++;
    for (let i = DEFAULT_HISTOGRAM_BUCKETS.length - 1; i >= 0 && v < DEFAULT_HISTOGRAM_BUCKETS[i]!; i--) this.below[i]!++;
  }
}

export type Stat = CounterStat | GaugeStat | HistogramStat;
