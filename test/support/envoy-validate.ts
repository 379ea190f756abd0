/**
 * `envoy --mode validate` on configs, a few at a time, for the real-Envoy
 * tests: every config is first pointed at the built filter
 * (e2e/local-config.ts), since validate mode reads the Wasm file.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { withLocalWasm } from "../../e2e/local-config.js";

const BUILT_WASM = fileURLToPath(new URL("../../build/lightsub.wasm", import.meta.url));

export interface EnvoyVerdict {
  ok: boolean;
  /** Envoy's own words: the critical/error lines of its output (all of it when there are none). */
  message: string;
}

/** Longest line of Envoy's message kept (its JSON parse errors append the whole config). */
const MESSAGE_LINE_MAX = 1500;

/**
 * The lines of Envoy's output that say why, without the log prefix
 * `[time][tid][level][component] [file:line] ` and with runs of white space
 * made one space (Envoy 1.40's protobuf varies the spacing of its parse
 * errors on purpose, so that nobody matches them exactly).
 */
function envoyMessage(output: string): string {
  // A PGV failure is logged as "…: goo.gle/debugstr", the config's debug dump over many
  // lines, then ": Proto constraint validation failed (…)": that last line is kept too.
  const lines = output.split("\n").filter((l) => /\]\[(critical|error)\]\[/.test(l) || /^: \S/.test(l));
  const picked = lines.length > 0 ? lines : output.split("\n").filter((l) => l.trim() !== "");
  return picked
    .map((l) => l.replace(/^\[[^\]]*\]\[\d+\]\[\w+\]\[\w+\] \[[^\]]*\] /, "").replace(/\s+/g, " ").trim())
    .map((l) => (l.length > MESSAGE_LINE_MAX ? `${l.slice(0, MESSAGE_LINE_MAX)}…` : l))
    .join("\n");
}

/** Runs `envoy --mode validate` on one config file. */
function envoyValidateFile(envoy: string, file: string): Promise<EnvoyVerdict> {
  return new Promise((resolve) => {
    execFile(envoy, ["--mode", "validate", "-c", file, "--disable-hot-restart", "-l", "error"], { timeout: 60_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      const output = `${stdout}\n${stderr}`;
      resolve({ ok: error === null, message: error === null ? "" : envoyMessage(output) || String(error.message) });
    });
  });
}

/** Maps `items` through `fn` with at most `limit` running at once, keeping the order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Envoy validates bootstraps (parsed objects) in a scratch directory: each is
 * written as YAML with the Wasm path pointed at `wasmFile`; identical configs
 * are validated once.
 */
export class EnvoyValidator {
  readonly dir = mkdtempSync(join(tmpdir(), "lightsub-envoy-validate-"));
  private readonly seen = new Map<string, Promise<EnvoyVerdict>>();
  private counter = 0;
  /** How many configs were handed in, and how many Envoy actually ran on. */
  readonly counts = { configs: 0, runs: 0 };

  constructor(
    private readonly envoy: string,
    private readonly wasmFile = BUILT_WASM,
  ) {}

  validate(bootstrap: unknown): Promise<EnvoyVerdict> {
    this.counts.configs++;
    const text = stringify(withLocalWasm(bootstrap, this.wasmFile).bootstrap, { lineWidth: 0 });
    const key = createHash("sha256").update(text).digest("hex");
    let verdict = this.seen.get(key);
    if (!verdict) {
      this.counts.runs++;
      const file = join(this.dir, `config-${++this.counter}.yaml`);
      writeFileSync(file, text);
      verdict = envoyValidateFile(this.envoy, file);
      this.seen.set(key, verdict);
    }
    return verdict;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The header lines of a corpus file (`# key: value`) as a map. */
export function corpusHeader(text: string): Map<string, string> {
  const header = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^# ([a-z-]+): (.*)$/.exec(line);
    if (!m) break;
    header.set(m[1]!, m[2]!);
  }
  return header;
}

function readText(file: string): string {
  return readFileSync(file, "utf8");
}
