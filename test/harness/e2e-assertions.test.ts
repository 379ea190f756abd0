/** The pure e2e assertions (e2e/assertions.ts) on hand-made inputs: each must pass what is right and catch what is wrong. */
import { describe, expect, it } from "vitest";
import {
  E2eAssertionError,
  assertNoProblems,
  checkHeaderNeverForwarded,
  checkLightsubMetrics,
  checkNoFilterErrors,
  checkRequestsSucceed,
  checkShareAvoids,
  checkSpoofIgnored,
  lightsubMetric,
  parseEnvoyLog,
  parsePrometheus,
  shareOf,
  type ResponseRecord,
} from "../../e2e/assertions.js";

// Shaped like Envoy 1.40's /stats/prometheus for the filter's metrics (custom namespace stripped, no envoy_ prefix).
const PROM = `# TYPE envoy_cluster_upstream_rq_total counter
envoy_cluster_upstream_rq_total{envoy_cluster_name="slow_ep0"} 97
# TYPE lightsub_rq_total counter
lightsub_rq_total{service="slow",endpoint="127_0_0_1_17101"} 97
lightsub_rq_total{service="slow",endpoint="127_0_0_1_17102"} 3
# TYPE lightsub_rq_unscheduled counter
lightsub_rq_unscheduled{service="slow"} 0
# TYPE lightsub_rq_active gauge
lightsub_rq_active{service="slow",endpoint="127_0_0_1_17101"} 0
# TYPE lightsub_rq_latency_ms histogram
lightsub_rq_latency_ms_bucket{service="slow",endpoint="127_0_0_1_17101",le="0.5"} 0
lightsub_rq_latency_ms_bucket{service="slow",endpoint="127_0_0_1_17101",le="+Inf"} 97
lightsub_rq_latency_ms_sum{service="slow",endpoint="127_0_0_1_17101"} 612.5
lightsub_rq_latency_ms_count{service="slow",endpoint="127_0_0_1_17101"} 97
weird_label{a="x\\"y\\\\z\\n"} 1
`;

describe("parsePrometheus", () => {
  it("reads names, labels (with escapes) and values, skipping comments", () => {
    const samples = parsePrometheus(PROM);
    expect(samples).toHaveLength(10);
    expect(samples[1]).toEqual({ name: "lightsub_rq_total", labels: { service: "slow", endpoint: "127_0_0_1_17101" }, value: 97 });
    expect(samples.find((s) => s.labels.le === "+Inf")?.value).toBe(97);
    expect(samples.find((s) => s.name === "lightsub_rq_latency_ms_sum")?.value).toBe(612.5);
    expect(samples.at(-1)).toEqual({ name: "weird_label", labels: { a: 'x"y\\z\n' }, value: 1 });
    expect(parsePrometheus("up 1\n")).toEqual([{ name: "up", labels: {}, value: 1 }]);
  });

  it("rejects text that is not the exposition format", () => {
    expect(() => parsePrometheus("<html>404</html>")).toThrow(/not a sample/);
    expect(() => parsePrometheus('x{a="1" b} 2')).toThrow(/malformed labels/);
  });
});

describe("lightsub metrics", () => {
  const samples = parsePrometheus(PROM);

  it("finds a metric only with exactly the given labels", () => {
    expect(lightsubMetric(samples, "rq_total", { service: "slow", endpoint: "127_0_0_1_17102" })).toBe(3);
    expect(lightsubMetric(samples, "rq_total", { service: "slow" })).toBeUndefined();
    expect(lightsubMetric(samples, "rq_unscheduled", { service: "slow" })).toBe(0);
    expect(lightsubMetric(samples, "upstream_rq_total", { envoy_cluster_name: "slow_ep0" })).toBeUndefined();
  });

  it("passes matching counts and names every missing or different one", () => {
    expect(
      checkLightsubMetrics(samples, [
        { metric: "rq_total", service: "slow", endpoint: "127_0_0_1_17101", value: 97 },
        { metric: "rq_unscheduled", service: "slow", value: 0 },
      ]),
    ).toEqual([]);
    expect(
      checkLightsubMetrics(samples, [
        { metric: "rq_total", service: "slow", endpoint: "127_0_0_1_17102", value: 4 },
        { metric: "rq_error", service: "slow", endpoint: "127_0_0_1_17102", value: 0 },
      ]),
    ).toEqual([
      'lightsub_rq_total{service="slow",endpoint="127_0_0_1_17102"} is 3, expected 4',
      'lightsub_rq_error{service="slow",endpoint="127_0_0_1_17102"} is missing from /stats/prometheus',
    ]);
  });

  it("does not accept the name without Envoy's namespace handling", () => {
    const unstripped = parsePrometheus('envoy_wasmcustom_lightsub_rq_total{service="slow",endpoint="e"} 5\n');
    expect(checkLightsubMetrics(unstripped, [{ metric: "rq_total", service: "slow", endpoint: "e", value: 5 }])).toHaveLength(1);
  });
});

