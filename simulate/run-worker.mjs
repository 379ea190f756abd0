// Worker-thread entry for parallel simulation runs (simulate/run-pool.ts).
// Plain JavaScript because a worker starts without the parent's TypeScript
// loader: this registers tsx, then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./run-worker.ts");
