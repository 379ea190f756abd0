/**
 * `lightsub certs` (issue 17): the mesh CA and one ECDSA P-256 leaf per
 * service with its SPIFFE ID as URI SAN, keys at mode 0600, --validity,
 * --rotate, a CA the user gives, and certificate inputs that are wrong in
 * every way we could think of (and random bytes): a clear error, exit 1, and
 * nothing written. Envoy loading and rotating them: test/e2e/mesh-mtls.test.ts.
 */
import { X509Certificate, createPrivateKey, generateKeyPairSync } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { certsCommand } from "../../cli/certs.js";
import { createCa, issueLeaf } from "../../compiler/certs/x509.js";
import { main } from "../../cli/main.js";
import { OUTPUT_MARKER } from "../../compiler/write/write.js";

const POLICY = "test/fixtures/mesh/secure.yaml";
const SERVICES = ["web", "api", "ledger", "reports", "audit"];
const root = mkdtempSync(join(tmpdir(), "lightsub-certs-test-"));
let n = 0;
const fresh = () => join(root, `out-${++n}`);

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(["certs", ...args], { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

function leafOf(dir: string, service: string): X509Certificate {
  return new X509Certificate(readFileSync(join(dir, service, "cert.pem")));
}

const mode = (path: string) => statSync(path).mode & 0o777;

describe("lightsub certs", () => {
  it("creates a CA and a P-256 leaf per service: SPIFFE URI SAN, signed by the CA, valid 24 h, keys 0600", async () => {
    const dir = fresh();
    const r = await run([POLICY, "--out", dir]);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain("wrote 5 service certificates");
    const ca = new X509Certificate(readFileSync(join(dir, "ca", "ca.pem")));
    expect(ca.ca).toBe(true);
    expect(mode(join(dir, "ca", "ca.key"))).toBe(0o600);
    for (const s of SERVICES) {
      const leaf = leafOf(dir, s);
      expect(leaf.subjectAltName).toBe(`URI:spiffe://secure.test/svc/${s}`);
      expect(leaf.ca).toBe(false);
      expect(leaf.checkIssued(ca) && leaf.verify(ca.publicKey)).toBe(true);
      expect(leaf.publicKey.asymmetricKeyDetails?.namedCurve).toBe("prime256v1");
      const lifetime = Date.parse(leaf.validTo) - Date.now();
      expect(lifetime).toBeGreaterThan(23.9 * 3_600_000);
      expect(lifetime).toBeLessThan(24.1 * 3_600_000);
      // The key is the certificate's, readable by its owner only (through the ..data symlink).
      const keyPath = join(dir, s, "key.pem");
      expect(lstatSync(keyPath).isSymbolicLink()).toBe(true);
      expect(mode(keyPath)).toBe(0o600);
      expect(leaf.checkPrivateKey(createPrivateKey(readFileSync(keyPath)))).toBe(true);
      expect(readFileSync(join(dir, s, "ca.pem"), "utf8")).toBe(readFileSync(join(dir, "ca", "ca.pem"), "utf8"));
      expect(readdirSync(join(dir, s)).sort()).toEqual(expect.arrayContaining(["..data", "ca.pem", "ca.yaml", "cert.pem", "identity.yaml", "key.pem"]));
    }
  });

  it("--validity sets the leaves' lifetime; a bad one is a usage error", async () => {
    const dir = fresh();
    expect((await run([POLICY, "--out", dir, "--validity", "2h"])).code).toBe(0);
    const lifetime = Date.parse(leafOf(dir, "api").validTo) - Date.now();
    expect(lifetime).toBeGreaterThan(1.9 * 3_600_000);
    expect(lifetime).toBeLessThan(2.1 * 3_600_000);
    for (const bad of ["0h", "2 hours", "-1d", "400d"]) {
      const r = await run([POLICY, "--out", fresh(), "--validity", bad]);
      expect(r.code, bad).toBe(2);
      expect(r.err).toContain("--validity");
    }
  });

  it("--rotate reissues every leaf (new serial and key) on the same CA, swapping ..data atomically, old generation gone", async () => {
    const dir = fresh();
    expect((await run([POLICY, "--out", dir])).code).toBe(0);
    const before = Object.fromEntries(SERVICES.map((s) => [s, { serial: leafOf(dir, s).serialNumber, data: readlinkSync(join(dir, s, "..data")), key: readFileSync(join(dir, s, "key.pem"), "utf8") }]));
    const caBefore = readFileSync(join(dir, "ca", "ca.pem"), "utf8");
    const again = await run([POLICY, "--out", dir]);
    expect(again.code).toBe(2);
    expect(again.err).toContain("--rotate");
    const r = await run([POLICY, "--out", dir, "--rotate"]);
    expect(r.code, r.err).toBe(0);
    expect(readFileSync(join(dir, "ca", "ca.pem"), "utf8")).toBe(caBefore);
    const ca = new X509Certificate(caBefore);
    for (const s of SERVICES) {
      const leaf = leafOf(dir, s);
      expect(leaf.serialNumber).not.toBe(before[s]!.serial);
      expect(readFileSync(join(dir, s, "key.pem"), "utf8")).not.toBe(before[s]!.key);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      const data = readlinkSync(join(dir, s, "..data"));
      expect(data).not.toBe(before[s]!.data);
      expect(existsSync(join(dir, s, before[s]!.data))).toBe(false);
      expect(mode(join(dir, s, "key.pem"))).toBe(0o600);
    }
  });

  it("--ca-cert/--ca-key: leaves signed by the user's CA, whose key is never copied", async () => {
    const { ca, keyPem } = await createCa("secure.test", 3_600_000);
    const caDir = fresh();
    mkdirSync(caDir);
    writeFileSync(join(caDir, "ca.pem"), ca.certPem);
    writeFileSync(join(caDir, "ca.key"), keyPem, { mode: 0o600 });
    const dir = fresh();
    const r = await run([POLICY, "--out", dir, "--ca-cert", join(caDir, "ca.pem"), "--ca-key", join(caDir, "ca.key")]);
    expect(r.code, r.err).toBe(0);
    expect(existsSync(join(dir, "ca", "ca.key"))).toBe(false);
    const mine = new X509Certificate(ca.certPem);
    for (const s of SERVICES) expect(leafOf(dir, s).verify(mine.publicKey)).toBe(true);
    // Rotation then needs the CA again (lightsub does not keep it).
    expect((await run([POLICY, "--out", dir, "--rotate"])).code).toBe(1);
    expect((await run([POLICY, "--out", dir, "--rotate", "--ca-cert", join(caDir, "ca.pem"), "--ca-key", join(caDir, "ca.key")])).code).toBe(0);
  });

  describe("bad certificate inputs: a clear error, exit 1, nothing written", async () => {
    const { ca, keyPem } = await createCa("secure.test", 3_600_000);
    const { keyPem: otherKey } = await createCa("secure.test", 3_600_000);
    const leaf = await issueLeaf(ca, "spiffe://secure.test/svc/x", 3_600_000);
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const p384 = generateKeyPairSync("ec", { namedCurve: "P-384" }).privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const ed = generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const cases: Array<[string, string, string, RegExp]> = [
      ["garbage certificate", "hello\n", keyPem, /--ca-cert: not a PEM certificate/],
      ["truncated certificate", ca.certPem.slice(0, 200), keyPem, /--ca-cert: the PEM certificate cannot be read/],
      ["certificate block of garbage", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", keyPem, /--ca-cert: the PEM certificate cannot be read/],
      ["a leaf, not a CA", leaf.certPem, leaf.keyPem, /is not a CA certificate/],
      ["garbage key", ca.certPem, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", /--ca-key: not a PEM private key/],
      ["a certificate as the key", ca.certPem, ca.certPem, /--ca-key: not a PEM private key/],
      ["RSA key", ca.certPem, rsa, /--ca-key: a key of type RSA; the mesh CA key must be ECDSA P-256/],
      ["P-384 key", ca.certPem, p384, /--ca-key: an EC key on secp384r1; the mesh CA key must be ECDSA P-256/],
      ["Ed25519 key", ca.certPem, ed, /--ca-key: a key of type ED25519; the mesh CA key must be ECDSA P-256/],
      ["a CA key that does not match", ca.certPem, otherKey, /--ca-key: this key does not belong to the certificate in --ca-cert/],
    ];
    const inputs = fresh();
    mkdirSync(inputs);
    for (const [name, cert, key, message] of cases) {
      it(name, async () => {
        const tag = name.replace(/\W+/g, "-");
        writeFileSync(join(inputs, `${tag}.crt`), cert);
        writeFileSync(join(inputs, `${tag}.key`), key);
        const dir = fresh();
        const r = await run([POLICY, "--out", dir, "--ca-cert", join(inputs, `${tag}.crt`), "--ca-key", join(inputs, `${tag}.key`)]);
        expect(r.code).toBe(1);
        expect(r.err).toMatch(message);
        expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
        expect(existsSync(dir)).toBe(false);
        expect(readdirSync(root).filter((f) => f.includes("certs-new"))).toEqual([]);
      });
    }

    it("random bytes as certificate or key (fast-check)", async () => {
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), async (bytes, asCert) => {
          const file = join(inputs, "random.bin");
          writeFileSync(file, bytes);
          writeFileSync(join(inputs, "ca.pem"), ca.certPem);
          writeFileSync(join(inputs, "ca.key"), keyPem);
          const dir = fresh();
          const args = asCert ? ["--ca-cert", file, "--ca-key", join(inputs, "ca.key")] : ["--ca-cert", join(inputs, "ca.pem"), "--ca-key", file];
          const r = await run([POLICY, "--out", dir, ...args]);
          expect(r.code).toBe(1);
          expect(r.err).toMatch(asCert ? /^lightsub: --ca-cert/ : /^lightsub: --ca-key/);
          expect(existsSync(dir)).toBe(false);
        }),
        { numRuns: 60 },
      );
    });

    it("missing files", async () => {
      const dir = fresh();
      const r = await run([POLICY, "--out", dir, "--ca-cert", join(inputs, "nope.pem"), "--ca-key", join(inputs, "nope.key")]);
      expect(r.code).toBe(1);
      expect(r.err).toContain("cannot be read (ENOENT)");
      expect(existsSync(dir)).toBe(false);
    });
  });

  it("refuses a compile output directory, a policy without mTLS, and half a CA", async () => {
    const compiled = fresh();
    mkdirSync(compiled);
    writeFileSync(join(compiled, OUTPUT_MARKER), "");
    const inside = await run([POLICY, "--out", join(compiled, "certs")]);
    expect(inside.code).toBe(2);
    expect(inside.err).toContain("keep certificates (and the CA key) out of it");
    expect(existsSync(join(compiled, "certs"))).toBe(false);

    const plain = await run(["examples/bookstore.yaml", "--out", fresh()]);
    expect(plain.code).toBe(1);
    expect(plain.err).toContain("has no mutual TLS");

    expect((await run([POLICY, "--out", fresh(), "--ca-cert", "x.pem"])).code).toBe(2);
    expect((await run([POLICY])).code).toBe(2);
  });

  it("compile --certs <dir> makes compose mount that directory, relative to the output", async () => {
    const base = fresh();
    const err: string[] = [];
    const code = await main(["compile", POLICY, "--out", join(base, "mesh", "out"), "--certs", join(base, "keys")], { out: () => {}, err: (t) => err.push(t) });
    expect(code, err.join("\n")).toBe(0);
    const compose = readFileSync(join(base, "mesh", "out", "docker-compose.yaml"), "utf8");
    expect(compose).toContain('"../../keys/ledger:/etc/lightsub/certs:ro"');
    expect(compose).not.toContain("secure-certs");
  });

  it("is listed in --help", async () => {
    const out: string[] = [];
    await main(["--help"], { out: (t) => out.push(t), err: () => {} });
    expect(out.join("\n")).toMatch(/lightsub certs <policy> --out <dir>/);
  });

  it("certsCommand reports policy errors with positions and writes nothing", async () => {
    const bad = join(root, "bad.yaml");
    writeFileSync(bad, readFileSync(POLICY, "utf8").replace("calls: [api, audit]", "calls: [api, audt]"));
    const err: string[] = [];
    const dir = fresh();
    expect(await certsCommand([bad, "--out", dir], { out: () => {}, err: (t) => err.push(t) })).toBe(1);
    expect(err.join("\n")).toMatch(/bad\.yaml:\d+:\d+: error LS012/);
    expect(existsSync(dir)).toBe(false);
  });
});
