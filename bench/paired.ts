/**
 * Paired timing: two workloads measured side by side in the same process, so
 * that whatever else the machine does hits both alike. A round is `slices`
 * short batches of A and of B, interleaved (A B, then B A, …: a trend within
 * the round cancels out, and a burst of interference from other processes
 * lands on both sides rather than on one batch); its sample is B's mean time
 * per operation over A's. The median of those per-round ratios is what a
 * benchmark reports: absolute times on a shared machine drift, a ratio taken
 * this way much less.
 */

export interface PairedOptions {
  /** Rounds that count. */
  rounds: number;
  /** Rounds run first and thrown away (JIT warm-up, caches). */
  warmupRounds: number;
  /** Interleaved batches of each side per round (default 1). */
  slices?: number;
}

export interface PairedSamples {
  /** Per round: B's time per operation / A's. */
  ratios: number[];
  /** Per round: ns per operation. */
  aNs: number[];
  bNs: number[];
}

/** Runs `body` `count` times; ns per run. */
export function timePerOp(count: number, body: (i: number) => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) body(i);
  return Number(process.hrtime.bigint() - start) / count;
}

/** `a` and `b` each run one batch (all batches of a side the same size) and return its ns per operation. */
export function measurePaired(a: () => number, b: () => number, options: PairedOptions): PairedSamples {
  const out: PairedSamples = { ratios: [], aNs: [], bNs: [] };
  const slices = options.slices ?? 1;
  let turn = 0;
  for (let round = 0; round < options.warmupRounds + options.rounds; round++) {
    let ta = 0;
    let tb = 0;
    for (let s = 0; s < slices; s++, turn++) {
      if (turn % 2 === 0) {
        ta += a();
        tb += b();
      } else {
        tb += b();
        ta += a();
      }
    }
    if (round < options.warmupRounds) continue;
    out.aNs.push(ta / slices);
    out.bNs.push(tb / slices);
    out.ratios.push(tb / ta);
  }
  return out;
}
