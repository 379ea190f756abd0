/**
 * Golden files: test/golden/<case>/model.json → <case>/<service>.envoy.json
 * (one bootstrap per sidecar) and <case>/docker-compose.json.
 * `UPDATE_GOLDEN=1 npx vitest run test/golden/golden.test.ts` rewrites them
 * (model.json from test/support/models.ts); review the diff before keeping it.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import type { MeshModel } from "../../compiler/model/mesh.js";
import { composeFile } from "../../compiler/compose/compose.js";
import { loadEnvoyValidator } from "../../compiler/validate/index.js";
import { fiveServiceModel, twoServiceModel } from "../support/models.js";

const GOLDEN_DIR = fileURLToPath(new URL("./", import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === "1";

const CASES: Record<string, () => MeshModel> = {
  "two-services": twoServiceModel,
  "five-services": fiveServiceModel,
};

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Every output file of a model: name → text. */
function render(model: MeshModel): Map<string, string> {
  const files = new Map<string, string>();
  for (const [service, bootstrap] of sidecarBootstraps(model)) files.set(`${service}.envoy.json`, json(bootstrap));
  files.set("docker-compose.json", json(composeFile(model)));
  return files;
}

describe.each(Object.keys(CASES))("golden case %s", (name) => {
  const dir = join(GOLDEN_DIR, name);

  if (UPDATE) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const model = CASES[name]!();
    writeFileSync(join(dir, "model.json"), json(model));
    for (const [file, text] of render(model)) writeFileSync(join(dir, file), text);
  }

  const model = JSON.parse(readFileSync(join(dir, "model.json"), "utf8")) as MeshModel;

  it("model.json is the model test/support/models.ts builds", () => {
    expect(model).toEqual(JSON.parse(json(CASES[name]!())));
  });

  it("produces exactly the golden files, byte for byte", () => {
    const files = render(model);
    const onDisk = readdirSync(dir).filter((f) => f !== "model.json").sort();
    expect(onDisk).toEqual([...files.keys()].sort());
    for (const [file, text] of files) expect(readFileSync(join(dir, file), "utf8"), file).toBe(text);
  });

  it("every golden bootstrap passes the strict Envoy API check", async () => {
    const validator = await loadEnvoyValidator();
    const bootstrapFiles = readdirSync(dir).filter((f) => f.endsWith(".envoy.json"));
    expect(bootstrapFiles.length).toBe(model.services.length);
    for (const file of bootstrapFiles) {
      expect(validator.validateBootstrap(JSON.parse(readFileSync(join(dir, file), "utf8"))), file).toEqual([]);
    }
  });

  it("is deterministic: two renders are identical", () => {
    expect([...render(model)]).toEqual([...render(JSON.parse(json(model)) as MeshModel)]);
  });
});

it("golden directories exist (run with UPDATE_GOLDEN=1 once to create them)", () => {
  for (const name of Object.keys(CASES)) expect(existsSync(join(GOLDEN_DIR, name, "model.json")), name).toBe(true);
});
