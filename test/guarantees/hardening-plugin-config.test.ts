/**
 * Fuzzed plugin configurations through the built filter: random bytes,
 * truncated, byte-mutated and structurally mutated versions of the plugin
 * JSON the compiler writes for every example, and invalid UTF-8. Both as the
 * first configuration of a VM and as a reconfiguration of a VM that is
 * serving requests. Each ends with the configuration accepted, or refused
 * with exactly one short error line from the plugin; never a trap.
 *
 * Size: LIGHTSUB_CONFIG_FUZZ_RUNS (default 10,000 inputs in total, each
 * configured once).
 */
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { Envoy, type CompiledModule, type Stream } from "../../host/index.js";
import { arrayField, field } from "../../envoy-model/envoy-json.js";
import { readWasmFilterConfig } from "../../envoy-model/wasm-filter.js";
import { compile as compileFilter } from "../support/filter-host.js";
import { compileExample, exampleFiles, sizeFromEnv } from "../support/hardening.js";

const RUNS = sizeFromEnv("LIGHTSUB_CONFIG_FUZZ_RUNS", 10_000);
const per = (share: number) => Math.max(1, Math.round(RUNS * share));

let module: CompiledModule;
/** Distinct plugin JSON texts of every outbound listener of every example. */
let corpus: string[] = [];

beforeAll(async () => {
  module = await compileFilter();
  const texts = new Set<string>();
  for (const ex of await Promise.all(exampleFiles().map(compileExample))) {
    for (const bootstrap of ex.bootstraps.values()) {
      for (const listener of arrayField(field(bootstrap, "static_resources"), "listeners")) {
        if (String(field(listener, "name")).startsWith("outbound_")) texts.add(readWasmFilterConfig(listener).pluginJson);
      }
    }
  }
  corpus = [...texts];
}, 120_000);

type Mode = "first" | "reconfigure";

/** Configures `config` on a fresh VM, or on one serving requests; checks the outcome. Returns whether it was accepted. */
function configure(config: string | Uint8Array, mode: Mode): boolean {
  const envoy = new Envoy({ startTimeMs: 1_700_000_000_000 });
  const vm = envoy.createVm(module, { vmId: "lightsub" });
  const inFlight: Stream[] = [];
  if (mode === "reconfigure") {
    const base = corpus[0]!;
    expect(vm.configure(base, { rootId: "lightsub" })).toBe(true);
    const cluster = (JSON.parse(base) as { destinations: { cluster: string }[] }).destinations[0]!.cluster;
    for (let i = 0; i < 3; i++) {
      const s = vm.createStream({ properties: { "xds.cluster_name": cluster } });
      s.onRequestHeaders([[":method", "GET"], [":path", "/"], [":authority", cluster], ["x-user-id", "u"], ["cookie", "session=1"]], true);
      inFlight.push(s);
    }
  }
  const logsBefore = envoy.logs.length;
  const accepted = vm.configure(config, { rootId: "lightsub" });
  const lines = envoy.logs.slice(logsBefore).filter((l) => l.message.startsWith("lightsub:") || l.message.startsWith("abort") || l.level === "critical");
  expect(vm.failState, vm.trap ? String(vm.trap) : "").not.toBe("RuntimeError");
  if (accepted) {
    expect(lines.map((l) => l.level)).toEqual(["info"]);
    // Requests keep flowing: the old ones end, new ones for every destination are scheduled or passed.
    for (const s of inFlight) s.end({ responseCode: 200 });
    const parsed = safeParse(config);
    for (const d of (parsed?.destinations ?? []) as { cluster?: unknown }[]) {
      if (typeof d?.cluster !== "string") continue;
      const s = vm.createStream({ properties: { "xds.cluster_name": d.cluster } });
      s.onRequestHeaders([[":method", "GET"], [":path", "/x"], [":authority", "a"], ["x-user-id", "u"]], true);
      s.end({ responseCode: 200 });
    }
    expect(vm.failed).toBe(false);
  } else {
    expect(vm.failState).toBe("ConfigureFailed");
    expect(lines, JSON.stringify(lines)).toHaveLength(1);
    expect(lines[0]!.level).toBe("error");
    expect(lines[0]!.message).toMatch(/^lightsub: configuration: \S/);
    expect(lines[0]!.message.length).toBeLessThan(400);
  }
  return accepted;
}

function safeParse(config: string | Uint8Array): { destinations?: unknown[] } | undefined {
  try {
    const value: unknown = JSON.parse(typeof config === "string" ? config : new TextDecoder().decode(config));
    return value !== null && typeof value === "object" ? (value as { destinations?: unknown[] }) : undefined;
  } catch {
    return undefined;
  }
}

