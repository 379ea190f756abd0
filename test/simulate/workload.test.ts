/**
 * Workloads: the simulation: section and separate files, their schema, and
 * every LS2xx diagnostic with its exact position; usage errors (exit 2).
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import Ajv2020 from "ajv/dist/2020.js";
import { WORKLOAD_DIAGNOSTIC_CODES } from "../../compiler/diagnostics/index.js";
import { splitPolicy } from "../../simulate/workload/yaml-source.js";
import { policy, simulate, simulateJson, writeTemp } from "../support/simulate.js";

const basePolicy = (simulation: string, endpoints = 2) => policy({ endpoints, simulation });

/** Line (1-based) of the first line containing `needle`, and the column where it starts. */
function at(text: string, needle: string, lineContaining?: string): string {
  const lines = text.split("\n");
  const line = lines.findIndex((l) => (lineContaining ? l.includes(lineContaining) && l.includes(needle) : l.includes(needle)));
  if (line < 0) throw new Error(`no line with ${needle}`);
  return `${line + 1}:${lines[line]!.indexOf(needle) + 1}`;
}

async function diagnose(name: string, text: string, extra: string[] = []): Promise<string[]> {
  const file = writeTemp(name, text);
  const run = await simulate([file, ...extra]);
  expect(run.code, run.err).toBe(1);
  return run.err
    .split("\n")
    .filter((l) => l.includes(": error "))
    .map((l) => l.slice(l.indexOf(":") + 1));
}

