// Metric definitions (docs/design.md, "Metrics"), from the one table
// (table.ts). Defined at configure time, once per VM: a reconfiguration reuses
// the ids of names defined before.
import { INVALID_METRIC, MetricType, defineMetric } from "../../proxy-wasm/index";
import { METRIC_ENDPOINT_SEGMENT, METRIC_ROOT, METRIC_SERVICE_SEGMENT } from "../base/wire";
import { METRICS, Scope } from "./table";

const definedIds = new Map<string, u32>();

function metric(type: MetricType, name: string): u32 {
  if (definedIds.has(name)) return definedIds.get(name);
  const id = defineMetric(type, name);
  if (id != INVALID_METRIC) definedIds.set(name, id);
  return id;
}

/** "lightsub.service.<service>.": the name prefix of a destination's metrics. */
export function destinationMetricPrefix(service: string): string {
  return METRIC_ROOT + "." + METRIC_SERVICE_SEGMENT + "." + service + ".";
}

/** "lightsub.service.<service>.endpoint.<stat>.": the name prefix of an endpoint's metrics. */
export function endpointMetricPrefix(service: string, stat: string): string {
  return destinationMetricPrefix(service) + METRIC_ENDPOINT_SEGMENT + "." + stat + ".";
}

/** Defines every metric of `scope` as prefix + its name; ids[metric] = its id (ids spans the metrics of the scope). */
export function defineMetrics(ids: StaticArray<u32>, prefix: string, scope: Scope): void {
  const n = ids.length < METRICS.length ? ids.length : METRICS.length;
  for (let m = 0; m < n; m++) {
    const row = METRICS[m];
    if (row.scope == scope) ids[m] = metric(row.type, prefix + row.name);
  }
}
