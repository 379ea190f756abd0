/**
 * Process-wide shared queues (proxy-wasm-cpp-host src/shared_queue.cc): a
 * queue is registered by (vm_id, name) by a root context, which gets
 * proxy_on_queue_ready after each enqueue. Envoy posts that call to the
 * registering worker; here it runs when the enqueuing callback returns.
 */
import { WasmResult, type WasmResultCode } from "./abi.js";
import type { RootContext } from "./context.js";

interface Queue {
  root: RootContext;
  items: Uint8Array[];
}

export class SharedQueues {
  private readonly tokens = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private nextToken = 1;

  register(vmId: string, name: string, root: RootContext): number {
    const key = `${vmId}\0${name}`;
    const existing = this.tokens.get(key);
    if (existing !== undefined) {
      this.queues.get(existing)!.root = root;
      return existing;
    }
    const token = this.nextToken++;
    this.tokens.set(key, token);
    this.queues.set(token, { root, items: [] });
    return token;
  }

  resolve(vmId: string, name: string): number {
    return this.tokens.get(`${vmId}\0${name}`) ?? 0;
  }

  /** Returns the root context to notify, or a failure code. */
  enqueue(token: number, data: Uint8Array): RootContext | WasmResultCode {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(data.slice());
    return q.root;
  }

  dequeue(token: number): Uint8Array | WasmResultCode {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    return q.items.shift() ?? WasmResult.Empty;
  }
}
