/**
 * The CLI contract users script against: commands, exit codes, diagnostics
 * format, atomic and deterministic output. Runs the real bin/lightsub.js.
 */
import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { loadEnvoyValidator } from "../../compiler/validate/index.js";

const run = promisify(execFile);
const BIN = new URL("../../bin/lightsub.js", import.meta.url).pathname;
const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;

async function lightsub(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { encoding: "utf8" });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), "lightsub-cli-"));
}

function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(dir, join(prefix, entry.name)) : [join(prefix, entry.name)],
  ).sort();
}

const BROKEN = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: shop }
spec:
  services:
    - name: frontend
      port: 8080
      endpoints:
        - { address: frontend, port: 15006 }
      calls: [catalg]
    - name: catalog
      port: 9090
      endpoints:
        - { address: catalog-1, port: 15006, weight: 0 }
      connector: { timeout: 2 seconds }
`;

const examples = readdirSync(EXAMPLES).filter((f) => f.endsWith(".yaml"));

describe("lightsub compile", () => {
  it("writes one envoy.yaml per service, docker-compose.yaml and the .wasm, byte-identical on every run", async () => {
    const a = join(scratch(), "out");
    const b = join(scratch(), "out");
    expect((await lightsub("compile", join(EXAMPLES, "bookstore.yaml"), "--out", a)).code).toBe(0);
    expect((await lightsub("compile", join(EXAMPLES, "bookstore.yaml"), "--out", b)).code).toBe(0);
    const files = listFiles(a);
    const services = ["cart", "catalog", "frontend", "inventory", "ratings", "reviews", "search"];
    expect(files).toEqual([".lightsub-output", ...services.map((s) => `${s}/envoy.yaml`), "docker-compose.yaml", "lightsub.wasm"].sort());
    for (const f of files) expect(readFileSync(join(b, f)), f).toEqual(readFileSync(join(a, f)));
    expect(readFileSync(join(a, "lightsub.wasm"))).toEqual(readFileSync(new URL("../../build/lightsub.wasm", import.meta.url)));
  });

  it.each(examples)("examples/%s compiles to configs that pass the strict Envoy check", async (example) => {
    const out = join(scratch(), "out");
    const result = await lightsub("compile", join(EXAMPLES, example), "--out", out);
    expect(result.stderr).not.toMatch(/: error /);
    expect(result.code).toBe(0);
    const validator = await loadEnvoyValidator();
    const configs = listFiles(out).filter((f) => f.endsWith("envoy.yaml"));
    expect(configs.length).toBeGreaterThan(1);
    for (const f of configs) expect(validator.validateBootstrap(parse(readFileSync(join(out, f), "utf8"))), f).toEqual([]);
  });

  it("reports every policy problem as file:line:col, exits 1 and writes nothing", async () => {
    const dir = scratch();
    const policy = join(dir, "broken.yaml");
    writeFileSync(policy, BROKEN);
    const out = join(dir, "out");
    const result = await lightsub("compile", policy, "--out", out);
    expect(result.code).toBe(1);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toContain(`${policy}:10:15: error LS012: service "catalg" in calls is not defined (did you mean "catalog"?)`);
    expect(lines.some((l) => l.startsWith(`${policy}:14:54: error `) && l.includes("weight"))).toBe(true);
    expect(lines.some((l) => l.startsWith(`${policy}:15:29: error `) && l.includes("duration"))).toBe(true);
    expect(lines.at(-1)).toMatch(/^3 errors, \d+ warnings?$/);
    expect(existsSync(out)).toBe(false);
  });

  it("leaves an existing output directory untouched when the policy is broken", async () => {
    const dir = scratch();
    const out = join(dir, "out");
    expect((await lightsub("compile", join(EXAMPLES, "shop.yaml"), "--out", out)).code).toBe(0);
    const before = listFiles(out).map((f) => [f, readFileSync(join(out, f))]);
    const policy = join(dir, "broken.yaml");
    writeFileSync(policy, BROKEN);
    expect((await lightsub("compile", policy, "--out", out)).code).toBe(1);
    expect(listFiles(out).map((f) => [f, readFileSync(join(out, f))])).toEqual(before);
  });

  it("replaces a previous output completely (no stale service directories)", async () => {
    const out = join(scratch(), "out");
    expect((await lightsub("compile", join(EXAMPLES, "bookstore.yaml"), "--out", out)).code).toBe(0);
    expect((await lightsub("compile", join(EXAMPLES, "shop.yaml"), "--out", out)).code).toBe(0);
    expect(listFiles(out).filter((f) => f.endsWith("envoy.yaml"))).toEqual(["catalog/envoy.yaml", "frontend/envoy.yaml"]);
    expect(readdirSync(join(out, ".."))).toEqual(["out"]); // no staging leftovers
  });

  it("refuses to replace a non-empty directory it did not write (exit 2)", async () => {
    const out = scratch();
    writeFileSync(join(out, "precious.txt"), "mine");
    const result = await lightsub("compile", join(EXAMPLES, "shop.yaml"), "--out", out);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not written by lightsub/);
    expect(readdirSync(out)).toEqual(["precious.txt"]);
  });
});

describe("lightsub validate", () => {
  it("checks without writing and exits 0", async () => {
    const dir = scratch();
    const result = await lightsub("validate", join(EXAMPLES, "shop.yaml"));
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/ok, 2 services/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("exits 1 with LS001 for a missing file", async () => {
    const result = await lightsub("validate", "/nonexistent/policy.yaml");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^\/nonexistent\/policy\.yaml:1:1: error LS001: /m);
  });
});

describe("usage errors exit 2", () => {
  it.each([
    [[]],
    [["frobnicate"]],
    [["compile", join(EXAMPLES, "shop.yaml")]],
    [["compile", "--out", "x"]],
    [["validate", "a.yaml", "b.yaml"]],
    [["validate", join(EXAMPLES, "shop.yaml"), "--bogus"]],
  ])("lightsub %j", async (args) => {
    const result = await lightsub(...args);
    expect(result.code).toBe(2);
    // One line saying what is wrong and a hint, not the whole usage text.
    expect(result.stderr).not.toMatch(/usage:/);
    expect(result.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^lightsub( compile| validate)?: \S/), expect.stringMatching(/^hint: "lightsub (compile |validate )?--help"/)]);
  });

  it("--help exits 0", async () => {
    const result = await lightsub("--help");
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/lightsub compile <policy> --out <dir>/);
  });
});

describe("compose conflicts", () => {
  it("still writes the Envoy configs and explains why docker-compose.yaml is missing", async () => {
    const dir = scratch();
    const policy = join(dir, "p.yaml");
    writeFileSync(
      policy,
      `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: m }