describe("workload diagnostics with positions", () => {
  it("unknown property, with a suggestion", async () => {
    const text = basePolicy(`  arrivals: { rate: 10, requests: 10 }
  backend:
    latncy: 5ms`);
    expect(await diagnose("unknown.yaml", text)).toEqual([`${at(text, "latncy")}: error LS205: unknown property "latncy" in simulation.backend (did you mean "latency"?)`]);
  });

  it("wrong type, missing property, not allowed value, out of range", async () => {
    const text = basePolicy(`  workers: many
  arrivals: { process: poison, requests: 10 }
  backend: { errorRate: 1.5 }`);
    expect(await diagnose("types.yaml", text)).toEqual([
      `${at(text, "many")}: error LS203: simulation.workers must be a whole number, not the text "many"`,
      `${at(text, "{ process")}: error LS204: simulation.arrivals needs "rate"`,
      `${at(text, "poison")}: error LS206: simulation.arrivals.process must be one of poisson, constant (did you mean "poisson"?)`,
      `${at(text, "1.5")}: error LS207: simulation.backend.errorRate must be at most 1`,
    ]);
  });

  it("bad durations, zero where a positive one is needed", async () => {
    const text = basePolicy(`  arrivals: { rate: 10, duration: 5 sec }
  backend:
    latency: { distribution: exponential, mean: 0ms }`);
    expect(await diagnose("durations.yaml", text)).toEqual([
      `${at(text, "5 sec")}: error LS208: simulation.arrivals.duration: "5 sec" is not a duration (did you mean "5s"?)`,
      `${at(text, "0ms")}: error LS208: simulation.backend.latency.mean must be more than zero`,
    ]);
  });

  it("exactly one of requests and duration; of p99 and sigma; an event must change something", async () => {
    const text = basePolicy(`  arrivals: { rate: 10, requests: 5, duration: 1s }
  backend:
    latency: { distribution: lognormal, median: 5ms }
  endpoints:
    - endpoint: api-1
      events:
        - { at: 1s }`);
    expect(await diagnose("exactly.yaml", text)).toEqual([
      `${at(text, "{ rate")}: error LS209: simulation.arrivals needs exactly one of "requests" and "duration"`,
      `${at(text, "{ distribution: lognormal")}: error LS209: simulation.backend.latency needs exactly one of "p99" and "sigma"`,
      `${at(text, "{ at: 1s }")}: error LS209: simulation.endpoints[0].events[0] changes nothing: give slowdown, outage, errorRate or recover: true`,
    ]);
  });

  it("from, to and endpoint names are checked against the policy", async () => {
    const text = basePolicy(`  from: clinet
  arrivals: { rate: 10, requests: 5 }`);
    expect(await diagnose("from.yaml", text)).toEqual([`${at(text, "clinet")}: error LS210: from: service "clinet" is not defined (did you mean "client"?)`]);
    const text2 = basePolicy(`  from: api
  arrivals: { rate: 10, requests: 5 }`);
    expect(await diagnose("from2.yaml", text2)).toEqual([`${at(text2, "api", "from:")}: error LS210: from: service "api" calls no other service`]);
    const text3 = basePolicy(`  to: apj
  arrivals: { rate: 10, requests: 5 }
  endpoints:
    - { endpoint: 7 }`);
    expect(await diagnose("to.yaml", text3)).toEqual([`${at(text3, "apj")}: error LS211: to: "client" does not call "apj" (did you mean "api"?)`]);
    const text4 = basePolicy(`  arrivals: { rate: 10, requests: 5 }
  endpoints:
    - { endpoint: api-9 }
    - { endpoint: 2 }
    - { endpoint: "api-1:9000" }
    - { endpoint: api_ep0 }`);
    expect(await diagnose("endpoints.yaml", text4)).toEqual([
      `${at(text4, "api-9")}: error LS212: simulation.endpoints[0].endpoint: "api-9" is not an endpoint of "api" (endpoints: api-1:9000, api-2:9000)`,
      `${at(text4, "2 }")}: error LS212: simulation.endpoints[1].endpoint: "api" has 2 endpoints (index 0 to 1)`,
      `${at(text4, "api_ep0")}: error LS213: simulation.endpoints[3].endpoint selects the same endpoint as endpoints[2]`,
    ]);
  });

  it("event order and compare", async () => {
    const text = basePolicy(`  arrivals: { rate: 10, requests: 5 }
  compare: [round_robin, consistent_hash]
  endpoints:
    - endpoint: 0
      events:
        - { at: 5s, until: 2s, slowdown: 3 }`);
    expect(await diagnose("events.yaml", text)).toEqual([
      `${at(text, "consistent_hash")}: error LS215: simulation.compare[1]: consistent_hash needs hashOn in the policy's scheduler for "api"`,
      `${at(text, "2s")}: error LS214: simulation.endpoints[0].events[0].until must be after at`,
    ]);
  });

  it("a policy without a workload, and the policy's own errors at their own positions", async () => {
    const noWorkload = basePolicy("").replace(/\nsimulation:\n*$/, "\n");
    expect(await diagnose("none.yaml", noWorkload)).toEqual([
      "1:1: error LS200: no workload to simulate: add a simulation: section to the policy or pass --workload <file> (see simulate/README.md)",
    ]);
    // The simulation section is blanked for the policy checker: its diagnostics keep their lines.
    const broken = basePolicy(`  arrivals: { rate: 10, requests: 5 }`).replace("port: 9000\n      endpoints", "port: 90000\n      endpoints");
    const lines = await diagnose("policy-error.yaml", broken);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${at(broken, "90000")}: error LS0`));
  });

  it("too many requests", async () => {
    const text = basePolicy(`  arrivals: { rate: 1000000, duration: 1h }`);
    expect(await diagnose("big.yaml", text)).toEqual([`${at(text, "{ rate")}: error LS216: simulation.arrivals asks for 3600000000 requests; at most 10000000 are simulated`]);
  });

  it("a separate workload file wins over the section, with its own positions", async () => {
    const policyFile = writeTemp("with-file.yaml", basePolicy(`  arrivals: { rate: 10, requests: 5 }`));
    const workload = `apiVersion: lightsub/v1
kind: Workload
arrivals: { rate: 100, requests: 50, process: constant }
backend: { latency: 2ms, concurrency: 3 }
`;
    const workloadFile = writeTemp("workload.yaml", workload);
    const result = await simulateJson([policyFile, "--workload", workloadFile]);
    expect(result.workload).toBe(workloadFile);
    expect(result.scenario.arrivals).toEqual({ process: "constant", ratePerSec: 100, requests: 50 });
    expect(result.scenario.endpoints[0]!.concurrency).toBe(3);
    const bad = writeTemp("bad-workload.yaml", workload.replace("concurrency: 3", "concurrency: 0"));
    const run = await simulate([policyFile, "--workload", bad]);
    expect(run.code).toBe(1);
    const badText = readFileSync(bad, "utf8");
    expect(run.err).toContain(`${bad}:${at(badText, "0 }")}: error LS207: backend.concurrency must be at least 1`);
    const syntax = writeTemp("syntax-workload.yaml", "arrivals: { rate: 1\n");
    const run2 = await simulate([policyFile, "--workload", syntax]);
    expect(run2.code).toBe(1);
    expect(run2.err).toMatch(new RegExp(`${syntax}:\\d+:\\d+: error LS202: `));
    const missing = await simulate([policyFile, "--workload", "/nonexistent/w.yaml"]);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("/nonexistent/w.yaml:1:1: error LS201: cannot read /nonexistent/w.yaml: no such file");
  });

  it("takes the simulation section out of JSON policies too", () => {
    const json = JSON.stringify({ apiVersion: "lightsub/v1", simulation: { arrivals: { rate: 1, requests: 1 } }, kind: "Mesh" });
    const split = splitPolicy(json, "p.json");
    expect(JSON.parse(split.policyText)).toEqual({ apiVersion: "lightsub/v1", kind: "Mesh" });
    expect(split.section?.value).toEqual({ arrivals: { rate: 1, requests: 1 } });
    const last = JSON.stringify({ apiVersion: "lightsub/v1", simulation: { arrivals: { rate: 1, requests: 1 } } }, null, 2);
    expect(JSON.parse(splitPolicy(last, "p.json").policyText)).toEqual({ apiVersion: "lightsub/v1" });
    const yaml = "a: 1\nsimulation:\n  x: 1\nb: 2\n";
    const blanked = splitPolicy(yaml, "p.yaml").policyText;
    expect(blanked.length).toBe(yaml.length);
    expect(blanked.split("\n")).toHaveLength(yaml.split("\n").length);
    expect(blanked).toMatch(/^a: 1\n\s+\n\s+\nb: 2\n$/);
  });
});

describe("usage errors exit 2", () => {
  it("rejects bad arguments", async () => {
    for (const args of [[], ["a.yaml", "b.yaml"], ["a.yaml", "--seed", "x"], ["a.yaml", "--bogus"], ["a.yaml", "--seed", "-1"]]) {
      const run = await simulate(args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.err).toContain('hint: "lightsub simulate --help" shows its usage');
    }
  });

  it("a missing policy file is a policy error (exit 1), like compile", async () => {
    const run = await simulate(["/nonexistent/p.yaml"]);
    expect(run.code).toBe(1);
    expect(run.err).toContain("/nonexistent/p.yaml:1:1: error LS001: cannot read /nonexistent/p.yaml: no such file");
  });

  it("a missing filter build is reported, not thrown", async () => {
    const file = writeTemp("nofilter.yaml", basePolicy(`  arrivals: { rate: 10, requests: 5 }`));
    const run = await simulate([file, "--wasm", "/nonexistent/lightsub.wasm"]);
    expect(run.code).toBe(2);
    expect(run.err).toContain("the filter /nonexistent/lightsub.wasm does not exist");
  });
});

describe("the workload schema", () => {
  it("is valid JSON Schema 2020-12 under ajv's strict mode, and every example's workload passes it", () => {
    const schema = JSON.parse(readFileSync(new URL("../../schemas/workload.schema.json", import.meta.url), "utf8")) as object;
    const ajv = new Ajv2020.default({ strict: true, allErrors: true, discriminator: true });
    const validate = ajv.compile(schema);
    for (const name of ["slow-endpoint", "failing-endpoint", "weighted", "heavy-tail", "overload"]) {
      const text = readFileSync(new URL(`../../examples/simulate/${name}.yaml`, import.meta.url), "utf8");
      const section = splitPolicy(text, name).section;
      expect(section, name).toBeDefined();
      expect(validate(section!.value), `${name}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it("documents every code once, all LS2xx", () => {
    const codes = WORKLOAD_DIAGNOSTIC_CODES.map((c) => c.code);
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) expect(code).toMatch(/^LS2\d\d$/);
  });
});
