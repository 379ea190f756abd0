/** The machine a benchmark ran on, as results.json and the README table record it. */
import { availableParallelism, cpus, loadavg, totalmem, release, platform, arch } from "node:os";

export interface Machine {
  cpu: string;
  /** Logical cores the process may use. */
  cores: number;
  memoryGiB: number;
  os: string;
  node: string;
  v8: string;
  /** 1-minute load average when the run started: > cores means the timings shared the CPU. */
  loadAverage1m: number;
  /** The same when the run ended (set by the runner). */
  loadAverage1mEnd?: number;
  /** One line: what figures carry in `machine`. */
  summary: string;
}

export function describeMachine(): Machine {
  const cpu = cpus()[0]?.model.trim() || "unknown CPU";
  const cores = availableParallelism();
  const memoryGiB = Math.round((totalmem() / 2 ** 30) * 10) / 10;
  const os = `${platform()} ${release()} ${arch()}`;
  const node = process.version;
  const v8 = process.versions.v8;
  const loadAverage1m = currentLoadAverage();
  return {
    cpu,
    cores,
    memoryGiB,
    os,
    node,
    v8,
    loadAverage1m,
    summary: `${cpu}, ${cores} cores, ${memoryGiB} GiB, ${platform()} ${arch()}, Node ${node}`,
  };
}

/** The 1-minute load average, two decimals. */
export function currentLoadAverage(): number {
  return Math.round(loadavg()[0]! * 100) / 100;
}
