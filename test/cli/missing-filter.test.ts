/**
 * `lightsub compile` when build/lightsub.wasm is not built: a usage error
 * (exit 2) telling to build it, as `simulate` does, not an internal error
 * (exit 3). The default filter path is pointed at a missing file here.
 */
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

const missing = join(mkdtempSync(join(tmpdir(), "lightsub-no-filter-")), "lightsub.wasm");
vi.mock("../../compiler/compile.js", async (importOriginal) => ({ ...(await importOriginal<object>()), DEFAULT_WASM: missing }));

const { main } = await import("../../cli/main.js");

describe("compile without a built filter", () => {
  it("exits 2 with one line telling to run npm run build, and writes nothing", async () => {
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const parent = mkdtempSync(join(tmpdir(), "lightsub-no-filter-out-"));
    const code = await main(["compile", new URL("../../examples/shop.yaml", import.meta.url).pathname, "--out", join(parent, "out")], io);
    expect(code).toBe(2);
    expect(lines).toEqual([`lightsub compile: the filter ${missing} is not built: run "npm run build" first`]);
    expect(readdirSync(parent)).toEqual([]);
  });
});
