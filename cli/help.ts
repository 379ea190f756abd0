/**
 * The help text of every lightsub command (`lightsub --help`,
 * `lightsub <command> --help`, `lightsub help <command>`), in one place so
 * that printing help loads nothing else. README "Commands" says the same.
 */

export const USAGE = `usage:
  lightsub compile <policy> --out <dir>   write <dir>/<service>/envoy.yaml, <dir>/docker-compose.yaml, <dir>/lightsub.wasm
  lightsub validate <policy>              check the policy and the Envoy config it compiles to; write nothing
  lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html]
                                          run the real filter against a simulated destination and compare strategies
  lightsub certs <policy> --out <dir>     mutual TLS: the mesh CA and a certificate per service (--rotate reissues them)
  lightsub <command> --help               the command's options
  lightsub --help | --version

<policy> may be - to read the policy from standard input.
exit codes: 0 ok, 1 policy errors, 2 usage errors, 3 internal error (a bug: please report it)`;

const policyOptions = (effect: string) => `    <policy>              the policy file (YAML or JSON); - reads it from standard input
    --warnings-as-errors  treat every warning as an error (exit 1${effect}); for CI`;

export const COMPILE_USAGE = `usage: lightsub compile <policy> --out <dir> [--wasm <file>] [--certs <dir>] [--warnings-as-errors]
  checks the policy and writes <dir>/<service>/envoy.yaml for every service, <dir>/docker-compose.yaml
  and <dir>/lightsub.wasm, atomically: on any error or Ctrl-C nothing in <dir> changes
${policyOptions(", nothing written")}
    -o, --out <dir>       the output directory: new, empty, or written by lightsub before (it is replaced);
                          a symbolic link is followed; a read-only directory is refused
    --wasm <file>         the filter to ship as lightsub.wasm (default: build/lightsub.wasm, from npm run build);
                          it must be a proxy-wasm module (ABI 0.2.1) importing only what Envoy provides
    --certs <dir>         mTLS (spec.security): the directory of lightsub certs that docker compose mounts
                          (default: <mesh name>-certs beside <dir>)
exit codes: 0 ok, 1 policy errors, 2 usage errors (also: unusable --out or --wasm), 3 internal error`;

export const VALIDATE_USAGE = `usage: lightsub validate <policy> [--wasm <file>] [--warnings-as-errors]
  checks the policy and every sidecar config it compiles to against Envoy's API; writes nothing
${policyOptions("")}
    --wasm <file>         also check that this filter is a proxy-wasm module Envoy can load
exit codes: 0 ok, 1 policy errors, 2 usage errors, 3 internal error`;

export const SIMULATE_USAGE = `usage:
  lightsub simulate <policy> [--workload <file>] [--seed N] [--json] [--report out.html [--force]] [--wasm <file>] [--progress]
    runs the policy's scheduling against a simulated destination, next to every other strategy,
    Envoy's native load balancers and an oracle; the workload is the policy's simulation: section
    or --workload <file> (schemas/workload.schema.json)
    --json             print the result as JSON (format: simulate/README.md)
    <policy>           the policy file; - reads it from standard input
    --report out.html  also write a self-contained HTML report with charts; it never replaces the policy,
                       the workload or the filter, and replaces another existing file only when it is
                       an earlier lightsub report (checked before the simulation runs)
    --force            let --report replace an existing file that is not a lightsub report
    --seed N           random seed (default: the workload's seed, else 1); same seed, same result
    --wasm <file>      the built filter (default build/lightsub.wasm)
    --progress         show progress on stderr even when it is not a terminal (one line per 10%)`;

export const CERTS_USAGE = `usage: lightsub certs <policy> --out <dir> [--ca-cert <pem> --ca-key <pem>] [--validity 24h] [--rotate]
  for a policy with spec.security: creates the mesh CA (or uses yours) and one certificate per service,
  an ECDSA P-256 key and its SPIFFE ID spiffe://<trust-domain>/svc/<service>; nothing is written on any error
    <policy>              the policy file (YAML or JSON)
    -o, --out <dir>       where to write: <dir>/ca/ (the CA; its key only when lightsub made it) and <dir>/<service>/,
                          which docker compose mounts (compile's default: ../<mesh name>-certs beside its output)
    --ca-cert <pem>       use this CA certificate (ECDSA P-256) instead of making one ...
    --ca-key <pem>        ... with its private key (never copied)
    --validity <time>     lifetime of the service certificates: 30m, 24h (default), 7d; at most 365d
    --rotate              reissue every service certificate in an existing <dir> on the same CA; Envoy picks
                          them up without a restart
exit codes: 0 ok, 1 policy errors or unusable certificate inputs, 2 usage errors, 3 internal error`;

/** The usage text of a command, undefined for a name that is not one. */
export function commandUsage(command: string): string | undefined {
  switch (command) {
    case "compile":
      return COMPILE_USAGE;
    case "validate":
      return VALIDATE_USAGE;
    case "simulate":
      return SIMULATE_USAGE;
    case "certs":
      return CERTS_USAGE;
    default:
      return undefined;
  }
}
