/**
 * The certificate directory `lightsub certs --out <dir>` writes:
 *
 *   <dir>/ca/ca.pem              the mesh CA certificate
 *   <dir>/ca/ca.key              its key, mode 0600 (only for a CA lightsub created;
 *                                never mounted, never in the compile output)
 *   <dir>/<service>/             mounted read-only at /etc/lightsub/certs
 *       identity.yaml, ca.yaml   SDS resources (compiler/envoy/tls.ts)
 *       cert.pem, key.pem, ca.pem → ..data/<same>
 *       ..data → ..<stamp>/      the current generation; key.pem 0600
 *
 * A rotation writes a new generation directory, then renames a fresh
 * `..data` symlink over the old one (one atomic rename, the move Envoy's
 * watched_directory reacts to), then removes the old generation. Envoy never
 * sees a certificate without its key.
 */
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CERT_FILES, sdsResourceFiles } from "../envoy/tls.js";
import { toYaml } from "../emit/yaml-text.js";
import type { Leaf } from "./x509.js";

export const CA_DIR = "ca";
export const CA_CERT_FILE = "ca.pem";
export const CA_KEY_FILE = "ca.key";
const DATA_LINK = "..data";
let generation = 0;

/** Writes a file readable by its owner only (keys). */
export function writePrivate(path: string, content: string): void {
  writeFileSync(path, content, { mode: 0o600 });
  chmodSync(path, 0o600); // an existing file keeps its mode on write
}

/** The SDS files and the first (or next) generation of a service's certificate directory. */
export function writeServiceCerts(dir: string, leaf: Leaf, caPem: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (const [name, content] of Object.entries(sdsResourceFiles())) {
    const path = join(dir, name);
    if (!existsSync(path)) writeFileSync(path, toYaml(content, "SDS resource of lightsub certs (compiler/envoy/tls.ts)"));
  }
  const stamp = `..${new Date().toISOString().replace(/[-:]/g, "").replace(".", "_")}_${process.pid}_${++generation}`;
  const gen = join(dir, stamp);
  mkdirSync(gen, { mode: 0o755 });
  writeFileSync(join(gen, CERT_FILES.cert), leaf.certPem);
  writePrivate(join(gen, CERT_FILES.key), leaf.keyPem);
  writeFileSync(join(gen, CERT_FILES.ca), caPem);
  const previous = existsSync(join(dir, DATA_LINK)) ? readlinkSync(join(dir, DATA_LINK)) : undefined;
  const tmpLink = join(dir, `..data_tmp_${process.pid}`);
  rmSync(tmpLink, { force: true });
  symlinkSync(stamp, tmpLink);
  renameSync(tmpLink, join(dir, DATA_LINK));
  for (const name of Object.values(CERT_FILES)) {
    const link = join(dir, name);
    if (!existsSync(link)) symlinkSync(`${DATA_LINK}/${name}`, link);
  }
  if (previous !== undefined && previous !== stamp) rmSync(join(dir, previous), { recursive: true, force: true });
}

/** The current certificate of a service directory (PEM). */
function readServiceCert(dir: string): string {
  return readFileSync(join(dir, CERT_FILES.cert), "utf8");
}

/** Generation directories left in a service directory (one, after a completed write). */
function generations(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith("..") && n !== DATA_LINK && !n.startsWith("..data"));
}
