/**
 * The shape of the lightsub command (issue 15): one exit-code table that every
 * subcommand's help states, help for every subcommand from cli/, and help
 * mistakes reported as usage errors (exit 2), never as a crash.
 * In-process through cli/main.ts main(), with the output captured.
 */
import { describe, expect, it } from "vitest";
import { EXIT } from "../../cli/exit-codes.js";
import { commandUsage, USAGE } from "../../cli/help.js";
import { main } from "../../cli/main.js";

const COMMANDS = ["compile", "validate", "simulate", "certs"] as const;

async function lightsub(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t) });
  return { code, out: out.join("\n"), err: err.join("\n") };
}

describe("help for every subcommand", () => {
  it.each(COMMANDS)("lightsub help %s, <command> --help and -h print the same usage, naming the command, and exit 0", async (command) => {
    const usage = commandUsage(command);
    expect(usage).toMatch(new RegExp(`^usage:\\s+lightsub ${command} <policy>`));
    for (const argv of [["help", command], [command, "--help"], [command, "-h"]]) {
      expect(await lightsub(...argv)).toEqual({ code: EXIT.ok, out: usage, err: "" });
    }
  });

  it("the general usage names every subcommand", async () => {
    expect(await lightsub("--help")).toEqual({ code: EXIT.ok, out: USAGE, err: "" });
    for (const command of COMMANDS) expect(USAGE).toContain(`lightsub ${command} <policy>`);
  });

  it("help for a command that does not exist is a usage error (exit 2) with a hint, not a crash", async () => {
    const result = await lightsub("help", "nope");
    expect(result.code).toBe(EXIT.usage);
    expect(result.out).toBe("");
    expect(result.err.split("\n")).toEqual([`lightsub: no help for "nope" (commands: compile, validate, simulate, certs)`, `hint: "lightsub --help" lists the commands`]);
    expect(commandUsage("nope")).toBeUndefined();
  });

  it("compile --help documents --wasm (the filter shipped as lightsub.wasm)", () => {
    expect(commandUsage("compile")).toMatch(/--wasm <file>\s+the filter to ship as lightsub\.wasm/);
  });
});

describe("one exit-code table", () => {
  it("is 0 ok, 1 policy errors, 2 usage, 3 internal, and every help text that lists exit codes lists exactly these", () => {
    expect(EXIT).toEqual({ ok: 0, policyErrors: 1, usage: 2, internal: 3 });
    const texts = [USAGE, ...COMMANDS.map((c) => commandUsage(c)!)];
    const stated = texts.map((t) => /exit codes: (.*)/.exec(t)?.[1]).filter((line): line is string => line !== undefined);
    expect(stated.length).toBeGreaterThanOrEqual(4);
    for (const line of stated) {
      expect([...line.matchAll(/(?:^|, )([0-9]+) /g)].map((m) => Number(m[1]))).toEqual(Object.values(EXIT));
    }
  });

  it("each subcommand returns the table's usage code for an unknown option", async () => {
    for (const command of COMMANDS) {
      const result = await lightsub(command, "p.yaml", "--no-such-option");
      expect(result.code, command).toBe(EXIT.usage);
      expect(result.err.split("\n")).toEqual([`lightsub ${command}: unknown option --no-such-option`, `hint: "lightsub ${command} --help" shows its usage`]);
    }
  });
});
