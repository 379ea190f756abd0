// The file-writing thread of compiler/write/background-writer.ts: creates the
// directories and writes the files of each batch it is sent, in order, then
// hands the batch's buffer back for reuse. Plain JavaScript with node:fs only,
// so it starts in milliseconds and needs no TypeScript loader.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { parentPort } from "node:worker_threads";

let failure = null;

parentPort.on("message", (batch) => {
  // After a failure the rest is not written: the whole staging directory is about to be removed.
  if (failure === null) {
    try {
      for (const file of batch.files) {
        const bytes = new Uint8Array(batch.buffer, file.offset, file.length);
        if (file.append) writeFileSync(file.path, bytes, { flag: "a" });
        else {
          mkdirSync(dirname(file.path), { recursive: true });
          writeFileSync(file.path, bytes);
        }
      }
    } catch (error) {
      failure = { message: error instanceof Error ? error.message : String(error), code: error?.code };
    }
  }
  parentPort.postMessage({ buffer: batch.buffer, failure }, [batch.buffer]);
});