describe("shares", () => {
  it("computes shares and bounds the avoided endpoint", () => {
    const counts = { fast: 90, slow: 10 };
    expect(shareOf(counts, "slow")).toBeCloseTo(0.1);
    expect(shareOf({}, "slow")).toBe(0);
    expect(checkShareAvoids(counts, "slow", 0.2, "slow (least_latency)")).toEqual([]);
    expect(checkShareAvoids(counts, "slow", 0.05, "slow (least_latency)")[0]).toMatch(/slow got 10\.0% of 100 requests, at most 5\.0%/);
    expect(checkShareAvoids({ fast: 0, slow: 0 }, "slow", 0.2, "x")).toEqual(["x: no requests reached any endpoint"]);
  });
});

describe("responses", () => {
  const r = (status: number, extra: Partial<ResponseRecord> = {}): ResponseRecord => ({ service: "flaky", status, injected: false, ...extra });

  it("accepts 2xx and injected failures, names everything else", () => {
    expect(checkRequestsSucceed([r(200), r(503, { injected: true })])).toEqual([]);
    expect(checkRequestsSucceed([r(200), r(503), r(0), r(503)])).toEqual([
      "3 of 4 requests failed in the mesh: 2× flaky → 503, 1× flaky → no response",
    ]);
    expect(checkRequestsSucceed([])).toEqual(["no requests were sent"]);
  });

  it("catches a spoofed header that steered requests", () => {
    const clusters = new Map([
      ["flaky_ep0", "a"],
      ["flaky_ep1", "b"],
    ]);
    const ignored = [r(200, { spoofed: "flaky_ep1", upstream: "a" }), r(200, { spoofed: "flaky_ep1", upstream: "a" }), r(200, { upstream: "b" })];
    expect(checkSpoofIgnored(ignored, clusters, 0.2)).toEqual([]);
    const steered = [r(503, { spoofed: "flaky_ep1", upstream: "b", injected: true }), r(200, { spoofed: "flaky_ep1", upstream: "a" })];
    expect(checkSpoofIgnored(steered, clusters, 0.2)).toEqual(["spoofed x-lightsub-endpoint: flaky_ep1 steered 1 of 2 requests onto b"]);
    expect(checkSpoofIgnored([r(200)], clusters, 0.2)).toEqual(["no spoofed requests were sent"]);
    expect(checkSpoofIgnored([r(200, { spoofed: "other_ep0" })], clusters, 0.2)[0]).toMatch(/not an endpoint cluster/);
  });

  it("catches a scheduling header that reached an upstream", () => {
    const seen = { service: "slow", stat: "a", requests: 5, injectedFailures: 0 };
    expect(checkHeaderNeverForwarded([{ ...seen, schedulingHeaderSeen: 0 }])).toEqual([]);
    expect(checkHeaderNeverForwarded([{ ...seen, schedulingHeaderSeen: 2 }])).toEqual([
      "upstream a of slow received x-lightsub-endpoint on 2 requests",
    ]);
  });
});

describe("logs", () => {
  const LOG = [
    "[2025-06-01 10:00:00.000][7][info][main] [source/server/server.cc:1000] starting main dispatch loop",
    "[2025-06-01 10:00:00.100][9][info][wasm] [source/extensions/common/wasm/context.cc:1195] wasm log lightsub lightsub lightsub: configured 2 destinations",
    "[2025-06-01 10:00:00.200][9][error][upstream] [source/common/upstream/x.cc:1] some other component failed",
    "  a continuation line",
  ].join("\n");

  it("parses Envoy's default log format", () => {
    const lines = parseEnvoyLog(LOG);
    expect(lines).toHaveLength(4);
    expect(lines[1]).toMatchObject({ level: "info", logger: "wasm" });
    expect(lines[1]!.message).toContain("configured 2 destinations");
    expect(lines[3]).toEqual({ level: "unknown", message: "  a continuation line" });
  });

  it("flags only the filter's errors", () => {
    expect(checkNoFilterErrors(parseEnvoyLog(LOG))).toEqual([]);
    const bad = `${LOG}\n[2025-06-01 10:00:01.000][9][critical][wasm] [source/extensions/common/wasm/wasm.cc:1] Plugin configured to fail open failed loading`;
    expect(checkNoFilterErrors(parseEnvoyLog(bad))[0]).toMatch(/the filter logged 1 error line: \[critical\] .*failed loading/);
    // a host's own log: every line is the filter's
    expect(checkNoFilterErrors([{ level: "warn", message: "x" }])).toEqual([]);
    expect(checkNoFilterErrors([{ level: "error", message: "bad config: no destinations" }])).toHaveLength(1);
  });
});

describe("assertNoProblems", () => {
  it("throws every problem at once", () => {
    expect(() => assertNoProblems([])).not.toThrow();
    expect(() => assertNoProblems(["a", "b"])).toThrow(E2eAssertionError);
    expect(() => assertNoProblems(["a", "b"])).toThrow("2 checks failed:\n  - a\n  - b");
  });
});
