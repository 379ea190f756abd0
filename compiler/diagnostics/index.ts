/**
 * Diagnostics: problems found in a policy, as plain data.
 *
 * Printed as `file:line:column: severity CODE: message` (the format compilers
 * use, so editors and CI annotate the right line). Lines and columns start at
 * 1; a column counts UTF-16 code units from the start of the line.
 *
 * What each code means, its severity and its messages are data, in
 * ./catalogue.ts; this module derives the named messages call sites use
 * (`Diag`), the code tables docs/diagnostics.md is generated from, and the
 * formatting and ordering of diagnostics.
 */

import { CATALOGUE, type CodeSpec, type DiagnosticArea, type Severity } from "./catalogue.js";

export type { Severity } from "./catalogue.js";

export interface Diagnostic {
  file: string;
  line: number;
  column: number;
  severity: Severity;
  code: string;
  message: string;
}

export interface DiagnosticCodeInfo {
  code: string;
  severity: Severity;
  summary: string;
  /** A policy excerpt (YAML) or a command that gets this diagnostic (docs/diagnostics.md shows it). */
  example?: string;
  /** How to fix it, in a sentence or two. */
  fix?: string;
}

type Catalogue = typeof CATALOGUE;

/** A code's name in the catalogue (`UnknownProperty` for LS006). */
export type CodeName = keyof Catalogue;

/** One message of the catalogue: its code and severity, and the template its call site fills. */
export interface DiagMessage<T extends string = string> {
  readonly name: string;
  readonly code: string;
  readonly severity: Severity;
  readonly template: T;
}

/**
 * The `{name}` placeholders of a template. A `{` followed by a space is plain
 * text ("{ service: <name> }"): the search goes on right after it.
 */
export type Placeholders<T extends string> = T extends `${string}{${infer P}}${infer Rest}`
  ? P extends ` ${string}`
    ? Placeholders<`${P}}${Rest}`>
    : P | Placeholders<Rest>
  : never;

export type MessageValue = string | number;

/** What a call site passes to fill a template: one value per placeholder, nothing when it has none. */
export type MessageArgs<T extends string> = [Placeholders<T>] extends [never] ? [] : [args: { readonly [K in Placeholders<T>]: MessageValue }];

type TemplateOf<M> = M extends string ? M : M extends { readonly template: infer T extends string } ? T : never;
type MessagesOfCode<C extends CodeName> = {
  readonly [N in keyof Catalogue[C]["messages"]]: DiagMessage<TemplateOf<Catalogue[C]["messages"][N]>>;
};
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/** Every message of the catalogue by name: `Diag.UnknownProperty`. */
export type DiagTable = UnionToIntersection<{ [C in CodeName]: MessagesOfCode<C> }[CodeName]>;

/** A placeholder as the runtime finds it; the catalogue test checks every `{` is one of these or plain text. */
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9]*)\}/g;

const CODE_SPECS: readonly (readonly [CodeName, CodeSpec])[] = Object.entries(CATALOGUE) as [CodeName, CodeSpec][];

function buildMessages(): DiagTable {
  const messages: Record<string, DiagMessage> = {};
  const codes = new Set<string>();
  for (const [, spec] of CODE_SPECS) {
    // The catalogue is data: a repeated code or message name is a bug in it, found when this module loads.
    if (codes.has(spec.code)) throw new Error(`diagnostic code ${spec.code} is in the catalogue twice`);
    codes.add(spec.code);
    for (const [name, message] of Object.entries(spec.messages)) {
      if (Object.hasOwn(messages, name)) throw new Error(`diagnostic message ${name} is in the catalogue twice`);
      const template = typeof message === "string" ? message : message.template;
      const severity = typeof message === "string" ? spec.severity : message.severity;
      messages[name] = Object.freeze({ name, code: spec.code, severity, template });
    }
  }
  return Object.freeze(messages) as unknown as DiagTable;
}

