/**
 * Generated policies for the compiler benchmark: `services` services, each
 * calling the next `calls` ones (wrapping around), written as block YAML the
 * way a person would (the yaml package's stringify would dominate the time
 * for 10,000 services). Every service has three endpoints (the size of the
 * issue's 10,000-service target: 200,000 clusters) and a connector with a
 * timeout and retries; strategies and protocols rotate so that every generator
 * of the compiler (hash ring, gRPC, weights) is exercised.
 */

const STRATEGIES = ["round_robin", "least_latency", "least_load", "weighted", "availability", "random", "consistent_hash"] as const;
/** Strategies that follow endpoint weights (others warn about weights: LS031). */
const WEIGHTED = new Set<string>(["weighted", "consistent_hash"]);

export interface GeneratedPolicy {
  services: number;
  callsPerService: number;
  text: string;
}

export function generatePolicy(services: number, callsPerService = 5): GeneratedPolicy {
  if (!Number.isInteger(services) || services < 2) throw new RangeError(`need at least 2 services, got ${services}`);
  const calls = Math.min(callsPerService, services - 1);
  const lines = [
    "apiVersion: lightsub/v1",
    "kind: Mesh",
    `metadata: { name: bench-${services} }`,
    "spec:",
    "  scheduler: { strategy: least_latency, decay: 10s }",
    "  services:",
  ];
  for (let i = 0; i < services; i++) {
    const strategy = STRATEGIES[i % STRATEGIES.length]!;
    lines.push(
      `    - name: svc-${i}`,
      "      port: 8080",
      `      protocol: ${i % 4 === 0 ? "grpc" : "http"}`,
      "      endpoints:",
      `        - { address: svc-${i}-a, port: 15006${WEIGHTED.has(strategy) ? ", weight: 2" : ""} }`,
      `        - { address: svc-${i}-b, port: 15006 }`,
      `        - { address: svc-${i}-c, port: 15006 }`,
      "      calls:",
    );
    // Each outbound listener needs its own local port; the callee's port (8080) is the app's own.
    for (let k = 1; k <= calls; k++) lines.push(`        - { service: svc-${(i + k) % services}, port: ${7000 + k} }`);
    const hashOn = strategy === "consistent_hash" ? ", hashOn: { header: x-user-id }" : "";
    lines.push(`      scheduler: { strategy: ${strategy}${hashOn} }`);
    lines.push("      connector:", "        timeout: 2s", "        retries: { attempts: 2, on: [5xx, reset], perTryTimeout: 500ms }");
  }
  return { services, callsPerService: calls, text: `${lines.join("\n")}\n` };
}
