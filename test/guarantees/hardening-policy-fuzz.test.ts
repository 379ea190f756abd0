/**
 * Compiler fuzzing: many generated policies (test/support/fuzz-policies.ts) —
 * valid meshes, the same meshes broken structurally (wrong types, missing
 * fields, duplicate names, unknown references, absurd numbers, deep nesting,
 * huge strings, thousands of endpoints), broken as text (splices,
 * truncations, YAML tags, anchors, tabs, stray documents), broken as bytes
 * (invalid UTF-8, read from a file) and YAML alias bombs.
 *
 * Each input ends either in files whose every Envoy bootstrap passes the
 * strict check against Envoy's protos, or in diagnostics that point into the
 * text; never an exception, a stack trace, or more than PER_INPUT_MS. A
 * sample also goes through the CLI into an output directory that holds a
 * previous compile: failure leaves it byte for byte as it was, success
 * replaces it completely, and nothing else appears beside it.
 *
 * Sizes: LIGHTSUB_FUZZ_POLICIES (default 10,000 in total), LIGHTSUB_FUZZ_CLI
 * (default 150), LIGHTSUB_FUZZ_SEED (default: random; printed on failure).
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { main } from "../../cli/main.js";
import { compile, hasErrors } from "../../compiler/compile.js";
import { DIAGNOSTIC_CODES, formatDiagnostic, type Diagnostic } from "../../compiler/diagnostics/index.js";
import { checkPolicy } from "../../compiler/check-policy.js";
import { readPolicyFile } from "../../compiler/policy/load.js";
import { loadEnvoyValidator } from "../../compiler/validate/index.js";
import { sizeFromEnv } from "../support/hardening.js";
import {
  aliasBomb,
  aliasBombText,
  badBytes,
  editText,
  mutate,
  mutation,
  serialize,
  syntax,
  textEdit,
  validPolicy,
  withBadBytes,
} from "../support/fuzz-policies.js";

const TOTAL = sizeFromEnv("LIGHTSUB_FUZZ_POLICIES", 10_000);
const CLI_RUNS = sizeFromEnv("LIGHTSUB_FUZZ_CLI", 150);
const SEED = process.env.LIGHTSUB_FUZZ_SEED ? Number(process.env.LIGHTSUB_FUZZ_SEED) : undefined;
/** Bound on one input, generous for a loaded CI machine; typical inputs take milliseconds. */
const PER_INPUT_MS = 5_000;
const FILE = "fuzz.yaml";
const KNOWN_CODES = new Set(DIAGNOSTIC_CODES.map((c) => c.code));

