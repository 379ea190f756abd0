/** The terminal report: the scenario in a few lines, then one table row per run. */
import { formatDuration } from "../duration.js";
import type { RunResult, SimulationResult } from "../result.js";

export function resultTable(result: SimulationResult): string {
  const s = result.scenario;
  const lines: string[] = [];
  const retries = s.retries
    ? `${s.retries.numRetries} retr${s.retries.numRetries === 1 ? "y" : "ies"} on ${s.retries.retryOn.join(",")}${s.retries.perTryTimeoutMs === null ? "" : `, per try ${formatDuration(s.retries.perTryTimeoutMs)}`}`
    : "no retries";
  lines.push(`${result.policy}: ${s.from} → ${s.to}, seed ${result.seed}`);
  lines.push(
    `  ${s.arrivals.requests} requests, ${s.arrivals.process} ${s.arrivals.ratePerSec}/s, ${s.workers} Envoy worker${s.workers === 1 ? "" : "s"}; timeout ${s.timeoutMs === 0 ? "none" : formatDuration(s.timeoutMs)}, ${retries}`,
  );
  s.endpoints.forEach((ep, i) => {
    const events = ep.events.length === 0 ? "" : `, ${ep.events.length} timed change${ep.events.length === 1 ? "" : "s"}`;
    const errors = ep.errorRate > 0 ? `, ${pct(ep.errorRate)} errors` : "";
    lines.push(
      `  ep${i} ${ep.cluster} (${ep.address}:${ep.port}, weight ${ep.weight}): ${ep.latency}, limit ${ep.concurrency}${ep.queueLimit === null ? "" : ` + queue ${ep.queueLimit}`}${errors}${events}`,
    );
  });
  lines.push("");

  const header = ["run", "p50", "p90", "p99", "p99.9", "p99 ×oracle", "ok/s", "errors", ...s.endpoints.map((_, i) => `ep${i}`)];
  const rows = result.runs.map((r) => rowOf(r));
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
  const format = (cells: string[]) => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ");
  lines.push(format(header));
  lines.push(widths.map((w) => "─".repeat(w)).join("  "));
  for (const row of rows) lines.push(format(row));
  lines.push("");
  lines.push("* the policy's strategy. Latency: arrival at the caller's sidecar to response, all requests (errors too), nearest rank.");
  lines.push("ep<i>: share of upstream tries (first tries and retries) per endpoint. ×oracle: p99 divided by the oracle's.");
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
