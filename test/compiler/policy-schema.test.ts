/**
 * schemas/policy.schema.json: a valid, strict 2020-12 schema, documented for
 * editors, and in agreement with the model's enums and the compiler's defaults.
 */
import { readFileSync, readdirSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  CONNECT_TIMEOUT_DEFAULT_MS,
  MESH_PORT_DEFAULT,
  PROTOCOLS,
  RETRY_ON,
  SCHEDULER_DEFAULTS,
  SIDECAR_DEFAULTS,
} from "../../compiler/model/mesh.js";
import { DEFAULT_PROTOCOL, DEFAULT_WEIGHT, HEALTH_CHECK_DEFAULTS, RETRY_DEFAULTS } from "../../compiler/model/defaults.js";
import { DEFAULT_STRATEGY, STRATEGY_NAMES } from "../../compiler/model/strategies.js";
import { parseDuration } from "../../compiler/policy/duration.js";
import { MAX_ENDPOINTS_PER_SERVICE, MAX_SERVICES } from "../../compiler/policy/limits.js";
import { POLICY_SCHEMA } from "../../compiler/policy/schema.js";

type Node = Record<string, unknown>;
const raw = JSON.parse(readFileSync(new URL("../../schemas/policy.schema.json", import.meta.url), "utf8")) as Node;
const defs = raw["$defs"] as Record<string, Node>;

function ms(duration: unknown): number {
  const parsed = parseDuration(String(duration));
  if (!parsed.ok) throw new Error(`bad default ${String(duration)}`);
  return parsed.ms;
}

/** Every subschema with the JSON pointer that leads to it. */
function walk(node: unknown, pointer: string, visit: (schema: Node, pointer: string, isProperty: boolean) => void, isProperty = false): void {
  if (node === null || typeof node !== "object") return;
  const schema = node as Node;
  visit(schema, pointer, isProperty);
  for (const [name, child] of Object.entries((schema["properties"] as Record<string, Node> | undefined) ?? {})) walk(child, `${pointer}/properties/${name}`, visit, true);
  for (const [name, child] of Object.entries((schema["$defs"] as Record<string, Node> | undefined) ?? {})) walk(child, `${pointer}/$defs/${name}`, visit);
  if (schema["items"] !== undefined) walk(schema["items"], `${pointer}/items`, visit);
}

