/**
 * Envoy is the authority on what it accepts: `envoy --mode validate` (1.40)
 * runs on every config the compiler emits for the examples, the test
 * policies and models, and a generated sample covering every feature; and on
 * a corpus of deliberately bad configs (test/fixtures/envoy-bad/), which
 * compiler/validate must reject exactly as Envoy does. Where the two differ
 * on purpose (compiler/validate is stricter), stricter/ says why and this
 * test keeps it so.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { parse } from "yaml";
import { compile, hasErrors } from "../../compiler/compile.js";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import { CERTS_DIR_IN_CONTAINER, type MeshModel } from "../../compiler/model/mesh.js";
import { createEnvoyValidator } from "../../compiler/validate/index.js";
import { dedent } from "../support/policy-marks.js";
import { serialize, validPolicyWithAdmission } from "../support/fuzz-policies.js";
import { corpusHeader, EnvoyValidator, mapLimit, type EnvoyVerdict } from "../support/envoy-validate.js";
import { fiveServiceModel, strategyZooModel, twoServiceModel } from "../support/models.js";
import { describeWithEnvoy } from "../support/real-envoy.js";

const ROOT = join(import.meta.dirname, "..", "..");
const BAD_DIR = join(ROOT, "test", "fixtures", "envoy-bad");
/** Envoys at once: the machine has 2 cores, and each validate is ~0.1 s of CPU. */
const PARALLEL = 3;
const GENERATED = 30;

type Json = any;

/** One compiled sidecar config and where it came from. */
interface Config {
  source: string;
  service: string;
  bootstrap: Json;
}

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .map((f) => join(dir, f));

/** Every policy file under test/fixtures (any depth; the Envoy corpus excluded). */
function fixturePolicyFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.(ya?ml|json)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((f) => !f.startsWith(BAD_DIR) && /["']?apiVersion["']?\s*:\s*["']?lightsub\/v1/.test(readFileSync(f, "utf8")))
    .sort();
}

/** Where `lightsub certs` writes the certificates of secure test meshes (removed after the file). */
const certsRoot = mkdtempSync(join(tmpdir(), "lightsub-validate-certs-"));
afterAll(() => rmSync(certsRoot, { recursive: true, force: true }));
let certRuns = 0;

/**
 * A mesh with mTLS reads its certificates through SDS files that Envoy
 * requires to exist: issue them with `lightsub certs` and point the config at
 * them, as the docker compose mount would (the only change, like the Wasm path).
 */
function withIssuedCerts(text: string, configs: Config[]): void {
  if (!configs.some((c) => JSON.stringify(c.bootstrap).includes(CERTS_DIR_IN_CONTAINER))) return;
  const dir = join(certsRoot, String(++certRuns));
  const policy = `${dir}.policy.yaml`;
  writeFileSync(policy, text);
  const run = spawnSync(process.execPath, [join(ROOT, "bin", "lightsub.js"), "certs", policy, "--out", dir], { encoding: "utf8" });
  if (run.status !== 0) throw new Error(`lightsub certs failed: ${run.stderr}`);
  for (const config of configs) {
    const serviceDir = join(dir, config.service);
    config.bootstrap = JSON.parse(JSON.stringify(config.bootstrap), (_key, value) =>
      typeof value === "string" && value.startsWith(CERTS_DIR_IN_CONTAINER) ? serviceDir + value.slice(CERTS_DIR_IN_CONTAINER.length) : value,
    );
  }
}

