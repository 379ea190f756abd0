/**
 * `--report out.html`: one self-contained page (inline CSS and SVG, no script,
 * no network) with the scenario, the table, a latency CDF and a tail plot per
 * run, traffic share per endpoint over time per run, and error rate over time.
 */
import { formatDuration } from "../../compiler/policy/duration.js";
import type { RunResult, SimulationResult } from "../result.js";
import { DASHES, PALETTE, escapeXml, lineChart, linearTicks, logTicks, stackedAreaChart, type LineSeries, type Shade } from "./svg.js";
import { burstsText, localReplyReasons, ms, showsRejections } from "./table.js";
import { REASON_QUEUE_FULL, REASON_QUEUE_TIMEOUT } from "../../schemas/wire.js";

export function htmlReport(result: SimulationResult): string {
  const s = result.scenario;
  const colors = runStyles(result);
  const shades = outageShades(result);
  const title = `lightsub simulate: ${s.from} → ${s.to}`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${escapeXml(title)}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto; max-width: 1340px; color: #222; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px; text-align: right; border-bottom: 1px solid #eee; } th:first-child, td:first-child { text-align: left; }
tr.policy td { font-weight: 600; background: #f6f9ff; }
.legend span { display: inline-block; margin-right: 14px; } .legend svg { margin-right: 5px; vertical-align: middle; } .legend i { display: inline-block; width: 14px; height: 4px; margin-right: 5px; vertical-align: middle; }
.charts { display: flex; flex-wrap: wrap; gap: 18px; } .charts figure { margin: 0; } figcaption { font-size: 13px; color: #555; }
.chart .tick { font-size: 11px; fill: #555; } .chart .axis { font-size: 12px; fill: #333; }
.muted { color: #666; } code { background: #f3f3f3; padding: 1px 4px; border-radius: 3px; }
</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
<p class="muted">policy <code>${escapeXml(result.policy)}</code>, workload <code>${escapeXml(result.workload)}</code>, seed <code>${result.seed}</code>; result format version ${result.version}</p>
${scenarioSection(result)}
<h2>Results</h2>
${resultsTable(result)}
<p class="muted">Latency runs from the request's arrival at the caller's sidecar to its response, over all requests (errors included), nearest-rank percentiles from a latency histogram (at most 0.1% above the exact value). “×oracle” divides by the oracle run, which sees every backend's true state. Endpoint columns: share of upstream tries.</p>
${rejectionSection(result)}
${mixSection(result)}
${result.skipped.map((k) => `<p class="muted">Skipped ${escapeXml(k.name)}: ${escapeXml(k.reason)}</p>`).join("\n")}
<h2>Latency</h2>
${legend(result, colors)}
${identicalCurves(result)}
<div class="charts">
<figure>${cdfChart(result, colors)}<figcaption>Latency CDF: the share of requests answered within a time (log scale).</figcaption></figure>
<figure>${tailChart(result, colors)}<figcaption>Tail: latency at each percentile up to 99.99%.</figcaption></figure>
</div>
<h2>Errors over time</h2>
${legend(result, colors)}
<div class="charts"><figure>${errorChart(result, colors, shades)}<figcaption>Error rate of the requests arriving in each interval${shades.length > 0 ? "; shaded: an endpoint is out or degraded" : ""}.</figcaption></figure></div>
<h2>Traffic share per endpoint over time</h2>
<div class="legend">${s.endpoints.map((ep, i) => `<span><i style="background:${PALETTE[i % PALETTE.length]}"></i>ep${i} ${escapeXml(ep.cluster)}</span>`).join("")}</div>
<div class="charts">
${result.runs.map((r) => `<figure>${shareChart(result, r, shades)}<figcaption>${escapeXml(r.name)}${r.isPolicy ? " (the policy's strategy)" : ""}</figcaption></figure>`).join("\n")}
</div>
</body>
</html>
`;
}

function scenarioSection(result: SimulationResult): string {
  const s = result.scenario;
  const retries = s.retries
    ? `${s.retries.numRetries} on ${escapeXml(s.retries.retryOn.join(", "))}${s.retries.perTryTimeoutMs === null ? "" : `, per try ${formatDuration(s.retries.perTryTimeoutMs)}`}`
    : "none";
  const rows = s.endpoints
    .map((ep, i) => {
      const events = ep.events
        .map((e) => `${formatDuration(e.atMs)}: ${e.outage ? `outage ${e.outage}` : e.slowdown !== 1 ? `slowdown ×${e.slowdown}` : e.errorRate !== ep.errorRate ? `errors ${pct(e.errorRate)}` : "normal"}`)
        .join("; ");
      return `<tr><td>ep${i} ${escapeXml(ep.cluster)}</td><td>${escapeXml(ep.address)}:${ep.port}</td><td>${ep.weight}</td><td>${escapeXml(ep.latency)}</td><td>${ep.concurrency}${ep.queueLimit === null ? "" : ` + ${ep.queueLimit}`}</td><td>${pct(ep.errorRate)}</td><td>${escapeXml(events || "–")}</td></tr>`;
    })
    .join("\n");
  return `<h2>Scenario</h2>
<p>${s.arrivals.requests} requests, ${s.arrivals.process} arrivals at ${s.arrivals.ratePerSec}/s${burstsText(result)} from <b>${escapeXml(s.from)}</b> to <b>${escapeXml(s.to)}</b> through ${s.workers} Envoy worker${s.workers === 1 ? "" : "s"}; the policy's strategy is <b>${escapeXml(s.policyStrategy)}</b>; route timeout ${s.timeoutMs === 0 ? "none" : formatDuration(s.timeoutMs)}; retries ${retries}.</p>
<table><thead><tr><th>endpoint</th><th>address</th><th>weight</th><th>service time</th><th>limit</th><th>errors</th><th>timed changes</th></tr></thead><tbody>
${rows}
</tbody></table>`;
}

function resultsTable(result: SimulationResult): string {
  const head = ["run", "p50", "p90", "p99", "p99.9", "p99 ×oracle", "ok/s", "errors", "retries", ...result.scenario.endpoints.map((_, i) => `ep${i}`)];
  const rows = result.runs.map((r) => {
    const l = r.latencyMs;
    const cells = [
      `${escapeXml(r.name)}${r.isPolicy ? " *" : ""}`,
      ms(l.p50),
      ms(l.p90),
      ms(l.p99),
      ms(l.p999),
      r.ratioToOracle && Number.isFinite(r.ratioToOracle.p99) ? `${r.ratioToOracle.p99.toFixed(2)}×` : "–",
      r.throughputRps.toFixed(1),
      pct(r.errorRate, 2),
      String(r.retries),
      ...r.endpoints.map((e) => pct(e.share, 1)),
    ];
    return `<tr${r.isPolicy ? ' class="policy"' : ""}>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>\n${rows.join("\n")}\n</tbody></table>`;
}

/** Admission queue and failures by reason, when any run queued, was answered by the filter or hit a circuit breaker. */
function rejectionSection(result: SimulationResult): string {
  if (!result.runs.some(showsRejections)) return "";
  const reasons = localReplyReasons(result);
  const head = ["run", "queued", "wait p50", "wait p99", ...reasons.map((r) => escapeXml(r || "local reply")), "overflow (503 UO)", "timeout (504)", "5xx", "error rate"];
  const rows = result.runs.map((r) => {
    const cells = [
      `${escapeXml(r.name)}${r.isPolicy ? " *" : ""}`,
      String(r.queued.requests),
      r.queued.requests > 0 ? ms(r.queued.waitMs.p50) : "–",
      r.queued.requests > 0 ? ms(r.queued.waitMs.p99) : "–",
      ...reasons.map((reason) => String(r.localReplies[reason] ?? 0)),
      String(r.outcomes.overflow),
      String(r.outcomes.timeout),
      String(r.outcomes.http5xx),
      pct(r.errorRate, 2),
    ];
    return `<tr${r.isPolicy ? ' class="policy"' : ""}>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  const admission = result.scenario.admission
    ? `<p>Admission on <b>${escapeXml(result.scenario.to)}</b>: ${result.scenario.admission.maxInFlight} in flight per endpoint, queue ${result.scenario.admission.maxQueue} per worker, queue timeout ${formatDuration(result.scenario.admission.queueTimeoutMs)}.</p>`
    : "";
  return `<h2>Admission and rejections</h2>
${admission}
<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>
<p class="muted">queued: requests the filter held in its admission queue, and how long they waited. Failed requests by reason: the filter's 503s (${REASON_QUEUE_FULL}, ${REASON_QUEUE_TIMEOUT}), Envoy's circuit breaker, the route timeout, 5xx answers (e.g. an endpoint's own queue overflowing).</p>`;
}

/** Per value of the workload's request mix (e.g. each priority level): requests, error rate and latency per run. */
function mixSection(result: SimulationResult): string {
  const first = result.runs.find((r) => r.byMix)?.byMix;
  if (!first) return "";
  const head = ["run", ...first.classes.flatMap((c) => [`${escapeXml(c.value)} errors`, `${escapeXml(c.value)} p50`, `${escapeXml(c.value)} p99`])];
  const rows = result.runs.map((r) => {
    const cells = [`${escapeXml(r.name)}${r.isPolicy ? " *" : ""}`, ...(r.byMix?.classes ?? []).flatMap((c) => [pct(c.errorRate, 2), ms(c.latencyMs.p50), ms(c.latencyMs.p99)])];
    return `<tr${r.isPolicy ? ' class="policy"' : ""}>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
  });
  return `<h2>By ${escapeXml(first.header)}</h2>
<p class="muted">Requests per value: ${first.classes.map((c) => `${escapeXml(c.value)} ${c.requests}`).join(", ")}.</p>
<table><thead><tr>${head.map((h) => `<th>${h}</th>`).join("")}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>`;
}

/** How each run is drawn: its colour, and a dash pattern of its own so that lines lying on top of each other stay apart. */
interface RunStyle {
  color: string;
  dash: string;
  width: number;
}

type Styles = Map<string, RunStyle>;

function runStyles(result: SimulationResult): Styles {
  let others = 0;
  return new Map(
    result.runs.map((r, i) => {
      // The policy's run: solid, wide, drawn first, so dashed lines on top leave it visible around them.
      const dash = r.isPolicy ? "" : DASHES[1 + (others++ % (DASHES.length - 1))]!;
      return [r.name, { color: PALETTE[i % PALETTE.length]!, dash, width: r.isPolicy ? 3.5 : 1.8 }];
    }),
  );
}

function lineOf(r: RunResult, styles: Styles, points: [number, number][]): LineSeries {
  const style = styles.get(r.name)!;
  return { name: r.name, color: style.color, dash: style.dash, width: style.width, points };
}

function legend(result: SimulationResult, styles: Styles): string {
  const sample = (style: RunStyle) =>
    `<svg width="30" height="8" aria-hidden="true"><line x1="0" y1="4" x2="30" y2="4" stroke="${style.color}" stroke-width="${Math.min(style.width, 3)}"${style.dash ? ` stroke-dasharray="${style.dash}"` : ""}/></svg>`;
  return `<div class="legend">${result.runs.map((r) => `<span>${sample(styles.get(r.name)!)}${escapeXml(r.name)}${r.isPolicy ? " *" : ""}</span>`).join("")}</div>`;
}

/** Runs whose latency curves are the same (they would hide each other), said in words. */
function identicalCurves(result: SimulationResult): string {
  const groups = new Map<string, string[]>();
  for (const r of result.runs) {
    if (r.cdf.length === 0) continue;
    const key = JSON.stringify(r.cdf);
    groups.set(key, [...(groups.get(key) ?? []), r.name]);
  }
  const same = [...groups.values()].filter((names) => names.length > 1);
  if (same.length === 0) return "";
  return `<p class="muted">Identical latency curves, drawn over each other: ${same.map((names) => names.map(escapeXml).join(" = ")).join("; ")}.</p>`;
}

function latencyRange(result: SimulationResult): [number, number] {
  let min = Infinity;
  let max = 0;
  for (const r of result.runs) {
    for (const [v] of r.cdf) {
      if (v > 0 && v < min) min = v;
      if (v > max) max = v;
    }
  }
  if (!Number.isFinite(min)) return [0.1, 1];
  const low = niceBelow(min);
  return [low, niceAbove(Math.max(max, low * 10))];
}

function cdfChart(result: SimulationResult, colors: Styles): string {
  const [low, high] = latencyRange(result);
  return lineChart(
    "latency CDF",
    { label: "latency (log scale)", scale: "log", min: low, max: high, ticks: logTicks(low, high, label) },
    { label: "share of requests", scale: "linear", min: 0, max: 1, ticks: linearTicks(0, 1, 5, (v) => `${Math.round(v * 100)}%`) },
    policyFirst(result.runs).map((r) => lineOf(r, colors, r.cdf.map(([v, q]) => [Math.max(v, low), q] as [number, number]))),
  );
}

/** x: −log10(1 − q), so 90%, 99%, 99.9%, 99.99% are evenly spaced. */
function tailChart(result: SimulationResult, colors: Styles): string {
  const [low, high] = latencyRange(result);
  const nines = (q: number) => -Math.log10(Math.max(1e-4, 1 - q));
  // One format for all: as many decimals as the percentile has (50%, 99%, 99.9%, 99.99%).
  const ticks = [0.5, 0.9, 0.99, 0.999, 0.9999].map((q) => ({ value: nines(q), label: `${Number((q * 100).toFixed(2))}%` }));
  return lineChart(
    "latency by percentile",
    { label: "percentile", scale: "linear", min: 0, max: 4, ticks },
    { label: "latency (log scale)", scale: "log", min: low, max: high, ticks: logTicks(low, high, label) },
    policyFirst(result.runs).map((r) => lineOf(r, colors, r.cdf.filter(([, q]) => q < 1).map(([v, q]) => [nines(q), Math.max(v, low)] as [number, number]))),
  );
}

function timeAxis(result: SimulationResult): { xs: number[]; axis: import("./svg.js").Axis } {
  const series = result.runs[0]?.series;
  const buckets = series?.requests.length ?? 1;
  const bucketMs = series?.bucketMs ?? 1;
  const xs = Array.from({ length: buckets }, (_, i) => ((i + 0.5) * bucketMs) / 1000);
  const max = (buckets * bucketMs) / 1000;
  return { xs, axis: { label: "time (s)", scale: "linear", min: 0, max, ticks: linearTicks(0, max, 8, (v) => `${v}`) } };
}

function errorChart(result: SimulationResult, colors: Styles, shades: Shade[]): string {
  const { xs, axis } = timeAxis(result);
  let max = 0;
  const series = policyFirst(result.runs).map((r) => {
    const values = r.series.requests.map((n, i) => (n === 0 ? 0 : r.series.errors[i]! / n));
    for (const v of values) max = Math.max(max, v);
    return lineOf(r, colors, values.map((v, i) => [xs[i]!, v] as [number, number]));
  });
  const top = max <= 0 ? 0.01 : Math.min(1, max * 1.1);
  return lineChart("error rate over time", axis, { label: "error rate", scale: "linear", min: 0, max: top, ticks: linearTicks(0, top, 5, (v) => pct(v, top < 0.05 ? 1 : 0)) }, series, shades);
}

function shareChart(result: SimulationResult, run: RunResult, shades: Shade[]): string {
  const { xs, axis } = timeAxis(result);
  const totals = xs.map((_, b) => run.series.tries.reduce((sum, ep) => sum + (ep[b] ?? 0), 0));
  const series = run.series.tries.map((ep, i) => ({
    name: `ep${i} ${result.scenario.endpoints[i]?.cluster ?? ""}`,
    color: PALETTE[i % PALETTE.length]!,
    values: ep.map((n, b) => (totals[b] === 0 ? 0 : n / totals[b]!)),
  }));
  return stackedAreaChart(`traffic share: ${run.name}`, axis, { label: "share of tries", scale: "linear", min: 0, max: 1, ticks: linearTicks(0, 1, 4, (v) => `${Math.round(v * 100)}%`) }, xs, series, shades);
}

/** Time windows in which some endpoint is out, slowed down or erroring (for shading the time charts). */
function outageShades(result: SimulationResult): Shade[] {
  const shades: Shade[] = [];
  const series = result.runs[0]?.series;
  const end = series ? (series.requests.length * series.bucketMs) / 1000 : 0;
  result.scenario.endpoints.forEach((ep, i) => {
    const events = ep.events;
    events.forEach((e, k) => {
      const degraded = e.outage !== null || e.slowdown !== 1 || e.errorRate !== ep.errorRate;
      if (!degraded) return;
      const until = events[k + 1]?.atMs ?? end * 1000;
      const what = e.outage ? `outage ${e.outage}` : e.slowdown !== 1 ? `slowdown ×${e.slowdown}` : `errors ${pct(e.errorRate)}`;
      shades.push({ from: e.atMs / 1000, to: until / 1000, label: `ep${i} ${ep.cluster}: ${what}` });
    });
  });
  return shades;
}

/** The largest 1, 2 or 5 × 10^k at or below `v`. */
function niceBelow(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  return [5, 2, 1].map((m) => m * power).find((c) => c <= v) ?? power;
}

/** The smallest 1, 2 or 5 × 10^k at or above `v`. */
function niceAbove(v: number): number {
  const power = 10 ** Math.floor(Math.log10(v));
  return [1, 2, 5, 10].map((m) => m * power).find((c) => c >= v) ?? 10 * power;
}

/** The policy's run first: its wide solid line lies under the others' dashes and shows around them. */
function policyFirst<T extends { isPolicy: boolean }>(runs: T[]): T[] {
  return [...runs.filter((r) => r.isPolicy), ...runs.filter((r) => !r.isPolicy)];
}

/** Latency tick labels in the duration grammar's short spelling: 200us, 5ms, 2s, 1m. */
function label(v: number): string {
  return formatDuration(v);
}

function pct(v: number, digits = 1): string {
  return `${(v * 100).toFixed(digits)}%`;
}
