/**
 * Writes files on a thread of their own. On the machines lightsub was
 * measured on, creating a directory and writing a file cost tens of
 * microseconds of system time each; a big compile writes 10,000 of each, and
 * on the main thread that time would add to rendering. Here the main thread
 * only encodes each file into a batch buffer; a writer thread makes the
 * system calls on another core.
 *
 * Batches go to the thread with their buffer transferred (not copied) and come
 * back for reuse, so memory stays at BUFFERS × BATCH_BYTES whatever the mesh
 * size; when every buffer is out, the caller waits.
 */
import { Worker } from "node:worker_threads";

const BATCH_BYTES = 256 * 1024;
const BUFFERS = 4;
const ENCODER = new TextEncoder();

interface Batch {
  buffer: ArrayBuffer;
  /** `append`: add to the file rather than replace it (a file written in several pieces). */
  files: Array<{ path: string; offset: number; length: number; append: boolean }>;
}

interface Returned {
  buffer: ArrayBuffer;
  failure: { message: string; code?: string } | null;
}

/** A file's content: text (written as UTF-8), bytes, or pieces of either to be written one after another. */
export type FileContent = string | Uint8Array | ReadonlyArray<string | Uint8Array>;

/** Copies `pieces` to the start of `target`; the bytes written, or undefined when they do not all fit. */
function copyInto(pieces: ReadonlyArray<string | Uint8Array>, target: Uint8Array): number | undefined {
  let at = 0;
  for (const piece of pieces) {
    const room = target.byteLength - at;
    if (typeof piece === "string") {
      if (piece.length > room) return undefined;
      const { read, written } = ENCODER.encodeInto(piece, at === 0 ? target : target.subarray(at));
      if (read !== piece.length) return undefined;
      at += written;
    } else {
      if (piece.byteLength > room) return undefined;
      target.set(piece, at);
      at += piece.byteLength;
    }
  }
  return at;
}

const WRITER_THREAD = new URL("./writer-thread.mjs", import.meta.url);

export class BackgroundWriter {
  private readonly thread = new Worker(WRITER_THREAD);
  private readonly free: ArrayBuffer[] = [];
  private readonly waiting: Array<() => void> = [];
  private outstanding = 0;
  private current: Batch | undefined;
  private used = 0;
  private failure: Returned["failure"] = null;
  private threadError: Error | undefined;

  constructor() {
    for (let i = 0; i < BUFFERS; i++) this.free.push(new ArrayBuffer(BATCH_BYTES));
    this.thread.on("message", (returned: Returned) => {
      this.outstanding--;
      this.failure ??= returned.failure;
      this.free.push(returned.buffer);
      this.waiting.shift()?.();
    });
    this.thread.on("error", (error) => {
      this.threadError = error;
      for (const wake of this.waiting.splice(0)) wake();
    });
  }

  /**
   * Queues `content` for `path` (absolute), replacing the file, or with
   * `append` adding to what was queued for it before; waits only when every
   * buffer is out. Content in pieces (strings as UTF-8, bytes as they are,
   * compiler/output/yaml-text.ts toYamlPieces) is written as their concatenation.
   */
  async write(path: string, content: FileContent, append = false): Promise<void> {
    this.throwIfFailed();
    const pieces = typeof content === "string" || content instanceof Uint8Array ? [content] : content;
    // Encoded straight into the batch when it fits. Buffer.byteLength first
    // would cost more than the encoding itself (measured: ~4× on 40 kB
    // configs, ~0.5 s of a 10,000-service compile), so it is only asked when
    // the file does not fit: a string never takes fewer bytes than it has
    // UTF-16 units, and encodeInto says how much of it went in.
    if (this.current) {
      const written = copyInto(pieces, new Uint8Array(this.current.buffer, this.used));
      if (written !== undefined) return this.added(path, written, append);
      this.send();
    }
    let length = 0;
    for (const piece of pieces) length += typeof piece === "string" ? Buffer.byteLength(piece) : piece.byteLength;
    await this.startBatch(length);
    this.added(path, copyInto(pieces, new Uint8Array(this.current!.buffer))!, append);
  }

  /** Records `length` bytes at the batch's end as (a piece of) `path`. */
  private added(path: string, length: number, append: boolean): void {
    this.current!.files.push({ path, offset: this.used, length, append });
    this.used += length;
  }

  /** Waits until everything queued is on disk; throws the first failure (with its errno code). */
  async finish(): Promise<void> {
    if (this.current) this.send();
    while (this.outstanding > 0 && !this.threadError) await new Promise<void>((wake) => this.waiting.push(wake));
    this.throwIfFailed();
  }

  /** Stops the thread; call after finish() (or after a failure, once nothing more will be written). */
  async close(): Promise<void> {
    await this.thread.terminate();
  }

  private async startBatch(length: number): Promise<void> {
    while (this.free.length === 0) {
      await new Promise<void>((wake) => this.waiting.push(wake));
      this.throwIfFailed();
    }
    let buffer = this.free.pop()!;
    // A file bigger than a batch gets a buffer of its own size (it joins the pool when it comes back).
    if (buffer.byteLength < length) buffer = new ArrayBuffer(length);
    this.current = { buffer, files: [] };
    this.used = 0;
  }

  private send(): void {
    const batch = this.current!;
    this.current = undefined;
    this.outstanding++;
    this.thread.postMessage(batch, [batch.buffer]);
  }

  private throwIfFailed(): void {
    if (this.threadError) throw this.threadError;
    if (this.failure) throw Object.assign(new Error(this.failure.message), { code: this.failure.code ?? "EIO" });
  }
}
