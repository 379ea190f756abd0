/**
 * The gate for the whole-mesh tests (test/e2e/mesh-*.test.ts): they need the
 * real Envoy and the right to make network namespaces (root, iproute2,
 * setpriv). Without either the suite is skipped locally and fails under
 * CI=true, like describeWithEnvoy.
 */
import { describe, it } from "vitest";
import { netnsUnavailable } from "../../e2e/mesh/netns.js";
import { describeWithEnvoy, IN_CI } from "./real-envoy.js";

export function describeWithMesh(name: string, body: (envoy: string) => void): void {
  const why = netnsUnavailable();
  if (why === undefined) {
    describeWithEnvoy(name, body);
    return;
  }
  if (IN_CI) {
    describe(`${name} [mesh]`, () => {
      it("needs network namespaces", () => {
        throw new Error(`CI=true and network namespaces cannot be made here: ${why}`);
      });
    });
  } else {
    describe.skip(`${name} [mesh] (no network namespaces: ${why})`, () => body(""));
  }
}