describe("policy schema", () => {
  it("is a valid JSON Schema 2020-12 document that ajv compiles in strict mode", () => {
    expect(raw["$schema"]).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(typeof raw["$id"]).toBe("string");
    const ajv = new Ajv2020.default({ strict: true, allowUnionTypes: true, allErrors: true });
    expect(ajv.validateSchema(raw), JSON.stringify(ajv.errors)).toBe(true);
    expect(() => ajv.compile(raw)).not.toThrow();
    // The compiler uses exactly this file.
    expect(POLICY_SCHEMA).toEqual(raw);
  });

  it("gives every property a title and a description, and allows no unknown properties anywhere", () => {
    const problems: string[] = [];
    walk(raw, "#", (schema, pointer, isProperty) => {
      if (isProperty && (typeof schema["title"] !== "string" || typeof schema["description"] !== "string")) problems.push(`${pointer}: title/description`);
      const types = ([] as unknown[]).concat(schema["type"] ?? []);
      // The simulation section is checked by schemas/workload.schema.json (lightsub simulate), not here.
      if (pointer === "#/properties/simulation") return;
      if ((types.includes("object") || schema["properties"] !== undefined) && schema["additionalProperties"] !== false) {
        problems.push(`${pointer}: additionalProperties`);
      }
    });
    expect(problems).toEqual([]);
  });

  it("lists exactly the model's strategies, protocols and retry conditions", () => {
    expect(defs["strategy"]!["enum"]).toEqual([...STRATEGY_NAMES]);
    expect(defs["protocol"]!["enum"]).toEqual([...PROTOCOLS]);
    expect(defs["retryOn"]!["enum"]).toEqual([...RETRY_ON]);
    expect(defs["failMode"]!["enum"]).toEqual(["open", "closed"]);
  });

  it("documents the same defaults the compiler applies", () => {
    const props = (name: string): Record<string, Node> => defs[name]!["properties"] as Record<string, Node>;
    const scheduler = props("scheduler");
    expect(scheduler["strategy"]!["default"]).toBe(DEFAULT_STRATEGY);
    expect(ms(scheduler["decay"]!["default"])).toBe(SCHEDULER_DEFAULTS.decayMs);
    expect(ms(scheduler["window"]!["default"])).toBe(SCHEDULER_DEFAULTS.windowMs);
    expect(ms(scheduler["probeInterval"]!["default"])).toBe(SCHEDULER_DEFAULTS.probeIntervalMs);
    expect(scheduler["errorThreshold"]!["default"]).toBe(SCHEDULER_DEFAULTS.errorThreshold);
    expect(scheduler["minRequests"]!["default"]).toBe(SCHEDULER_DEFAULTS.minRequests);
    expect(props("service")["meshPort"]!["default"]).toBe(MESH_PORT_DEFAULT);
    expect(props("service")["protocol"]!["default"]).toBe(DEFAULT_PROTOCOL);
    expect(defs["weight"]!["default"]).toBe(DEFAULT_WEIGHT);
    expect(props("sidecar")["adminPort"]!["default"]).toBe(SIDECAR_DEFAULTS.adminPort);
    expect(props("sidecar")["image"]!["default"]).toBe(SIDECAR_DEFAULTS.image);
    expect(ms(props("connector")["connectTimeout"]!["default"])).toBe(CONNECT_TIMEOUT_DEFAULT_MS);
    expect(props("retries")["attempts"]!["default"]).toBe(RETRY_DEFAULTS.attempts);
    expect(props("retries")["on"]!["default"]).toEqual([...RETRY_DEFAULTS.on]);
    const hc = props("healthCheck");
    expect(ms(hc["interval"]!["default"])).toBe(HEALTH_CHECK_DEFAULTS.intervalMs);
    expect(ms(hc["timeout"]!["default"])).toBe(HEALTH_CHECK_DEFAULTS.timeoutMs);
    expect(hc["unhealthyThreshold"]!["default"]).toBe(HEALTH_CHECK_DEFAULTS.unhealthyThreshold);
    expect(hc["healthyThreshold"]!["default"]).toBe(HEALTH_CHECK_DEFAULTS.healthyThreshold);
  });

  it("states the same limits as the loader", () => {
    const spec = (raw["properties"] as Record<string, Node>)["spec"]!["properties"] as Record<string, Node>;
    expect(spec["services"]!["maxItems"]).toBe(MAX_SERVICES);
    expect((defs["service"]!["properties"] as Record<string, Node>)["endpoints"]!["maxItems"]).toBe(MAX_ENDPOINTS_PER_SERVICE);
  });

  it("accepts the valid fixtures, and only policy-shaped documents", () => {
    const validate = new Ajv2020.default({ strict: true, allowUnionTypes: true }).compile(raw);
    const dir = new URL("../fixtures/policies/", import.meta.url);
    const files = readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThanOrEqual(4);
    for (const f of files) expect(validate(parse(readFileSync(new URL(f, dir), "utf8"))), f).toBe(true);
    expect(validate({})).toBe(false);
    expect(validate({ apiVersion: "lightsub/v1", kind: "Mesh", metadata: { name: "x" }, spec: { services: [] } })).toBe(false);
  });

  it("accepts as durations exactly the strings the duration parser reads", () => {
    const pattern = new RegExp(String(defs["duration"]!["pattern"]));
    const samples = ["250ms", "2s", "1.5s", "1m", "1h", "1m30s", "0s", "10", "2sec", "-1s", "1.s", ".5s", "1h1h", "s", "", "1 s", "1ms2"];
    expect(samples.filter((s) => pattern.test(s))).toEqual(["250ms", "2s", "1.5s", "1m", "1h", "1m30s", "0s", "1h1h"]);
    // The parser never reads what the schema calls malformed.
    for (const s of samples) if (!pattern.test(s)) expect(parseDuration(s).ok, s).toBe(false);
    expect(["250ms", "2s", "1.5s", "1m30s"].every((s) => pattern.test(s) && parseDuration(s).ok)).toBe(true);
  });
});
