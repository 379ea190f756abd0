/** Why a parser gave up: a syntax error (LS002) or a resource limit (LS011), at a source offset. */
export class ParseFailure extends Error {
  constructor(
    message: string,
    readonly offset: number,
    readonly kind: "syntax" | "limit",
  ) {
    super(message);
  }
}

/** Deeper nesting than any policy needs; the limit keeps recursion bounded on hostile input. */
export const MAX_NESTING_DEPTH = 64;

/** Own property even for "__proto__", which plain assignment would turn into a prototype change. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__") Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}
