/**
 * compiler/write/write.ts: an existing output directory is never left
 * half-updated. Failure is injected at every file-system operation of a
 * write, in two ways:
 * - the operation throws (disk full, permission denied, a path that cannot
 *   be created): the write rolls back, reports an OutputDirError, and the
 *   directory is exactly the old one;
 * - the process dies there (SIGKILL, in a child process): the directory is
 *   the complete old or the complete new one, or, if the process died between
 *   the two renames, missing with the complete old one beside it; the next
 *   write (or recoverInterruptedWrite) puts things right before anything else.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it, vi } from "vitest";
import { main } from "../../cli/main.js";
import { OUTPUT_MARKER, OutputDirError, recoverInterruptedWrite, writeOutputAtomically, type OutputFiles } from "../../compiler/write/write.js";

/** Injected failures: operation number `failAt` (counted over OPERATIONS, from 0) throws. */
const fault = vi.hoisted(() => ({ count: 0, failAt: -1 }));
vi.mock("node:fs", async (importOriginal) => {
  const actual = await importOriginal<typeof import("node:fs")>();
  const wrap = <F extends (...args: never[]) => unknown>(fn: F): F =>
    ((...args: Parameters<F>) => {
      if (fault.count++ === fault.failAt) throw Object.assign(new Error("EIO: i/o error (injected)"), { code: "EIO" });
      return fn(...args);
    }) as F;
  const mocked = {
    ...actual,
    mkdirSync: wrap(actual.mkdirSync),
    writeFileSync: wrap(actual.writeFileSync),
    renameSync: wrap(actual.renameSync),
    rmSync: wrap(actual.rmSync),
    readdirSync: wrap(actual.readdirSync),
    statSync: wrap(actual.statSync),
  };
  return { ...mocked, default: mocked };
});

const run = promisify(execFile);
const CHILD = new URL("../support/crash-child.ts", import.meta.url).pathname;
const root = mkdtempSync(join(tmpdir(), "lightsub-atomic-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const OLD: OutputFiles = new Map([
  ["catalog/envoy.yaml", "old catalog\n"],
  ["frontend/envoy.yaml", "old frontend\n"],
  ["gone/envoy.yaml", "a service the new policy dropped\n"],
  ["lightsub.wasm", "\0asm old"],
]);
const NEW: OutputFiles = new Map([
  ["catalog/envoy.yaml", "new catalog\n"],
  ["frontend/envoy.yaml", "new frontend\n"],
  ["docker-compose.yaml", "name: shop\n"],
  ["lightsub.wasm", "\0asm new"],
]);

/** Every file under `dir` (relative path → digest); undefined when `dir` does not exist. */
function snapshot(dir: string): Map<string, string> | undefined {
  if (!existsSync(dir)) return undefined;
  const out = new Map<string, string>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name);
    if (e.isFile()) out.set(path.slice(dir.length + 1), createHash("sha256").update(readFileSync(path)).digest("hex"));
  }
  return out;
}

function expected(files: OutputFiles): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of files) out.set(k, createHash("sha256").update(v).digest("hex"));
  out.set(OUTPUT_MARKER, createHash("sha256").update("written by lightsub compile\n").digest("hex"));
  return out;
}
const sorted = (m: Map<string, string> | undefined) => (m === undefined ? undefined : new Map([...m].sort()));
const OLD_TREE = sorted(expected(OLD));
const NEW_TREE = sorted(expected(NEW));

/** A parent directory holding `out` written with OLD (made with the real, un-faulted functions). */
function freshOutput(name: string): { parent: string; out: string } {
  fault.failAt = -1;
  const parent = join(root, name);
  const out = join(parent, "out");
  writeOutputAtomically(out, OLD);
  expect(sorted(snapshot(out))).toEqual(OLD_TREE);
  return { parent, out };
}

/** File-system operations one write of NEW over OLD makes. */
function operationsOfOneWrite(): number {
  const { out } = freshOutput("count");
  fault.count = 0;
  writeOutputAtomically(out, NEW);
  return fault.count;
}

