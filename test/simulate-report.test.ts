/**
 * `--report`: one self-contained HTML page that opens in headless Chromium
 * with no errors and no network, and shows its charts. Needs Debian's
 * chromium package (`apt-get install -y chromium`), which .ci/run installs.
 */
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HeadlessChromium, findChromium } from "./simulate-browser.js";
import { dir, shrunkExample, simulate, writeTemp } from "./simulate-helpers.js";

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

afterAll(() => {
  // The screenshot stays in the temp dir for a person to look at.
  if (chromium) process.stdout.write(`report screenshot: ${join(dir, "report.png")}\n`);
});
