/**
 * `lightsub certs <policy> --out <dir>`: the mesh CA and one leaf per service
 * (store.ts describes the directory). `--ca-cert/--ca-key` use the user's CA;
 * `--rotate` reissues every leaf in an existing directory; `--validity` sets
 * the leaves' lifetime (default 24h).
 *
 * Everything is checked and every certificate issued in memory before the
 * first byte is written: a bad input writes nothing. Exit codes as the other
 * commands: 0 ok, 1 policy or certificate input errors, 2 usage.
 */
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { parseCommandLine, UsageError } from "./args.js";
import { formatDiagnostic, hasErrors } from "../compiler/diagnostics.js";
import { spiffeId } from "../compiler/model.js";
import { OUTPUT_MARKER } from "../compiler/output/write.js";
import { checkPolicy } from "../compiler/policy/index.js";
import { readPolicyFile } from "../compiler/policy/load.js";
import { CA_CERT_FILE, CA_DIR, CA_KEY_FILE, writePrivate, writeServiceCerts } from "../compiler/certs/store.js";
import { CertInputError, createCa, issueLeaf, loadCa, type Ca, type Leaf } from "../compiler/certs/x509.js";

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

export const DEFAULT_LEAF_VALIDITY = "24h";
const CA_VALIDITY_MS = 365 * 24 * 3_600_000;
const MAX_VALIDITY_MS = 365 * 24 * 3_600_000;

/** A usage problem (exit 2), reported as every command reports them (args.ts). */
export class CertsUsageError extends UsageError {
  constructor(message: string) {
    super(message, "certs");
  }
}

interface Io {
  out: (text: string) => void;
  err: (text: string) => void;
}

/** `30m`, `24h`, `7d` → milliseconds (at least 1 minute, at most 365 days). */
export function parseValidity(text: string): number {
  const m = /^([1-9][0-9]{0,5})(m|h|d)$/.exec(text);
  if (!m) throw new CertsUsageError(`--validity must be a whole number of minutes, hours or days, like 30m, 24h or 7d, got ${JSON.stringify(text)}`);
  const ms = Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "m" | "h" | "d"];
  if (ms > MAX_VALIDITY_MS) throw new CertsUsageError(`--validity must be at most 365d, got ${text}`);
  return ms;
}

function readInput(path: string, flag: string): string {
  try {
    if (statSync(path).size > 1024 * 1024) throw new CertInputError(`${flag} ${path}: larger than 1 MiB, not a PEM file`);
    return readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof CertInputError) throw e;
    throw new CertInputError(`${flag} ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
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
    return 0;
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
    return 1;
  }
  const checked = checkPolicy(read.text, file);
  for (const d of checked.diagnostics) io.err(formatDiagnostic(d));
  if (!checked.model || hasErrors(checked.diagnostics)) return 1;
  const model = checked.model;
  if (!model.security) {
    io.err(`lightsub: ${file}: the mesh has no mutual TLS (spec.security is missing or mtls is off), so its sidecars would not use certificates; set spec.security.mtls to strict or permissive`);
    return 1;
  }

  const exists = existsSync(out) && readdirSync(out).length > 0;
  if (exists && !values.rotate) throw new CertsUsageError(`${out}: exists and is not empty; use --rotate to reissue the certificates in it, or choose another --out`);
  if (!exists && values.rotate) throw new CertsUsageError(`${out}: nothing to rotate (no certificates there yet); run without --rotate first`);

  try {
    // 1. The CA: given, found in <out>/ca (rotation), or new.
    let ca: Ca;
    let newCaKey: string | undefined;
    if (values["ca-cert"] !== undefined) {
      ca = await loadCa(readInput(values["ca-cert"], "--ca-cert"), readInput(values["ca-key"]!, "--ca-key"));
    } else if (values.rotate) {
      const certPath = join(out, CA_DIR, CA_CERT_FILE);
      const keyPath = join(out, CA_DIR, CA_KEY_FILE);
      if (!existsSync(keyPath)) throw new CertInputError(`${out}: has no CA key (${keyPath}); the CA is yours: pass --ca-cert and --ca-key`);
      ca = await loadCa(readInput(certPath, certPath), readInput(keyPath, keyPath), { cert: certPath, key: keyPath });
    } else {
      const created = await createCa(model.security.trustDomain, CA_VALIDITY_MS);
      ca = created.ca;
      newCaKey = created.keyPem;
    }
    if (values.rotate) {
      const onDisk = join(out, CA_DIR, CA_CERT_FILE);
      if (existsSync(onDisk) && readFileSync(onDisk, "utf8").trim() !== ca.certPem.trim()) {
        throw new CertInputError(`${out}: its sidecars trust another CA (${onDisk}); rotating leaves onto a new CA would cut them off. Issue a fresh directory instead`);
      }
    }
    // 2. Every leaf, in memory.
    const leaves: Array<[string, Leaf]> = [];
    for (const s of model.services) leaves.push([s.name, await issueLeaf(ca, spiffeId(model.security.trustDomain, s.name), validityMs)]);

    // 3. Write: a new directory appears whole (staged, renamed); a rotation swaps each service's generation atomically.
    if (values.rotate) {
      for (const [name, leaf] of leaves) writeServiceCerts(join(out, name), leaf, ca.certPem);
    } else {
      const target = resolve(out);
      const staging = join(dirname(target), `.${basename(target)}.certs-new-${process.pid}`);
      rmSync(staging, { recursive: true, force: true });
      try {
        mkdirSync(join(staging, CA_DIR), { recursive: true });
        writePrivate(join(staging, CA_DIR, CA_CERT_FILE), ca.certPem); // not secret; 0600 is harmless
        if (newCaKey !== undefined) writePrivate(join(staging, CA_DIR, CA_KEY_FILE), newCaKey);
        for (const [name, leaf] of leaves) writeServiceCerts(join(staging, name), leaf, ca.certPem);
        if (existsSync(target)) rmSync(target, { recursive: true }); // empty (checked above)
        renameSync(staging, target);
      } catch (e) {
        rmSync(staging, { recursive: true, force: true });
        throw e;
      }
    }
    const until = leaves[0]?.[1].notAfter.toISOString() ?? "";
    io.out(`${file}: ${values.rotate ? "reissued" : "wrote"} ${leaves.length} service certificate${leaves.length === 1 ? "" : "s"} (valid until ${until})${newCaKey ? " and a new mesh CA" : ""} in ${out}`);
    return 0;
  } catch (e) {
    if (e instanceof CertInputError) {
      io.err(`lightsub: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
