/**
 * Prometheus text like Envoy's admin /stats/prometheus
 * (source/server/admin/prometheus_stats.cc, text format):
 *
 * - stats are grouped by tag-extracted name, groups sorted by name, counters
 *   first, then gauges, then histograms; one "# TYPE" line per group;
 * - a name in a custom stat namespace ("wasmcustom.", where plugin metrics live)
 *   loses the namespace and gets no "envoy_" prefix; other names get "envoy_";
 *   every character outside [a-zA-Z0-9_] becomes "_"; a custom name that would
 *   start with a digit is dropped;
 * - `name{tag="v",...} value`, label values escaped (\\, \n, ");
 * - histograms: cumulative `_bucket{le=...}` over Envoy's default bounds, then
 *   le="+Inf", `_sum` and `_count`.
 *
 * Differences from Envoy: bucket counts and sums are exact (Envoy approximates
 * with circllhist; for integer samples and these bounds Envoy's counts are the
 * samples strictly below each bound, which is what this computes), and
 * Envoy's built-in tag extractors are not applied.
 */
import { extractTags, type StatsTag, type Tag } from "./stat-tags.js";
import { DEFAULT_HISTOGRAM_BUCKETS, type CounterStat, type GaugeStat, type HistogramStat } from "./stat.js";
import { WASM_CUSTOM_STAT_NAMESPACE } from "../schemas/wire.js";

const CUSTOM_NAMESPACES = [WASM_CUSTOM_STAT_NAMESPACE];

function sanitizeName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, "_");
}

function sanitizeValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** Prometheus metric name for a tag-extracted stat name, or null when Envoy drops it. */
export function metricName(tagExtractedName: string): string | null {
  const dot = tagExtractedName.indexOf(".");
  if (dot > 0 && CUSTOM_NAMESPACES.includes(tagExtractedName.slice(0, dot))) {
    const stripped = sanitizeName(tagExtractedName.slice(dot + 1));
    if (stripped === "" || (stripped.charCodeAt(0) >= 48 && stripped.charCodeAt(0) <= 57)) return null;
    return stripped;
  }
  return `envoy_${sanitizeName(tagExtractedName)}`;
}

function formattedTags(tags: readonly Tag[]): string {
  return tags.map((t) => `${sanitizeName(t.name)}="${sanitizeValue(t.value)}"`).join(",");
}

/** Like fmt's {:.32g}: shortest exact form for integers, 32 significant digits otherwise. */
function formatG(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e21) return String(x);
  let s = x.toPrecision(32);
  if (s.includes("e")) return s;
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s;
}

/** Envoy stores gauges as uint64: a value below zero shows wrapped. */
function formatUint64(v: number): string {
  return v < 0 ? BigInt.asUintN(64, BigInt(Math.trunc(v))).toString() : formatG(v);
}

/** Envoy sorts stat names by their dot-separated elements. */
function compareStatNames(a: string, b: string): number {
  const as = a.split(".");
  const bs = b.split(".");
  for (let i = 0; i < Math.min(as.length, bs.length); i++) {
    if (as[i] !== bs[i]) return as[i]! < bs[i]! ? -1 : 1;
  }
  return as.length - bs.length;
}

interface Tagged<T> {
  stat: T;
  fullName: string;
  tags: Tag[];
}

function groupByExtractedName<T extends { name: string }>(
  stats: readonly T[],
  statsTags: readonly StatsTag[],
): [string, Tagged<T>[]][] {
  const groups = new Map<string, Tagged<T>[]>();
  for (const stat of stats) {
    const fullName = `${WASM_CUSTOM_STAT_NAMESPACE}.${stat.name}`;
    const { tagExtractedName, tags } = extractTags(fullName, statsTags);
    let g = groups.get(tagExtractedName);
    if (!g) groups.set(tagExtractedName, (g = []));
    g.push({ stat, fullName, tags });
  }
  const sorted = [...groups.entries()].sort((x, y) => compareStatNames(x[0], y[0]));
  for (const [, g] of sorted) g.sort((x, y) => compareStatNames(x.fullName, y.fullName));
  return sorted;
}

export function renderPrometheus(
  counters: readonly CounterStat[],
  gauges: readonly GaugeStat[],
  histograms: readonly HistogramStat[],
  statsTags: readonly StatsTag[],
): string {
  const out: string[] = [];
  const numeric = (stats: readonly (CounterStat | GaugeStat)[], type: string) => {
    for (const [extracted, group] of groupByExtractedName(stats, statsTags)) {
      const name = metricName(extracted);
      if (name === null) continue;
      out.push(`# TYPE ${name} ${type}\n`);
      for (const m of group) out.push(`${name}{${formattedTags(m.tags)}} ${formatUint64(m.stat.value)}\n`);
    }
  };
  numeric(counters, "counter");
  numeric(gauges, "gauge");
  for (const [extracted, group] of groupByExtractedName(histograms, statsTags)) {
    const name = metricName(extracted);
    if (name === null) continue;
    out.push(`# TYPE ${name} histogram\n`);
    for (const m of group) {
      const tags = formattedTags(m.tags);
      const prefix = m.tags.length === 0 ? "" : `${tags},`;
      DEFAULT_HISTOGRAM_BUCKETS.forEach((bound, i) => out.push(`${name}_bucket{${prefix}le="${formatG(bound)}"} ${m.stat.below[i]!}\n`));
      out.push(`${name}_bucket{${prefix}le="+Inf"} ${m.stat.count}\n`);
      out.push(`${name}_sum{${tags}} ${formatG(m.stat.sum)}\n`);
      out.push(`${name}_count{${tags}} ${m.stat.count}\n`);
    }
  }
  return out.join("");
}
