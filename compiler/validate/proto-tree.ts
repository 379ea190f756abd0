/**
 * Envoy's v3 API as protobufjs reflection, loaded once per process.
 *
 * Source: the proto tree `@grpc/grpc-js-xds` ships (deps/envoy-api, xds,
 * googleapis, protoc-gen-validate), plus the hand-written files in
 * protos-extra/ for API Envoy 1.40 has and that tree lacks. Files whose
 * imports the tree does not contain (opencensus, opentelemetry protos) are
 * skipped. google/protobuf/* comes from protobufjs itself.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import protobuf from "protobufjs";

const require = createRequire(import.meta.url);
const XDS_DEPS = join(dirname(require.resolve("@grpc/grpc-js-xds/package.json")), "deps");
const PROTOBUFJS_DIR = dirname(require.resolve("protobufjs/package.json"));
const PROTOS_EXTRA_DIR = fileURLToPath(new URL("./protos-extra/", import.meta.url));

/** Include roots, searched in this order (protos-extra first, so it can add files). */
const INCLUDE_ROOTS = [
  PROTOS_EXTRA_DIR,
  join(XDS_DEPS, "envoy-api"),
  join(XDS_DEPS, "xds"),
  join(XDS_DEPS, "googleapis"),
  join(XDS_DEPS, "protoc-gen-validate"),
  PROTOBUFJS_DIR,
];

/** The root every check starts from; extension packages load when a `@type` first names them. */
const BOOTSTRAP_PROTO = "envoy/config/bootstrap/v3/bootstrap.proto";

/**
 * Envoy's API, loaded lazily: the bootstrap's import closure at once (~60
 * files), then the package of each message type the first time it is looked
 * up (a typed_config may name any extension; Envoy's proto packages map to
 * directories, `envoy.extensions.filters.http.router.v3` →
 * `envoy/extensions/filters/http/router/v3/`). Loading all ~350 files up front
 * took half a second more than a compile needs.
 */
class EnvoyProtoTree {
  readonly root = new protobuf.Root();
  private readonly resolver = new ImportResolver();
  private readonly loadedDirs = new Set<string>();

  constructor() {
    this.root.resolvePath = (_origin, target) => this.resolver.resolve(target) ?? target;
    this.load([BOOTSTRAP_PROTO]);
  }

  /** The message type of a full name (no leading dot), loading its package if needed. */
  messageType(fullName: string): protobuf.Type | undefined {
    const found = this.lookup(fullName);
    if (found) return found;
    const dir = packageDir(fullName);
    if (dir === undefined || this.loadedDirs.has(dir)) return undefined;
    this.loadedDirs.add(dir);
    const files = [...new Set(INCLUDE_ROOTS.flatMap((root) => protoFilesIn(root, dir)))].filter((f) => this.resolver.loadable(f));
    if (files.length === 0) return undefined;
    this.load(files);
    return this.lookup(fullName);
  }

  private lookup(fullName: string): protobuf.Type | undefined {
    const found = this.root.lookup(fullName);
    return found instanceof protobuf.Type ? found : undefined;
  }

  private load(files: string[]): void {
    this.root.loadSync(files, { keepCase: true });
    this.root.resolveAll();
  }
}

/** `envoy.config.cluster.v3.Cluster.LbPolicy` → `envoy/config/cluster/v3` (the segments before the first type name). */
function packageDir(fullName: string): string | undefined {
  const parts = fullName.split(".");
  const firstType = parts.findIndex((p) => /^[A-Z]/.test(p));
  return firstType > 0 ? parts.slice(0, firstType).join("/") : undefined;
}

let cached: EnvoyProtoTree | undefined;

/** The process-wide proto tree. */
export function envoyProtoTree(): EnvoyProtoTree {
  cached ??= new EnvoyProtoTree();
  return cached;
}

/** Import paths of the .proto files directly in root/dir. */
function protoFilesIn(root: string, dir: string): string[] {
  const abs = join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".proto"))
    .map((e) => `${dir}/${e.name}`)
    .sort();
}

/** Finds imports in the include roots and tells whether a file's whole import closure is present. */
class ImportResolver {
  private readonly closure = new Map<string, boolean>();

  resolve(importPath: string): string | undefined {
    if (importPath in protobuf.common) return importPath;
    for (const root of INCLUDE_ROOTS) {
      const p = join(root, importPath);
      if (existsSync(p)) return p;
    }
    return undefined;
  }

  loadable(importPath: string): boolean {
    const known = this.closure.get(importPath);
    if (known !== undefined) return known;
    this.closure.set(importPath, true); // cycles: assume loadable while visiting
    const ok = this.checkImports(importPath);
    this.closure.set(importPath, ok);
    return ok;
  }

  private checkImports(importPath: string): boolean {
    if (importPath in protobuf.common) return true;
    const file = this.resolve(importPath);
    if (!file) return false;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^import\s+(?:public\s+|weak\s+)?"([^"]+)"\s*;/gm)) {
      if (!this.loadable(m[1]!)) return false;
    }
    return true;
  }
}
