/**
 * The filter the benchmark measures is built from the sources first (`npm run
 * build:filter`), so its size and speed are those of the code in the checkout,
 * never of a stale build/ (--no-build skips this when build/ is known fresh).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const ROOT_DIR = fileURLToPath(new URL("..", import.meta.url));
export const LIGHTSUB_WASM = fileURLToPath(new URL("../build/lightsub.wasm", import.meta.url));
export const PASSTHROUGH_WASM = fileURLToPath(new URL("../build/passthrough.wasm", import.meta.url));
export const SCENARIOS_DIR = fileURLToPath(new URL("../examples/simulate", import.meta.url));

export function buildFilter(skipIfPresent: boolean): void {
  if (skipIfPresent && existsSync(LIGHTSUB_WASM) && existsSync(PASSTHROUGH_WASM)) return;
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  execFileSync(npm, ["run", "--silent", "build:filter"], { cwd: ROOT_DIR, stdio: ["ignore", "ignore", "inherit"] });
  if (!existsSync(LIGHTSUB_WASM) || !existsSync(PASSTHROUGH_WASM)) throw new Error("npm run build:filter did not produce build/lightsub.wasm and build/passthrough.wasm");
}
