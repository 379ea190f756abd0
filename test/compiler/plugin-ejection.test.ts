/**
 * The plugin configuration carries the service's outlier detection as the
 * filter's ejection (ejectAfter, ejectionMs), so the filter and Envoy eject
 * after the same failures for the same base time; without outlierDetection no
 * keys (the filter's defaults; byte-identical output).
 */
import { describe, expect, it } from "vitest";
import { sidecarPluginJson } from "../../compiler/envoy/plugin-config.js";
import type { MeshModel } from "../../compiler/model/mesh.js";
import { twoServiceModel } from "../support/models.js";

function catalogDestination(model: MeshModel): Record<string, unknown> {
  return (JSON.parse(sidecarPluginJson(model, "frontend", "catalog")) as { destinations: Record<string, unknown>[] }).destinations[0]!;
}

function withOutlierDetection(od: MeshModel["services"][number]["connector"]["outlierDetection"]): MeshModel {
  const model = twoServiceModel();
  const catalog = model.services.find((s) => s.name === "catalog")!;
  catalog.connector = { ...catalog.connector, outlierDetection: od };
  if (od === undefined) delete catalog.connector.outlierDetection;
  return model;
}

describe("plugin config: ejection from outlierDetection", () => {
  it("passes consecutive5xx and baseEjectionTime", () => {
    const d = catalogDestination(withOutlierDetection({ consecutive5xx: 3, baseEjectionTimeMs: 7_000 }));
    expect([d.ejectAfter, d.ejectionMs]).toEqual([3, 7_000]);
  });

  it("uses Envoy's defaults (5, 30 s) for the fields the policy leaves out", () => {
    const d = catalogDestination(withOutlierDetection({}));
    expect([d.ejectAfter, d.ejectionMs]).toEqual([5, 30_000]);
  });

  it("writes no ejection keys without outlierDetection", () => {
    const d = catalogDestination(withOutlierDetection(undefined));
    expect("ejectAfter" in d || "ejectionMs" in d).toBe(false);
  });
});
