/**
 * Issuing a mesh's certificates into a directory (store.ts describes it): the
 * CA (the user's, the one already in the directory when rotating, or a new
 * one), one leaf per service with its SPIFFE ID, then the files.
 *
 * Everything is checked and every certificate issued in memory before the
 * first byte is written: a bad input writes nothing. A new directory appears
 * whole (staged, renamed); a rotation swaps each service's generation
 * atomically. Problems with the certificate inputs are CertInputError.
 */
import { existsSync, readFileSync, renameSync, rmSync, mkdirSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { spiffeId } from "../model/mesh.js";
import { CA_CERT_FILE, CA_DIR, CA_KEY_FILE, writePrivate, writeServiceCerts } from "./store.js";
import { CertInputError, createCa, issueLeaf, loadCa, type Ca, type Leaf } from "./x509.js";

const CA_VALIDITY_MS = 365 * 24 * 3_600_000;

export interface IssueOptions {
  /** The certificate directory: empty or absent, or (rotate) one written before. */
  out: string;
  trustDomain: string;
  services: readonly string[];
  /** The user's CA (PEM texts) instead of the directory's or a new one. */
  ca?: { certPem: string; keyPem: string };
  /** Reissue every service certificate in an existing `out`, on the same CA. */
  rotate: boolean;
  /** Lifetime of the service certificates. */
  validityMs: number;
}

export interface IssueResult {
  services: number;
  /** When the service certificates expire (undefined without services). */
  notAfter: Date | undefined;
  /** A new mesh CA was created (and its key written). */
  newCa: boolean;
}

/** A PEM input's text; CertInputError (named by `label`) when it is too large or cannot be read. */
export function readPemFile(path: string, label: string): string {
  try {
    if (statSync(path).size > 1024 * 1024) throw new CertInputError(`${label} ${path}: larger than 1 MiB, not a PEM file`);
    return readFileSync(path, "utf8");
  } catch (e) {
    if (e instanceof CertInputError) throw e;
    throw new CertInputError(`${label} ${path}: cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export async function issueMeshCerts(options: IssueOptions): Promise<IssueResult> {
  const { out, rotate } = options;
  // 1. The CA: given, found in <out>/ca (rotation), or new.
  let ca: Ca;
  let newCaKey: string | undefined;
  if (options.ca !== undefined) {
    ca = await loadCa(options.ca.certPem, options.ca.keyPem);
  } else if (rotate) {
    const certPath = join(out, CA_DIR, CA_CERT_FILE);
    const keyPath = join(out, CA_DIR, CA_KEY_FILE);
    if (!existsSync(keyPath)) throw new CertInputError(`${out}: has no CA key (${keyPath}); the CA is yours: pass --ca-cert and --ca-key`);
    ca = await loadCa(readPemFile(certPath, certPath), readPemFile(keyPath, keyPath), { cert: certPath, key: keyPath });
  } else {
    const created = await createCa(options.trustDomain, CA_VALIDITY_MS);
    ca = created.ca;
    newCaKey = created.keyPem;
  }
  if (rotate) {
    const onDisk = join(out, CA_DIR, CA_CERT_FILE);
    if (existsSync(onDisk) && readFileSync(onDisk, "utf8").trim() !== ca.certPem.trim()) {
      throw new CertInputError(`${out}: its sidecars trust another CA (${onDisk}); rotating leaves onto a new CA would cut them off. Issue a fresh directory instead`);
    }
  }
  // 2. Every leaf, in memory.
  const leaves: Array<[string, Leaf]> = [];
  for (const name of options.services) leaves.push([name, await issueLeaf(ca, spiffeId(options.trustDomain, name), options.validityMs)]);

  // 3. Write: a new directory appears whole (staged, renamed); a rotation swaps each service's generation atomically.
  if (rotate) {
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
      if (existsSync(target)) rmSync(target, { recursive: true }); // empty (the caller checked)
      renameSync(staging, target);
    } catch (e) {
      rmSync(staging, { recursive: true, force: true });
      throw e;
    }
  }
  return { services: leaves.length, notAfter: leaves[0]?.[1].notAfter, newCa: newCaKey !== undefined };
}
