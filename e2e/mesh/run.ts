/**
 * Brings up a whole mesh in network namespaces from the command line (root
 * only), sends one request through its edge, and keeps it up until Ctrl-C /
 * SIGTERM or --hold-ms; then tears everything down.
 *
 *   npx tsx e2e/mesh/run.ts examples/bookstore.yaml [--hold-ms N] [--edge NAME] [--deadline-ms N] [--fail-after-up]
 *
 * Prints one JSON line per event (namespace made, process started, phase),
 * then `{"up":…}` with the edge's answer. Exit codes: 0 done, 1 failed,
 * 2 usage / no Envoy / no namespaces, 128+n on signal n (everything removed).
 * The teardown tests (test/e2e/mesh-teardown.test.ts) drive it.
 */
import { projectEnvoy } from "../envoy-locate.js";
import { startMesh, type Mesh } from "./mesh.js";
import { netnsUnavailable } from "./netns.js";

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: tsx e2e/mesh/run.ts <policy> [--hold-ms N] [--edge NAME] [--deadline-ms N] [--fail-after-up]\n`);
  process.exit(2);
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  let policy: string | undefined;
  let holdMs = Infinity;
  let edge: string | undefined;
  let deadlineMs: number | undefined;
  let failAfterUp = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => {
      const v = Number(args[++i]);
      if (!Number.isFinite(v) || v < 0) usage(`${a} needs a number`);
      return v;
    };
    if (a === "--hold-ms") holdMs = value();
    else if (a === "--deadline-ms") deadlineMs = value();
    else if (a === "--edge") edge = args[++i] ?? usage("--edge needs a name");
    else if (a === "--fail-after-up") failAfterUp = true;
    else if (a.startsWith("-")) usage(`unknown option ${a}`);
    else if (policy === undefined) policy = a;
    else usage(`unexpected argument ${a}`);
  }
  if (policy === undefined) usage("no policy file");
  const envoy = projectEnvoy();
  if (!envoy.found) usage(`no Envoy: ${envoy.problems.join("; ")}`);
  const why = netnsUnavailable();
  if (why) usage(`cannot make network namespaces: ${why}`);

  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
  let mesh: Mesh | undefined;
  try {
    mesh = await startMesh({
      envoy: envoy.envoy,
      policyFile: policy,
      ...(edge !== undefined ? { edge } : {}),
      ...(deadlineMs !== undefined ? { deadlineMs } : {}),
      onEvent: print,
    });
    const answer = await mesh.request(mesh.edgeUrl("/"), { headers: { cookie: "session=run" } });
    print({ up: { status: answer.status, body: answer.body, pids: mesh.pids(), namespaces: mesh.namespaces } });
    if (failAfterUp) throw new Error("--fail-after-up: failing on purpose");
    await new Promise((r) => setTimeout(r, Math.min(holdMs, 2 ** 31 - 1)));
    return 0;
  } catch (error) {
    process.stderr.write(`mesh run failed: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await mesh?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(3);
  },
);
