// Pure parts of the host: header map semantics, stats_tags extraction, Prometheus text.
import { describe, expect, it } from "vitest";
import { DEFAULT_HISTOGRAM_BUCKETS, Envoy, HeaderMap, StatsStore, extractTags, metricName } from "../../host/index.js";
import { probeVm, take } from "../support/probe.js";

/** stats_config.stats_tags as docs/design.md puts them in every bootstrap. */
const DESIGN_TAGS = [
  { tag_name: "service", regex: "^wasmcustom\\.lightsub\\.(service\\.([^.]+)\\.)" },
  { tag_name: "endpoint", regex: "^wasmcustom\\.lightsub\\.service\\.[^.]+\\.(endpoint\\.([^.]+)\\.)" },
];

describe("HeaderMap", () => {
  it("keeps Envoy's order and case rules", () => {
    const h = new HeaderMap({ "X-B": "1", ":path": "/", "x-a": "2" });
    expect(h.toPairs()).toEqual([
      [":path", "/"],
      ["x-b", "1"],
      ["x-a", "2"],
    ]);
    h.add("x-b", "3");
    h.add(":method", "GET");
    expect(h.getAll("X-B")).toEqual(["1", "3"]);
    expect(h.toPairs()[1]).toEqual([":method", "GET"]);
    h.set("x-b", "4");
    expect(h.toPairs().at(-1)).toEqual(["x-b", "4"]);
    expect(h.getAll("x-b")).toEqual(["4"]);
    expect(h.byteSize()).toBe(":path".length + 1 + ":method".length + 3 + 3 + 1 + 3 + 1);
  });
});

describe("stats_tags", () => {
  it("removes capture group 1 and takes group 2 as the value, each regex on the full name", () => {
    expect(extractTags("wasmcustom.lightsub.service.catalog.endpoint.catalog-1_9090.rq_total", DESIGN_TAGS)).toEqual({
      tagExtractedName: "wasmcustom.lightsub.rq_total",
      tags: [
        { name: "service", value: "catalog" },
        { name: "endpoint", value: "catalog-1_9090" },
      ],
    });
    expect(extractTags("wasmcustom.lightsub.service.catalog.rq_unscheduled", DESIGN_TAGS)).toEqual({
      tagExtractedName: "wasmcustom.lightsub.rq_unscheduled",
      tags: [{ name: "service", value: "catalog" }],
    });
    // One capture group: it is both the removed part and the value; fixed values come first.
    expect(extractTags("wasmcustom.a.b", [{ tag_name: "x", regex: "\\.(b)$" }, { tag_name: "zone", fixed_value: "z1" }])).toEqual({
      tagExtractedName: "wasmcustom.a.",
      tags: [
        { name: "zone", value: "z1" },
        { name: "x", value: "b" },
      ],
    });
  });

  it("names metrics like Envoy: custom namespace stripped without envoy_, others prefixed", () => {
    expect(metricName("wasmcustom.lightsub.rq_total")).toBe("lightsub_rq_total");
    expect(metricName("wasmcustom.9lives")).toBeNull();
    expect(metricName("cluster.x-y.upstream_rq")).toBe("envoy_cluster_x_y_upstream_rq");
  });
});

