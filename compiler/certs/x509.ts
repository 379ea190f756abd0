/**
 * The mesh's X.509 material (issue 17): a CA, and one leaf per service with
 * an ECDSA P-256 key and its SPIFFE ID as the only URI SAN.
 *
 * Signing uses @peculiar/x509 (node:crypto makes keys but cannot build or
 * sign certificates); keys are made and parsed with node:crypto.
 */
import "reflect-metadata"; // @peculiar/x509's dependency injection (tsyringe) needs it loaded first
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from "node:crypto";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
/** Issued certificates start this much before "now", for clocks a little behind. */
const BACKDATE_MS = 5 * 60_000;

/** A certificate input the user gave (or a file on disk) is unusable: a clear message, nothing written. */
export class CertInputError extends Error {}

export interface Ca {
  cert: x509.X509Certificate;
  certPem: string;
  /** The CA's signing key (never written anywhere but the CA's own key file). */
  key: CryptoKey;
}

export interface Leaf {
  certPem: string;
  keyPem: string;
  /** Serial number, lowercase hex, as Envoy's /certs shows it. */
  serial: string;
  notAfter: Date;
}

function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, and no leading zero byte to strip
  return bytes.toString("hex");
}

function pkcs8Pem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}-----END PRIVATE KEY-----\n`;
}

async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
}

/** A new self-signed mesh CA (path length 0: it signs leaves only). */
export async function createCa(trustDomain: string, validityMs: number, now = new Date()): Promise<{ ca: Ca; keyPem: string }> {
  const keys = await newKeyPair();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `O=lightsub, CN=lightsub mesh CA ${trustDomain}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validityMs),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
    ],
  });
  const keyPem = pkcs8Pem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { ca: { cert, certPem: cert.toString("pem") + "\n", key: keys.privateKey }, keyPem };
}

/**
 * A CA the user gives (`--ca-cert`, `--ca-key`): PEM certificate of a CA, an
 * ECDSA P-256 private key, and the key must be the certificate's.
 */
export async function loadCa(certPem: string, keyPem: string, names = { cert: "--ca-cert", key: "--ca-key" }): Promise<Ca> {
  if (!/-----BEGIN CERTIFICATE-----/.test(certPem)) throw new CertInputError(`${names.cert}: not a PEM certificate (no "-----BEGIN CERTIFICATE-----" block)`);
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem.slice(certPem.indexOf("-----BEGIN CERTIFICATE-----")));
  } catch (e) {
    throw new CertInputError(`${names.cert}: the PEM certificate cannot be read (${(e as Error).message})`);
  }
  const constraints = cert.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new CertInputError(`${names.cert}: "${cert.subject}" is not a CA certificate (basicConstraints CA:TRUE is missing)`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    throw new CertInputError(`${names.key}: not a PEM private key`);
  }
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType !== "ec" || details?.namedCurve !== "prime256v1") {
    const what = key.asymmetricKeyType === "ec" ? `an EC key on ${details?.namedCurve}` : `a key of type ${key.asymmetricKeyType?.toUpperCase() ?? "unknown"}`;
    throw new CertInputError(`${names.key}: ${what}; the mesh CA key must be ECDSA P-256`);
  }
  const spki = createPublicKey(key).export({ type: "spki", format: "der" });
  if (!Buffer.from(cert.publicKey.rawData).equals(spki)) {
    throw new CertInputError(`${names.key}: this key does not belong to the certificate in ${names.cert} (its public key differs)`);
  }
  const der = key.export({ type: "pkcs8", format: "der" });
  const signing = await webcrypto.subtle.importKey("pkcs8", der, ALG, false, ["sign"]);
  const pem = cert.toString("pem") + "\n";
  return { cert, certPem: pem, key: signing };
}

/** A leaf for `spiffeId`, signed by `ca`, valid `validityMs` from now (client and server auth). */
export async function issueLeaf(ca: Ca, spiffeId: string, validityMs: number, now = new Date()): Promise<Leaf> {
  const keys = await newKeyPair();
  const serial = serialNumber();
  const notAfter = new Date(now.getTime() + validityMs);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `O=lightsub, CN=${spiffeId.split("/").pop()}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: spiffeId }], true),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert, false),
    ],
  });
  const keyPem = pkcs8Pem(await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: cert.toString("pem") + "\n", keyPem, serial, notAfter };
}

/** Serial (hex) and URI SANs of a PEM certificate. */
function describeCert(pem: string): { serial: string; uris: string[]; notAfter: Date; issuer: string } {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const uris = (san?.names.items ?? []).filter((n) => n.type === "url").map((n) => n.value);
  return { serial: cert.serialNumber.toLowerCase(), uris, notAfter: cert.notAfter, issuer: cert.issuer };
}