const mode = fc.constantFrom<Mode>("first", "reconfigure");
const fromCorpus = () => fc.nat().map((i) => corpus[i % corpus.length]!);

/** Paths of every value in a JSON tree. */
function paths(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...at, i], out));
  else if (value !== null && typeof value === "object") for (const [k, v] of Object.entries(value)) paths(v, [...at, k], out);
  return out;
}

const SPECIAL: unknown[] = ["", "a".repeat(100_000), -1, 0, 1.5, 1e308, -1e308, 2 ** 53 + 1, 4294967296, null, true, [], {}, "x-lightsub-endpoint", "catalog_ep0", "\u0000", "é".repeat(300)];

describe(`fuzzed plugin configurations (${RUNS.toLocaleString("en-US")} in total)`, () => {
  it("the compiled configurations of every example are accepted, first and as a reconfiguration", () => {
    expect(corpus.length).toBeGreaterThanOrEqual(exampleFiles().length);
    for (const text of corpus) for (const m of ["first", "reconfigure"] as const) expect(configure(text, m)).toBe(true);
  });

  it("random bytes", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 4096 }), mode, (bytes, m) => void configure(bytes, m)), { numRuns: per(0.2) });
  });

  it("truncated compiled configurations are refused", () => {
    fc.assert(
      fc.property(fromCorpus(), fc.nat(), mode, (text, cut, m) => {
        expect(configure(text.slice(0, cut % text.length), m)).toBe(false);
      }),
      { numRuns: per(0.2) },
    );
  });

  it("byte mutations of compiled configurations", () => {
    fc.assert(
      fc.property(
        fromCorpus(),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom("set", "insert", "delete")), { minLength: 1, maxLength: 8 }),
        mode,
        (text, edits, m) => {
          const bytes = [...new TextEncoder().encode(text)];
          for (const [at, byte, op] of edits) {
            const i = at % bytes.length;
            if (op === "set") bytes[i] = byte;
            else if (op === "insert") bytes.splice(i, 0, byte);
            else bytes.splice(i, 1);
          }
          configure(new Uint8Array(bytes), m);
        },
      ),
      { numRuns: per(0.3) },
    );
  });

  it("structural mutations: any value replaced, removed, nested deeply or made huge", () => {
    fc.assert(
      fc.property(
        fromCorpus(),
        fc.nat(),
        fc.oneof(
          fc.jsonValue({ maxDepth: 3 }).map((v) => ({ op: "replace" as const, value: v as unknown })),
          fc.constantFrom(...SPECIAL).map((v) => ({ op: "replace" as const, value: v })),
          fc.constant({ op: "delete" as const, value: undefined as unknown }),
          fc.integer({ min: 10, max: 3000 }).map((depth) => ({ op: "nest" as const, value: depth as unknown })),
        ),
        mode,
        (text, at, edit, m) => {
          const root = JSON.parse(text) as Record<string, unknown>;
          const all = paths(root).filter((p) => p.length > 0);
          const path = all[at % all.length]!;
          let parent: Record<string | number, unknown> = root;
          for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, unknown>;
          const key = path[path.length - 1]!;
          if (edit.op === "delete") {
            if (Array.isArray(parent)) parent.splice(Number(key), 1);
            else delete parent[key];
            configure(JSON.stringify(root), m);
          } else if (edit.op === "replace") {
            parent[key] = edit.value;
            configure(JSON.stringify(root), m);
          } else {
            // Deep nesting as text (JSON.stringify would be fine too, but this also covers unbalanced brackets).
            parent[key] = "@@";
            const depth = edit.value as number;
            configure(JSON.stringify(root).replace('"@@"', "[".repeat(depth) + "]".repeat(at % 2 === 0 ? depth : depth - 1)), m);
          }
        },
      ),
      { numRuns: per(0.2) },
    );
  });

  it("invalid UTF-8 inside strings and keys", () => {
    const bad = [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf4, 0x90, 0x80, 0x80], [0xe2, 0x82]];
    fc.assert(
      fc.property(fromCorpus(), fc.nat(), fc.nat({ max: bad.length - 1 }), mode, (text, at, which, m) => {
        const bytes = [...new TextEncoder().encode(text)];
        const quotes = bytes.flatMap((b, i) => (b === 0x22 ? [i] : []));
        const i = quotes[at % quotes.length]! + 1; // just inside a string
        bytes.splice(i, 0, ...bad[which]!);
        expect(configure(new Uint8Array(bytes), m)).toBe(false);
      }),
      { numRuns: per(0.1) },
    );
  });
});