const scratch = mkdtempSync(join(tmpdir(), "lightsub-fuzz-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

const stats = { compiled: 0, rejected: 0, slowestMs: 0, revalidated: 0 };
let validator: Awaited<ReturnType<typeof loadEnvoyValidator>>;

/**
 * What is wrong with a diagnostic, if anything. Positions must lie inside the
 * text (a column may point just past a line's last character); lines end at
 * "\n", as compiler/policy/positions.ts counts them. Plain checks, not expect():
 * an input can have thousands of diagnostics.
 */
function problemWith(d: Diagnostic, lines: string[]): string | undefined {
  const where = formatDiagnostic(d).slice(0, 300);
  if (d.file !== FILE) return `wrong file: ${where}`;
  if (!KNOWN_CODES.has(d.code)) return `unknown code: ${where}`;
  if (d.severity !== "error" && d.severity !== "warning") return `bad severity: ${where}`;
  if (d.message.length === 0 || d.message.length >= 1000) return `message empty or ${d.message.length} characters long: ${where}`;
  if (/\n\s+at |\.ts:\d+:\d+|TypeError|RangeError|ReferenceError|undefined is not|Cannot read propert/.test(d.message)) return `looks like a crash: ${where}`;
  if (!Number.isInteger(d.line) || d.line < 1 || d.line > lines.length + 1) return `line outside the text (${lines.length} lines): ${where}`;
  const lineLength = lines[d.line - 1]?.length ?? 0;
  if (!Number.isInteger(d.column) || d.column < 1 || d.column > lineLength + 1) return `column outside line ${d.line} (${lineLength} characters): ${where}`;
  return undefined;
}

/** One input through the compiler; the claims of the file header. */
async function check(input: string | Uint8Array): Promise<void> {
  const started = performance.now();
  let text: string;
  if (typeof input === "string") text = input;
  else {
    const path = join(scratch, "bytes.yaml");
    writeFileSync(path, input);
    const read = await readPolicyFile(path);
    if (read.text === undefined) {
      expect(read.problems.map((p) => p.code)).toEqual(["LS001"]);
      expect(read.problems[0]!.message).toBe("the file is not valid UTF-8 text");
      stats.rejected++;
      return;
    }
    text = read.text;
  }
  const result = await compile(text, FILE, { withoutWasm: true }); // throws on an internal error: the test fails
  const ms = performance.now() - started;
  stats.slowestMs = Math.max(stats.slowestMs, ms);
  expect(ms, `${Math.round(ms)} ms for a ${text.length}-character input`).toBeLessThan(PER_INPUT_MS);
  const lines = text.split("\n");
  const problems = result.diagnostics.map((d) => problemWith(d, lines)).filter((p) => p !== undefined);
  expect(problems.slice(0, 5), problems.slice(0, 5).join("\n")).toEqual([]);
  if (result.files) {
    expect(hasErrors(result.diagnostics)).toBe(false);
    const configs = [...result.files.keys()].filter((k) => k.endsWith("/envoy.yaml"));
    expect(configs).toHaveLength(result.model!.services.length);
    // compile() checked the bootstrap objects; now and then check the written text too.
    if (stats.compiled++ % 20 === 0) {
      for (const name of configs) expect(validator.validateBootstrap(parse(String(result.files.get(name)))), name).toEqual([]);
      stats.revalidated++;
    }
  } else {
    expect(hasErrors(result.diagnostics), "no files and no error").toBe(true);
    stats.rejected++;
  }
}

const params = (numRuns: number) => ({ numRuns, ...(SEED === undefined ? {} : { seed: SEED }) });

// Shares of TOTAL: valid meshes, structural mutations, text edits, bad bytes, alias bombs.
const SHARES = { valid: 0.3, structural: 0.4, text: 0.24, bytes: 0.03, bombs: 0.03 };
const runs = (share: number) => Math.max(1, Math.round(TOTAL * share));
let generated = 0;

describe(`compiler fuzzing (${TOTAL.toLocaleString("en-US")} policies)`, () => {
  it("valid meshes compile to configs that pass Envoy's check (or get located diagnostics)", { timeout: 600_000 }, async () => {
    const before = stats.compiled;
    await fc.assert(
      fc.asyncProperty(validPolicy, syntax, async (policy, how) => {
        generated++;
        await check(serialize(policy, how));
      }),
      params(runs(SHARES.valid)),
    );
    // The generator is meant to produce mostly valid meshes: most must compile.
    expect(stats.compiled - before).toBeGreaterThan(runs(SHARES.valid) * 0.6);
  });

  it("structurally broken meshes: located diagnostics, never an exception", { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(validPolicy, fc.array(mutation, { minLength: 1, maxLength: 3 }), syntax, async (policy, mutations, how) => {
        generated++;
        let value: unknown = structuredClone(policy);
        for (const m of mutations) value = mutate(value as never, m);
        await check(serialize(value, how));
      }),
      params(runs(SHARES.structural)),
    );
  });

  it("textually broken policies: located diagnostics, never an exception", { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(validPolicy, syntax, fc.array(textEdit, { minLength: 1, maxLength: 4 }), async (policy, how, edits) => {
        generated++;
        await check(edits.reduce(editText, serialize(policy, how)));
      }),
      params(runs(SHARES.text)),
    );
  });

  it("files that are not UTF-8: LS001, never an exception", { timeout: 600_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(validPolicy, syntax, badBytes, async (policy, how, bad) => {
        generated++;
        await check(withBadBytes(serialize(policy, how), bad));
      }),
      params(runs(SHARES.bytes)),
    );
  });

  it("YAML alias bombs: stopped quickly with LS011 (or another located diagnostic)", { timeout: 600_000 }, async () => {
    let stoppedByLimit = 0;
    await fc.assert(
      fc.asyncProperty(aliasBomb, async (bomb) => {
        generated++;
        const text = aliasBombText(bomb);
        await check(text);
        const { diagnostics } = await compile(text, FILE, { withoutWasm: true });
        if (diagnostics.some((d) => d.code === "LS011")) stoppedByLimit++;
        // Big expansions are always refused by the limit, never expanded.
        if (bomb.fanout ** bomb.levels > 1_000_000) expect(diagnostics.map((d) => d.code)).toContain("LS011");
      }),
      params(runs(SHARES.bombs)),
    );
    expect(stoppedByLimit).toBeGreaterThan(0);
  });

  it(`ran at least ${TOTAL.toLocaleString("en-US")} inputs, some compiled and some rejected`, () => {
    expect(generated).toBeGreaterThanOrEqual(TOTAL);
    expect(stats.compiled).toBeGreaterThan(0);
    expect(stats.rejected).toBeGreaterThan(0);
    expect(stats.revalidated).toBeGreaterThan(0);
  });
});

