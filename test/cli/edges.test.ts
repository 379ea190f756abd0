/**
 * Sharp edges of the command line found by trying lightsub as a new user
 * would (issue 14): --help on every command, one-line usage errors, options
 * given twice, output paths (symbolic links, read-only directories, Ctrl-C),
 * --report that would overwrite inputs, user mistakes that used to be
 * reported as internal errors, and policies read from standard input.
 * Runs the real bin/lightsub.js.
 */
import { execFile, spawn } from "node:child_process";
import {
  chmodSync,
  chownSync,
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import { generatePolicy } from "../../bench/policy-gen.js";
import { filterModuleProblem, readFilterFile } from "../../compiler/filter-file.js";

const run = promisify(execFile);
const BIN = new URL("../../bin/lightsub.js", import.meta.url).pathname;
const EXAMPLES = new URL("../../examples/", import.meta.url).pathname;
const SHOP = join(EXAMPLES, "shop.yaml");
const WASM = new URL("../../build/lightsub.wasm", import.meta.url).pathname;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function lightsub(args: string[], options: { input?: string; prefix?: string[] } = {}): Promise<Run> {
  const [command, ...rest] = [...(options.prefix ?? []), process.execPath, BIN, ...args];
  return new Promise((resolve) => {
    const child = execFile(command!, rest, { encoding: "utf8" }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    child.stdin!.end(options.input ?? "");
  });
}

const scratchRoot = mkdtempSync(join(tmpdir(), "lightsub-cli-edges-"));
chmodSync(scratchRoot, 0o711); // the unprivileged runs below must reach their directories
afterAll(() => {
  // Directories made read-only by the tests must be writable again to be removed.
  void run("chmod", ["-R", "u+w", scratchRoot]).then(() => run("rm", ["-rf", scratchRoot]));
});
let scratchCount = 0;
function scratch(): string {
  const dir = join(scratchRoot, String(scratchCount++));
  mkdirSync(dir);
  return dir;
}

function listAll(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

/** The last two lines of a usage error: what is wrong, then where help is. */
function expectOneLineUsageError(result: Run, command: string, message: RegExp): void {
  expect(result.code).toBe(2);
  const lines = result.stderr.trimEnd().split("\n");
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(new RegExp(`^lightsub ${command}: `));
  expect(lines[0]).toMatch(message);
  expect(lines[1]).toBe(`hint: "lightsub ${command} --help" shows its usage`);
  expect(result.stderr).not.toMatch(/usage:|\n\s+at /);
}

describe("--help and usage errors (item 2)", () => {
  it.each(["compile", "validate", "simulate"])("lightsub %s --help prints that command's usage on stdout and exits 0", async (command) => {
    for (const args of [[command, "--help"], [command, "-h"], [command, "some.yaml", "--bogus", "--help"], ["help", command]]) {
      const result = await lightsub(args);
      expect(result.code, args.join(" ")).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^usage:\\s+lightsub ${command} <policy>`));
      expect(result.stderr).toBe("");
    }
  });

  it("compile --help documents --out, --wasm, --warnings-as-errors and the - policy", async () => {
    const { stdout } = await lightsub(["compile", "--help"]);
    for (const option of ["--out", "--wasm", "--warnings-as-errors", "- reads it from standard input"]) expect(stdout).toContain(option);
  });

  it("an unknown option is one line naming it, and a hint (no Node wording, no usage text)", async () => {
    const result = await lightsub(["compile", SHOP, "--out", join(scratch(), "o"), "--bogus"]);
    expectOneLineUsageError(result, "compile", /unknown option --bogus$/);
    expect(result.stderr).not.toContain("after '--'");
  });

  it.each([
    [["compile", SHOP, "--out", "a", "--out", "b"], "compile", /--out given twice \(".*a" and ".*b"\)/],
    [["compile", SHOP, "-o", "a", "--out=b"], "compile", /--out given twice/],
    [["validate", SHOP, "--wasm", WASM, "--wasm", WASM], "validate", /--wasm given twice/],
    [["simulate", SHOP, "--report", "a.html", "--report", "b.html"], "simulate", /--report given twice/],
    [["simulate", SHOP, "--seed", "1", "--seed", "2"], "simulate", /--seed given twice/],
  ])("an option given twice is an error, not last-one-wins: %j", async (args, command, message) => {
    const cwd = scratch();
    const result = await lightsub(args.map((a) => (a === "a" || a === "b" ? join(cwd, a) : a)));
    expectOneLineUsageError(result, command, message);
    expect(readdirSync(cwd)).toEqual([]);
  });

  it("a missing option value is one line", async () => {
    expectOneLineUsageError(await lightsub(["compile", SHOP, "--out"]), "compile", /--out needs a value$/);
    expectOneLineUsageError(await lightsub(["simulate", SHOP, "--report"]), "simulate", /--report needs a value$/);
  });

  it("no command, an unknown command: one line and a hint to lightsub --help", async () => {
    for (const args of [[], ["frobnicate"]]) {
      const result = await lightsub(args);
      expect(result.code).toBe(2);
      expect(result.stderr.trimEnd().split("\n")).toEqual([expect.stringMatching(/^lightsub: .*commands: compile, validate, simulate/), `hint: "lightsub --help" lists the commands`]);
    }
  });
});

describe("compile --out (item 4)", () => {
  it("a symbolic link is followed: the output goes where it points and the link stays a link", async () => {
    const dir = scratch();
    mkdirSync(join(dir, "real"));
    symlinkSync("real", join(dir, "link"));
    for (let i = 0; i < 2; i++) {
      const result = await lightsub(["compile", SHOP, "--out", join(dir, "link")]);
      expect(result.code, result.stderr).toBe(0);
      expect(statSync(join(dir, "link"), { throwIfNoEntry: true }).isDirectory()).toBe(true);
      expect(realpathSync(join(dir, "link"))).toBe(realpathSync(join(dir, "real")));
      expect(readdirSync(join(dir, "real")).sort()).toEqual([".lightsub-output", "catalog", "docker-compose.yaml", "frontend", "lightsub.wasm"]);
    }
    // Only the link and its target: no old copy, no staging directory.
    expect(readdirSync(dir).sort()).toEqual(["link", "real"]);
  });

  it("a symbolic link to nowhere is refused with a clear message, nothing created", async () => {
    const dir = scratch();
    symlinkSync("missing", join(dir, "link"));
    const result = await lightsub(["compile", SHOP, "--out", join(dir, "link")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/link: is a symbolic link to missing, which does not exist/);
    expect(readdirSync(dir)).toEqual(["link"]);
  });

  it("a read-only directory (mode 555) is refused and left exactly as it was, even for root", async () => {
    const dir = scratch();
    const out = join(dir, "out");
    expect((await lightsub(["compile", SHOP, "--out", out])).code).toBe(0);
    const before = listAll(out);
    chmodSync(out, 0o555);
    const result = await lightsub(["compile", SHOP, "--out", out]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^lightsub compile: .*out: the directory is read-only \(mode 555\); lightsub leaves it untouched/);
    expect(statSync(out).mode & 0o777).toBe(0o555);
    expect(listAll(out)).toEqual(before);
    expect(readdirSync(dir)).toEqual(["out"]);
  });

  it("checks --out before reading the policy: a bad --out is reported even when the policy is missing", async () => {
    const dir = scratch();
    writeFileSync(join(dir, "file"), "x");
    const result = await lightsub(["compile", join(dir, "missing.yaml"), "--out", join(dir, "file")]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/file: exists and is not a directory/);
  });

  describe.each(["SIGINT", "SIGTERM"] as const)("%s during a compile", (signal) => {
    it("removes the staging directory, says the output is unchanged in one line, and ends by the signal", { timeout: 180_000 }, async () => {
      const dir = scratch();
      const policy = join(dir, "big.yaml");
      writeFileSync(policy, generatePolicy(3000).text);
      const out = join(dir, "out");
      expect((await lightsub(["compile", SHOP, "--out", out])).code).toBe(0);
      const before = listAll(out);
      const child = spawn(process.execPath, [BIN, "compile", policy, "--out", out], { stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
      const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on("exit", (code, signal) => resolve({ code, signal })),
      );
      // Wait until files are being staged, then interrupt.
      const staging = () => readdirSync(dir).find((name) => name.startsWith(".out.lightsub-new-"));
      while (staging() === undefined && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
      expect(staging(), "the compile ended before it staged anything").toBeDefined();
      child.kill(signal);
      const { code, signal: endedBy } = await ended;
      expect(endedBy).toBe(signal);
      expect(code).toBeNull();
      expect(stderr.trim()).toBe(`lightsub compile: interrupted; ${out} is unchanged`);
      expect(readdirSync(dir).sort()).toEqual(["big.yaml", "out"]);
      expect(listAll(out)).toEqual(before);
    });
  });
});

/** Runs as an unprivileged user: directly when not root, else as nobody through setpriv; undefined when neither works. */
const unprivileged: string[] | undefined =
  process.getuid?.() !== 0 ? [] : existsSync("/usr/bin/setpriv") ? ["/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : undefined;
function ownForUnprivileged(path: string): void {
  if (process.getuid?.() === 0) chownSync(path, 65534, 65534);
}

describe.skipIf(unprivileged === undefined)("compile --out as an unprivileged user (where mode 555 really stops writes)", () => {
  it("a read-only output directory is refused and left as it was: no writable replacement, no undeletable old copy", async () => {
    const dir = scratch();
    chmodSync(dir, 0o777);
    ownForUnprivileged(dir);
    const out = join(dir, "out");
    mkdirSync(out);
    writeFileSync(join(out, OUTPUT_MARKER_NAME), "written by lightsub compile\n");
    ownForUnprivileged(out);
    ownForUnprivileged(join(out, OUTPUT_MARKER_NAME));
    chmodSync(out, 0o555);
    const result = await lightsub(["compile", SHOP, "--out", out], { prefix: unprivileged });
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/read-only/);
    expect(readdirSync(dir)).toEqual(["out"]);
    expect(statSync(out).mode & 0o777).toBe(0o555);
  });

  it("an old copy that cannot be deleted (left by an earlier version) does not make later compiles fail", async () => {
    const dir = scratch();
    chmodSync(dir, 0o777);
    ownForUnprivileged(dir);
    const out = join(dir, "out");
    expect((await lightsub(["compile", SHOP, "--out", out], { prefix: unprivileged })).code).toBe(0);
    // What lightsub before this fix left beside the output: the read-only directory renamed aside, its files inside, by a dead process.
    const leftover = join(dir, ".out.lightsub-old-999999999-0");
    mkdirSync(leftover);
    writeFileSync(join(leftover, "envoy.yaml"), "old\n");
    ownForUnprivileged(leftover);
    ownForUnprivileged(join(leftover, "envoy.yaml"));
    chmodSync(leftover, 0o555);
    for (let i = 0; i < 2; i++) {
      const result = await lightsub(["compile", SHOP, "--out", out], { prefix: unprivileged });
      expect(result.code, result.stderr).toBe(0);
    }
    expect(readdirSync(out)).toContain("docker-compose.yaml");
    expect(readdirSync(dir).sort()).toEqual([".out.lightsub-old-999999999-0", "out"]);
  });
});

const OUTPUT_MARKER_NAME = ".lightsub-output";

describe("--wasm and the filter (item 6)", () => {
  it.each([
    ["an 8-byte file", (dir: string) => (writeFileSync(join(dir, "f.wasm"), "12345678"), join(dir, "f.wasm")), /is not a WebAssembly module/],
    ["a directory", (dir: string) => dir, /is a directory, not a \.wasm file/],
    ["a missing file", (dir: string) => join(dir, "missing.wasm"), /does not exist/],
    [
      "a Wasm module that is not a proxy-wasm filter",
      (dir: string) => (writeFileSync(join(dir, "f.wasm"), EMPTY_MODULE), join(dir, "f.wasm")),
      /is not a proxy-wasm filter for ABI 0\.2\.1/,
    ],
    ["bytes that start like Wasm but are garbage", (dir: string) => (writeFileSync(join(dir, "f.wasm"), Buffer.concat([EMPTY_MODULE, Buffer.from([1, 2, 3])])), join(dir, "f.wasm")), /is not a valid WebAssembly module/],
  ])("compile --wasm <%s> is a usage error (exit 2, one line), nothing written", async (_, make, message) => {
    const dir = scratch();
    const wasm = make(dir);
    const out = join(scratch(), "out");
    const result = await lightsub(["compile", SHOP, "--out", out, "--wasm", wasm]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(existsSync(out)).toBe(false);
  });

  it("simulate --wasm <garbage> is a usage error (exit 2), not an internal error", async () => {
    const dir = scratch();
    writeFileSync(join(dir, "f.wasm"), Buffer.concat([EMPTY_MODULE, Buffer.from([1, 2, 3])]));
    const result = await lightsub(["simulate", join(EXAMPLES, "simulate", "slow-endpoint.yaml"), "--wasm", join(dir, "f.wasm")]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^lightsub simulate: the filter .*f\.wasm is not a valid WebAssembly module/);
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
  });

  it("the built filter passes the check; a module importing something Envoy lacks does not", () => {
    expect(filterModuleProblem(readFileSync(WASM))).toBeUndefined();
    expect(readFilterFile(WASM, true)).toEqual(readFileSync(WASM));
    expect(filterModuleProblem(moduleImporting("env", "proxy_not_a_host_function"))).toMatch(/imports env\.proxy_not_a_host_function, which Envoy's Wasm host does not provide/);
    expect(filterModuleProblem(moduleImporting("env", "proxy_log"))).toBeUndefined();
    expect(filterModuleProblem(moduleImporting("wasi_snapshot_preview1", "fd_write"))).toBeUndefined();
  });

  it("a missing default filter tells to build it", () => {
    expect(() => readFilterFile(join(scratch(), "lightsub.wasm"), true)).toThrow(/is not built: run "npm run build" first/);
  });
});

// The smallest valid module: magic and version.
const EMPTY_MODULE = Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);

/** A minimal proxy-wasm-shaped module (ABI marker, memory, allocator) with one imported function `module.name` of type () -> (). */
function moduleImporting(module: string, name: string): Buffer {
  const str = (s: string) => [s.length, ...Buffer.from(s)];
  const section = (id: number, body: number[]) => [id, body.length, ...body];
  const typeSec = section(1, [1, 0x60, 0, 0]);
  const importSec = section(2, [1, ...str(module), ...str(name), 0x00, 0]);
  const funcSec = section(3, [2, 0, 0]);
  const memSec = section(5, [1, 0, 1]);
  const exports = [
    [...str("proxy_abi_version_0_2_1"), 0x00, 1],
    [...str("proxy_on_memory_allocate"), 0x00, 2],
    [...str("memory"), 0x02, 0],
  ];
  const exportSec = section(7, [exports.length, ...exports.flat()]);
  const codeSec = section(10, [2, 2, 0, 0x0b, 2, 0, 0x0b]);
  return Buffer.from([...EMPTY_MODULE, ...typeSec, ...importSec, ...funcSec, ...memSec, ...exportSec, ...codeSec]);
}

describe("simulate --report (items 3 and 6)", () => {
  const POLICY = join(EXAMPLES, "simulate", "slow-endpoint.yaml");

  it("refuses to overwrite the policy it reads, also through a hard or symbolic link and with --force; the policy is unchanged", async () => {
    const dir = scratch();
    const policy = join(dir, "p.yaml");
    const text = readFileSync(POLICY, "utf8");
    writeFileSync(policy, text);
    linkSync(policy, join(dir, "hard.html"));
    symlinkSync("p.yaml", join(dir, "soft.html"));
    for (const target of ["p.yaml", "hard.html", "soft.html"]) {
      for (const force of [[], ["--force"]]) {
        const result = await lightsub(["simulate", policy, "--report", join(dir, target), ...force]);
        expect(result.code, `${target} ${force}`).toBe(2);
        expect(result.stderr.trim()).toMatch(/^lightsub simulate: --report .*: is the policy this command reads .*; refusing to overwrite it$/);
        expect(result.stdout).toBe(""); // refused before the simulation ran
      }
    }
    expect(readFileSync(policy, "utf8")).toBe(text);
    expect(readdirSync(dir).sort()).toEqual(["hard.html", "p.yaml", "soft.html"]);
  });

  it("refuses to overwrite the workload it reads", async () => {
    const dir = scratch();
    const workload = join(dir, "w.yaml");
    writeFileSync(workload, "from: frontend\nto: catalog\n");
    const result = await lightsub(["simulate", POLICY, "--workload", workload, "--report", workload, "--force"]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/is the workload this command reads/);
    expect(readFileSync(workload, "utf8")).toBe("from: frontend\nto: catalog\n");
  });

  it("refuses an existing file that is not a lightsub report unless --force; replaces an earlier report; writes no temporary file", { timeout: 120_000 }, async () => {
    const dir = scratch();
    const notes = join(dir, "notes.html");
    writeFileSync(notes, "<p>my notes</p>\n");
    const refused = await lightsub(["simulate", POLICY, "--report", notes]);
    expect(refused.code).toBe(2);
    expect(refused.stderr.trim()).toMatch(/notes\.html: the file exists and is not a lightsub report; give --force to replace it/);
    expect(refused.stdout).toBe("");
    expect(readFileSync(notes, "utf8")).toBe("<p>my notes</p>\n");

    const report = join(dir, "report.html");
    expect((await lightsub(["simulate", POLICY, "--report", report])).code).toBe(0);
    const first = readFileSync(report, "utf8");
    expect(first).toMatch(/^<!doctype html>/);
    // An earlier report may be replaced without --force.
    writeFileSync(report, first.replace("</body>", "<!-- stale --></body>"));
    const again = await lightsub(["simulate", POLICY, "--report", report, "--seed", "2"]);
    expect(again.code, again.stderr).toBe(0);
    expect(readFileSync(report, "utf8")).not.toContain("<!-- stale -->");

    const forced = await lightsub(["simulate", POLICY, "--report", notes, "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(readFileSync(notes, "utf8")).toMatch(/^<!doctype html>/);
    expect(readdirSync(dir).sort()).toEqual(["notes.html", "report.html"]);
  });

  it.each([
    ["a directory", (dir: string) => dir, /is a directory; give a file name such as/],
    ["a path in a missing directory", (dir: string) => join(dir, "missing", "r.html"), /the directory .*missing does not exist/],
  ])("--report <%s> is a usage error before the simulation runs", async (_, make, message) => {
    const dir = scratch();
    const result = await lightsub(["simulate", POLICY, "--report", make(dir)]);
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toMatch(message);
    expect(result.stdout).toBe("");
    expect(readdirSync(dir)).toEqual([]);
  });

  it("--force without --report is a usage error", async () => {
    expectOneLineUsageError(await lightsub(["simulate", POLICY, "--force"]), "simulate", /--force only applies to --report/);
  });
});

describe("- reads the policy from standard input (item 8)", () => {
  const text = readFileSync(SHOP, "utf8");

  it("validate - and compile - read stdin; diagnostics name <stdin>", async () => {
    const ok = await lightsub(["validate", "-"], { input: text });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^<stdin>: ok, 2 services/);
    const out = join(scratch(), "out");
    const compiled = await lightsub(["compile", "-", "--out", out], { input: text });
    expect(compiled.code, compiled.stderr).toBe(0);
    expect(readdirSync(out)).toContain("docker-compose.yaml");
    const broken = await lightsub(["validate", "-"], { input: text.replace("kind: Mesh", "kind: Mess") });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^<stdin>:\d+:\d+: error LS003: kind must be/m);
  });

  it("simulate - reads stdin", { timeout: 120_000 }, async () => {
    const result = await lightsub(["simulate", "-", "--json"], { input: readFileSync(join(EXAMPLES, "simulate", "slow-endpoint.yaml"), "utf8") });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).policy).toBe("<stdin>");
  });
});

describe("--warnings-as-errors (item 8)", () => {
  // Weights on a round_robin service: warning LS031.
  const WARNS = readFileSync(SHOP, "utf8").replace("scheduler: { strategy: least_load }", "scheduler: { strategy: round_robin }");

  it("without it a warning passes (exit 0); with it validate and compile fail (exit 1) and compile writes nothing", async () => {
    expect(WARNS).not.toBe(readFileSync(SHOP, "utf8"));
    const plain = await lightsub(["validate", "-"], { input: WARNS });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.stderr).toMatch(/warning LS031/);
    const strict = await lightsub(["validate", "-", "--warnings-as-errors"], { input: WARNS });
    expect(strict.code).toBe(1);
    expect(strict.stderr).toMatch(/error LS031/);
    expect(strict.stderr).toMatch(/1 error, 0 warnings \(--warnings-as-errors: warnings count as errors\)/);
    const out = join(scratch(), "out");
    const compiled = await lightsub(["compile", "-", "--out", out, "--warnings-as-errors"], { input: WARNS });
    expect(compiled.code).toBe(1);
    expect(existsSync(out)).toBe(false);
  });
});

describe("wrong indentation is one error with a fix hint (item 8)", () => {
  const text = readFileSync(SHOP, "utf8");
  const catalogPort = "      port: 9090\n";
  it.each([
    ["one space too many", text.replace(catalogPort, " " + catalogPort), /^<stdin>:18:8: error LS002: line 18 is indented deeper \(7 spaces\) than the key on line 17 \(6 spaces\) and so reads as part of that key/],
    ["one space too few", text.replace("      protocol: grpc\n", "     protocol: grpc\n"), /^<stdin>:19:1: error LS002: .*check the indentation of line 19 \(5 spaces\) against line 18 above it \(6 spaces\)/],
    ["a tab", text.replace(catalogPort, "\tport: 9090\n"), /^<stdin>:18:1: error LS002: line 18 is indented with a tab; YAML indents with spaces only: replace the tab with spaces \(6 more syntax errors/],
    ["a tab after spaces", text.replace(catalogPort, "      \tport: 9090\n"), /^<stdin>:18:7: error LS002: line 18 is indented with a tab/],
  ])("%s", async (_, policy, message) => {
    expect(policy).not.toBe(text);
    const result = await lightsub(["validate", "-"], { input: policy });
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toBe("1 error, 0 warnings");
  });

  it("errors that do not follow from one another are all still reported", async () => {
    const policy = text.replace("kind: Mesh\n", "kind: Mesh\nkind: Mesh\n").replace("metadata: { name: shop }\n", "metadata: { name: shop }\nmetadata: {}\n");
    const result = await lightsub(["validate", "-"], { input: policy });
    expect(result.code).toBe(1);
    expect(result.stderr.match(/error LS002: duplicate key/g)).toHaveLength(2);
  });
});

describe("retries.statusCodes and gRPC health checks (item 8)", () => {
  const base = readFileSync(SHOP, "utf8");

  it("statusCodes with retriable-status-codes compiles to Envoy's retriable_status_codes, which pass the strict check", async () => {
    const policy = base.replace("on: [5xx, reset, connect-failure]", "on: [reset, retriable-status-codes], statusCodes: [503, 429]");
    expect(policy).not.toBe(base);
    const out = join(scratch(), "out");
    const result = await lightsub(["compile", "-", "--out", out], { input: policy });
    expect(result.code, result.stderr).toBe(0);
    const frontend = readFileSync(join(out, "frontend", "envoy.yaml"), "utf8");
    expect(frontend).toMatch(/retry_on: "reset,retriable-status-codes"/);
    expect(frontend).toMatch(/retriable_status_codes:\s*\n\s*- 503\s*\n\s*- 429/);
  });

  it("retriable-status-codes without statusCodes is an error (LS061), not silently accepted", async () => {
    const policy = base.replace("on: [5xx, reset, connect-failure]", "on: [reset, retriable-status-codes]");
    const result = await lightsub(["validate", "-"], { input: policy });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^<stdin>:26:\d+: error LS061: retry condition "retriable-status-codes" needs the codes: add retries.statusCodes/m);
  });

  it("a health-check path on a grpc service warns (LS053) instead of being dropped silently", async () => {
    const policy = base.replace("healthCheck: { interval: 5s", "healthCheck: { path: /healthz, interval: 5s");
    expect(policy).not.toBe(base);
    const result = await lightsub(["validate", "-"], { input: policy });
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/^<stdin>:29:\d+: warning LS053: healthCheck.path has no effect on a grpc service/m);
  });
});
