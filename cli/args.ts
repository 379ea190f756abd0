/**
 * Command-line parsing shared by every lightsub command (compile, validate,
 * simulate), on top of node:util parseArgs:
 * - `--help`/`-h` anywhere before `--` asks for the command's usage (exit 0),
 *   even next to other mistakes;
 * - an option that takes a value may be given once: `--out a --out b` is a
 *   usage error, not "last one wins";
 * - parseArgs' own messages (written for programmers: "place it at the end of
 *   the command after '--'") become one short line.
 *
 * Usage errors print one line and a hint (`lightsub compile --help`), never
 * the whole usage text.
 */
import { parseArgs } from "node:util";

/** A mistake in the command line (exit code 2); `command` says which --help the hint names. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

type OptionSpec = { type: "string" | "boolean"; short?: string };

export interface ParsedCommandLine {
  /** Options by name: a string, `true`, or absent. */
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  /** `--help` or `-h` was given: print the usage and exit 0. */
  help: boolean;
}

/** The hint line printed under a usage error. */
function usageHint(command: string | undefined): string {
  return command === undefined ? `hint: "lightsub --help" lists the commands` : `hint: "lightsub ${command} --help" shows its usage`;
}

/** The two lines of a usage error: `lightsub <command>: <message>` and the hint. */
export function usageErrorText(error: UsageError): string {
  const prefix = error.command === undefined ? "lightsub" : `lightsub ${error.command}`;
  return `${prefix}: ${error.message}\n${usageHint(error.command)}`;
}

export function parseCommandLine(command: string, args: readonly string[], options: Record<string, OptionSpec>): ParsedCommandLine {
  const end = args.indexOf("--");
  const beforeEnd = end === -1 ? args : args.slice(0, end);
  if (beforeEnd.includes("--help") || beforeEnd.includes("-h")) return { values: {}, positionals: [], help: true };
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    throw new UsageError(shortParseMessage(error as Error & { code?: string }), command);
  }
  const seen = new Map<string, string>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || options[token.name]?.type !== "string") continue;
    const earlier = seen.get(token.name);
    if (earlier !== undefined) {
      throw new UsageError(`--${token.name} given twice ("${earlier}" and "${token.value ?? ""}"); give it once`, command);
    }
    seen.set(token.name, token.value ?? "");
  }
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === "") throw new UsageError(`--${name} needs a value`, command);
  }
  return { values: parsed.values as ParsedCommandLine["values"], positionals: parsed.positionals, help: false };
}

function shortParseMessage(error: Error & { code?: string }): string {
  const quoted = /'([^']+)'/.exec(error.message)?.[1];
  switch (error.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return `unknown option ${quoted ?? error.message}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      if (/argument missing/.test(error.message) && quoted !== undefined) return `${quoted.replace(/ <value>$/, "")} needs a value`;
      if (/does not take an argument/.test(error.message) && quoted !== undefined) return `${quoted} takes no value`;
      return error.message;
    default:
      return error.message;
  }
}
