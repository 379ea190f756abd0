/**
 * Golden meshes: test/golden/<feature>/in.yaml is compiled with the public
 * compile() (compiler/compile.ts, what the API and `lightsub compile` run) and
 * every file it produces is compared byte for byte with
 * test/golden/<feature>/out/ (`<service>/envoy.yaml`, `docker-compose.yaml`,
 * and `diagnostics.txt` when the policy has warnings). The .wasm is left out
 * (it changes with every filter build, not with the compiler). The files
 * `lightsub compile` writes to a directory (compileToDirectory) must be the
 * same bytes.
 *
 * `UPDATE_GOLDEN=1 npx vitest run test/golden/` rewrites every out/; review
 * the diff before keeping it. A new feature: add <feature>/in.yaml and run it
 * once with UPDATE_GOLDEN=1.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compile, compileToDirectory } from "../../compiler/compile.js";
import { formatDiagnostic, type Diagnostic } from "../../compiler/diagnostics/index.js";
import { loadEnvoyValidator } from "../../compiler/validate/index.js";

const GOLDEN_DIR = fileURLToPath(new URL("./", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const INPUT = "in.yaml";
const OUT = "out";
const DIAGNOSTICS = "diagnostics.txt";
/** What the golden files leave out of a compile's output. */
const NOT_GOLDEN = new Set(["lightsub.wasm", ".lightsub-output"]);

const FEATURES = readdirSync(GOLDEN_DIR)
  .filter((name) => statSync(join(GOLDEN_DIR, name)).isDirectory())
  .sort();

const scratch = mkdtempSync(join(tmpdir(), "lightsub-golden-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Every file under `dir`, by path relative to it (with "/"), sorted. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  const walk = (at: string) => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) walk(path);
      else found.push(relative(dir, path).split("\\").join("/"));
    }
  };
  walk(dir);
  return found.sort();
}

function diagnosticsText(diagnostics: readonly Diagnostic[]): string | undefined {
  return diagnostics.length === 0 ? undefined : `${diagnostics.map(formatDiagnostic).join("\n")}\n`;
}

/** compile() of a feature's in.yaml: golden file name → bytes. */
async function compileFeature(feature: string): Promise<Map<string, Buffer>> {
  const text = readFileSync(join(GOLDEN_DIR, feature, INPUT), "utf8");
  const result = await compile(text, INPUT, { withoutWasm: true });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (errors.length > 0 || result.files === undefined) {
    throw new Error(`${feature}/${INPUT} does not compile:\n${result.diagnostics.map(formatDiagnostic).join("\n")}`);
  }
  const files = new Map<string, Buffer>();
  for (const [name, content] of result.files) {
    if (!NOT_GOLDEN.has(name)) files.set(name, Buffer.from(content));
  }
  const diagnostics = diagnosticsText(result.diagnostics);
  if (diagnostics !== undefined) files.set(DIAGNOSTICS, Buffer.from(diagnostics));
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

describe.each(FEATURES)("golden %s", (feature) => {
  const outDir = join(GOLDEN_DIR, feature, OUT);
  let compiled: Promise<Map<string, Buffer>> | undefined;
  const compiledOnce = () => (compiled ??= compileFeature(feature));

  if (UPDATE) {
    it("rewrites out/ (UPDATE_GOLDEN=1)", async () => {
      const files = await compiledOnce();
      rmSync(outDir, { recursive: true, force: true });
      for (const [name, bytes] of files) {
        mkdirSync(dirname(join(outDir, name)), { recursive: true });
        writeFileSync(join(outDir, name), bytes);
      }
    });
  }

  it("compile() produces exactly the files in out/, byte for byte", async () => {
    const files = await compiledOnce();
    expect(filesUnder(outDir)).toEqual([...files.keys()]);
    for (const [name, bytes] of files) expect(readFileSync(join(outDir, name)).toString("utf8"), name).toBe(bytes.toString("utf8"));
  });

  it("`lightsub compile` writes the same bytes to its output directory", async () => {
    const text = readFileSync(join(GOLDEN_DIR, feature, INPUT), "utf8");
    const target = join(scratch, feature);
    const result = await compileToDirectory(text, INPUT, target, { withoutWasm: true });
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const written = filesUnder(target).filter((name) => !NOT_GOLDEN.has(name));
    const golden = filesUnder(outDir).filter((name) => name !== DIAGNOSTICS);
    expect(written).toEqual(golden);
    for (const name of written) expect(readFileSync(join(target, name)).toString("utf8"), name).toBe(readFileSync(join(outDir, name), "utf8"));
    expect(diagnosticsText(result.diagnostics)).toBe(existsSync(join(outDir, DIAGNOSTICS)) ? readFileSync(join(outDir, DIAGNOSTICS), "utf8") : undefined);
  });

  it("every golden envoy.yaml passes the strict Envoy API check", async () => {
    const validator = await loadEnvoyValidator();
    const bootstraps = filesUnder(outDir).filter((name) => name.endsWith("/envoy.yaml"));
    expect(bootstraps.length).toBeGreaterThan(0);
    for (const name of bootstraps) {
      expect(validator.validateBootstrap(parse(readFileSync(join(outDir, name), "utf8"))), name).toEqual([]);
    }
  });
});

it("golden features exist, each with an in.yaml and its out/ (UPDATE_GOLDEN=1 creates out/)", () => {
  expect(FEATURES.length).toBeGreaterThanOrEqual(7);
  for (const feature of FEATURES) {
    expect(existsSync(join(GOLDEN_DIR, feature, INPUT)), `${feature}/${INPUT}`).toBe(true);
    expect(filesUnder(join(GOLDEN_DIR, feature, OUT)).length, `${feature}/${OUT}`).toBeGreaterThan(0);
  }
});
