/** Test helpers around the probe module: build once, run commands, read results from the log. */
import { Envoy, type CompiledModule, type EnvoyOptions, type Vm, type VmOptions, type ConfigureOptions } from "../../host/index.js";
import { buildFixture, type FixtureOptions } from "../fixtures/host/build.js";

const modules = new Map<string, Promise<CompiledModule>>();

/** The compiled fixture (built once per test worker). */
export function fixtureModule(entry = "probe.as.ts", options: FixtureOptions = {}): Promise<CompiledModule> {
  const key = `${entry}|${JSON.stringify(options)}`;
  let m = modules.get(key);
  if (!m) {
    m = buildFixture(entry, options).then((bytes) => Envoy.compile(bytes));
    modules.set(key, m);
  }
  return m;
}

export interface ProbeResult {
  phase: string;
  op: string;
  result: string;
}

const cursors = new WeakMap<Envoy, number>();

function parse(message: string): ProbeResult | undefined {
  if (!message.startsWith("probe|")) return undefined;
  const a = message.indexOf("|", 6);
  const b = message.indexOf("|", a + 1);
  if (a < 0 || b < 0) return undefined;
  return { phase: message.slice(6, a), op: message.slice(a + 1, b), result: message.slice(b + 1) };
}

/** Probe command results (not events) logged since the last call. */
export function take(envoy: Envoy): ProbeResult[] {
  const from = cursors.get(envoy) ?? 0;
  cursors.set(envoy, envoy.logs.length);
  return envoy.logs
    .slice(from)
    .map((l) => parse(l.message))
    .filter((r): r is ProbeResult => r !== undefined && r.phase !== "event");
}

/** Results of `take` as plain strings, e.g. ["0:/path", "1"]. */
export function takeResults(envoy: Envoy): string[] {
  return take(envoy).map((r) => r.result);
}

/** Callback events ("request_headers|2,3,1") in log order. */
export function events(envoy: Envoy, vm?: number): string[] {
  return envoy.logs
    .filter((l) => vm === undefined || l.vm === vm)
    .map((l) => parse(l.message))
    .filter((r): r is ProbeResult => r !== undefined && r.phase === "event")
    .map((r) => `${r.op}|${r.result}`);
}

export interface ProbeSetup {
  envoy?: Envoy;
  envoyOptions?: EnvoyOptions;
  vm?: VmOptions;
  /** Plugin configuration text ("configure=…\ntick=…"). */
  config?: string;
  configure?: ConfigureOptions;
}

export async function probeVm(setup: ProbeSetup = {}): Promise<{ envoy: Envoy; vm: Vm }> {
  const module = await fixtureModule();
  const envoy = setup.envoy ?? new Envoy(setup.envoyOptions);
  const vm = envoy.createVm(module, { vmId: "lightsub", ...setup.vm });
  if (!vm.configure(setup.config ?? "", { rootId: "lightsub", ...setup.configure })) throw new Error("probe configure failed");
  return { envoy, vm };
}

/** Percent-encodes one command argument. */
export function arg(s: string): string {
  return encodeURIComponent(s);
}

export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** "0:<hex>" → the bytes (throws on another code). */
export function okBytes(result: string): Uint8Array {
  if (!result.startsWith("0:")) throw new Error(`expected Ok, got ${result}`);
  return hexToBytes(result.slice(2));
}

export function int64Of(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigInt64(0, true);
}

export function textOf(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}
