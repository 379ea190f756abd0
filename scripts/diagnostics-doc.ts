/**
 * Generates docs/diagnostics.md from the diagnostic catalogue
 * (compiler/diagnostics/catalogue.ts): the policy codes, with an example and
 * a fix each, and the workload codes of `lightsub simulate`.
 *
 *   npm run docs:diagnostics        rewrite docs/diagnostics.md
 *
 * test/compiler/diagnostics-doc.test.ts fails when the file is not what this renders,
 * so a new or changed code cannot ship without its documentation.
 */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { DIAGNOSTIC_CODES, WORKLOAD_DIAGNOSTIC_CODES, type DiagnosticCodeInfo } from "../compiler/diagnostics/index.js";

export const DIAGNOSTICS_DOC = fileURLToPath(new URL("../docs/diagnostics.md", import.meta.url));

export function renderDiagnosticsDoc(): string {
  const parts = [
    "# Diagnostics",
    "",
    "<!-- Generated from compiler/diagnostics/catalogue.ts by `npm run docs:diagnostics`; do not edit by hand. -->",
    "",
    "`lightsub validate`, `compile` and `simulate` report problems as",
    "",
    "    file:line:column: severity CODE: message",
    "",
    "(`<stdin>` as the file for a policy read from standard input). Errors make the",
    "command exit with 1 and `compile` write nothing; warnings do not, unless",
    "`--warnings-as-errors` is given (for CI). Codes are stable: a code keeps its",
    "meaning once published.",
    "",
    "## Policy codes",
    "",
    "| code | severity | meaning |",
    "| --- | --- | --- |",
    ...DIAGNOSTIC_CODES.map(row),
    "",
    ...DIAGNOSTIC_CODES.flatMap(section),
    "## Workload codes (`lightsub simulate`)",
    "",
    "Problems in a `--workload` file or in a policy's `simulation:` section; the",
    "format is described in [simulate/README.md](../simulate/README.md).",
    "",
    "| code | severity | meaning |",
    "| --- | --- | --- |",
    ...WORKLOAD_DIAGNOSTIC_CODES.map(row),
    "",
    ...WORKLOAD_DIAGNOSTIC_CODES.filter((info) => info.example !== undefined || info.fix !== undefined).flatMap(section),
  ];
  return `${parts.join("\n").trimEnd()}\n`;
}

function row(info: DiagnosticCodeInfo): string {
  return `| [${info.code}](#${info.code.toLowerCase()}) | ${info.severity} | ${cell(info.summary)} |`;
}

function section(info: DiagnosticCodeInfo): string[] {
  const lines = [`### ${info.code}`, "", `**${info.severity}**: ${info.summary}.`, ""];
  if (info.example !== undefined) {
    const isCommand = info.example.startsWith("lightsub ");
    lines.push("Example:", "", isCommand ? "```sh" : "```yaml", info.example, "```", "");
  }
  if (info.fix !== undefined) lines.push(`Fix: ${info.fix}`, "");
  return lines;
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  writeFileSync(DIAGNOSTICS_DOC, renderDiagnosticsDoc());
  process.stdout.write(`wrote ${DIAGNOSTICS_DOC}\n`);
}
