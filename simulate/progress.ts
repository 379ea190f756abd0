/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (so
 * pipes, CI logs and --json consumers never see it). Runs may progress at the
 * same time (on several threads): the bar shows all of them together.
 */

export interface Progress {
  update(run: string, index: number, runs: number, done: number, total: number): void;
  clear(): void;
}

const WIDTH = 30;

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY) return { update() {}, clear() {} };
  let last = "";
  let lastDraw = 0;
  const done = new Map<number, number>();
  const names = new Map<number, string>();
  return {
    update(run, index, runs, count, total) {
      done.set(index, count);
      if (count < total) names.set(index, run);
      else names.delete(index);
      const now = Date.now();
      if (now - lastDraw < 100 && count < total) return;
      lastDraw = now;
      let sum = 0;
      for (const n of done.values()) sum += n;
      const fraction = Math.min(1, sum / (runs * total || 1));
      const filled = Math.round(fraction * WIDTH);
      const running = [...names.values()].join(", ");
      const line = `simulating ${runs} runs [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${String(Math.floor(fraction * 100)).padStart(3)}% ${running}`.slice(0, (stream.columns || 100) - 1);
      if (line === last) return;
      stream.write(`\r${line.padEnd(last.length)}`);
      last = line;
    },
    clear() {
      if (last !== "") stream.write(`\r${" ".repeat(last.length)}\r`);
      last = "";
    },
  };
}
