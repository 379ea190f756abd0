/**
 * Issue 14, through the real CLI (bin/lightsub.js): the workload goes through
 * the policy's loader with its limits and messages; long simulations can show
 * progress without touching --json output.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const BIN = new URL("../../bin/lightsub.js", import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), "lightsub-sim-limits-"));

async function lightsub(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function write(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

const POLICY = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: shop }
spec:
  services:
    - name: frontend
      port: 8080
      endpoints:
        - { address: frontend, port: 8080 }
      calls: [catalog]
    - name: catalog
      port: 9090
      endpoints:
        - { address: catalog-1, port: 9090 }
        - { address: catalog-2, port: 9090 }
`;

/** A "billion laughs" mapping: 10^7 x's from a few lines. */
const BOMB = `a: &a [x, x, x, x, x, x, x, x, x, x]
b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
`;

const indent = (text: string) => text.replace(/^(?=.)/gm, "  ");

/** Exit 1, one clean diagnostic line per error plus the summary, and none of the internals that used to leak. */
function expectCleanErrors(result: { code: number; stdout: string; stderr: string }, ...lines: string[]): void {
  expect(result.code, result.stderr).toBe(1);
  for (const line of lines) expect(result.stderr).toContain(line);
  expect(result.stderr).not.toMatch(/internal error|\n\s+at |Maximum call stack|parseAllDocuments|EISDIR|Excessive alias/);
  expect(result.stdout).toBe("");
}

describe("simulate reads workloads with the policy loader's limits", () => {
  it("an alias bomb, in --workload or in the simulation: section, is LS011 at the same position validate reports", async () => {
    const policy = write("policy.yaml", POLICY);
    const workload = write("bomb-workload.yaml", BOMB);
    const section = write("bomb-section.yaml", `${POLICY}simulation:\n${indent(BOMB)}`);
    const [fromFile, fromSection, validated] = await Promise.all([
      lightsub("simulate", policy, "--workload", workload),
      lightsub("simulate", section),
      lightsub("validate", section),
    ]);
    const aliases = "error LS011: YAML aliases expand to too much data";
    expectCleanErrors(fromFile, `${workload}:2:8: ${aliases}`);
    expectCleanErrors(fromSection, `${section}:18:10: ${aliases}`);
    expectCleanErrors(validated, `${section}:18:10: ${aliases}`);
  });

  it("refuses oversized, non-UTF-8, directory and multi-document workloads with the loader's messages", async () => {
    const policy = write("policy.yaml", POLICY);
    const big = write("big.yaml", `seed: 1\n# ${"x".repeat(17 * 1024 * 1024)}\n`);
    const latin1 = write("latin1.yaml", Buffer.from([...Buffer.from("seed: 1\n# caf"), 0xe9, 0x0a]));
    const folder = join(dir, "a-directory");
    mkdirSync(folder, { recursive: true });
    const multi = write("multi.yaml", "seed: 1\n---\nseed: 2\n");
    const empty = write("empty.yaml", "\n# nothing\n");
    const [tooBig, notUtf8, isDir, twoDocs, nothing] = await Promise.all(
      [big, latin1, folder, multi, empty].map((w) => lightsub("simulate", policy, "--workload", w)),
    );
    expectCleanErrors(tooBig!, `${big}:1:1: error LS201: the workload is 17.0 MiB; the limit is 16 MiB`);
    expectCleanErrors(notUtf8!, `${latin1}:1:1: error LS201: the file is not valid UTF-8 text`);
    expectCleanErrors(isDir!, `${folder}:1:1: error LS201: cannot read ${folder}: not a regular file`);
    expectCleanErrors(twoDocs!, `${multi}:2:1: error LS202: more than one YAML document (remove the extra \`---\`)`);
    expectCleanErrors(nothing!, `${empty}:1:1: error LS201: the workload is empty`);
  });

  it("10,000 levels of nesting are LS011, not a stack overflow, in a workload file and in a section, at the same position as validate", async () => {
    const policy = write("policy.yaml", POLICY);
    const nested = `seed: ${"[".repeat(10_000)}${"]".repeat(10_000)}\n`;
    const workload = write("deep.yaml", nested);
    const section = write("deep-section.yaml", `${POLICY}simulation:\n${indent(nested)}`);
    const [fromFile, fromSection, validated] = await Promise.all([
      lightsub("simulate", policy, "--workload", workload),
      lightsub("simulate", section),
      lightsub("validate", section),
    ]);
    // At the bracket that opens the 65th level, wherever the parser ran out of stack.
    expectCleanErrors(fromFile, `${workload}:1:71: error LS011: the document is nested too deeply`);
    expectCleanErrors(fromSection, `${section}:17:73: error LS011: the document is nested too deeply`);
    expectCleanErrors(validated, `${section}:17:73: error LS011: the document is nested too deeply`);
  });
});

