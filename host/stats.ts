/**
 * The Envoy process's stats store for plugin metrics. Envoy names a plugin
 * metric "wasmcustom.<name>" and keeps one stat per full name, so VMs (workers)
 * defining the same name share it. Counters only grow, gauges go up and down
 * (uint64 in Envoy: below zero wraps, which the Prometheus output shows), and
 * histograms keep their Prometheus bucket counts, count and sum, and every
 * recorded value unless told not to (`keepHistogramValues: false`: a long
 * simulation records one value per request and must not grow with them).
 */
import { renderPrometheus } from "./prometheus.js";
import { CounterStat, GaugeStat, HistogramStat, type Stat } from "./stat.js";
import type { StatsTag } from "./stat-tags.js";

export class StatsStore {
  private readonly counters = new Map<string, CounterStat>();
  private readonly gauges = new Map<string, GaugeStat>();
  private readonly histograms = new Map<string, HistogramStat>();

  /** Get-or-create (Envoy's scope dedups by name); `name` is the plugin's name. */
  defineCounter(name: string): CounterStat {
    let s = this.counters.get(name);
    if (!s) this.counters.set(name, (s = new CounterStat(name)));
    return s;
  }

  defineGauge(name: string): GaugeStat {
    let s = this.gauges.get(name);
    if (!s) this.gauges.set(name, (s = new GaugeStat(name)));
    return s;
  }

  constructor(private readonly keepHistogramValues = true) {}

  defineHistogram(name: string): HistogramStat {
    let s = this.histograms.get(name);
    if (!s) this.histograms.set(name, (s = new HistogramStat(name, this.keepHistogramValues)));
    return s;
  }

  /** Counter or gauge value by the plugin's metric name (without "wasmcustom."). */
  get(name: string): number | undefined {
    return this.counters.get(name)?.value ?? this.gauges.get(name)?.value;
  }

  /** "counter" | "gauge" | "histogram" | undefined (counter wins if a name has two types). */
  type(name: string): Stat["kind"] | undefined {
    if (this.counters.has(name)) return "counter";
    if (this.gauges.has(name)) return "gauge";
    if (this.histograms.has(name)) return "histogram";
    return undefined;
  }

  /** Values recorded into a histogram, in order (a copy). */
  histogram(name: string): number[] | undefined {
    return this.histograms.get(name)?.values.slice();
  }

  /** Every defined metric name, sorted. */
  names(): string[] {
    return [...new Set([...this.counters.keys(), ...this.gauges.keys(), ...this.histograms.keys()])].sort();
  }

  /** Text like Envoy's /stats/prometheus for these metrics, with stats_tags applied. */
  prometheus(statsTags: readonly StatsTag[] = []): string {
    return renderPrometheus(
      [...this.counters.values()],
      [...this.gauges.values()],
      [...this.histograms.values()],
      statsTags,
    );
  }
}
