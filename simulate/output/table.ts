/** The terminal report: the scenario in a few lines, then one table row per run. */
import { formatDuration } from "../../compiler/policy/duration.js";
import type { RunResult, SimulationResult } from "../result.js";
import { REASON_QUEUE_FULL, REASON_QUEUE_TIMEOUT } from "../../schemas/wire.js";

export function resultTable(result: SimulationResult): string {
  const s = result.scenario;
  const lines: string[] = [];
  const retries = s.retries
    ? `${s.retries.numRetries} retr${s.retries.numRetries === 1 ? "y" : "ies"} on ${s.retries.retryOn.join(",")}${s.retries.perTryTimeoutMs === null ? "" : `, per try ${formatDuration(s.retries.perTryTimeoutMs)}`}`
    : "no retries";
  lines.push(`${result.policy}: ${s.from} → ${s.to}, seed ${result.seed}`);
  lines.push(
    `  ${s.arrivals.requests} requests, ${s.arrivals.process} ${s.arrivals.ratePerSec}/s${burstsText(result)}, ${s.workers} Envoy worker${s.workers === 1 ? "" : "s"}; timeout ${s.timeoutMs === 0 ? "none" : formatDuration(s.timeoutMs)}, ${retries}`,
  );
  s.endpoints.forEach((ep, i) => {
    const events = ep.events.length === 0 ? "" : `, ${ep.events.length} timed change${ep.events.length === 1 ? "" : "s"}`;
    const errors = ep.errorRate > 0 ? `, ${pct(ep.errorRate)} errors` : "";
    lines.push(
      `  ep${i} ${ep.cluster} (${ep.address}:${ep.port}, weight ${ep.weight}): ${ep.latency}, limit ${ep.concurrency}${ep.queueLimit === null ? "" : ` + queue ${ep.queueLimit}`}${errors}${events}`,
    );
  });
  if (s.overhead) lines.push(`  overhead per try outside the endpoints: request leg ${s.overhead.request ?? "none"}, response leg ${s.overhead.response ?? "none"}`);
  if (s.admission) lines.push(`  admission on ${s.to}: ${admissionText(s.admission)}`);
  lines.push("");

  const header = ["run", "p50", "p90", "p99", "p99.9", "p99 ×oracle", "ok/s", "errors", ...s.endpoints.map((_, i) => `ep${i}`)];
  lines.push(...textTable(header, result.runs.map(rowOf)), "");
  lines.push("* the policy's strategy. Latency: arrival at the caller's sidecar to response, all requests (errors too), nearest rank.");
  lines.push("ep<i>: share of upstream tries (first tries and retries) per endpoint. ×oracle: p99 divided by the oracle's.");
  if (result.runs.some(showsRejections)) lines.push("", ...rejectionTable(result));
  if (result.runs.some((r) => r.byMix)) lines.push("", ...mixTable(result));
  for (const skip of result.skipped) lines.push(`skipped ${skip.name}: ${skip.reason}`);
  for (const r of result.runs) {
    if (r.filter && (r.filter.unscheduled > 0 || r.filter.failed || r.filter.errorLogs > 0)) {
      lines.push(
        `note ${r.name}: the filter ${r.filter.failed ? "failed (trap); " : ""}could not decide ${r.filter.unscheduled} request(s)${r.filter.errorLogs > 0 ? `, ${r.filter.errorLogs} error log line(s)` : ""}`,
      );
    }
    if (r.unanswered > 0) lines.push(`note ${r.name}: ${r.unanswered} request(s) never answered (no timeout applies)`);
  }
  return lines.join("\n");
}

function admissionText(a: NonNullable<SimulationResult["scenario"]["admission"]>): string {
  const limit = a.adaptive ? `${a.maxInFlight} (adaptive ${a.adaptive.minLimit}–${a.adaptive.maxLimit})` : String(a.maxInFlight);
  const priority = a.priorityHeader ? `, levels ${a.levels.join(">")} from ${a.priorityHeader}` : "";
  return `${limit} in flight per endpoint, queue ${a.maxQueue} per worker, queue timeout ${formatDuration(a.queueTimeoutMs)}, tick ${formatDuration(a.tickMs)}${priority}`;
}

/** `, 3000/s from 4s to 7s` per arrival burst (also the HTML report's). */
export function burstsText(result: SimulationResult): string {
  return (result.scenario.arrivals.bursts ?? []).map((b) => `, ${b.ratePerSec}/s from ${formatDuration(b.atMs)} to ${formatDuration(b.untilMs)}`).join("");
}

