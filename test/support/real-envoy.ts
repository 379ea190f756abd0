/**
 * The gate for tests that need the real Envoy binary. Where none is found the
 * suite is skipped locally, but with CI=true it fails: CI installs Envoy
 * (scripts/install-test-deps.sh), so a missing one there is a broken set-up,
 * never a pass.
 */
import { describe, it } from "vitest";
import { projectEnvoy } from "../../e2e/envoy-locate.js";


export const IN_CI = process.env.CI === "true" || process.env.CI === "1";

/**
 * `describe` for a real-Envoy suite. `body` gets the binary's path. Without
 * Envoy: one failing test under CI, a skipped suite elsewhere.
 */
export function describeWithEnvoy(name: string, body: (envoy: string) => void): void {
  const found = projectEnvoy();
  if (found.found) {
    describe(`${name} [envoy]`, () => body(found.envoy));
    return;
  }
  const why = found.problems.join("; ");
  if (IN_CI) {
    describe(`${name} [envoy]`, () => {
      it("needs a real Envoy", () => {
        throw new Error(`CI=true and no Envoy was found: ${why}. Run scripts/install-test-deps.sh.`);
      });
    });
  } else {
    describe.skip(`${name} [envoy] (no Envoy: ${why})`, () => body(""));
  }
}
