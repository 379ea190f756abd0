/**
 * The exit codes of every lightsub command: a contract users script against
 * (README "Commands"). The one table; each subcommand returns one of these.
 */
export const EXIT = {
  /** Done; warnings may have been printed. */
  ok: 0,
  /** Problems in what the user gave: the policy, a workload, certificate inputs (printed as diagnostics or one line). */
  policyErrors: 1,
  /** A mistake on the command line, or a path that cannot be used (--out, --wasm, --report). */
  usage: 2,
  /** A lightsub bug. */
  internal: 3,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
