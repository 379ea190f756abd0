// Where the plugin registers how its root contexts are made (kept apart from
// dispatch.ts, whose every export becomes a Wasm export).
import { RootContext } from "./context";

export type RootFactory = (contextId: u32) => RootContext;

function defaultRootFactory(contextId: u32): RootContext {
  return new RootContext(contextId);
}

let rootFactory: RootFactory = defaultRootFactory;

/** Registers how root contexts are made. Call once, at module top level. */
export function setRootContextFactory(factory: RootFactory): void {
  rootFactory = factory;
}

export function createRootContext(contextId: u32): RootContext {
  return rootFactory(contextId);
}