describe("a write that fails at any file-system operation", () => {
  it("leaves the old output exactly as it was, or (only when the failure hit cleanup after the swap) the complete new one", () => {
    const total = operationsOfOneWrite();
    expect(total).toBeGreaterThan(10);
    let rolledBack = 0;
    for (let k = 0; k < total; k++) {
      const { parent, out } = freshOutput(`fail-${k}`);
      fault.count = 0;
      fault.failAt = k;
      let error: unknown;
      try {
        writeOutputAtomically(out, NEW);
      } catch (e) {
        error = e;
      }
      fault.failAt = -1;
      const now = sorted(snapshot(out));
      if (error !== undefined) {
        rolledBack++;
        expect(error, `operation ${k}`).toBeInstanceOf(OutputDirError);
        expect((error as Error).message).toMatch(/^cannot write .*: EIO: i\/o error \(injected\); .* was left as it was$/);
        expect(now, `operation ${k} failed: the old output must be intact`).toEqual(OLD_TREE);
      } else {
        expect(now, `operation ${k} failed after the swap`).toEqual(NEW_TREE);
      }
      // Whatever a failed cleanup left beside the output goes with the next write.
      writeOutputAtomically(out, NEW);
      expect(sorted(snapshot(out))).toEqual(NEW_TREE);
      expect(readdirSync(parent), `operation ${k}: leftovers`).toEqual(["out"]);
    }
    expect(rolledBack).toBeGreaterThan(total / 2);
  });

  it("a file that cannot be created midway (its parent is a file) changes nothing", () => {
    const { parent, out } = freshOutput("blocked");
    const files: OutputFiles = new Map([...NEW, ["catalog", "a file where a directory must go"], ["catalog/more/envoy.yaml", "x"]]);
    expect(() => writeOutputAtomically(out, files)).toThrow(OutputDirError);
    expect(sorted(snapshot(out))).toEqual(OLD_TREE);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("never writes outside the output directory", () => {
    const { parent, out } = freshOutput("escape");
    expect(() => writeOutputAtomically(out, new Map([["../escaped.yaml", "x"]]))).toThrow(/outside the output directory/);
    expect(sorted(snapshot(out))).toEqual(OLD_TREE);
    expect(readdirSync(parent)).toEqual(["out"]);
  });

  it("refuses an output path that is a file, without touching it", () => {
    const parent = join(root, "file");
    const out = join(parent, "out");
    writeOutputAtomically(join(parent, "other"), OLD); // creates parent
    writeFileSync(out, "not a directory");
    expect(() => writeOutputAtomically(out, NEW)).toThrow(/exists and is not a directory/);
    expect(readFileSync(out, "utf8")).toBe("not a directory");
  });
});

describe("through the CLI", () => {
  it("an --out that cannot be written is a usage error (exit 2) naming the reason, without a stack trace", async () => {
    const parent = join(root, "cli");
    writeOutputAtomically(join(parent, "placeholder"), OLD);
    writeFileSync(join(parent, "a-file"), "x");
    const lines: string[] = [];
    const io = { out: (t: string) => lines.push(t), err: (t: string) => lines.push(t) };
    const code = await main(["compile", new URL("../../examples/shop.yaml", import.meta.url).pathname, "--out", join(parent, "a-file", "out")], io);
    expect(code).toBe(2);
    expect(lines.join("\n")).toMatch(/^lightsub compile: cannot write .*a-file\/out: E[A-Z]+: .*; .* was left as it was$/m);
    expect(lines.join("\n")).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(parent, "a-file"), "utf8")).toBe("x");
  });
});

describe("a writer killed at any file-system operation (SIGKILL in a child process)", () => {
  it("leaves the old or the new output, or the old one beside a missing directory, which the next write restores first", { timeout: 300_000 }, async () => {
    const template = freshOutput("template");
    const filesJson = JSON.stringify(Object.fromEntries(NEW));
    const newTree = NEW_TREE;
    cpSync(template.parent, join(root, "clean"), { recursive: true });
    const clean = await run(process.execPath, ["--import", "tsx", CHILD, join(root, "clean", "out"), filesJson, "-1"]);
    const total = Number(/operations (\d+)/.exec(clean.stdout)![1]);
    expect(sorted(snapshot(join(root, "clean", "out")))).toEqual(newTree);
    const seen = new Set<string>();
    const crashAt = async (k: number) => {
      const parent = join(root, `crash-${k}`);
      cpSync(template.parent, parent, { recursive: true });
      const out = join(parent, "out");
      const died = await run(process.execPath, ["--import", "tsx", CHILD, out, filesJson, String(k)]).then(
        () => false,
        (e: { signal?: string }) => e.signal === "SIGKILL",
      );
      expect(died, `operation ${k}`).toBe(true);
      const now = sorted(snapshot(out));
      const beside = readdirSync(parent).filter((n) => n !== "out");
      if (now === undefined) {
        // Died between the two renames: the complete old output waits beside it.
        seen.add("missing");
        const old = beside.find((n) => n.startsWith(".out.lightsub-old-"));
        expect(old, `operation ${k}: ${beside.join(", ")}`).toBeDefined();
        expect(sorted(snapshot(join(parent, old!)))).toEqual(OLD_TREE);
      } else if (JSON.stringify([...now]) === JSON.stringify([...OLD_TREE!])) seen.add("old");
      else {
        expect(now, `operation ${k}: neither the old nor the new output`).toEqual(newTree);
        seen.add("new");
      }
      recoverInterruptedWrite(out);
      const recovered = sorted(snapshot(out));
      expect([JSON.stringify([...OLD_TREE!]), JSON.stringify([...newTree!])], `operation ${k} after recovery`).toContain(JSON.stringify([...(recovered ?? [])]));
      expect(readdirSync(parent), `operation ${k}: leftovers after recovery`).toEqual(["out"]);
    };
    // Two at a time (two cores).
    for (let k = 0; k < total; k += 2) await Promise.all([crashAt(k), ...(k + 1 < total ? [crashAt(k + 1)] : [])]);
    expect(seen).toEqual(new Set(["old", "missing", "new"]));
  });
});
