/**
 * A small headless-Chromium driver for the report test: the Chrome DevTools
 * Protocol over --remote-debugging-pipe (fd 3 in, fd 4 out, messages ended by
 * NUL), so no browser-automation package is needed. Debian's `chromium`
 * package provides /usr/bin/chromium.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable, Writable } from "node:stream";

const CHROMIUM_CANDIDATES = [process.env.CHROMIUM_BIN, "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"];

export function findChromium(): string | undefined {
  return CHROMIUM_CANDIDATES.find((p): p is string => p !== undefined && p !== "" && existsSync(p));
}

interface Pending {
  resolve: (value: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export class HeadlessChromium {
  /** Page errors: uncaught exceptions, console.error, error log entries, failed loads. */
  readonly errors: string[] = [];
  private readonly child: ChildProcess;
  private readonly input: Writable;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly waiters: { method: string; resolve: (params: Record<string, unknown>) => void }[] = [];
  private buffer = "";
  private sessionId: string | undefined;

  private constructor(executable: string) {
    const profile = mkdtempSync(join(tmpdir(), "lightsub-chromium-"));
    this.child = spawn(
      executable,
      [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        `--user-data-dir=${profile}`,
        "--remote-debugging-pipe",
        "about:blank",
      ],
      { stdio: ["ignore", "ignore", "ignore", "pipe", "pipe"] },
    );
    this.input = this.child.stdio[3] as Writable;
    const output = this.child.stdio[4] as Readable;
    output.setEncoding("utf8");
    output.on("data", (chunk: string) => this.receive(chunk));
    this.child.on("exit", () => {
      for (const p of this.pending.values()) p.reject(new Error("chromium exited"));
      this.pending.clear();
    });
  }

  static async open(executable: string, width: number, height: number): Promise<HeadlessChromium> {
    const browser = new HeadlessChromium(executable);
    const { targetId } = (await browser.send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await browser.send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    browser.sessionId = sessionId;
    await browser.send("Runtime.enable");
    await browser.send("Log.enable");
    await browser.send("Page.enable");
    await browser.send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile: false });
    return browser;
  }

  async load(url: string): Promise<void> {
    const loaded = this.waitFor("Page.loadEventFired");
    const result = (await this.send("Page.navigate", { url })) as { errorText?: string };
    if (result.errorText) this.errors.push(`navigation: ${result.errorText}`);
    await loaded;
  }

  async evaluate<T>(expression: string): Promise<T> {
    const result = (await this.send("Runtime.evaluate", { expression, returnByValue: true })) as {
      result: { value: T };
      exceptionDetails?: { text: string };
    };
    if (result.exceptionDetails) throw new Error(`evaluate: ${result.exceptionDetails.text}`);
    return result.result.value;
  }

  async screenshot(): Promise<Buffer> {
    const { data } = (await this.send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true })) as { data: string };
    return Buffer.from(data, "base64");
  }

  async close(): Promise<void> {
    try {
      await Promise.race([this.send("Browser.close", {}, false), new Promise((r) => setTimeout(r, 2000))]);
    } finally {
      if (this.child.exitCode === null) this.child.kill();
    }
  }

  private send(method: string, params: Record<string, unknown> = {}, inSession = true): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const message: Record<string, unknown> = { id, method, params };
    if (inSession && this.sessionId) message.sessionId = this.sessionId;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.input.write(JSON.stringify(message) + "\0");
    });
  }

  private waitFor(method: string): Promise<Record<string, unknown>> {
    return new Promise((resolve) => this.waiters.push({ method, resolve }));
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf("\0")) >= 0) {
      const text = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 1);
      this.handle(JSON.parse(text) as Record<string, unknown>);
    }
  }

  private handle(message: Record<string, unknown>): void {
    if (typeof message.id === "number") {
      const pending = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (!pending) return;
      if (message.error) pending.reject(new Error(JSON.stringify(message.error)));
      else pending.resolve((message.result ?? {}) as Record<string, unknown>);
      return;
    }
    const method = String(message.method);
    const params = (message.params ?? {}) as Record<string, unknown>;
    if (method === "Runtime.exceptionThrown") this.errors.push(`exception: ${JSON.stringify(params.exceptionDetails)}`);
    if (method === "Runtime.consoleAPICalled" && params.type === "error") this.errors.push(`console.error: ${JSON.stringify(params.args)}`);
    if (method === "Log.entryAdded") {
      const entry = params.entry as { level: string; text: string; url?: string };
      if (entry.level === "error") this.errors.push(`log: ${entry.text} ${entry.url ?? ""}`);
    }
    for (let i = 0; i < this.waiters.length; i++) {
      if (this.waiters[i]!.method === method) {
        this.waiters.splice(i, 1)[0]!.resolve(params);
        i--;
      }
    }
  }
}
