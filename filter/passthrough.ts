// Empty pass-through filter with the same bindings as lightsub, for benchmarks:
// every callback returns Continue and does nothing else.
import { HttpContext, RootContext, setRootContextFactory } from "./proxy-wasm/index";

export * from "./proxy-wasm/http-filter-exports";

class PassthroughRoot extends RootContext {
  override createHttpContext(contextId: u32): HttpContext | null {
    return new HttpContext(contextId, this);
  }
}

setRootContextFactory((contextId: u32): RootContext => new PassthroughRoot(contextId));
