/**
 * `npm run e2e` on the real Envoy, as part of `npm test`: validate every
 * example's configs, bring up e2e/mesh.yaml's client sidecar and check
 * scheduling, spoofing and metrics against the Node upstreams.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { expect, it } from "vitest";
import { describeWithEnvoy } from "../support/real-envoy.js";

const ROOT = join(import.meta.dirname, "..", "..");

describeWithEnvoy("npm run e2e", (envoy) => {
  it("reports Envoy 1.40.0 and passes on it", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "e2e", "run.ts")], {
      cwd: ROOT,
      env: { ...process.env, ENVOY_BIN: envoy },
      encoding: "utf8",
      timeout: 280_000,
    });
    const output = `${run.stdout}\n${run.stderr}`;
    expect(output).toMatch(/\/1\.40\.0\//);
    expect(run.status, output).toBe(0);
    expect(output).toContain("e2e passed");
  }, 300_000);
});
