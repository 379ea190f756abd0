/**
 * compiler/compile.ts streams a compile to disk (compileToDirectory: each
 * sidecar's envoy.yaml goes through a writer thread into the staging
 * directory of an atomic write, docker-compose.yaml in pieces) and validates
 * without writing (validatePolicy). These tests hold the streamed output to
 * the in-memory compile() byte for byte, on every example and fixture and on
 * a generated 300-service mesh whose call graph is not a ring (so that
 * MeshIndex.doneWith forgets called services while callers of others are
 * still ahead), and check that a failed write leaves nothing behind.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { parse } from "yaml";
import { compile, compileToDirectory, FilterFileError, hasErrors, InternalCompilerError, validatePolicy, type CompileOptions } from "../../compiler/compile.js";
import { MeshIndex } from "../../compiler/envoy/mesh-index.js";
import type { MeshModel } from "../../compiler/model/mesh.js";
import { BackgroundWriter } from "../../compiler/write/background-writer.js";
import { composeFileOfCheckedModel } from "../../compiler/compose/compose.js";
import { composeYamlPieces } from "../../compiler/emit/compose-yaml.js";
import { OUTPUT_MARKER, OutputDirError, writeOutputAtomically, writeOutputAtomicallyWith, type OutputFiles } from "../../compiler/write/write.js";
import { toYaml } from "../../compiler/emit/yaml-text.js";
import { generatePolicy } from "../../bench/policy-gen.js";

const ROOT = new URL("../../", import.meta.url).pathname;
const WASM = join(ROOT, "build/lightsub.wasm");
const scratchRoot = mkdtempSync(join(tmpdir(), "lightsub-streaming-"));
afterAll(() => rmSync(scratchRoot, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

let scratchCount = 0;
/** A fresh, empty parent directory; the output goes to `<parent>/out`. */
function scratch(): { parent: string; out: string } {
  const parent = join(scratchRoot, `t${scratchCount++}`);
  mkdirSync(parent);
  return { parent, out: join(parent, "out") };
}

/** Every file under `dir`, relative, dot files included, sorted. */
function listFiles(dir: string, prefix = ""): string[] {
  return readdirSync(join(dir, prefix), { withFileTypes: true })
    .flatMap((entry) => (entry.isDirectory() ? listFiles(dir, join(prefix, entry.name)) : [join(prefix, entry.name)]))
    .sort();
}

function snapshot(dir: string): Map<string, Buffer> {
  return new Map(listFiles(dir).map((f) => [f, readFileSync(join(dir, f))]));
}

function bytes(content: string | Uint8Array): Buffer {
  return typeof content === "string" ? Buffer.from(content, "utf8") : Buffer.from(content);
}

/** Policies that are in the repository: examples/, examples/simulate/ and test/fixtures/policies/. */
function repositoryPolicies(): Array<{ file: string; text: string }> {
  const dirs = ["examples", "examples/simulate", "test/fixtures/policies"];
  return dirs.flatMap((dir) =>
    readdirSync(join(ROOT, dir))
      .filter((f) => /\.(ya?ml|json)$/.test(f))
      .map((f) => ({ file: `${dir}/${f}`, text: readFileSync(join(ROOT, dir, f), "utf8") })),
  );
}

/** mulberry32: a small PRNG with a fixed seed, so the generated mesh is the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRATEGIES = ["round_robin", "least_latency", "least_load", "weighted", "availability", "random", "consistent_hash"];

/**
 * `services` services, each calling 3 others picked at random (fixed seed):
 * not a ring, so a called service's callers are spread over the whole mesh.
 * Some services have an app image, some IPv4 endpoints (all in 10.0.0.0/8),
 * the rest hostname endpoints; so compose has apps, sidecars and addresses.
 */