describe("Prometheus text", () => {
  const expectedTagged = (buckets: number[]) =>
    [
      "# TYPE lightsub_rq_total counter",
      'lightsub_rq_total{service="catalog",endpoint="catalog-1_9090"} 5',
      'lightsub_rq_total{service="catalog",endpoint="catalog-2_9090"} 2',
      "# TYPE lightsub_rq_unscheduled counter",
      'lightsub_rq_unscheduled{service="catalog"} 1',
      "# TYPE lightsub_rq_active gauge",
      'lightsub_rq_active{service="catalog",endpoint="catalog-1_9090"} 3',
      "# TYPE lightsub_rq_latency_ms histogram",
      ...DEFAULT_HISTOGRAM_BUCKETS.map(
        (b, i) => `lightsub_rq_latency_ms_bucket{service="catalog",endpoint="catalog-1_9090",le="${b}"} ${buckets[i]}`,
      ),
      'lightsub_rq_latency_ms_bucket{service="catalog",endpoint="catalog-1_9090",le="+Inf"} 3',
      'lightsub_rq_latency_ms_sum{service="catalog",endpoint="catalog-1_9090"} 130',
      'lightsub_rq_latency_ms_count{service="catalog",endpoint="catalog-1_9090"} 3',
      "",
    ].join("\n");
  //                 0.5 1  5  10 25 50 100 250 …
  const buckets = [0, 0, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3];

  function fill(stats: StatsStore): void {
    stats.defineCounter("lightsub.service.catalog.endpoint.catalog-2_9090.rq_total").value = 2;
    stats.defineCounter("lightsub.service.catalog.endpoint.catalog-1_9090.rq_total").value = 5;
    stats.defineCounter("lightsub.service.catalog.rq_unscheduled").value = 1;
    stats.defineGauge("lightsub.service.catalog.endpoint.catalog-1_9090.rq_active").value = 3;
    const h = stats.defineHistogram("lightsub.service.catalog.endpoint.catalog-1_9090.rq_latency_ms");
    for (const v of [3, 7, 120]) h.record(v);
  }

  it("without kept histogram values (long simulations), renders the same buckets, count and sum", () => {
    const kept = new StatsStore();
    const notKept = new StatsStore(false);
    fill(kept);
    fill(notKept);
    expect(notKept.prometheus(DESIGN_TAGS)).toBe(kept.prometheus(DESIGN_TAGS));
    expect(notKept.histogram("lightsub.service.catalog.endpoint.catalog-1_9090.rq_latency_ms")).toEqual([]);
    expect(kept.histogram("lightsub.service.catalog.endpoint.catalog-1_9090.rq_latency_ms")).toEqual([3, 7, 120]);
  });

  it("groups by tag-extracted name with labels from stats_tags, Envoy's default buckets", () => {
    const stats = new StatsStore();
    fill(stats);
    expect(stats.prometheus(DESIGN_TAGS)).toBe(expectedTagged(buckets));
  });

  it("without stats_tags every stat is its own metric with no labels", () => {
    const stats = new StatsStore();
    stats.defineCounter("lightsub.service.catalog.endpoint.catalog-1_9090.rq_total").value = 5;
    stats.defineGauge("lightsub.g").value = -1;
    expect(stats.prometheus()).toBe(
      [
        "# TYPE lightsub_service_catalog_endpoint_catalog_1_9090_rq_total counter",
        "lightsub_service_catalog_endpoint_catalog_1_9090_rq_total{} 5",
        "# TYPE lightsub_g gauge",
        `lightsub_g{} ${2n ** 64n - 1n}`,
        "",
      ].join("\n"),
    );
  });

  it("escapes label values and drops names Prometheus cannot take", () => {
    const stats = new StatsStore();
    stats.defineCounter('x.a"b\\c.n').value = 1;
    stats.defineCounter("9lives").value = 1;
    expect(stats.prometheus([{ tag_name: "t", regex: "^wasmcustom\\.x\\.(([^.]+)\\.)" }])).toBe(
      ["# TYPE x_n counter", 'x_n{t="a\\"b\\\\c"} 1', ""].join("\n"),
    );
  });

  it("shows what a plugin defined and updated through the ABI", async () => {
    const envoy = new Envoy();
    const { vm } = await probeVm({ envoy });
    const ep1 = "lightsub.service.catalog.endpoint.catalog-1_9090";
    vm.createStream().onRequestHeaders(
      {
        "x-probe": [
          `mdef 0 ${ep1}.rq_total`,
          "mdef 0 lightsub.service.catalog.endpoint.catalog-2_9090.rq_total",
          "mdef 0 lightsub.service.catalog.rq_unscheduled",
          `mdef 1 ${ep1}.rq_active`,
          `mdef 2 ${ep1}.rq_latency_ms`,
          `minc ${ep1}.rq_total 5`,
          "minc lightsub.service.catalog.endpoint.catalog-2_9090.rq_total 2",
          "minc lightsub.service.catalog.rq_unscheduled 1",
          `minc ${ep1}.rq_active 4`,
          `minc ${ep1}.rq_active -1`,
          `mrec ${ep1}.rq_latency_ms 3`,
          `mrec ${ep1}.rq_latency_ms 7`,
          `mrec ${ep1}.rq_latency_ms 120`,
        ].join(";"),
      },
      true,
    );
    expect(take(envoy).every((r) => r.result.startsWith("0"))).toBe(true);
    expect(envoy.stats.prometheus(DESIGN_TAGS)).toBe(expectedTagged(buckets));
  });
});
