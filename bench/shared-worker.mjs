// Worker-thread entry of the shared-state benchmark (bench/shared-state.ts).
// Plain JavaScript because a worker starts without the parent's TypeScript
// loader: this registers tsx, then loads the TypeScript worker.
import { register } from "tsx/esm/api";

register();
await import("./shared-worker.ts");