function randomMesh(services: number, seed: number): { text: string; calls: number[][] } {
  const random = prng(seed);
  const calls: number[][] = [];
  const lines = [
    "apiVersion: lightsub/v1",
    "kind: Mesh",
    `metadata: { name: random-${services} }`,
    "spec:",
    "  scheduler: { strategy: least_latency, decay: 10s }",
    "  services:",
  ];
  for (let i = 0; i < services; i++) {
    const strategy = STRATEGIES[i % STRATEGIES.length]!;
    const weight = strategy === "weighted" || strategy === "consistent_hash" ? ", weight: 3" : "";
    const picked: number[] = [];
    while (picked.length < 3) {
      const j = Math.floor(random() * services);
      if (j !== i && !picked.includes(j)) picked.push(j);
    }
    calls.push(picked);
    const [a, b] = i % 3 === 0 ? [`10.${i >> 8}.${i & 255}.1`, `10.${i >> 8}.${i & 255}.2`] : [`svc-${i}-a`, `svc-${i}-b`];
    lines.push(`    - name: svc-${i}`, "      port: 8080", `      protocol: ${i % 4 === 0 ? "grpc" : "http"}`);
    if (i % 5 === 0) lines.push(`      image: registry.example/svc-${i}:1.${i}`);
    lines.push(
      "      endpoints:",
      `        - { address: ${a}, port: 15006${weight} }`,
      `        - { address: ${b}, port: 15006 }`,
      `      calls: [${picked.map((j, k) => `{ service: svc-${j}, port: ${7001 + k} }`).join(", ")}]`,
    );
    const hashOn = strategy === "consistent_hash" ? ", hashOn: { header: x-user-id }" : "";
    lines.push(`      scheduler: { strategy: ${strategy}${hashOn} }`);
    lines.push("      connector:", "        timeout: 2s", "        retries: { attempts: 2, on: [5xx, reset], perTryTimeout: 500ms }");
  }
  return { text: `${lines.join("\n")}\n`, calls };
}

const RANDOM = randomMesh(300, 20261124);
const RANDOM_FILE = "random-300.yaml";

/** Apps with images and IPv4 endpoints (two /16s: the compose subnet must widen), next to plain sidecars. */
const IMAGES_AND_IPV4 = `apiVersion: lightsub/v1
kind: Mesh
metadata: { name: images }
spec:
  services:
    - name: gateway
      port: 8080
      image: ghcr.io/acme/gateway:1.0
      endpoints:
        - { address: 10.1.0.10, port: 15001 }
        - { address: 10.1.0.11, port: 15001 }
      calls:
        - { service: books, port: 7001 }
        - { service: ratings, port: 7002 }
    - name: books
      port: 8081
      image: ghcr.io/acme/books:2.3
      endpoints:
        - { address: 10.2.7.5, port: 15006 }
      calls: [ratings]
    - name: ratings
      port: 8082
      endpoints:
        - { address: ratings-1, port: 15006 }
    - name: batch
      port: 8083
      image: ghcr.io/acme/batch:0.1
      endpoints:
        - { address: 10.2.7.9, port: 15006 }
      calls: [{ service: books, port: 7005 }]
`;

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
        - { address: catalog-1, port: 15006 }
