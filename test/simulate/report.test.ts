/**
 * `--report`: one self-contained HTML page that opens in headless Chromium
 * with no errors and no network, and shows its charts. Needs Debian's
 * chromium package (`apt-get install -y chromium`), which .ci/run installs.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadlessChromium, findChromium } from "../support/browser.js";
import { dir, policy, shrunkExample, simulate, writeTemp } from "../support/simulate.js";

const chromium = findChromium();

describe("the HTML report", () => {
  let html = "";
  let reportPath = "";
  let tableOut = "";

  beforeAll(async () => {
    const file = writeTemp("report.yaml", shrunkExample("failing-endpoint.yaml", 4000, ["availability", "round_robin", "envoy:LEAST_REQUEST", "oracle"]));
    reportPath = join(dir, "report.html");
    const run = await simulate([file, "--report", reportPath]);
    expect(run.code, run.err).toBe(0);
    expect(run.err).toContain(`wrote ${reportPath}`);
    tableOut = run.out;
    html = readFileSync(reportPath, "utf8");
  });

  it("is self-contained: no scripts, no external resources", () => {
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/url\(\s*["']?(?:https?:)?\/\//i);
    expect(html).not.toMatch(/@import/i);
  });

  it("carries the seed, the scenario and the table", () => {
    expect(html.includes("seed <code>3</code>")).toBe(true);
    expect(html.includes("catalog-2:15006")).toBe(true);
    expect(/<td>availability \*<\/td>/.test(html)).toBe(true);
    // The table's numbers are the terminal table's numbers.
    const rr = tableOut.split("\n").find((l) => l.trim().startsWith("round_robin"))!;
    const errorsCell = rr.trim().split(/\s+/)[7]!;
    expect(html.includes(`<td>${errorsCell}</td>`), `${errorsCell} in the HTML table`).toBe(true);
  });

  it.runIf(chromium !== undefined)("renders in headless Chromium without errors and shows every chart", async () => {
    const browser = await HeadlessChromium.open(chromium!, 1360, 900);
    try {
      await browser.load(pathToFileURL(reportPath).href);
      const charts = await browser.evaluate<{ width: number; height: number; series: number }[]>(
        `[...document.querySelectorAll("svg.chart")].map((svg) => {
           const box = svg.getBoundingClientRect();
           return { width: box.width, height: box.height, series: [...svg.querySelectorAll(".series")].filter((p) => p.getTotalLength() > 50).length };
         })`,
      );
      // CDF, tail, error rate, and one traffic-share chart per run (4 runs).
      expect(charts).toHaveLength(3 + 4);
      for (const chart of charts) {
        expect(chart.width).toBeGreaterThan(300);
        expect(chart.height).toBeGreaterThan(150);
      }
      expect(charts[0]!.series).toBe(4); // one CDF line per run
      expect(charts[2]!.series).toBe(4); // one error-rate line per run
      for (const share of charts.slice(3)) expect(share.series).toBe(3); // one area per endpoint
      const png = await browser.screenshot();
      const shot = join(dir, "report.png");
      writeFileSync(shot, png);
      expect(png.subarray(1, 4).toString()).toBe("PNG");
      expect(statSync(shot).size).toBeGreaterThan(30_000);
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("fails loudly when Chromium is missing (CI must install it)", () => {
    expect(chromium, "install Debian's chromium package: apt-get install -y chromium").toBeDefined();
  });
});

describe("the HTML report's charts stay legible", () => {
  // One endpoint: every run sends every request to it, so their latency curves are identical;
  // latencies from microseconds to seconds span seven decades of the log axes.
  const text = policy({
    endpoints: 1,
    simulation: `  compare: [round_robin, envoy:ROUND_ROBIN, oracle]
  arrivals: { process: poisson, rate: 1000, requests: 3000 }
  backend:
    latency: { distribution: lognormal, median: 80us, p99: 2s }
    concurrency: 1000`,
  });
  let html = "";
  let reportPath = "";

  beforeAll(async () => {
    const file = writeTemp("legible.yaml", text);
    reportPath = join(dir, "legible.html");
    const run = await simulate([file, "--report", reportPath]);
    expect(run.code, run.err).toBe(0);
    html = readFileSync(reportPath, "utf8");
  });

  it("says which curves are identical, draws each run with its own dash pattern, and labels percentiles alike", () => {
    expect(html).toContain("Identical latency curves, drawn over each other: round_robin = envoy:ROUND_ROBIN = oracle.");
    const cdf = html.slice(html.indexOf('aria-label="latency CDF"'), html.indexOf("</svg>", html.indexOf('aria-label="latency CDF"')));
    const dashes = [...cdf.matchAll(/<path [^>]*class="series"/g)].map((m) => /stroke-dasharray="([^"]*)"/.exec(m[0])?.[1] ?? "solid");
    expect(dashes).toHaveLength(3);
    expect(new Set(dashes).size).toBe(3);
    const tail = html.slice(html.indexOf('aria-label="latency by percentile"'));
    const percentLabels = [...tail.slice(0, tail.indexOf("</svg>")).matchAll(/class="tick">([0-9.]+%)</g)].map((m) => m[1]);
    expect(percentLabels).toEqual(["50%", "90%", "99%", "99.9%", "99.99%"]);
  });

  it.runIf(chromium !== undefined)("has no overlapping tick labels, in headless Chromium", async () => {
    const browser = await HeadlessChromium.open(chromium!, 1360, 900);
    try {
      await browser.load(pathToFileURL(reportPath).href);
      const overlaps = await browser.evaluate<{ chart: string; ticks: number; overlaps: string[] }[]>(
        `[...document.querySelectorAll("svg.chart")].map((svg) => {
           const boxes = [...svg.querySelectorAll("text.tick")].map((t) => ({ label: t.textContent, box: t.getBBox() }));
           const overlaps = [];
           for (let i = 0; i < boxes.length; i++)
             for (let j = i + 1; j < boxes.length; j++) {
               const a = boxes[i].box, b = boxes[j].box;
               if (a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height) overlaps.push(boxes[i].label + " / " + boxes[j].label);
             }
           return { chart: svg.getAttribute("aria-label"), ticks: boxes.length, overlaps };
         })`,
      );
      expect(overlaps.length).toBeGreaterThanOrEqual(3);
      for (const chart of overlaps) {
        expect(chart.overlaps, chart.chart).toEqual([]);
        expect(chart.ticks, chart.chart).toBeGreaterThanOrEqual(6);
      }
      writeFileSync(join(dir, "legible.png"), await browser.screenshot());
      expect(browser.errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

afterAll(() => {
  // The screenshot stays in the temp dir for a person to look at.
  if (chromium) process.stdout.write(`report screenshot: ${join(dir, "report.png")}\n`);
});
