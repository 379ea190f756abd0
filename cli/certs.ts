/**
 * `lightsub certs <policy> --out <dir>`: the command line of certificate
 * issuing (compiler/certs/issue.ts issues, compiler/certs/store.ts describes
 * the directory). `--ca-cert/--ca-key` use the user's CA; `--rotate` reissues
 * every leaf in an existing directory; `--validity` sets the leaves' lifetime
 * (default 24h).
 *
 * Arguments, the output directory and the policy are checked before anything
 * is issued; issuing writes nothing on a bad input. Exit codes (exit-codes.ts):
 * 0 ok, 1 policy or certificate input errors, 2 usage.
 */
import { existsSync, readdirSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseCommandLine, UsageError } from "./args.js";
import { EXIT } from "./exit-codes.js";
import { CERTS_USAGE } from "./help.js";
import type { Io } from "./io.js";
import { formatDiagnostic, hasErrors } from "../compiler/diagnostics/index.js";
import { OUTPUT_MARKER } from "../compiler/write/write.js";
import { checkPolicy } from "../compiler/check-policy.js";
import { readPolicyFile } from "../compiler/policy/load.js";
import { issueMeshCerts, readPemFile } from "../compiler/certs/issue.js";
import { CertInputError } from "../compiler/certs/x509.js";


const DEFAULT_LEAF_VALIDITY = "24h";
const MAX_VALIDITY_MS = 365 * 24 * 3_600_000;

/** A usage problem (exit 2), reported as every command reports them (args.ts). */
class CertsUsageError extends UsageError {
  constructor(message: string) {
    super(message, "certs");
  }
}

/** `30m`, `24h`, `7d` → milliseconds (at least 1 minute, at most 365 days). */
function parseValidity(text: string): number {
  const m = /^([1-9][0-9]{0,5})(m|h|d)$/.exec(text);
  if (!m) throw new CertsUsageError(`--validity must be a whole number of minutes, hours or days, like 30m, 24h or 7d, got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
  if (ms > MAX_VALIDITY_MS) throw new CertsUsageError(`--validity must be at most 365d, got ${text}`);
  return ms;
}

/** Refuses to put certificates (and a CA key) into, or over, a compile output directory. */
function checkNotCompileOutput(out: string): void {
  let dir = resolve(out);
  for (;;) {
    if (existsSync(join(dir, OUTPUT_MARKER))) {
      throw new CertsUsageError(`${out}: is inside the compile output ${dir}; keep certificates (and the CA key) out of it, e.g. --out ${join(dirname(dir), `${basename(dir)}-certs`)}`);
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
}

export async function certsCommand(args: string[], io: Io): Promise<number> {
  const parsed = parseCommandLine("certs", args, {
    out: { type: "string", short: "o" },
    "ca-cert": { type: "string" },
    "ca-key": { type: "string" },
    validity: { type: "string" },
    rotate: { type: "boolean" },
  });
  if (parsed.help) {
    io.out(CERTS_USAGE);
    return EXIT.ok;
  }
  const { positionals } = parsed;
  const values = parsed.values as { out?: string; "ca-cert"?: string; "ca-key"?: string; validity?: string; rotate?: boolean };
  if (positionals.length !== 1) throw new CertsUsageError(`expected one policy file, got ${positionals.length}`);
  if (!values.out) throw new CertsUsageError("certs needs --out <dir>");
  if ((values["ca-cert"] === undefined) !== (values["ca-key"] === undefined)) throw new CertsUsageError("--ca-cert and --ca-key go together");
  const validityMs = parseValidity(values.validity ?? DEFAULT_LEAF_VALIDITY);
  const out = values.out;
  checkNotCompileOutput(out);
  const file = positionals[0]!;

  const read = await readPolicyFile(file);
  if (read.text === undefined) {
    for (const p of read.problems) io.err(formatDiagnostic({ file, line: 1, column: 1, severity: p.severity, code: p.code, message: p.message }));
    return EXIT.policyErrors;
  }
  const checked = checkPolicy(read.text, file);
  for (const d of checked.diagnostics) io.err(formatDiagnostic(d));
  if (!checked.model || hasErrors(checked.diagnostics)) return EXIT.policyErrors;
  const model = checked.model;
  if (!model.security) {
    io.err(`lightsub: ${file}: the mesh has no mutual TLS (spec.security is missing or mtls is off), so its sidecars would not use certificates; set spec.security.mtls to strict or permissive`);
    return EXIT.policyErrors;
  }

  const exists = existsSync(out) && readdirSync(out).length > 0;
  if (exists && !values.rotate) throw new CertsUsageError(`${out}: exists and is not empty; use --rotate to reissue the certificates in it, or choose another --out`);
  if (!exists && values.rotate) throw new CertsUsageError(`${out}: nothing to rotate (no certificates there yet); run without --rotate first`);

  try {
    const issued = await issueMeshCerts({
      out,
      trustDomain: model.security.trustDomain,
      services: model.services.map((s) => s.name),
      ...(values["ca-cert"] !== undefined ? { ca: { certPem: readPemFile(values["ca-cert"], "--ca-cert"), keyPem: readPemFile(values["ca-key"]!, "--ca-key") } } : {}),
      rotate: values.rotate === true,
      validityMs,
    });
    const until = issued.notAfter?.toISOString() ?? "";
    io.out(`${file}: ${values.rotate ? "reissued" : "wrote"} ${issued.services} service certificate${issued.services === 1 ? "" : "s"} (valid until ${until})${issued.newCa ? " and a new mesh CA" : ""} in ${out}`);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CertInputError) {
      io.err(`lightsub: ${e.message}`);
      return EXIT.policyErrors;
    }
    throw e;
  }
}
