/**
 * The inputs of the e2e check, with the real compiler: e2e/mesh.yaml and the
 * examples compile through the CLI, every sidecar config is listed, and the
 * only change made for a local Envoy process is the Wasm file name.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { compileMesh, listCompiled, type CompiledMesh } from "../../e2e/compile-mesh.js";
import { CONTAINER_WASM_PATH } from "../../e2e/docker-compose.js";
import { execProcess } from "../../e2e/exec.js";
import { withLocalWasm } from "../../e2e/local-config.js";
import { examplePolicies } from "../../e2e/run.js";
import { readSidecarView } from "../../e2e/sidecar-view.js";

const ROOT = join(import.meta.dirname, "..", "..");
let workDir: string;
let meshOut: CompiledMesh;

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), "lightsub-e2e-mesh-"));
  meshOut = await compileMesh(execProcess, join(ROOT, "e2e", "mesh.yaml"), join(workDir, "mesh"));
});

afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe("withLocalWasm", () => {
  it("changes every filter's file name and nothing else", () => {
    const original = {
      a: [{ vm_config: { runtime: "v8", code: { local: { filename: CONTAINER_WASM_PATH } } }, keep: 1 }],
      b: { deeper: { vm_config: { code: { local: { filename: CONTAINER_WASM_PATH } } } } },
      c: { filename: CONTAINER_WASM_PATH },
    };
    const snapshot = structuredClone(original);
    const { bootstrap, replaced } = withLocalWasm(original, "/w/lightsub.wasm");
    expect(replaced).toBe(2);
    expect(original).toEqual(snapshot); // the input is not modified
    expect(bootstrap).toEqual({
      a: [{ vm_config: { runtime: "v8", code: { local: { filename: "/w/lightsub.wasm" } } }, keep: 1 }],
      b: { deeper: { vm_config: { code: { local: { filename: "/w/lightsub.wasm" } } } } },
      c: { filename: CONTAINER_WASM_PATH },
    });
    expect(withLocalWasm({ vm_config: { code: { remote: {} } } }, "/x").replaced).toBe(0);
  });
});

describe("the compiled e2e mesh", () => {
  it("has one config per service and the filter next to them", () => {
    expect(meshOut.sidecars.map((s) => s.service)).toEqual(["client", "flaky", "slow"]);
    expect(existsSync(meshOut.sidecars[0]!.wasmFile)).toBe(true);
    expect(readFileSync(meshOut.sidecars[0]!.wasmFile).equals(readFileSync(join(ROOT, "build", "lightsub.wasm")))).toBe(true);
    expect(existsSync(meshOut.composeFile)).toBe(true);
  });

  it("runs locally after rewriting only the wasm file name of the client's two outbound filters", () => {
    const client = meshOut.sidecars.find((s) => s.service === "client")!;
    const compiled = parse(readFileSync(client.file, "utf8"));
    const { bootstrap, replaced } = withLocalWasm(compiled, client.wasmFile);
    expect(replaced).toBe(2);
    // undo the one change: what is left must be the compiled config exactly
    expect(withLocalWasm(bootstrap, CONTAINER_WASM_PATH).bootstrap).toEqual(compiled);
    expect(JSON.stringify(bootstrap)).toContain(client.wasmFile);
    expect(JSON.stringify(bootstrap)).not.toContain(CONTAINER_WASM_PATH);
  });

  it("keeps every port on loopback except the inbound listener, with the admin on 17901", () => {
    const client = meshOut.sidecars.find((s) => s.service === "client")!;
    const view = readSidecarView(parse(readFileSync(client.file, "utf8")));
    expect(view.adminPort).toBe(17901);
    expect(view.destinations.flatMap((d) => d.endpoints.map((e) => e.address))).toEqual(["127.0.0.1", "127.0.0.1", "127.0.0.1", "127.0.0.1"]);
    expect(JSON.parse(view.pluginJson)).toMatchObject({ service: "client", destinations: [{ service: "slow" }, { service: "flaky" }] });
  });
});

describe("the examples", () => {
  it("are found and each compiles to one config per service", async () => {
    const policies = examplePolicies();
    expect(policies.map((p) => basename(p))).toEqual(["bookstore.yaml", "shop.yaml"]);
    for (const [i, policy] of policies.entries()) {
      const services = (parse(readFileSync(policy, "utf8")).spec.services as { name: string }[]).map((s) => s.name).sort();
      const out = await compileMesh(execProcess, policy, join(workDir, `example-${i}`));
      expect(out.sidecars.map((s) => s.service)).toEqual(services);
      expect(listCompiled(policy, out.dir)).toEqual(out);
    }
  });

  it("a compile failure is an error carrying the compiler's message", async () => {
    await expect(compileMesh(execProcess, join(workDir, "does-not-exist.yaml"), join(workDir, "nothing"))).rejects.toThrow(/exited 1:[\s\S]*error LS001: cannot read/);
  });
});
