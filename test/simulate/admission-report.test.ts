/**
 * Admission in the simulator's outputs: the terminal table's second table
 * (queued, rejections by reason), the HTML report's section, and no such
 * table for scenarios where nothing queued and no limit rejected anything.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { dir, policy, simulate, writeTemp } from "../support/simulate.js";

/** client → api (two endpoints, least_load, 1 s timeout); `admission` is the block's text or "" for none. */
function admissionPolicy(admission: string, simulation: string): string {
  return policy({ endpoints: 2, strategy: "least_load", connector: "{ timeout: 1s }", admission: admission || undefined, simulation });
}


const OVERLOADED = `  seed: 4
  workers: 2
  arrivals: { rate: 900, requests: 1500 }
  backend: { latency: { distribution: exponential, mean: 10ms }, concurrency: 4 }`;

describe("admission in the outputs", () => {
  it("the table names the admission and counts queued requests and rejections by reason per run", async () => {
    const file = writeTemp("report-admission.yaml", admissionPolicy("{ maxInFlightPerEndpoint: 4, maxQueue: 8, queueTimeout: 50ms }", OVERLOADED));
    const report = join(dir, "report-admission.html");
    const run = await simulate([file, "--report", report]);
    expect(run.code).toBe(0);
    expect(run.out).toContain("admission on api: 4 in flight per endpoint, queue 8 per worker, queue timeout 50ms, tick 10ms");
    const lines = run.out.split("\n");
    const header = lines.findIndex((l) => l.startsWith("run") && l.includes("queued"));
    expect(header).toBeGreaterThan(0);
    const columns = lines[header]!.split(/\s{2,}/);
    expect(columns).toEqual(expect.arrayContaining(["queued", "wait p50", "wait p99", "queue-full", "queue-timeout", "overflow", "timeout", "5xx"]));
    const row = (name: string) => lines.slice(header + 2).find((l) => l.trim().replace(/^\* /, "").startsWith(`${name} `))!.trim().replace(/^\* /, "").split(/\s{2,}/);
    const cell = (name: string, column: string) => row(name)[columns.indexOf(column)]!;
    expect(Number(cell("least_load", "queued"))).toBeGreaterThan(0);
    expect(Number(cell("least_load", "queue-full")) + Number(cell("least_load", "queue-timeout"))).toBeGreaterThan(0);
    expect(Number(cell("circuit_breaker", "overflow"))).toBeGreaterThan(0);
    expect(cell("no_admission", "queued")).toBe("0");
    expect(cell("no_admission", "wait p50")).toBe("-");

    const html = readFileSync(report, "utf8");
    expect(html).toContain("<h2>Admission and rejections</h2>");
    expect(html).toContain("<th>queue-full</th>");
    expect(html).toContain("Admission on <b>api</b>: 4 in flight per endpoint");
  });

  it("shows no rejection table when nothing queued, was answered by the filter or overflowed", async () => {
    const file = writeTemp("report-plain.yaml", admissionPolicy("", `  arrivals: { rate: 100, requests: 200 }\n  compare: [least_load, envoy:RANDOM]`));
    const run = await simulate([file]);
    expect(run.code).toBe(0);
    expect(run.out).not.toContain("queue-full");
    expect(run.out).not.toContain("admission on");
  });
});