/** Runs worth a line in the rejection table (here and in the HTML report): anything queued, answered by the filter, or refused by a limit. */
export function showsRejections(r: RunResult): boolean {
  return r.queued.requests > 0 || Object.keys(r.localReplies).length > 0 || r.outcomes.overflow > 0;
}

/**
 * Where requests waited and why they failed, per run: the admission queue
 * (queued, their wait) and the rejections by reason — the filter's local
 * replies (by REASON_HEADER), Envoy's circuit breaker (overflow), the
 * route timeout, 5xx answers (the backends' own queues overflowing).
 */
function rejectionTable(result: SimulationResult): string[] {
  const reasons = localReplyReasons(result);
  const header = ["run", "queued", "wait p50", "wait p99", ...reasons.map((r) => r || "local reply"), "overflow", "timeout", "5xx", "other"];
  const rows = result.runs.map((r) => {
    const o = r.outcomes;
    const named = reasons.reduce((sum, reason) => sum + (r.localReplies[reason] ?? 0), 0);
    const other = o.http4xx + o.reset + o.connectFailure + o.noRoute + (o.localReply - named) + r.unanswered;
    return [
      `${r.isPolicy ? "* " : "  "}${r.name}`,
      String(r.queued.requests),
      r.queued.requests > 0 ? ms(r.queued.waitMs.p50) : "-",
      r.queued.requests > 0 ? ms(r.queued.waitMs.p99) : "-",
      ...reasons.map((reason) => String(r.localReplies[reason] ?? 0)),
      String(o.overflow),
      String(o.timeout),
      String(o.http5xx),
      String(other),
    ];
  });
  return [
    ...textTable(header, rows),
    "",
    "queued: requests the filter held in its admission queue, and how long they waited. Failed requests by reason: the filter's",
    `503s (${REASON_QUEUE_FULL}, ${REASON_QUEUE_TIMEOUT}), Envoy's circuit breaker (overflow, 503 UO), the route timeout (504), 5xx answers, other.`,
  ];
}

/** Per value of the workload's request mix (e.g. each priority level): error rate and p99 per run. */
function mixTable(result: SimulationResult): string[] {
  const first = result.runs.find((r) => r.byMix)!.byMix!;
  const header = ["run", ...first.classes.flatMap((c) => [`${c.value} errors`, `${c.value} p99`])];
  const rows = result.runs.map((r) => [
    `${r.isPolicy ? "* " : "  "}${r.name}`,
    ...(r.byMix?.classes ?? []).flatMap((c) => [pct(c.errorRate), ms(c.latencyMs.p99)]),
  ]);
  const shares = first.classes.map((c) => `${c.value} ${c.requests}`).join(", ");
  return [...textTable(header, rows), "", `by ${first.header} (requests: ${shares}): error rate and p99 latency of each value's requests.`];
}

/** The local-reply reasons any run saw, sorted: one column each (here and in the HTML report). */
export function localReplyReasons(result: SimulationResult): string[] {
  return [...new Set(result.runs.flatMap((r) => Object.keys(r.localReplies)))].sort();
}

/** Header, rule and rows, columns padded to their widest cell (the first left-aligned, the rest right-aligned). */
function textTable(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => (row[c] ?? "").length)));
  const format = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  return [format(header), widths.map((w) => "─".repeat(w)).join("  "), ...rows.map(format)];
}

function rowOf(r: RunResult): string[] {
  const l = r.latencyMs;
  return [
    `${r.isPolicy ? "* " : "  "}${r.name}`,
    ms(l.p50),
    ms(l.p90),
    ms(l.p99),
    ms(l.p999),
    r.ratioToOracle ? ratio(r.ratioToOracle.p99) : "-",
    r.throughputRps.toFixed(1),
    pct(r.errorRate),
    ...r.endpoints.map((e) => pct(e.share, 1)),
  ];
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return "-";
  if (value >= 10_000) return `${(value / 1000).toFixed(1)}s`;
  if (value >= 100) return `${value.toFixed(0)}ms`;
  if (value >= 10) return `${value.toFixed(1)}ms`;
  return `${value.toFixed(2)}ms`;
}

function ratio(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(2)}×` : "-";
}

function pct(value: number, digits = 2): string {
  return `${(value * 100).toFixed(digits)}%`;
}
