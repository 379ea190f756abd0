/**
 * stats_config.stats_tags applied the way Envoy applies tag extractors: each
 * regex is matched against the full stat name; the first capture group is cut
 * out of the name and the second becomes the tag value; the cuts of all
 * extractors are combined into the tag-extracted name.
 */
import { describe, expect, it } from "vitest";
import { sidecarBootstraps } from "../../compiler/envoy/index.js";
import { STATS_TAGS } from "../../schemas/wire.js";
import type { Node } from "../support/envoy-nav.js";
import { fiveServiceModel, twoServiceModel } from "../support/models.js";

interface Extracted {
  name: string;
  tags: Record<string, string>;
}

function extractTags(statName: string, specs: ReadonlyArray<{ tag_name: string; regex: string }>): Extracted {
  const tags: Record<string, string> = {};
  const cuts: Array<[number, number]> = [];
  for (const spec of specs) {
    const m = new RegExp(spec.regex, "d").exec(statName);
    if (!m) continue;
    const [start, end] = m.indices![1]!;
    cuts.push([start, end]);
    tags[spec.tag_name] = m[2] ?? m[1]!;
  }
  let name = "";
  for (let i = 0; i < statName.length; i++) if (!cuts.some(([s, e]) => i >= s && i < e)) name += statName[i];
  return { name, tags };
}

/** The stats_tags of a generated bootstrap (not the exported constant: what Envoy would get). */
const generatedTags: Array<{ tag_name: string; regex: string }> = (sidecarBootstraps(twoServiceModel()).get("frontend") as Node)
  .stats_config.stats_tags;

describe("stats tags", () => {
  it("are the generated ones", () => {
    expect(generatedTags).toEqual(STATS_TAGS.map((t) => ({ ...t })));
  });

  it("turn an endpoint metric into service and endpoint tags", () => {
    expect(extractTags("wasmcustom.lightsub.service.catalog.endpoint.catalog-1_9090.rq_total", generatedTags)).toEqual({
      name: "wasmcustom.lightsub.rq_total",
      tags: { service: "catalog", endpoint: "catalog-1_9090" },
    });
  });

  it("turn a destination metric into a service tag only", () => {
    expect(extractTags("wasmcustom.lightsub.service.catalog.rq_unscheduled", generatedTags)).toEqual({
      name: "wasmcustom.lightsub.rq_unscheduled",
      tags: { service: "catalog" },
    });
  });

  it("leave Envoy's own stats alone", () => {
    for (const name of ["cluster.catalog.upstream_rq_total", "http.outbound_catalog.downstream_rq_total", "lightsub.service.x.rq_total"]) {
      expect(extractTags(name, generatedTags)).toEqual({ name, tags: {} });
    }
  });

  it("tag every metric of every endpoint the filter can report for the golden models", () => {
    const metrics = ["rq_total", "rq_error", "rq_5xx", "rq_reset", "rq_timeout", "rq_active", "rq_latency_ms", "latency_ewma_us"];
    for (const model of [twoServiceModel(), fiveServiceModel()]) {
      for (const s of model.services) {
        for (const ep of s.endpoints) {
          for (const metric of metrics) {
            const stat = `wasmcustom.lightsub.service.${s.name}.endpoint.${ep.stat}.${metric}`;
            expect(extractTags(stat, generatedTags)).toEqual({
              name: `wasmcustom.lightsub.${metric}`,
              tags: { service: s.name, endpoint: ep.stat },
            });
          }
        }
      }
    }
  });
});
