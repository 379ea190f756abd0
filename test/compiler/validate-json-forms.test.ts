/** compiler/validate: proto3 JSON forms of scalars and well-known types, as Envoy's loader reads them. */
import { beforeAll, describe, expect, it } from "vitest";
import { loadEnvoyValidator, type EnvoyValidator } from "../../compiler/validate/index.js";

let validator: EnvoyValidator;
beforeAll(async () => {
  validator = await loadEnvoyValidator();
});

function paths(type: string, value: unknown): string[] {
  return validator.validateMessage(type, value).map((e) => e.path);
}

describe("JSON forms", () => {
  it("64-bit integers as numbers or decimal strings", () => {
    expect(paths("envoy.type.v3.Int64Range", { start: "100", end: 200 })).toEqual([]);
    expect(paths("envoy.type.v3.Int64Range", { start: "-9223372036854775808", end: "9223372036854775807" })).toEqual([]);
    expect(paths("envoy.type.v3.Int64Range", { start: "1.5", end: "9223372036854775808" })).toEqual(["start", "end"]);
    expect(paths("envoy.type.v3.Int64Range", { start: 2 ** 60 })).toEqual(["start"]); // not exact as a JSON number
  });

  it("doubles as numbers, numeric strings or NaN/Infinity", () => {
    const runtimeDouble = (v: unknown) => paths("envoy.config.core.v3.RuntimeDouble", { default_value: v, runtime_key: "k" });
    for (const ok of [50.5, 0, "12.5", "NaN", "-Infinity", 1e-3, "1e3"]) expect(runtimeDouble(ok), String(ok)).toEqual([]);
    expect(runtimeDouble("half")).toEqual(["default_value"]);
    expect(runtimeDouble(true)).toEqual(["default_value"]);
    // PGV bounds still apply: a Percent is 0..100.
    expect(paths("envoy.type.v3.Percent", { value: "-Infinity" })).toEqual(["value"]);
    expect(paths("envoy.type.v3.Percent", { value: 100 })).toEqual([]);
  });

  it("bytes as base64", () => {
    expect(paths("envoy.config.core.v3.DataSource", { inline_bytes: "aGVsbG8=" })).toEqual([]);
    expect(paths("envoy.config.core.v3.DataSource", { inline_bytes: "not base64!" })).toEqual(["inline_bytes"]);
  });

  it("enums by name or defined number", () => {
    expect(paths("envoy.config.core.v3.SocketAddress", { address: "::", port_value: 1, protocol: "UDP" })).toEqual([]);
    expect(paths("envoy.config.core.v3.SocketAddress", { address: "::", port_value: 1, protocol: 1 })).toEqual([]);
    expect(paths("envoy.config.core.v3.SocketAddress", { address: "::", port_value: 1, protocol: 7 })).toEqual(["protocol"]);
    expect(paths("envoy.config.core.v3.SocketAddress", { address: "::", port_value: 1, protocol: "udp" })).toEqual(["protocol"]);
  });

  it("Struct as any JSON object, checked no deeper", () => {
    expect(paths("envoy.config.core.v3.Metadata", { filter_metadata: { x: { any: [1, { a: null }], b: "c" } } })).toEqual([]);
    expect(paths("envoy.config.core.v3.Metadata", { filter_metadata: { x: 5 } })).toEqual(['filter_metadata["x"]']);
  });

  it("null as an unset field", () => {
    expect(paths("envoy.config.core.v3.SocketAddress", { address: "::", port_value: 1, ipv4_compat: null })).toEqual([]);
  });

  it("a required field missing even when the object is otherwise empty", () => {
    const errors = validator.validateMessage("envoy.config.route.v3.Route", {});
    expect(errors.map((e) => e.path)).toContain("match");
  });
});
