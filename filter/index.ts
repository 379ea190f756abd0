// lightsub: the proxy-wasm HTTP filter that schedules requests onto endpoints.
// Entry of build/lightsub.wasm (see docs/design.md).
import { RootContext, setRootContextFactory } from "./proxy-wasm/index";
import { LightsubRoot } from "./lightsub/root";

export * from "./proxy-wasm/http-filter-exports";

setRootContextFactory((contextId: u32): RootContext => new LightsubRoot(contextId));
