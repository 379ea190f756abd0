/**
 * Failover inside an endpoint cluster (docs/design.md "Failover"): the
 * endpoint cluster `C_ep<k>` holds endpoint k at priority 0 and up to
 * MAX_FAILOVER_HOSTS of C's other endpoints at priority 1. Envoy sends the
 * filter's pick to k while k is healthy; when health checks or outlier
 * detection take k out, the cluster's priority load moves to priority 1 at
 * once (panic threshold 0), and a retry excludes the priorities already tried
 * (`previous_priorities` on the scheduled route), so it reaches another
 * endpoint. Each priority-1 host carries metadata naming its own endpoint
 * cluster: the filter reads it at the end of a request
 * (`xds.upstream_host_metadata`) and so learns that k did not serve it.
 *
 * Only services whose connector can use it get it (more than one endpoint and
 * retries, outlier detection or health checks): without any of those Envoy
 * never leaves k, so the extra hosts would only cost config size.
 */
import type { ServiceModel } from "../model/mesh.js";

/** At most this many other endpoints back up each endpoint: n × min(n − 1, 8) extra hosts per called service. */
const MAX_FAILOVER_HOSTS = 8;

export function hasFailover(callee: ServiceModel): boolean {
  const { retries, outlierDetection, healthCheck } = callee.connector;
  return callee.endpoints.length > 1 && (retries !== undefined || outlierDetection !== undefined || healthCheck !== undefined);
}

/** The endpoints backing up endpoint `k` of `n`: the next ones in policy order, wrapping around. */
export function failoverIndexes(n: number, k: number): number[] {
  const count = Math.min(n - 1, MAX_FAILOVER_HOSTS);
  const out: number[] = [];
  for (let i = 1; i <= count; i++) out.push((k + i) % n);
  return out;
}
