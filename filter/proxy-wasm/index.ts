// proxy-wasm-as: AssemblyScript bindings for proxy-wasm ABI v0.2.1.
// Import the API from here; re-export "./dispatch" from your entry file.
export * from "./enums";
export * from "./context";
export { setRootContextFactory } from "./registry";
export * from "./log";
export * from "./time";
export * from "./properties";
export * from "./headers";
export * from "./buffers";
export * from "./shared-data";
export * from "./metrics";
export * from "./stream";
export * from "./foreign";
export {
  releaseReturned, returnedEquals, returnedPtr, returnedSize,
  takeReturnedBytes, takeReturnedString, takeReturnedU64, utf8,
} from "./memory";
export { abortHandler } from "./runtime/abort-handler";
export { seedHandler } from "./runtime/seed-handler";