`;

const SHOP = { file: "examples/shop.yaml", text: readFileSync(join(ROOT, "examples/shop.yaml"), "utf8") };

/**
 * compileToDirectory into a fresh directory and compile() in memory, same
 * options: the directory must hold exactly compile()'s files plus the marker,
 * byte for byte, and `written` must describe them.
 */
async function expectDirectoryMatchesCompile(text: string, file: string, options: CompileOptions): Promise<{ files: OutputFiles; model: MeshModel; out: string }> {
  const inMemory = await compile(text, file, options);
  expect(hasErrors(inMemory.diagnostics), file).toBe(false);
  const files = inMemory.files!;
  const { parent, out } = scratch();
  const result = await compileToDirectory(text, file, out, options);
  expect(result.diagnostics, file).toEqual(inMemory.diagnostics);
  expect(result.model, file).toEqual(inMemory.model);

  expect(listFiles(out), file).toEqual([...files.keys(), OUTPUT_MARKER].sort());
  for (const [relative, content] of files) expect(readFileSync(join(out, relative)).equals(bytes(content)), `${file}: ${relative}`).toBe(true);
  // Nothing beside the output: no staging or previous-output directories.
  expect(readdirSync(parent), file).toEqual(["out"]);

  const sidecars = [...files.keys()].filter((f) => f.endsWith("/envoy.yaml"));
  expect(sidecars.length, file).toBe(inMemory.model!.services.length);
  expect(result.written, file).toEqual({ sidecars: sidecars.length, others: [...files.keys()].filter((f) => !f.endsWith("/envoy.yaml")) });
  return { files, model: inMemory.model!, out };
}

describe("compileToDirectory writes exactly what compile() returns", () => {
  it("covers every repository policy that compiles, and the ones expected", async () => {
    const ok: string[] = [];
    for (const p of repositoryPolicies()) if (!hasErrors((await validatePolicy(p.text, p.file)).diagnostics)) ok.push(p.file);
    expect(ok).toEqual(expect.arrayContaining(["examples/bookstore.yaml", "examples/shop.yaml", "test/fixtures/policies/bookstore.yaml", "test/fixtures/policies/payments.json"]));
    expect(ok.length).toBeGreaterThanOrEqual(10);
  });

  it.each(repositoryPolicies().map((p) => [p.file, p.text]))("%s (without the wasm)", async (file, text) => {
    if (hasErrors((await validatePolicy(text, file)).diagnostics)) return; // only policies that compile
    const { files } = await expectDirectoryMatchesCompile(text, file, { withoutWasm: true });
    expect(files.has("lightsub.wasm")).toBe(false);
  });

  it("the fixture whose endpoints cannot run under compose (IPv6, LS070) gets configs only", async () => {
    const file = "test/fixtures/policies/bookstore.yaml";
    const { files } = await expectDirectoryMatchesCompile(readFileSync(join(ROOT, file), "utf8"), file, { withoutWasm: true });
    expect([...files.keys()].every((f) => f.endsWith("/envoy.yaml"))).toBe(true);
  });

  it("with the real wasm (build/lightsub.wasm): docker-compose.yaml and lightsub.wasm, in that order", async () => {
    expect(existsSync(WASM)).toBe(true);
    const { out } = await expectDirectoryMatchesCompile(SHOP.text, SHOP.file, {});
    expect(readFileSync(join(out, "lightsub.wasm")).equals(readFileSync(WASM))).toBe(true);
    const result = await compileToDirectory(SHOP.text, SHOP.file, scratch().out, { wasmPath: WASM });
    expect(result.written).toEqual({ sidecars: 2, others: ["docker-compose.yaml", "lightsub.wasm"] });
  });

  it("withoutCompose: sidecar configs and the wasm only", async () => {
    const { files } = await expectDirectoryMatchesCompile(SHOP.text, SHOP.file, { withoutCompose: true, wasmPath: WASM });
    expect([...files.keys()].sort()).toEqual(["catalog/envoy.yaml", "frontend/envoy.yaml", "lightsub.wasm"]);
  });

  it("apps with images and IPv4 endpoints", async () => {
    const { files } = await expectDirectoryMatchesCompile(IMAGES_AND_IPV4, "images.yaml", { withoutWasm: true });
    const compose = parse(String(files.get("docker-compose.yaml")));
    expect(compose.services["gateway-1"].image).toBe("ghcr.io/acme/gateway:1.0");
    expect(compose.services["books-0"].networks.mesh).toEqual({ ipv4_address: "10.2.7.5" });
    expect(compose.services["batch-0-sidecar"].network_mode).toBe("service:batch-0");
    expect(compose.services["ratings-1"].image).toMatch(/^envoyproxy\/envoy:/);
    expect(compose.networks.mesh.ipam).toEqual({ config: [{ subnet: "10.0.0.0/14" }] });
  });

  it("replaces an earlier output completely (a file the new compile does not write is gone)", async () => {
    const { out } = scratch();
    writeOutputAtomically(out, new Map([["gone/envoy.yaml", "stale\n"], ["frontend/envoy.yaml", "old\n"]]));
    const result = await compileToDirectory(SHOP.text, SHOP.file, out, { withoutWasm: true });
    expect(result.written).toEqual({ sidecars: 2, others: ["docker-compose.yaml"] });
    const inMemory = (await compile(SHOP.text, SHOP.file, { withoutWasm: true })).files!;
    expect(listFiles(out)).toEqual([...inMemory.keys(), OUTPUT_MARKER].sort());
    expect(readFileSync(join(out, "frontend/envoy.yaml"), "utf8")).toBe(inMemory.get("frontend/envoy.yaml"));
    expect(readdirSync(dirname(out))).toEqual([basename(out)]);
  });
});

describe("a 300-service mesh whose call graph is not a ring", () => {
  it("is not a ring: some called service has callers far apart in the mesh's order", () => {
    const callersOf = new Map<number, number[]>();
    RANDOM.calls.forEach((callees, caller) => {
      for (const callee of callees) callersOf.set(callee, [...(callersOf.get(callee) ?? []), caller]);
    });
    const spread = [...callersOf.values()].map((callers) => Math.max(...callers) - Math.min(...callers));
    expect(Math.max(...spread)).toBeGreaterThan(100);
    // Some services are called by nobody, some by many: eviction happens at very different points.
    expect(callersOf.size).toBeLessThan(300);
    expect(Math.max(...[...callersOf.values()].map((c) => c.length))).toBeGreaterThan(5);
  });

  it("streams byte-identically to compile(), twice, and the same as without MeshIndex eviction", async () => {
    const doneWith = vi.spyOn(MeshIndex.prototype, "doneWith");
    const { files, out: first } = await expectDirectoryMatchesCompile(RANDOM.text, RANDOM_FILE, { withoutWasm: true });
    expect(files.size).toBe(301); // 300 sidecars and docker-compose.yaml
    // The compose file is bigger than one 64 KB piece: it was written in several appends.
    expect(bytes(files.get("docker-compose.yaml")!).length).toBeGreaterThan(256 * 1024);
    expect(doneWith).toHaveBeenCalledTimes(600); // once per sidecar, in compile() and in compileToDirectory()

    const { parent, out: second } = scratch();
    const again = await compileToDirectory(RANDOM.text, RANDOM_FILE, second, { withoutWasm: true });
    expect(again.written).toEqual({ sidecars: 300, others: ["docker-compose.yaml"] });
    const a = snapshot(first);
    const b = snapshot(second);
    expect([...b.keys()]).toEqual([...a.keys()]);
    for (const [f, content] of a) expect(b.get(f)!.equals(content), f).toBe(true);
    expect(readdirSync(parent)).toEqual(["out"]);

    // Eviction harmless: with doneWith doing nothing (every shared resource kept), the same bytes.
    doneWith.mockImplementation(() => {});
    const kept = (await compile(RANDOM.text, RANDOM_FILE, { withoutWasm: true })).files!;
    expect([...kept.keys()]).toEqual([...files.keys()]);
    for (const [f, content] of files) expect(kept.get(f), f).toBe(content);
  });

  it("MeshIndex.doneWith forgets a called service only after its last caller, and then builds a fresh, equal copy", async () => {
    const { model } = await compile(RANDOM.text, RANDOM_FILE, { withoutWasm: true, withoutCompose: true });
    const index = new MeshIndex(model!);
    const builds = new Map<string, number>();
    const build = (callee: { name: string }) => {
      builds.set(callee.name, (builds.get(callee.name) ?? 0) + 1);
      return { callee: callee.name, nested: { list: [1, 2, 3] } };
    };
    const first = new Map<string, unknown>();
    const callersLeft = new Map<string, number>();
    for (const s of model!.services) for (const c of s.calls) callersLeft.set(c.service, (callersLeft.get(c.service) ?? 0) + 1);
    let forgotten = 0;
    for (const s of model!.services) {
      for (const c of s.calls) {
        const value = index.perCallee("test", c.service, build);
        expect(Object.isFrozen(value) && Object.isFrozen(value.nested.list)).toBe(true);
        // Shared between callers: the same object for every caller until the last one is done.
        if (first.has(c.service)) expect(value).toBe(first.get(c.service));
        else first.set(c.service, value);
      }
      index.doneWith(s);
      for (const c of s.calls) {
        const left = callersLeft.get(c.service)! - 1;
        callersLeft.set(c.service, left);
        if (left === 0) forgotten++;
      }
    }
    // Each called service was built once over the whole render, however far apart its callers are.
    expect([...builds.values()].every((n) => n === 1)).toBe(true);
    expect(builds.size).toBe(first.size);
    expect(forgotten).toBe(first.size);
    // All forgotten now: a later request builds a fresh copy, equal to the first.
    for (const [name, value] of first) {
      const fresh = index.perCallee("test", name, build);
      expect(fresh).not.toBe(value);
      expect(fresh).toEqual(value);
    }
    expect([...builds.values()].every((n) => n === 2)).toBe(true);
  });
});

describe("composeYamlPieces joined is toYaml(composeFileOfCheckedModel(model))", () => {
  const header = "docker compose setup for a test.\nSecond line.";
  const models = async (): Promise<Array<[string, MeshModel]>> => {
    const all: Array<[string, MeshModel]> = [];
    for (const p of [...repositoryPolicies(), { file: "images.yaml", text: IMAGES_AND_IPV4 }, { file: RANDOM_FILE, text: RANDOM.text }]) {
      const { model, diagnostics } = await validatePolicy(p.text, p.file);
      if (model && !hasErrors(diagnostics)) all.push([p.file, model]);
    }
    return all;
  };

  it("for every repository policy, the images-and-IPv4 mesh and the 300-service mesh", async () => {
    const all = await models();
    expect(all.map(([f]) => f)).toEqual(expect.arrayContaining(["examples/bookstore.yaml", "images.yaml", RANDOM_FILE]));
    for (const [file, model] of all) {
      const pieces = [...composeYamlPieces(model, header)];
      // name, "services:", one piece per compose service, networks
      const composeServices = Object.keys(composeFileOfCheckedModel(model)["services"] as object).length;
      expect(pieces.length, file).toBe(composeServices + 3);
      expect(pieces[0], file).toMatch(/^# docker compose setup for a test\.\n# Second line\.\nname: /);
      expect(pieces.at(-1), file).toMatch(/^networks:\n/);
      expect(pieces.join(""), file).toBe(toYaml(composeFileOfCheckedModel(model), header));
      // With options too (as a caller that mounts elsewhere would pass them).
      const opts = { configPath: (s: string) => `./configs/${s}.yaml`, wasmPath: "./filter.wasm", network: "backplane" };
      expect([...composeYamlPieces(model, header, opts)].join(""), file).toBe(toYaml(composeFileOfCheckedModel(model, opts), header));
    }
  });

  it("the images-and-IPv4 mesh: app and sidecar pieces, and a subnet over both /16s", async () => {
    const { model } = await validatePolicy(IMAGES_AND_IPV4, "images.yaml");
    const pieces = [...composeYamlPieces(model!, header)];
    // name, "services:", gateway-0, its sidecar, gateway-1, its sidecar, books-0, its sidecar, ratings-1, batch-0, its sidecar, networks
    expect(pieces.length).toBe(12);
    expect(pieces[1]).toBe("services:\n");
    expect(pieces[2]).toMatch(/^ {2}gateway-0:\n/);
    expect(pieces[3]).toMatch(/^ {2}gateway-0-sidecar:\n/);
    expect(parse(pieces.at(-1)!)).toEqual({ networks: { mesh: { driver: "bridge", ipam: { config: [{ subnet: "10.0.0.0/14" }] } } } });
  });

  it("a model without services", async () => {
    const { model } = await validatePolicy(SHOP.text, SHOP.file);
    const empty: MeshModel = { ...model!, services: [] };
    expect([...composeYamlPieces(empty, header)].join("")).toBe(toYaml(composeFileOfCheckedModel(empty), header));
  });
});

describe("a failed streamed write leaves the previous output exactly as it was", () => {
  const OLD: OutputFiles = new Map<string, string | Uint8Array>([
    ["catalog/envoy.yaml", "old catalog\n"],
    ["frontend/envoy.yaml", "old frontend\n"],
    ["lightsub.wasm", new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0])],
  ]);

  function previousOutput(): { parent: string; out: string; before: Map<string, Buffer> } {
    const { parent, out } = scratch();
    writeOutputAtomically(out, OLD);
    const before = snapshot(out);
    expect([...before.keys()]).toEqual([...OLD.keys(), OUTPUT_MARKER].sort());
    return { parent, out, before };
  }

  function expectUnchanged(parent: string, out: string, before: Map<string, Buffer>): void {
    const after = snapshot(out);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [f, content] of before) expect(after.get(f)!.equals(content), f).toBe(true);
    // No .out.lightsub-new-<pid> or .out.lightsub-old-<pid> beside it.
    expect(readdirSync(parent)).toEqual([basename(out)]);
  }

  it("the writer thread writes big, small and appended files correctly (the baseline of the failures below)", async () => {
    const { parent, out } = scratch();
    const big = "x".repeat(700 * 1024) + "end\n"; // bigger than a 256 KB batch buffer
    const MULTIBYTE = "é – ✓ 😀\n".repeat(5000); // byte length ≠ string length
    const small = Array.from({ length: 400 }, (_, i) => [`s${i}/envoy.yaml`, `small ${i}\n`.repeat(200)] as const);
    await writeOutputAtomicallyWith(out, async (staging) => {
      const writer = new BackgroundWriter();
      try {
        await writer.write(staging.pathOf("big/envoy.yaml"), big);
        for (const [f, content] of small) await writer.write(staging.pathOf(f), content);
        await writer.write(staging.pathOf("pieces.yaml"), "one\n");
        await writer.write(staging.pathOf("pieces.yaml"), "two\n", true);
        await writer.write(staging.pathOf("pieces.yaml"), new Uint8Array(Buffer.from("three\n")), true);
        await writer.write(staging.pathOf("utf8.yaml"), MULTIBYTE);
        await writer.finish();
      } finally {
        await writer.close();
      }
    });
    expect(readFileSync(join(out, "big/envoy.yaml"), "utf8")).toBe(big);
    for (const [f, content] of small) expect(readFileSync(join(out, f), "utf8")).toBe(content);
    expect(readFileSync(join(out, "pieces.yaml"), "utf8")).toBe("one\ntwo\nthree\n");
    expect(readFileSync(join(out, "utf8.yaml"), "utf8")).toBe(MULTIBYTE);
    expect(listFiles(out).length).toBe(1 + small.length + 1 + 1 + 1);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("a multi-byte file that fits a batch by its length but not by its UTF-8 bytes goes whole into the next batch; files in pieces", async () => {
    // The writer encodes into the batch without measuring first; here 150 kB of ASCII
    // leave room for 40,000 units of "✓" (3 bytes each: 120 kB) by count but not by bytes.
    const { out } = scratch();
    const ascii = "a".repeat(150 * 1024);
    const checks = "✓".repeat(40_000);
    const emoji = `${"b".repeat(262_140)}😀😀\n`; // a surrogate pair right at a batch's end
    const pieces = ["head é\n", new Uint8Array(Buffer.from("✓".repeat(20_000))), "c".repeat(70_000), new Uint8Array(0), "tail 😀"];
    const piecesText = `head é\n${"✓".repeat(20_000)}${"c".repeat(70_000)}tail 😀`;
    await writeOutputAtomicallyWith(out, async (staging) => {
      const writer = new BackgroundWriter();
      try {
        await writer.write(staging.pathOf("ascii"), ascii);
        await writer.write(staging.pathOf("checks"), checks);
        await writer.write(staging.pathOf("more"), ascii);
        await writer.write(staging.pathOf("emoji"), emoji);
        await writer.write(staging.pathOf("checks"), checks, true);
        // In pieces (toYamlPieces' form): strings as UTF-8 and bytes as they are, one after another.
        await writer.write(staging.pathOf("pieces"), pieces);
        await writer.write(staging.pathOf("pieces-big"), [...pieces, ...pieces, ...pieces]);
        await writer.write(staging.pathOf("pieces-empty"), []);
        await writer.finish();
      } finally {
        await writer.close();
      }
    });
    expect(readFileSync(join(out, "ascii"), "utf8")).toBe(ascii);
    expect(readFileSync(join(out, "checks"), "utf8")).toBe(checks + checks);
    expect(readFileSync(join(out, "more"), "utf8")).toBe(ascii);
    expect(readFileSync(join(out, "emoji"), "utf8")).toBe(emoji);
    expect(readFileSync(join(out, "pieces"), "utf8")).toBe(piecesText);
    expect(readFileSync(join(out, "pieces-big"), "utf8")).toBe(piecesText.repeat(3));
    expect(readFileSync(join(out, "pieces-empty"), "utf8")).toBe("");
  });

  it("a file whose parent path is a file: OutputDirError, old output intact, no staging left", async () => {
    const { parent, out, before } = previousOutput();
    let failure: unknown;
    try {
      await writeOutputAtomicallyWith(out, async (staging) => {
        const writer = new BackgroundWriter();
        try {
          await writer.write(staging.pathOf("catalog/envoy.yaml"), "new catalog\n");
          await writer.write(staging.pathOf("frontend/envoy.yaml"), "new frontend\n");
          await writer.write(staging.pathOf("extra/envoy.yaml"), "new extra\n");
          // catalog/envoy.yaml is a file: its "directory" cannot be made.
          await writer.write(staging.pathOf("catalog/envoy.yaml/nested/envoy.yaml"), "cannot be\n");
          await writer.finish();
        } finally {
          await writer.close();
        }
      });
    } catch (error) {
      failure = error;
    }
    expect(failure).toBeInstanceOf(OutputDirError);
    expect((failure as Error).message).toMatch(/ENOTDIR|EEXIST/);
    expect((failure as Error).message).toContain("was left as it was");
    expectUnchanged(parent, out, before);
  });

  it("the same failure in an early batch while much more is still being written", async () => {
    const { parent, out, before } = previousOutput();
    let writesAfterFailure = 0;
    const failure = await writeOutputAtomicallyWith(out, async (staging) => {
      const writer = new BackgroundWriter();
      try {
        await writer.write(staging.pathOf("blocker"), "a file\n");
        await writer.write(staging.pathOf("blocker/envoy.yaml"), "cannot be\n");
        // 20 MB more in 64 KB files: many batches; the failure must stop the producer, not be lost.
        for (let i = 0; i < 320; i++) {
          await writer.write(staging.pathOf(`more-${i}/envoy.yaml`), "y".repeat(64 * 1024));
          writesAfterFailure++;
        }
        await writer.finish();
      } finally {
        await writer.close();
      }
    }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(OutputDirError);
    expect((failure as Error).message).toMatch(/ENOTDIR|EEXIST/);
    // Once its 4 batch buffers (4 such files each) are out, the producer waits, and the first buffer back reports the failure.
    expect(writesAfterFailure).toBeLessThan(32);
    expectUnchanged(parent, out, before);
  });

  it("a failure of the producer that is not the file system's reaches the caller unchanged; nothing is left", async () => {
    const { parent, out, before } = previousOutput();
    const bug = new Error("a bug while rendering");
    await expect(
      writeOutputAtomicallyWith(out, async (staging) => {
        const writer = new BackgroundWriter();
        try {
          await writer.write(staging.pathOf("catalog/envoy.yaml"), "new catalog\n");
          throw bug;
        } finally {
          await writer.close();
        }
      }),
    ).rejects.toBe(bug);
    expectUnchanged(parent, out, before);
  });
});

describe("compileToDirectory when it must not write", () => {
  it("a policy with errors: diagnostics, no `written`, the existing output untouched", async () => {
    const { parent, out } = scratch();
    writeOutputAtomically(out, new Map([["frontend/envoy.yaml", "old\n"]]));
    const before = snapshot(out);
    const result = await compileToDirectory(BROKEN, "broken.yaml", out, { withoutWasm: true });
    expect(hasErrors(result.diagnostics)).toBe(true);
    expect(result.diagnostics.map((d) => d.code)).toContain("LS012");
    expect(result.written).toBeUndefined();
    expect(result.model).toBeUndefined();
    expect(result.diagnostics).toEqual((await compile(BROKEN, "broken.yaml")).diagnostics);
    const after = snapshot(out);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [f, content] of before) expect(after.get(f)!.equals(content), f).toBe(true);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("a policy with errors and no output directory: none is created", async () => {
    const { parent, out } = scratch();
    const result = await compileToDirectory(BROKEN, "broken.yaml", out);
    expect(result.written).toBeUndefined();
    expect(readdirSync(parent)).toEqual([]);
  });

  it("a missing wasm: FilterFileError, no output directory, no staging left", async () => {
    const { parent, out } = scratch();
    const wasmPath = join(scratchRoot, "not-built.wasm");
    await expect(compileToDirectory(SHOP.text, SHOP.file, out, { wasmPath })).rejects.toBeInstanceOf(FilterFileError);
    await expect(compileToDirectory(SHOP.text, SHOP.file, out, { wasmPath })).rejects.toThrow(/does not exist/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(parent)).toEqual([]);
  });

  it("a missing wasm with an existing output: that output untouched", async () => {
    const { parent, out } = scratch();
    writeOutputAtomically(out, new Map([["frontend/envoy.yaml", "old\n"], ["lightsub.wasm", "\0asm old"]]));
    const before = snapshot(out);
    await expect(compileToDirectory(SHOP.text, SHOP.file, out, { wasmPath: join(scratchRoot, "not-built.wasm") })).rejects.toBeInstanceOf(
      FilterFileError,
    );
    const after = snapshot(out);
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [f, content] of before) expect(after.get(f)!.equals(content), f).toBe(true);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("a missing wasm with an output in directories that do not exist yet: none of them is created", async () => {
    const { parent } = scratch();
    const out = join(parent, "a", "b", "out");
    await expect(compileToDirectory(SHOP.text, SHOP.file, out, { wasmPath: join(scratchRoot, "not-built.wasm") })).rejects.toBeInstanceOf(
      FilterFileError,
    );
    expect(readdirSync(parent)).toEqual([]);
  });

  it("an output path that is a file: OutputDirError, the file untouched", async () => {
    const { parent, out } = scratch();
    writeFileSync(out, "not a directory\n");
    await expect(compileToDirectory(SHOP.text, SHOP.file, out, { withoutWasm: true })).rejects.toBeInstanceOf(OutputDirError);
    expect(readFileSync(out, "utf8")).toBe("not a directory\n");
    expect(readdirSync(parent)).toEqual(["out"]);
  });
});

describe("validatePolicy", () => {
  it.each([
    ...repositoryPolicies().map((p) => [p.file, p.text] as const),
    ["images.yaml", IMAGES_AND_IPV4] as const,
    ["broken.yaml", BROKEN] as const,
  ])("%s: the same diagnostics and model as compile()", async (file, text) => {
    const validated = await validatePolicy(text, file);
    const compiled = await compile(text, file, { withoutWasm: true });
    expect(validated.diagnostics).toEqual(compiled.diagnostics);
    expect(validated.model).toEqual(compiled.model);
    expect("written" in validated).toBe(false);
    if (file === "broken.yaml") expect(validated.model).toBeUndefined();
  });

  it("on an example: no error, a model, and no BackgroundWriter or atomic write", async () => {
    const writes = vi.spyOn(BackgroundWriter.prototype, "write");
    const validated = await validatePolicy(SHOP.text, SHOP.file);
    expect(hasErrors(validated.diagnostics)).toBe(false);
    expect(validated.model?.services.map((s) => s.name)).toEqual(["frontend", "catalog"]);
    expect(writes).not.toHaveBeenCalled();
  });
});

describe("compiles running at the same time in one process", () => {
  it("into the same directory: the output is one complete compile, the other's being replaced whole", async () => {
    const { parent, out } = scratch();
    const policies = [generatePolicy(120, 3), generatePolicy(80, 2)].map((p, i) => ({ text: p.text.replace(/name: bench-\d+/, `name: mesh-${i}`), file: `p${i}.yaml` }));
    const expected = await Promise.all(policies.map(async (p) => (await compile(p.text, p.file, { withoutWasm: true })).files!));
    const results = await Promise.all(policies.map((p) => compileToDirectory(p.text, p.file, out, { withoutWasm: true })));
    expect(results.map((r) => r.written?.sidecars)).toEqual([120, 80]);
    const written = snapshot(out);
    const match = expected.filter((files) => {
      if (written.size !== files.size + 1) return false;
      return [...files].every(([f, content]) => written.get(f)?.equals(bytes(content)) === true);
    });
    expect(match).toHaveLength(1);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("into different directories: each gets its own compile", async () => {
    const { parent } = scratch();
    const policies = [generatePolicy(60, 3), generatePolicy(40, 2)];
    const outs = [join(parent, "one"), join(parent, "two")];
    await Promise.all(policies.map((p, i) => compileToDirectory(p.text, `p${i}.yaml`, outs[i]!, { withoutWasm: true })));
    for (const [i, p] of policies.entries()) {
      const files = (await compile(p.text, `p${i}.yaml`, { withoutWasm: true })).files!;
      const written = snapshot(outs[i]!);
      expect(written.size).toBe(files.size + 1);
      for (const [f, content] of files) expect(written.get(f)?.equals(bytes(content)), f).toBe(true);
    }
    expect(readdirSync(parent).sort()).toEqual(["one", "two"]);
  });
});