describe("through the CLI into an existing output directory", () => {
  /** Every file under `dir` with a digest of its bytes. */
  function snapshot(dir: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
      const path = join(e.parentPath, e.name);
      if (e.isFile()) out.set(path.slice(dir.length), createHash("sha256").update(readFileSync(path)).digest("hex"));
    }
    return out;
  }

  it("failure changes nothing, success replaces everything, nothing is left beside it", { timeout: 600_000 }, async () => {
    const root = mkdtempSync(join(scratch, "cli-"));
    const out = join(root, "out");
    const policy = join(root, "policy.yaml");
    const quiet = { out: () => {}, err: () => {} };
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(...t.split("\n")) };
    expect(await main(["compile", new URL("../../examples/shop.yaml", import.meta.url).pathname, "--out", out], quiet)).toBe(0);
    let before = snapshot(out);
    const outcomes = { ok: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          validPolicy.chain((p) => syntax.map((how) => serialize(p, how))),
          fc.tuple(validPolicy, fc.array(mutation, { minLength: 1, maxLength: 2 }), syntax).map(([p, ms, how]) => serialize(ms.reduce<unknown>((v, m) => mutate(v as never, m), structuredClone(p)), how)),
          fc.tuple(validPolicy, syntax, fc.array(textEdit, { minLength: 1, maxLength: 3 })).map(([p, how, es]) => es.reduce(editText, serialize(p, how))),
        ),
        async (text) => {
          writeFileSync(policy, text);
          lines.length = 0;
          const code = await main(["compile", policy, "--out", out], io);
          expect([0, 1], lines.join("\n").slice(0, 2000)).toContain(code);
          expect(readdirSync(root).sort()).toEqual(["out", "policy.yaml"]); // no staging or old directory left
          if (code === 1) {
            outcomes.rejected++;
            expect(snapshot(out)).toEqual(before);
            for (const line of lines) expect(line).toMatch(/^.+:\d+:\d+: (error|warning) LS\d{3}: .+$|^\d+ errors?, \d+ warnings?$/);
          } else {
            outcomes.ok++;
            const now = snapshot(out);
            const services = [...now.keys()].filter((k) => k.endsWith("/envoy.yaml")).map((k) => k.split("/").at(-2));
            expect(services.sort()).toEqual(checkPolicy(text, policy).model!.services.map((s) => s.name).sort());
            expect(now.has("/.lightsub-output")).toBe(true);
            before = now;
          }
        },
      ),
      params(CLI_RUNS),
    );
    expect(outcomes.ok).toBeGreaterThan(0);
    expect(outcomes.rejected).toBeGreaterThan(0);
  });
});