/** The catalogue's messages by name; call sites take these and fill them (`messageText`, `diagnosticAt`, the checks' `finding`). */
export const Diag: DiagTable = buildMessages();

/** The catalogue's codes by name: `Code.Unreadable` is "LS001". */
export const Code = Object.freeze(Object.fromEntries(CODE_SPECS.map(([name, spec]) => [name, spec.code]))) as {
  readonly [C in CodeName]: Catalogue[C]["code"];
};

/** A template filled with its values (`{got}` → the value given as `got`). */
export function messageText<T extends string>(diag: DiagMessage<T>, ...args: MessageArgs<T>): string {
  const values = (args[0] ?? {}) as Readonly<Record<string, MessageValue>>;
  return diag.template.replace(PLACEHOLDER, (_match, key: string) => {
    if (!Object.hasOwn(values, key)) throw new Error(`diagnostic ${diag.name}: no value for {${key}}`);
    return String(values[key]);
  });
}

/** A Diagnostic at a position, with the code, severity and filled message of a catalogue message. */
export function diagnosticAt<T extends string>(at: { file: string; line: number; column: number }, diag: DiagMessage<T>, ...args: MessageArgs<T>): Diagnostic {
  return { file: at.file, line: at.line, column: at.column, severity: diag.severity, code: diag.code, message: messageText(diag, ...args) };
}

/**
 * The code a problem of the shared loader gets in a workload file: the
 * workload code whose `messagesOf` names the problem's code (LS001 → LS201),
 * else the code itself (limits keep LS011, as in a policy).
 */
export function workloadCodeOf(code: string): string {
  return WORKLOAD_CODE_OF.get(code) ?? code;
}

const WORKLOAD_CODE_OF = new Map<string, string>(
  CODE_SPECS.flatMap(([, spec]) => (spec.messagesOf === undefined ? [] : [[CATALOGUE[spec.messagesOf as CodeName].code, spec.code] as const])),
);

function codeInfo(spec: CodeSpec): DiagnosticCodeInfo {
  const info: DiagnosticCodeInfo = { code: spec.code, severity: spec.severity, summary: spec.summary };
  if (spec.example !== undefined) info.example = spec.example;
  if (spec.fix !== undefined) info.fix = spec.fix;
  return info;
}

function codesOf(area: DiagnosticArea): readonly DiagnosticCodeInfo[] {
  return CODE_SPECS.filter(([, spec]) => spec.area === area).map(([, spec]) => codeInfo(spec));
}

/** Every code the policy checker emits, with its usual severity and a one-line description (from the catalogue). */
export const DIAGNOSTIC_CODES: readonly DiagnosticCodeInfo[] = codesOf("policy");

/** The codes of workload files and `simulation:` sections (LS2xx), reported by `lightsub simulate`. */
export const WORKLOAD_DIAGNOSTIC_CODES: readonly DiagnosticCodeInfo[] = codesOf("workload");

const CODE_INFO = new Map([...DIAGNOSTIC_CODES, ...WORKLOAD_DIAGNOSTIC_CODES].map((info) => [info.code, info]));

export function describeCode(code: string): DiagnosticCodeInfo | undefined {
  return CODE_INFO.get(code);
}

/** `policy.yaml:14:9: error LS012: service "catalg" in calls is not defined (did you mean "catalog"?)` */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`;
}

function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  if (a.severity !== b.severity) return a.severity === "error" ? -1 : 1;
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/** Sorted by file, line, column (errors before warnings at one spot); exact duplicates removed. */
export function sortDiagnostics(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  const sorted = [...diagnostics].sort(compareDiagnostics);
  return sorted.filter((d, i) => i === 0 || compareDiagnostics(d, sorted[i - 1]!) !== 0);
}

/** Every diagnostic as an error (`--warnings-as-errors`, for CI). */
export function warningsAsErrors(diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => (d.severity === "error" ? d : { ...d, severity: "error" }));
}

export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === "error");
}