describe("simulate --progress", () => {
  it("writes progress lines to stderr when it is not a terminal, and nothing but the JSON to stdout", async () => {
    const policy = write(
      "progress.yaml",
      `${POLICY}simulation:\n  arrivals: { process: constant, rate: 1000, requests: 2000 }\n  backend: { latency: 5ms }\n  compare: [round_robin, oracle]\n`,
    );
    const [withFlag, without] = await Promise.all([lightsub("simulate", policy, "--json", "--progress"), lightsub("simulate", policy, "--json")]);
    expect(withFlag.code, withFlag.stderr).toBe(0);
    expect(JSON.parse(withFlag.stdout).runs).toHaveLength(2);
    const lines = withFlag.stderr.split("\n").filter((l) => l.startsWith("simulating 2 runs: "));
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(lines.at(-1)).toBe("simulating 2 runs: 100%");
    // Without the flag, a pipe gets no progress at all; the results are the same.
    expect(without.stderr).toBe("");
    expect(without.stdout).toBe(withFlag.stdout);
  });
});

describe("one duration grammar for policies and workloads", () => {
  it("suggests the spelling for '5 sec' and '2 s' (validate and simulate); the policy takes us and sums, in whole milliseconds", async () => {
    const policy = (timeout: string, decay: string) =>
      POLICY.replace("        - { address: catalog-2, port: 9090 }\n", `        - { address: catalog-2, port: 9090 }\n      connector: { timeout: ${timeout} }\n      scheduler: { strategy: least_latency, decay: ${decay} }\n`);
    const words = write("words.yaml", policy('"5 sec"', '"2 s"'));
    const micro = write("micro.yaml", policy("2000us", "1m30s"));
    const fine = write("fine.yaml", policy("1500us", "2s"));
    const workload = write("w-words.yaml", "arrivals: { rate: 10, duration: 5 sec }\nbackend: { latency: 2 ms }\n");
    const [validatedWords, validatedMicro, validatedFine, simulatedWords] = await Promise.all([
      lightsub("validate", words),
      lightsub("validate", micro),
      lightsub("validate", fine),
      lightsub("simulate", micro, "--workload", workload),
    ]);
    expectCleanErrors(
      validatedWords,
      `${words}:16:29: error LS050: connector.timeout must be a duration like "250ms", "2s", "1.5m", "1h" or "1m30s", got "5 sec" (did you mean "5s"?)`,
      `${words}:17:52: error LS050: scheduler.decay must be a duration like "250ms", "2s", "1.5m", "1h" or "1m30s", got "2 s" (did you mean "2s"?)`,
    );
    expect(validatedMicro.code, validatedMicro.stderr).toBe(0);
    expectCleanErrors(validatedFine, `${fine}:16:29: error LS050: connector.timeout is not a whole number of milliseconds (policy durations are; 1.5ms is not): "1500us"`);
    expectCleanErrors(
      simulatedWords,
      `${workload}:1:33: error LS208: arrivals.duration: "5 sec" is not a duration (did you mean "5s"?)`,
      `${workload}:2:21: error LS208: backend.latency: "2 ms" is not a duration (did you mean "2ms"?)`,
    );
  });

  it("a workload takes the policy's sums: 1m30s at 20/s is 1,800 requests", async () => {
    const file = write("sum.yaml", `${POLICY}simulation:\n  arrivals: { process: constant, rate: 20, duration: 1m30s }\n  backend: { latency: 250us }\n  compare: [round_robin]\n`);
    const result = await lightsub("simulate", file, "--json");
    expect(result.code, result.stderr).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json.scenario.arrivals.requests).toBe(1_800);
    expect(json.runs[0].latencyMs.min).toBeCloseTo(0.25, 9);
  });
});
