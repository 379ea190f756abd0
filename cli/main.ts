/**
 * The lightsub command line: picks the subcommand (cli/compile.ts,
 * cli/simulate.ts, cli/certs.ts), answers --help and --version, and turns what
 * a command throws into its exit code (cli/exit-codes.ts): 0 ok, 1 policy
 * errors, 2 usage errors, 3 internal errors (a lightsub bug).
 * bin/lightsub.js loads this file and calls run().
 */
import { readFileSync } from "node:fs";
import { InternalCompilerError } from "../compiler/compile.js";
import { FilterFileError } from "../compiler/filter-file.js";
import { OutputDirError } from "../compiler/write/write.js";
import { UsageError, usageErrorText } from "./args.js";
import { certsCommand } from "./certs.js";
import { compileCommand } from "./compile.js";
import { EXIT } from "./exit-codes.js";
import { USAGE, commandUsage } from "./help.js";
import { processIo, type Io } from "./io.js";

/** The process entry (bin/lightsub.js): the arguments in, the exit code out. */
export async function run(): Promise<void> {
  // `lightsub simulate --json | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on("error", (error: NodeJS.ErrnoException) => {
    if (error.code === "EPIPE") process.exit(EXIT.ok);
    throw error;
  });
  process.exitCode = await main(process.argv.slice(2));
}

export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "compile":
        return await compileCommand(rest, io, true);
      case "validate":
        return await compileCommand(rest, io, false);
      case "certs":
        return await certsCommand(rest, io);
      case "simulate":
        // Loaded only when asked for: compile and validate start ~0.1 s sooner without the simulator and the host.
        return await (await import("./simulate.js")).simulateCommand(rest, io);
      case "--version":
      case "-v":
        io.out(JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
        return EXIT.ok;
      case "--help":
      case "-h":
      case "help":
        return helpCommand(rest, io);
      case undefined:
        throw new UsageError("no command given (commands: compile, validate, simulate, certs)");
      default:
        throw new UsageError(`unknown command "${command}" (commands: compile, validate, simulate, certs)`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(usageErrorText(error));
      return EXIT.usage;
    }
    if (error instanceof OutputDirError || error instanceof FilterFileError) {
      io.err(`lightsub${command === "compile" || command === "validate" ? ` ${command}` : ""}: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof InternalCompilerError) {
      io.err(`lightsub: internal error: ${error.message}`);
      return EXIT.internal;
    }
    io.err(`lightsub: internal error: ${(error as Error).stack ?? String(error)}`);
    return EXIT.internal;
  }
}

/** `lightsub help [command]`. */
function helpCommand(args: string[], io: Io): number {
  if (args[0] === undefined) {
    io.out(USAGE);
    return EXIT.ok;
  }
  const usage = commandUsage(args[0]);
  if (usage === undefined) throw new UsageError(`no help for "${args[0]}" (commands: compile, validate, simulate, certs)`);
  io.out(usage);
  return EXIT.ok;
}
