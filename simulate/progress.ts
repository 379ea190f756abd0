/**
 * A one-line progress bar on stderr, drawn only when stderr is a terminal (so
 * pipes, CI logs and --json consumers never see it) unless asked for
 * (`--progress`): then, on a stream that is not a terminal, one plain line per
 * 10% instead of a redrawn bar. Runs may progress at the same time (on several
 * threads): the bar shows all of them together. Never on stdout.
 */

export interface Progress {
  update(run: string, index: number, runs: number, done: number, total: number): void;
  clear(): void;
}

const WIDTH = 30;

export function terminalProgress(stream: NodeJS.WriteStream = process.stderr, options: { always?: boolean } = {}): Progress {
  if (!stream.isTTY) return options.always ? lineProgress(stream) : { update() {}, clear() {} };
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

/** Progress for logs: a line each time the whole simulation passes another 10%. */
function lineProgress(stream: NodeJS.WritableStream): Progress {
  const done = new Map<number, number>();
  let printed = 0;
  return {
    update(_run, index, runs, count, total) {
      done.set(index, count);
      let sum = 0;
      for (const n of done.values()) sum += n;
      const tenths = Math.floor((10 * sum) / (runs * total || 1));
      if (tenths <= printed) return;
      printed = tenths;
      stream.write(`simulating ${runs} runs: ${Math.min(100, tenths * 10)}%\n`);
    },
    clear() {},
  };
}
