/**
 * The table `npm run bench` prints (Markdown, so the same text goes into the
 * README): one block per figure, medians with [min–max] where it helps, then
 * every target with how far it is met or missed.
 */
import type { Figure } from "./figures.js";
import type { BenchResults } from "./results.js";

export function formatNumber(n: number): string {
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString("en-US");
  if (a >= 100) return n.toFixed(0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 0.01 || a === 0) return n.toFixed(2);
  return n.toPrecision(2);
}

function range(f: Figure): string {
  return f.runs > 1 && f.min !== f.max ? ` [${formatNumber(f.min)}–${formatNumber(f.max)}]` : "";
}

function cell(f: Figure | undefined, withRange = true): string {
  return f ? `${formatNumber(f.median)}${withRange ? range(f) : ""}` : "–";
}

function markdownTable(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

class Index {
  constructor(private readonly figures: readonly Figure[]) {}

  find(section: Figure["section"], name: string, params: Record<string, string | number> = {}): Figure | undefined {
    return this.figures.find(
      (f) => f.section === section && f.name === name && Object.entries(params).every(([k, v]) => f.params[k] === v),
    );
  }

  all(section: Figure["section"], name?: string): Figure[] {
    return this.figures.filter((f) => f.section === section && (name === undefined || f.name === name));
  }

  values(section: Figure["section"], name: string, param: string): (string | number)[] {
    return [...new Set(this.all(section, name).map((f) => f.params[param]!))];
  }
}

function filterCost(ix: Index): string | undefined {
  const ratios = ix.all("filter-cost", "ratio");
  if (ratios.length === 0) return undefined;
  const sizes = ix.values("filter-cost", "ratio", "endpoints");
  const strategies = ix.values("filter-cost", "ratio", "strategy");
  const rows = strategies.map((strategy) => [
    String(strategy),
    ...sizes.map((endpoints) => cell(ix.find("filter-cost", "ratio", { strategy, endpoints }))),
    ...sizes.map((endpoints) => cell(ix.find("filter-cost", "lightsub-ns", { strategy, endpoints }), false)),
    cell(ix.find("filter-cost", "host-calls", { strategy, endpoints: sizes[sizes.length - 1]! }), false),
  ]);
  const floor = ix.all("filter-cost", "passthrough-ns").map((f) => f.median);
  const floorNs = floor.length > 0 ? formatNumber(floor.sort((a, b) => a - b)[floor.length >> 1]!) : "?";
  const runs = ratios[0]!.runs;
  return [
    `**1. Filter cost per request** — lightsub ÷ the empty pass-through filter: request headers, response headers, log, through the Node host in V8, both filters in interleaved batches (median [min–max] of ${runs} rounds; target ≤ 1.5×). The pass-through costs ${floorNs} ns/request here.`,
    "",
    markdownTable(
      ["strategy", ...sizes.map((n) => `× @${n} ep`), ...sizes.map((n) => `ns @${n} ep`), "host calls/req"],
      rows,
    ),
  ].join("\n");
}

function filterSize(ix: Index): string | undefined {
  const f = ix.find("filter-size", "bytes", { file: "build/lightsub.wasm" });
  if (!f) return undefined;
  const floor = ix.find("filter-size", "bytes", { file: "build/passthrough.wasm" });
  const ratio = ix.find("filter-size", "ratio-to-passthrough");
  const peer = ratio && floor ? `, ${formatNumber(ratio.median)}× the empty pass-through filter (${floor.median.toLocaleString("en-US")} bytes)` : "";
  return `**2. Filter size** — \`build/lightsub.wasm\`: ${f.median.toLocaleString("en-US")} bytes (${(f.median / 1024).toFixed(1)} KiB; target ≤ 64 KiB)${peer}.`;
}

function sharedState(ix: Index): string | undefined {
  const rates = ix.all("shared-state", "throughput");
  if (rates.length === 0) return undefined;
  const first = rates[0]!;
  const rows = rates.map((f) => {
    const workers = f.params.workers!;
    return [
      String(workers),
      cell(ix.find("shared-state", "throughput-scaling", { workers })),
      cell(f, false),
      cell(ix.find("shared-state", "cas-retries", { workers })),
      cell(ix.find("shared-state", "contended-locks", { workers }), false),
    ];
  });
  return [
    `**3. Shared-state scaling** — worker VMs in separate threads sharing one store (${first.params.strategy}, ${first.params.endpoints} endpoints; median [min–max] of ${first.runs} rounds).`,
    "",
    markdownTable(["worker VMs", "throughput × 1 VM", "requests/s", "CAS retries/request", "lock waits/request"], rows),
  ].join("\n");
}

function schedulingQuality(ix: Index): string | undefined {
  const figures = ix.all("scheduling-quality");
  if (figures.length === 0) return undefined;
  const scenarios = ix.values("scheduling-quality", "p99-vs-oracle", "scenario");
  const strategies = ix.values("scheduling-quality", "p99-vs-oracle", "strategy");
  const triple = (scenario: string | number, strategy: string | number) => {
    const parts = ["p99-vs-envoy-round-robin", "p99-vs-envoy-least-request", "p99-vs-oracle"].map((name) =>
      cell(ix.find("scheduling-quality", name, { scenario, strategy }), false),
    );
    return parts.every((p) => p === "–") ? "–" : parts.join(" / ");
  };
  const rows = strategies.map((strategy) => [String(strategy), ...scenarios.map((scenario) => triple(scenario, strategy))]);
  return [
    `**4. Scheduling quality** — p99 latency of each lightsub strategy ÷ Envoy's ROUND_ROBIN / ÷ LEAST_REQUEST / ÷ the oracle, in the same simulation (median of ${figures[0]!.runs} seed(s); below 1 is better than the peer).`,
    "",
    markdownTable(["strategy", ...scenarios.map(String)], rows),
  ].join("\n");
}

/** Display order of figure 7's rows. */
const BASELINE_ROWS = ["least_latency", "least_load", "availability", "peer:P2C_PEAK_EWMA", "peer:FASTEST", "envoy:LEAST_REQUEST", "round_robin", "oracle"];

function schedulingBaselines(ix: Index): string | undefined {
  const p99s = ix.all("scheduling-baselines", "p99-ms");
  if (p99s.length === 0) return undefined;
  const scenarios = ix.values("scheduling-baselines", "p99-ms", "scenario");
  const runs = ix.values("scheduling-baselines", "p99-ms", "run").map(String);
  runs.sort((a, b) => (BASELINE_ROWS.indexOf(a) + 1 || 99) - (BASELINE_ROWS.indexOf(b) + 1 || 99));
  const rows = runs.map((run) => [
    run,
    ...scenarios.map((scenario) => {
      const p99 = ix.find("scheduling-baselines", "p99-ms", { scenario, run });
      if (!p99) return "–";
      const gain = ix.find("scheduling-baselines", "gain-over-round-robin", { scenario, run });
      const recovery = ix.find("scheduling-baselines", "recovery-s", { scenario, run });
      return `${formatNumber(p99.median)} ms` + (gain ? ` (${formatNumber(gain.median)}×)` : "") + (recovery ? `, back in ${formatNumber(recovery.median)} s` : "");
    }),
  ]);
  return [
    `**7. Scheduling against the published balancers** — p99 latency of each run (in brackets: round robin's p99 ÷ it, higher is better), the same simulation per seed (median of ${p99s[0]!.runs} seed(s)). peer:P2C_PEAK_EWMA is tower's and Linkerd's P2C on peak EWMA (lightsub's least_latency before issue 16); recovering-endpoint also gives the seconds until the endpoint that became fast again has ¾ of its fair share.`,
    "",
    markdownTable(["run", ...scenarios.map(String)], rows),
  ].join("\n");
}

function compiler(ix: Index): string | undefined {
  const times = ix.all("compiler", "compile-ms");
  if (times.length === 0) return undefined;
  const rows = times.map((f) => {
    const services = f.params.services!;
    return [
      Number(services).toLocaleString("en-US"),
      cell(f),
      cell(ix.find("compiler", "peak-rss-mib", { services })),
      cell(ix.find("compiler", "vs-serialize", { services })),
      f.note ?? "",
    ];
  });
  const growth = ix.all("compiler", "time-growth").map((g) => `time ${g.params.to}/${g.params.from}: ${cell(g)}×`);
  const memGrowth = ix.all("compiler", "memory-growth").map((g) => `memory ${g.params.to}/${g.params.from}: ${cell(g)}×`);
  const baseline = ix.find("compiler", "baseline-rss-mib");
  const disk = ix.all("compiler", "compile-ms-disk")[0];
  const onDisk = disk
    ? `\n\nThe ${Number(disk.params.services).toLocaleString("en-US")}-service compile writing onto the disk instead: ${cell(disk)} ms (${disk.note ?? ""}).`
    : "";
  return [
    `**5. Compiler** — generated policies, each service calling ${times[0]!.params.callsPerService} others, one fresh process per compile (median [min–max] of ${times[0]!.runs} runs; targets for 10,000 services: < 5 s, < 1 GiB).`,
    "",
    markdownTable(["services", "compile ms", "peak RSS MiB", "× serializing the output", "output"], rows),
    "",
    `Growth: ${[...growth, ...memGrowth].join("; ")}.` +
      (baseline ? ` A process that loads the compiler and compiles nothing peaks at ${cell(baseline, false)} MiB.` : "") +
      onDisk,
  ].join("\n");
}

function simulator(ix: Index): string | undefined {
  const rates = ix.all("simulator", "requests-per-second");
  if (rates.length === 0) return undefined;
  const rows = rates.map((f) => [String(f.params.runs), String(f.params.threads), f.params.requests === undefined ? "" : formatNumber(Number(f.params.requests)), cell(f)]);
  const cost = ix.find("simulator", "lightsub-run-cost");
  const memory = ix.find("simulator", "peak-memory");
  return [
    `**6. Simulator speed** — simulated requests per second of wall time.`,
    "",
    markdownTable(["runs", "threads", "requests per run", "requests/s"], rows),
    ...(cost ? ["", `A lightsub run (every request through the filter in the host) costs ${cell(cost)}× an Envoy-native run of the same scenario.`] : []),
    ...(memory
      ? ["", `Memory: a ${formatNumber(Number(memory.params.requests))}-request simulation (${memory.params.runs}) peaks at ${cell(memory)} MiB resident (target ${memory.target?.text ?? "none"}).`]
      : []),
  ].join("\n");
}

const ENVOY_RUN_ORDER = ["direct", "native", "passthrough"];

function envoyOverhead(ix: Index): string | undefined {
  const all = ix.all("envoy-overhead");
  if (all.length === 0) return undefined;
  const modes = ix.values("envoy-overhead", "p50-ms", "mode").map(String);
  const runs = ix.values("envoy-overhead", "p50-ms", "run").map(String);
  runs.sort((a, b) => (ENVOY_RUN_ORDER.indexOf(a) + 1 || 99) - (ENVOY_RUN_ORDER.indexOf(b) + 1 || 99));
  const label = (run: string) => (run === "native" ? "native ROUND_ROBIN" : run === "passthrough" ? "empty Wasm filter" : run);
  const get = (name: string, mode: string, run: string, withRange = true) => cell(ix.find("envoy-overhead", name, { mode, run }), withRange);
  const withPeer = all.some((f) => f.name === "cpu-vs-peer");
  const blocks: string[] = [];
  for (const mode of modes) {
    // Some runs take part in some modes only (bench/envoy-overhead.ts, NEW_RUN_MODES).
    const here = runs.filter((run) => ix.find("envoy-overhead", "p50-ms", { mode, run }) !== undefined);
    const rows = here.map((run) => [
      label(run),
      get("p50-ms", mode, run, false),
      run === "direct" ? "–" : get("added-p50-ms", mode, run),
      run === "direct" ? "–" : get("added-p90-ms", mode, run),
      run === "direct" ? "–" : get("added-p99-ms", mode, run),
      get("cpu-s-per-10k", mode, run),
      get("qps", mode, run, false),
      get("added-p50-vs-passthrough", mode, run),
      get("cpu-vs-passthrough", mode, run),
      get("throughput-vs-native", mode, run),
      ...(withPeer
        ? [
            ix.find("envoy-overhead", "cpu-vs-peer", { mode, run })?.peer ?? "–",
            get("added-p50-vs-peer", mode, run),
            get("added-p99-vs-peer", mode, run),
            get("cpu-vs-peer", mode, run),
          ]
        : []),
    ]);
    blocks.push(
      `*${mode}*`,
      "",
      markdownTable(
        [
          "run",
          "p50 ms",
          "added p50 ms",
          "added p90 ms",
          "added p99 ms",
          "Envoy CPU s / 10k req",
          "requests/s",
          "added p50 × empty filter",
          "CPU × empty filter",
          "requests/s × native",
          ...(withPeer ? ["peer", "added p50 × peer", "added p99 × peer", "CPU × peer"] : []),
        ],
        rows,
      ),
      "",
    );
  }
  // What the admission and mesh runs are (figure param `setup`), and the modes they joined.
  const setups = runs.flatMap((run) => {
    const f = ix.find("envoy-overhead", "p50-ms", { run });
    const joined = modes.filter((mode) => ix.find("envoy-overhead", "p50-ms", { mode, run }) !== undefined);
    return f?.params.setup !== undefined ? [`- \`${run}\`: ${f.params.setup}${joined.length < modes.length ? ` (modes: ${joined.join(", ")})` : ""}.`] : [];
  });
  const first = all[0]!;
  return [
    `**Real Envoy 1. Added latency and CPU per request through one sidecar** — fortio against two fortio echo servers, directly and through one Envoy sidecar: native ROUND_ROBIN without Wasm, the empty proxy-wasm filter (build/passthrough.wasm), lightsub per strategy${setups.length > 0 ? ", and the runs listed below the tables" : ""}. ${first.note ?? ""}. "added" = the run's percentile minus the direct call's in the same repetition; ratios are per repetition against the peer of that repetition; median [min–max] of ${first.runs} interleaved repetitions. Targets: lightsub's added p50 and CPU per request ≤ 1.5× the empty filter's (at the fixed rate), max throughput (closed loop, 64 connections) ≥ 0.85× native.${withPeer ? " \"× peer\": the run's added latency and CPU per request over those of its peer (the same strategy without admission; mTLS over plaintext)." : ""}`,
    "",
    ...blocks,
    ...(setups.length > 0 ? ["Runs:", "", ...setups] : []),
  ]
    .join("\n")
    .trimEnd();
}

const NATIVE_LABEL: Record<string, string> = { "envoy:ROUND_ROBIN": "native ROUND_ROBIN", "envoy:LEAST_REQUEST": "native LEAST_REQUEST" };

/** Endpoint shares (%) of one run, in endpoint order, from the `name` figures with an `endpoint` param. */
function shares(ix: Index, section: Figure["section"], name: string, scenario: string | number, run: string | number): string {
  const fs = ix
    .all(section, name)
    .filter((f) => f.params.scenario === scenario && f.params.run === run)
    .sort((a, b) => Number(a.params.endpoint) - Number(b.params.endpoint));
  return fs.length > 0 ? fs.map((f) => f.median.toFixed(1)).join(" / ") : "–";
}

function envoyScheduling(ix: Index): string | undefined {
  const section = "envoy-scheduling" as const;
  const p99 = ix.all(section, "p99-ms");
  if (p99.length === 0) return undefined;
  const blocks: string[] = [];
  for (const scenario of ix.values(section, "p99-ms", "scenario")) {
    const runs = p99.filter((f) => f.params.scenario === scenario).map((f) => String(f.params.run));
    const get = (name: string, run: string, withRange = true) => cell(ix.find(section, name, { scenario, run }), withRange);
    const rows = runs.map((run) => [
      NATIVE_LABEL[run] ?? `lightsub ${run}`,
      get("p50-ms", run),
      get("p99-ms", run),
      get("p999-ms", run),
      get("error-rate", run),
      get("p50-vs-round-robin", run),
      get("p99-vs-round-robin", run),
      get("p999-vs-round-robin", run),
      get("p50-vs-least-request", run),
      get("p99-vs-least-request", run),
      get("p999-vs-least-request", run),
      shares(ix, section, "share", scenario, run),
    ]);
    const note = ix.find(section, "p99-ms", { scenario })?.note ?? "";
    blocks.push(
      `*${scenario}* — ${note.split("; Envoy 1.40")[0]}`,
      "",
      markdownTable(
        ["run", "p50 ms", "p99 ms", "p99.9 ms", "errors %", "p50 × RR", "p99 × RR", "p99.9 × RR", "p50 × LR", "p99 × LR", "p99.9 × LR", "endpoint shares %"],
        rows,
      ),
      "",
    );
  }
  const first = p99[0]!;
  const machine = (first.note ?? "").split("; ").slice(-1)[0];
  return [
    `**Real Envoy 2. Scheduling quality** — one sidecar per run on Envoy 1.40, compiled from the same policy: lightsub per state-aware strategy, and Envoy's native ROUND_ROBIN (RR) and LEAST_REQUEST (LR) on the same endpoints (Wasm filter taken out, fallback cluster's lb_policy set); Node upstreams with the scenario's service times; fortio load. ${machine}. Latency from fortio (all requests, errors included); ratios are per repetition against the native run of the same repetition; endpoint shares are the tries each endpoint got (requests it received, plus connection failures for a dead one). Median [min–max] of ${first.runs} interleaved repetitions.`,
    "",
    ...blocks,
  ]
    .join("\n")
    .trimEnd();
}

function envoySimulator(ix: Index): string | undefined {
  const section = "envoy-simulator" as const;
  const gaps = ix.all(section, "p99-sim-vs-real");
  if (gaps.length === 0) return undefined;
  const rows = gaps.map((g) => {
    const { scenario, run } = g.params as { scenario: string; run: string };
    const real = (name: string) => ix.find("envoy-scheduling", name, { scenario, run });
    const sim = (name: string) => ix.find(section, name, { scenario, run });
    const pair = (simName: string, realName: string) => `${cell(sim(simName), false)} / ${cell(real(realName), false)}`;
    return [
      String(scenario),
      NATIVE_LABEL[run] ?? `lightsub ${run}`,
      pair("sim-p50-ms", "p50-ms"),
      cell(sim("p50-sim-vs-real")),
      pair("sim-p99-ms", "p99-ms"),
      `${cell(g)}${g.met ? "" : " ✗"}`,
      `${cell(sim("sim-error-rate"), false)} / ${cell(real("error-rate"), false)}`,
      `${shares(ix, section, "sim-share", scenario, run)} ∥ ${shares(ix, "envoy-scheduling", "share", scenario, run)}`,
      `${cell(sim("share-gap"))}${sim("share-gap")?.met === false ? " ✗" : ""}`,
    ];
  });
  const excess = ix.all(section, "p50-real-minus-sim-ms");
  const overhead =
    excess.length > 0
      ? ` What the simulator leaves out per request (load generator, proxy, loopback, the upstreams' timers, the machine's load), as real minus simulated p50 under native ROUND_ROBIN (whose choices do not depend on latency): ${excess.map((f) => `${f.params.scenario} ${cell(f)} ms`).join(", ")}.`
      : "";
  const p99Met = gaps.filter((g) => g.met).length;
  const shareFigures = ix.all(section, "share-gap");
  const sharesMet = shareFigures.filter((f) => f.met).length;
  // What the simulator was given as the per-try overhead (bench/sim-overhead.ts), and what it changed.
  const legs = ix.all(section, "overhead-p50-ms");
  const legText = (scenario: string | number, leg: string) => {
    const p50 = ix.find(section, "overhead-p50-ms", { scenario, leg });
    const p99 = ix.find(section, "overhead-p99-ms", { scenario, leg });
    return `${cell(p50, false)}/${cell(p99, false)}`;
  };
  const scenarios = [...new Set(legs.map((f) => f.params.scenario as string | number))];
  const without = (name: string, within: (median: number) => boolean) => ix.all(section, name).filter((f) => within(f.median)).length;
  const p99Without = ix.all(section, "p99-sim-vs-real-without-overhead");
  const overheadText =
    scenarios.length > 0
      ? ` The simulator was given each scenario's measured overhead per try (request leg / response leg, p50/p99 ms; bench/sim-overhead.ts): ${scenarios.map((sc) => `${sc} ${legText(sc, "request")} / ${legText(sc, "response")}`).join(", ")}. Without it, against the same real runs: p99 within 25 % in ${without("p99-sim-vs-real-without-overhead", (m) => m >= 0.75 && m <= 1.25)} of ${p99Without.length}, shares within 3 points in ${without("share-gap-without-overhead", (m) => m <= 3)} of ${ix.all(section, "share-gap-without-overhead").length}.`
      : "";
  return [
    `**Real Envoy 3. The simulator against real Envoy** — every run of figure 2 also simulated (\`runSimulation\`, what \`lightsub simulate --json\` runs) with the same policy and a workload generated from the scenario (same arrivals, service-time distributions and event times, Envoy's one worker, no concurrency limit at the endpoints); "sim ÷ real" per real repetition, median [min–max]. Targets: p99 within 25 % (0.75–1.25×), every endpoint's share within 3 points. p99 met in ${p99Met} of ${gaps.length} runs, shares in ${sharesMet} of ${shareFigures.length} (✗: missed).${overheadText}${overhead}`,
    "",
    markdownTable(["scenario", "run", "p50 ms sim / real", "p50 sim ÷ real", "p99 ms sim / real", "p99 sim ÷ real", "errors % sim / real", "shares % sim ∥ real", "share gap points"], rows),
  ].join("\n");
}

function paramsText(f: Figure): string {
  // `setup` describes a real-Envoy run at length; the figure 1 table lists it under "Runs:".
  return Object.entries(f.params)
    .filter(([k]) => k !== "setup")
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
}

function missedBy(f: Figure): string {
  const { max, min } = f.target!;
  // A two-sided target (e.g. within 25 %) is missed on the side the median is on.
  const bound = max !== undefined && (min === undefined || f.median > max) ? max : min!;
  return `missed by ${formatNumber(Math.abs(f.median - bound))} ${f.unit} (${formatNumber(f.median / bound)}× the target)`;
}

/** How far a figure's median is past its target's bound, as a factor ≥ 1 (0 when it is within). */
function missRatio(f: Figure): number {
  const { max, min } = f.target!;
  if (max !== undefined && f.median > max) return max > 0 ? f.median / max : Infinity;
  if (min !== undefined && f.median < min) return f.median > 0 ? min / f.median : Infinity;
  return 0;
}

/** One row per targeted quantity; a quantity measured for many cases (filter cost) gets one summary row. */
export function targets(figures: readonly Figure[]): string {
  const groups = new Map<string, Figure[]>();
  for (const f of figures) {
    if (!f.target) continue;
    const key = `${f.section} ${f.name}`;
    groups.set(key, [...(groups.get(key) ?? []), f]);
  }
  const rows: string[][] = [];
  for (const [key, fs] of groups) {
    const t = fs[0]!.target!;
    if (fs.length === 1) {
      const f = fs[0]!;
      rows.push([key, paramsText(f), `${formatNumber(f.median)} ${f.unit}`, t.text, f.met ? "met" : missedBy(f)]);
      continue;
    }
    const met = fs.filter((f) => f.met).length;
    const sorted = [...fs].sort((a, b) => a.median - b.median);
    const lowest = sorted[0]!;
    const highest = sorted[sorted.length - 1]!;
    // The worst case is the one furthest past its bound: the highest median for an
    // at-most target, the lowest for an at-least one (not always the highest).
    const worst = [...fs].filter((f) => !f.met).sort((a, b) => missRatio(b) - missRatio(a))[0];
    const verdict = worst === undefined ? `met in all ${fs.length} cases` : `met in ${met} of ${fs.length} cases; worst (${paramsText(worst)}) ${missedBy(worst)}`;
    rows.push([key, `${fs.length} cases`, `${formatNumber(lowest.median)}–${formatNumber(highest.median)} ${highest.unit}`, t.text, verdict]);
  }
  if (rows.length === 0) return "";
  return ["**Targets**", "", markdownTable(["figure", "for", "median", "target", "verdict"], rows)].join("\n");
}

export function renderTable(results: BenchResults): string {
  const ix = new Index(results.figures);
  const m = results.machine;
  const blocks = [
    `Machine: ${m.summary}; load average ${m.loadAverage1m} at the start${m.loadAverage1mEnd !== undefined ? `, ${m.loadAverage1mEnd} at the end` : ""}. ${results.quick ? "QUICK RUN (harness check, not for publishing). " : ""}Command: \`${results.command}\`, ${(results.durationMs / 1000).toFixed(0)} s.`,
    envoyOverhead(ix),
    envoyScheduling(ix),
    envoySimulator(ix),
    filterCost(ix),
    filterSize(ix),
    sharedState(ix),
    schedulingQuality(ix),
    compiler(ix),
    simulator(ix),
    schedulingBaselines(ix),
    targets(results.figures),
    ...results.missing.map((x) => `**Missing: ${x.section}** — ${x.reason}`),
  ];
  return `${blocks.filter((b): b is string => b !== undefined && b !== "").join("\n\n")}\n`;
}
