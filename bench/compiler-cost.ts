/**
 * Figure 5, the compiler: time and peak memory of `lightsub compile --out`'s
 * work (compileToDirectory: files written into a new directory in /dev/shm
 * where there is one, else under the OS temp dir) for generated policies (bench/policy-gen.ts) of 100, 1,000 and
 * 10,000 services each calling 5 others, every compile in a fresh process
 * (bench/compiler-child.ts) so its peak RSS is its own. Also: the growth 10k/1k (linear ≈ 10), the ratio to
 * merely serializing the same output (the floor, same process), and the
 * memory of a process that loads the compiler and compiles nothing.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { ChildReport } from "./compiler-child.js";
import type { FigureInit } from "./figures.js";

export interface CompilerOptions {
  /** Services per generated policy, ascending. */
  sizes: readonly number[];
  callsPerService: number;
  /** Fresh processes per size. */
  runs: number;
}

const CHILD = fileURLToPath(new URL("./compiler-child.ts", import.meta.url));
/** tsx's loader, resolved from here so the child starts the same from any working directory. */
const TSX_LOADER = import.meta.resolve("tsx");
const TIME_TARGET_MS = 5_000;
/** Memory-backed storage (tmpfs) on Linux. */
const MEMORY_BACKED = "/dev/shm";
const MEMORY_TARGET_MIB = 1024;

/** Runs the child in a new Node process (tsx loader), returns its report. */
function runChild(args: readonly string[]): Promise<ChildReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", TSX_LOADER, CHILD, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", reject);
    child.on("close", (code) => {
      const line = out.trim().split("\n").pop();
      if (code !== 0 || !line) {
        reject(new Error(`compiler-child ${args.join(" ")} exited ${code}: ${err.trim().split("\n").slice(-5).join("\n")}`));
        return;
      }
      resolve(JSON.parse(line) as ChildReport);
    });
  });
}

export async function measureCompiler(options: CompilerOptions, onStep?: (label: string) => void): Promise<FigureInit[]> {
  const reports = new Map<number, ChildReport[]>(options.sizes.map((n) => [n, []]));
  const baseline: number[] = [];
  const diskTimes: number[] = [];
  const biggest = options.sizes[options.sizes.length - 1]!;
  // The timed figure writes into memory-backed storage where there is one
  // (/dev/shm), so it measures the compiler rather than this VM's virtual
  // disk; the biggest size is also compiled onto the disk (os.tmpdir()), as a
  // figure of its own. Outputs stay until the last run: deleting 0.3 GB
  // between runs made the next run's writes wait for the disk's discards.
  const memory = existsSync(MEMORY_BACKED) ? mkdtempSync(join(MEMORY_BACKED, "lightsub-bench-")) : undefined;
  const disk = mkdtempSync(join(tmpdir(), "lightsub-bench-"));
  const outputs = memory ?? disk;
  try {
    // Sizes interleaved run by run, so a slow phase of the machine hits every size.
    for (let run = 0; run < options.runs; run++) {
      onStep?.(`compiler: baseline process, run ${run + 1}/${options.runs}`);
      baseline.push((await runChild(["baseline"])).peakRssMiB);
      for (const n of options.sizes) {
        onStep?.(`compiler: ${n} services, run ${run + 1}/${options.runs}`);
        reports.get(n)!.push(await runChild(["compile", String(n), String(options.callsPerService), join(outputs, `${n}-${run}`)]));
      }
      // Its outputs go as soon as it is measured: 5 × 0.3 GB is more memory than a small CI machine may have.
      if (memory) rmSync(join(memory, `${biggest}-${run}`), { recursive: true, force: true });
      if (memory) {
        onStep?.(`compiler: ${biggest} services onto the disk, run ${run + 1}/${options.runs}`);
        diskTimes.push((await runChild(["compile", String(biggest), String(options.callsPerService), join(disk, `${biggest}-${run}`)])).compileMs);
      }
    }
  } finally {
    for (const dir of [memory, disk]) if (dir) rmSync(dir, { recursive: true, force: true });
  }
  const figures: FigureInit[] = [];
  for (const n of options.sizes) {
    const rs = reports.get(n)!;
    const params = { services: n, callsPerService: options.callsPerService };
    figures.push(
      {
        section: "compiler",
        name: "compile-ms",
        params,
        unit: "ms",
        samples: rs.map((r) => r.compileMs),
        ...(n === 10_000 ? { target: { max: TIME_TARGET_MS, text: "10,000 services under 5 s" } } : {}),
        note: `${rs[0]!.files} files, ${(rs[0]!.outputBytes / 2 ** 20).toFixed(1)} MiB of output, written into ${memory ? MEMORY_BACKED : tmpdir()}`,
      },
      {
        section: "compiler",
        name: "peak-rss-mib",
        params,
        unit: "MiB",
        samples: rs.map((r) => r.peakRssMiB),
        ...(n === 10_000 ? { target: { max: MEMORY_TARGET_MIB, text: "10,000 services under 1 GiB" } } : {}),
      },
      {
        section: "compiler",
        name: "vs-serialize",
        params,
        unit: "× serializing",
        samples: rs.map((r) => r.compileMs / r.serializeMs),
        peer: "rendering the same bootstraps as YAML alone, same process",
      },
      { section: "compiler", name: "serialize-ms", params, unit: "ms", samples: rs.map((r) => r.serializeMs) },
    );
  }
  if (diskTimes.length > 0) {
    figures.push({
      section: "compiler",
      name: "compile-ms-disk",
      params: { services: biggest, callsPerService: options.callsPerService },
      unit: "ms",
      samples: diskTimes,
      note: `the same compile writing into ${tmpdir()} (disk-backed) instead of ${MEMORY_BACKED}`,
    });
  }
  const growth = growthFigures(options.sizes, reports);
  figures.push(...growth);
  figures.push({
    section: "compiler",
    name: "baseline-rss-mib",
    params: { services: 0 },
    unit: "MiB",
    samples: baseline,
    note: "a process that loads the compiler (and tsx) and compiles nothing",
  });
  return figures;
}

/** Time and memory growth from each size to the next ×10 size, run by run. */
function growthFigures(sizes: readonly number[], reports: Map<number, ChildReport[]>): FigureInit[] {
  const out: FigureInit[] = [];
  for (const big of sizes) {
    const small = big / 10;
    const a = reports.get(small);
    const b = reports.get(big);
    if (!a || !b) continue;
    const params = { from: small, to: big };
    // Linear is 10; below it fixed costs still show, above 12 something grows faster than the input.
    const linear = big === 10_000 ? { target: { max: 12, text: "near 10, i.e. linear (met: ≤ 12)" } } : {};
    out.push(
      {
        section: "compiler",
        name: "time-growth",
        params,
        unit: "×",
        samples: b.map((r, i) => r.compileMs / a[i]!.compileMs),
        peer: `${small} services, same run`,
        ...linear,
      },
      {
        section: "compiler",
        name: "memory-growth",
        params,
        unit: "×",
        samples: b.map((r, i) => r.peakRssMiB / a[i]!.peakRssMiB),
        peer: `${small} services, same run`,
      },
    );
  }
  return out;
}