spec:
  services:
    - name: web
      port: 8080
      endpoints: [{ address: web, port: 15006 }]
      calls: [api]
    - name: api
      port: 9090
      endpoints: [{ address: api, port: 15006 }]
`,
    );
    mkdirSync(join(dir, "out"));
    const result = await lightsub("compile", policy, "--out", join(dir, "out"));
    expect(result.code).toBe(0);
    // At api's endpoint address (line 12): web maps "api" to 127.0.0.1, so it would dial itself.
    expect(result.stderr).toMatch(/p\.yaml:12:30: warning LS071: docker-compose.yaml not written: endpoint api:15006 of service "api" is dialed by "web"/);
    expect(listFiles(join(dir, "out"))).toEqual([".lightsub-output", "api/envoy.yaml", "lightsub.wasm", "web/envoy.yaml"]);
    const validated = await lightsub("validate", policy);
    expect(validated.code).toBe(0);
    expect(validated.stderr).toMatch(/p\.yaml:12:30: warning LS071: /);
  });
});

describe("lightsub simulate", () => {
  it("runs through the CLI and prints one JSON document that the same seed reproduces", async () => {
    const scenario = join(EXAMPLES, "simulate", "slow-endpoint.yaml");
    const first = await lightsub("simulate", scenario, "--json", "--seed", "7");
    const second = await lightsub("simulate", scenario, "--json", "--seed", "7");
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(second.stdout);
    const result = JSON.parse(first.stdout) as { version: number; runs: { name: string }[] };
    expect(result.version).toBe(1);
    expect(result.runs.map((r) => r.name)).toContain("envoy:ROUND_ROBIN");
  });

  it("exits 2 on a usage error", async () => {
    expect((await lightsub("simulate")).code).toBe(2);
  });

  it("exits 0 without a stack trace when its reader stops early (| head)", async () => {
    const scenario = join(EXAMPLES, "simulate", "slow-endpoint.yaml");
    // Its JSON (~150 KB) is more than a pipe holds, so the write meets the closed pipe.
    const pipeline = `set -o pipefail; "${process.execPath}" "${BIN}" simulate "${scenario}" --json | head -c 10 > /dev/null`;
    const child = spawn("bash", ["-c", pipeline], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(stderr).not.toMatch(/EPIPE|Error/);
    expect(code).toBe(0);
  });
});
