/**
 * `lightsub simulate`: the real filter against a simulated destination,
 * compared with every other strategy, Envoy's native balancers and an oracle.
 * See simulate/README.md.
 */
export { runSimulation, MissingFilterError, DEFAULT_WASM_PATH, type SimulationOptions } from "./simulation.js";
export { RESULT_VERSION, resultJson, type SimulationResult, type RunResult, type ScenarioInfo, type EndpointInfo } from "./result.js";
export { htmlReport } from "./output/html.js";
export { resultTable } from "./output/table.js";
export { WORKLOAD_DIAGNOSTIC_CODES } from "../compiler/diagnostics/index.js";