/** Compiles a policy in memory; the sidecar configs as Envoy would read them, or the error diagnostics. */
async function compileConfigs(text: string, source: string): Promise<{ configs: Config[]; errors: string[] }> {
  const result = await compile(text, source, { withoutWasm: true, withoutCompose: true });
  if (hasErrors(result.diagnostics) || !result.files) {
    return { configs: [], errors: result.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.code} ${d.message}`) };
  }
  const configs: Config[] = [];
  for (const [name, content] of result.files) {
    const m = /^([^/]+)\/envoy\.yaml$/.exec(name);
    if (m && typeof content === "string") configs.push({ source, service: m[1]!, bootstrap: parse(content) });
  }
  withIssuedCerts(text, configs);
  return { configs, errors: [] };
}

function modelConfigs(source: string, model: MeshModel): Config[] {
  return [...sidecarBootstraps(model)].map(([service, bootstrap]) => ({ source, service, bootstrap: JSON.parse(JSON.stringify(bootstrap)) }));
}

/**
 * Policies the tests write inline: template literals with `apiVersion:
 * lightsub/v1` and no interpolation (diagnostic markers « removed). Those
 * that compile are sidecar configs like any other.
 */
function inlineTestPolicies(): Array<{ source: string; text: string }> {
  const out: Array<{ source: string; text: string }> = [];
  // Every test and helper file, in whichever directory of test/ it lives (fixtures are inputs, not literals).
  const fixtures = join(ROOT, "test", "fixtures");
  const files = readdirSync(join(ROOT, "test"), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.parentPath.startsWith(fixtures))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  for (const path of files) {
    const text = readFileSync(path, "utf8");
    let n = 0;
    for (const m of text.matchAll(/`([^`]*apiVersion: lightsub\/v1[^`]*)`/g)) {
      if (m[1]!.includes("${")) continue;
      out.push({ source: `${relative(ROOT, path)} (literal ${++n})`, text: dedent(m[1]!.replaceAll("«", "")) });
    }
  }
  return out;
}

/** What a compiled config exercises, by the Envoy fields and plugin settings the compiler emits. */
function features(bootstrap: Json): Set<string> {
  const found = new Set<string>();
  const text = JSON.stringify(bootstrap);
  for (const key of ["retry_policy", "http_health_check", "grpc_health_check", "outlier_detection", "circuit_breakers", "http2_protocol_options", "retry_host_predicate"]) {
    if (text.includes(`"${key}"`)) found.add(key);
  }
  for (const policy of ["FAIL_OPEN", "FAIL_CLOSED"]) if (text.includes(`"failure_policy":"${policy}"`)) found.add(policy);
  for (const filter of wasmFilters(bootstrap)) {
    const plugin = JSON.parse(filter.config.configuration.value);
    for (const d of plugin.destinations) {
      found.add(`strategy:${d.strategy}`);
      if (d.hashOn) found.add(`hashOn:${Object.keys(d.hashOn)[0]}`);
      if (d.admission) {
        found.add("admission");
        if (d.admission.adaptive) found.add("admission.adaptive");
        if (d.admission.priorityHeader) found.add("admission.priorityHeader");
      }
    }
  }
  return found;
}

const EVERY_FEATURE = [
  "retry_policy", "retry_host_predicate", "http_health_check", "grpc_health_check", "outlier_detection", "circuit_breakers", "http2_protocol_options",
  "FAIL_OPEN", "FAIL_CLOSED",
  ...["round_robin", "random", "weighted", "least_load", "least_latency", "availability", "consistent_hash"].map((s) => `strategy:${s}`),
  "hashOn:header", "hashOn:cookie", "hashOn:path",
  "admission", "admission.adaptive", "admission.priorityHeader",
];

/** Every Wasm HTTP filter's `typed_config` in a bootstrap. */
function wasmFilters(bootstrap: Json): Json[] {
  const out: Json[] = [];
  for (const listener of bootstrap.static_resources?.listeners ?? []) {
    for (const chain of listener.filter_chains ?? []) {
      for (const filter of chain.filters ?? []) {
        for (const http of filter.typed_config?.http_filters ?? []) {
          if (http.typed_config?.["@type"] === "type.googleapis.com/envoy.extensions.filters.http.wasm.v3.Wasm") out.push(http.typed_config);
        }
      }
    }
  }
  return out;
}

/** A coverage-driven sample of generated policies that compile: first one per new feature, then in order up to `count`. */
async function generatedConfigs(count: number): Promise<{ configs: Config[]; policies: number; covered: Set<string> }> {
  const candidates = fc.sample(validPolicyWithAdmission, { seed: 20261206, numRuns: 200 });
  const covered = new Set<string>();
  const chosen: Config[][] = [];
  const rest: Config[][] = [];
  for (const [i, policy] of candidates.entries()) {
    const { configs } = await compileConfigs(serialize(policy, "yaml-block"), `generated policy ${i} (seed 20261206)`);
    if (configs.length === 0) continue;
    const adds = configs.flatMap((c) => [...features(c.bootstrap)]).filter((f) => !covered.has(f));
    if (adds.length > 0 && chosen.length < count) {
      adds.forEach((f) => covered.add(f));
      chosen.push(configs);
    } else rest.push(configs);
    if (covered.size === EVERY_FEATURE.length && chosen.length + rest.length >= count) break;
  }
  const picked = [...chosen, ...rest].slice(0, count);
  // Sidecars that call nothing differ only in names and ports: one per policy is enough.
  const configs = picked.flatMap((policy) => {
    const leaves = policy.filter((c) => wasmFilters(c.bootstrap).length === 0);
    return [...policy.filter((c) => wasmFilters(c.bootstrap).length > 0), ...leaves.slice(0, 1)];
  });
  return { configs, policies: picked.length, covered };
}

function describeRejection(config: Config, verdict: EnvoyVerdict): string {
  return `${config.source} → ${config.service}: envoy --mode validate rejects it:\n${verdict.message}`;
}

describeWithEnvoy("envoy --mode validate", (envoyPath) => {
  let envoy: EnvoyValidator;
  const ours = createEnvoyValidator();
  beforeAll(() => {
    envoy = new EnvoyValidator(envoyPath);
  });
  afterAll(() => envoy?.close());

  /** Runs Envoy on every config; returns Envoy's rejections and compiler/validate's, each with its message. */
  async function validateAll(configs: Config[]): Promise<{ envoy: string[]; ours: string[] }> {
    const verdicts = await mapLimit(configs, PARALLEL, (c) => envoy.validate(c.bootstrap));
    const envoyRejects = configs.flatMap((c, i) => (verdicts[i]!.ok ? [] : [describeRejection(c, verdicts[i]!)]));
    const oursRejects = configs.flatMap((c) => {
      const errors = ours.validateBootstrap(c.bootstrap);
      return errors.length === 0 ? [] : [`${c.source} → ${c.service}: compiler/validate rejects it: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}`];
    });
    return { envoy: envoyRejects, ours: oursRejects };
  }

  it("accepts every config compiled from examples/, e2e/mesh.yaml, the test fixtures, the golden policies, model builders and inline test policies", async () => {
    const configs: Config[] = [];
    const fixturePolicies = fixturePolicyFiles(join(ROOT, "test", "fixtures"));
    const secureExamples = yamlFiles(join(ROOT, "examples", "security"));
    const goldenPolicies = readdirSync(join(ROOT, "test", "golden"), { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => join(ROOT, "test", "golden", e.name, "in.yaml"))
      .sort();
    expect(goldenPolicies.length).toBeGreaterThanOrEqual(7);
    const policyFiles = [...yamlFiles(join(ROOT, "examples")), ...secureExamples, ...yamlFiles(join(ROOT, "examples", "simulate")), join(ROOT, "e2e", "mesh.yaml"), ...fixturePolicies, ...goldenPolicies];
    const mustCompile = new Set([...yamlFiles(join(ROOT, "examples")), ...secureExamples, join(ROOT, "e2e", "mesh.yaml"), ...fixturePolicies, ...goldenPolicies]);
    expect(fixturePolicies.map((f) => relative(ROOT, f))).toContain("test/fixtures/policies/payments.json");
    for (const file of policyFiles) {
      const { configs: compiled, errors } = await compileConfigs(readFileSync(file, "utf8"), relative(ROOT, file));
      if (mustCompile.has(file)) expect(errors, relative(ROOT, file)).toEqual([]);
      configs.push(...compiled);
    }
    for (const [name, build] of [["twoServiceModel", twoServiceModel], ["fiveServiceModel", fiveServiceModel], ["strategyZooModel", strategyZooModel]] as const) {
      configs.push(...modelConfigs(`test/support/models.ts ${name}()`, build()));
    }
    const inline = inlineTestPolicies();
    let inlineCompiled = 0;
    for (const { source, text } of inline) {
      const { configs: compiled } = await compileConfigs(text, source);
      if (compiled.length > 0) inlineCompiled++;
      configs.push(...compiled);
    }
    // Every example compiles (checked above); the inline literals are mostly diagnostics tests, but some compile.
    expect(inlineCompiled).toBeGreaterThanOrEqual(5);
    // The secure meshes (examples/security, test/fixtures/mesh) ran with issued certificates.
    expect(certRuns).toBeGreaterThanOrEqual(3);
    expect(configs.length).toBeGreaterThanOrEqual(40);

    const rejected = await validateAll(configs);
    expect(rejected.envoy, rejected.envoy.join("\n\n")).toEqual([]);
    expect(rejected.ours, rejected.ours.join("\n")).toEqual([]);
    console.log(
      `envoy --mode validate: ${configs.length} sidecar configs from ${policyFiles.length} policy files, ${inlineCompiled} inline test policies and 3 models all pass (${envoy.counts.runs} distinct configs run)`,
    );
  }, 120_000);

  it(`accepts every config compiled from ${GENERATED} generated policies that together use every feature the compiler emits`, async () => {
    const { configs, policies, covered } = await generatedConfigs(GENERATED);
    expect(policies).toBe(GENERATED);
    expect([...covered].sort()).toEqual([...EVERY_FEATURE].sort());
    const rejected = await validateAll(configs);
    expect(rejected.envoy, rejected.envoy.join("\n\n")).toEqual([]);
    expect(rejected.ours, rejected.ours.join("\n")).toEqual([]);
  }, 120_000);

  it("accepts the largest destination the filter takes: 256 endpoints behind a 63-character service name (the header regex within RE2's program size)", async () => {
    const name = `s${"x".repeat(61)}9`;
    const endpoints = Array.from({ length: 256 }, (_, i) => `        - { address: 10.${i >> 8}.${i & 255}.7, port: 15006 }`).join("\n");
    const policy = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: wide }
spec:
  services:
    - name: caller
      port: 8080
      endpoints: [{ address: caller, port: 15006 }]
      calls: [${name}]
    - name: ${name}
      port: 9090
      scheduler: { strategy: consistent_hash, hashOn: { header: x-user } }
      endpoints:
${endpoints}
`;
    const { configs, errors } = await compileConfigs(policy, "256 endpoints");
    expect(errors).toEqual([]);
    const caller = configs.find((c) => c.service === "caller")!;
    expect(JSON.stringify(caller.bootstrap)).toContain(`${name}_ep255|`.slice(0, -1));
    const rejected = await validateAll(configs);
    expect(rejected.envoy, rejected.envoy.join("\n\n")).toEqual([]);
    expect(rejected.ours).toEqual([]);
  }, 60_000);

  it("sets the Wasm failure_policy explicitly on every lightsub filter, following its fail mode", async () => {
    const configs: Config[] = [];
    for (const file of [...yamlFiles(join(ROOT, "examples")), join(ROOT, "e2e", "mesh.yaml")]) {
      configs.push(...(await compileConfigs(readFileSync(file, "utf8"), relative(ROOT, file))).configs);
    }
    let filters = 0;
    for (const c of configs) {
      for (const wasm of wasmFilters(c.bootstrap)) {
        filters++;
        const plugin = JSON.parse(wasm.config.configuration.value);
        expect(wasm.config.failure_policy, `${c.source} → ${c.service}`).toBe(plugin.failMode === "open" ? "FAIL_OPEN" : "FAIL_CLOSED");
        expect(wasm.config).not.toHaveProperty("fail_open");
      }
    }
    expect(filters).toBeGreaterThanOrEqual(8);
    // Both values occur in the examples (bookstore's search is failMode: closed).
    const policies = configs.flatMap((c) => wasmFilters(c.bootstrap).map((w) => w.config.failure_policy));
    expect(new Set(policies)).toEqual(new Set(["FAIL_OPEN", "FAIL_CLOSED"]));
  });

  /** A corpus file: its header, the bootstrap, Envoy's verdict and compiler/validate's errors. */
  async function corpusCase(file: string) {
    const text = readFileSync(file, "utf8");
    const bootstrap = parse(text);
    return { name: relative(BAD_DIR, file), header: corpusHeader(text), envoy: await envoy.validate(bootstrap), ours: ours.validateBootstrap(bootstrap) };
  }

  it("rejects every config of the bad corpus for its defect, and compiler/validate rejects each at the defect", async () => {
    const files = yamlFiles(BAD_DIR);
    expect(files.length).toBeGreaterThanOrEqual(40);
    const cases = await mapLimit(files, PARALLEL, corpusCase);
    const disagreements: string[] = [];
    for (const c of cases) {
      const defect = c.header.get("defect");
      expect(defect, `${c.name} says its defect`).toBeTruthy();
      // Envoy's reason, printed for every case.
      console.log(`${c.name} (${defect}):\n  envoy: ${c.envoy.ok ? "ACCEPTS" : c.envoy.message.replace(/\n/g, "\n         ")}\n  lightsub: ${c.ours.map((e) => `${e.path}: ${e.message}`).join("\n            ") || "ACCEPTS"}`);
      if (c.envoy.ok) disagreements.push(`${c.name}: envoy --mode validate accepts it (defect: ${defect})`);
      // Each case names Envoy's reason, so a config rejected for another one (a typo in the case) cannot pass.
      const says = c.header.get("envoy-says");
      if (!says) disagreements.push(`${c.name}: no "# envoy-says:" line naming Envoy's reason`);
      else if (!c.envoy.message.includes(says)) disagreements.push(`${c.name}: Envoy's message does not mention ${JSON.stringify(says)}:\n${c.envoy.message}`);
      if (c.ours.length === 0) disagreements.push(`${c.name}: compiler/validate accepts it (defect: ${defect}); Envoy says:\n${c.envoy.message}`);
      const at = c.header.get("lightsub-path");
      if (at !== undefined && c.ours.length > 0 && !c.ours.some((e) => e.path === at)) {
        disagreements.push(`${c.name}: compiler/validate reports ${c.ours.map((e) => e.path).join(", ")}, not ${at}`);
      }
    }
    expect(disagreements, disagreements.join("\n\n")).toEqual([]);
  }, 120_000);

  it("accepts the corpus's originals, as compiler/validate does", async () => {
    const files = yamlFiles(join(BAD_DIR, "originals"));
    expect(files.map((f) => basename(f))).toEqual(["bookstore-frontend.yaml", "shop-frontend.yaml"]);
    for (const c of await mapLimit(files, PARALLEL, corpusCase)) {
      expect(c.envoy, c.name).toEqual({ ok: true, message: "" });
      expect(c.ours, c.name).toEqual([]);
    }
  }, 60_000);

  it("accepts the stricter/ configs that compiler/validate rejects on purpose, each for its stated reason", async () => {
    const files = yamlFiles(join(BAD_DIR, "stricter"));
    expect(files.length).toBeGreaterThanOrEqual(5);
    for (const c of await mapLimit(files, PARALLEL, corpusCase)) {
      expect(c.header.get("why-stricter"), c.name).toBeTruthy();
      // If Envoy starts rejecting one, it belongs in the bad corpus instead.
      expect(c.envoy, `${c.name}: ${c.envoy.message}`).toEqual({ ok: true, message: "" });
      expect(c.ours.map((e) => e.path), c.name).toContain(c.header.get("lightsub-path"));
    }
  }, 60_000);
});
