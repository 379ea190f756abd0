/**
 * Semantic checks of `spec.security` and the services' `allow` / `public`
 * (mTLS and authorization, issue 17): what the schema cannot say. Like
 * check.ts it reads the raw parsed policy through type guards and skips what
 * is malformed (the schema reports that).
 *
 * Codes LS090–LS095.
 */
import { DEFAULT_MTLS } from "../model/defaults.js";
import { Diag } from "../diagnostics/index.js";
import { finding, keyFinding, type Finding } from "./findings.js";
import type { Path } from "./positions.js";
import { rec, type Rec } from "./raw-values.js";
import { didYouMean } from "./suggest.js";

interface ServiceRef {
  path: Path;
  rec: Rec;
  name?: string;
}

/** Findings about security; `services` as check.ts collected them. */
export function checkSecurity(spec: Rec, services: readonly ServiceRef[], findings: Finding[]): void {
  const security = rec(spec["security"]);
  const mode = security === undefined ? "absent" : security["mtls"] === undefined ? DEFAULT_MTLS : security["mtls"];
  // An unknown mode is the schema's finding (LS007); judging allow/public against it would only repeat it.
  if (mode !== "absent" && mode !== "strict" && mode !== "permissive" && mode !== "off") return;
  const names = new Set(services.flatMap((s) => (s.name === undefined ? [] : [s.name])));
  const called = new Set<string>();
  for (const s of services) {
    for (const call of Array.isArray(s.rec["calls"]) ? s.rec["calls"] : []) {
      const name = typeof call === "string" ? call : rec(call)?.["service"];
      if (typeof name === "string") called.add(name);
    }
  }
  const identities = mode === "strict" || mode === "permissive";

  for (const s of services) {
    const allow = Array.isArray(s.rec["allow"]) ? s.rec["allow"] : undefined;
    const isPublic = s.rec["public"] === true;
    if (!identities && (allow !== undefined || isPublic)) {
      const field = allow !== undefined ? "allow" : "public";
      const why = mode === "absent" ? "the policy has no spec.security (plaintext, every caller accepted)" : "spec.security.mtls is off (no caller identities)";
      findings.push(keyFinding(Diag.AllowWithoutIdentities, [...s.path, field], { field, why }));
    }
    if (allow !== undefined) {
      const seen = new Set<string>();
      allow.forEach((entry, i) => {
        const key = typeof entry === "string" ? entry : typeof rec(entry)?.["principal"] === "string" ? String(rec(entry)!["principal"]) : undefined;
        if (key === undefined) return;
        if (seen.has(key)) findings.push(finding(Diag.RepeatedCaller, [...s.path, "allow", i], { caller: JSON.stringify(key) }));
        seen.add(key);
        if (typeof entry === "string") {
          if (!names.has(entry)) findings.push(finding(Diag.UnknownAllowedService, [...s.path, "allow", i], { name: JSON.stringify(entry), hint: didYouMean(entry, [...names]) }));
          else if (entry === s.name) findings.push(finding(Diag.AllowsItself, [...s.path, "allow", i], { name: JSON.stringify(entry) }));
        }
      });
    }
    // Under strict mTLS a service nobody calls, allows or exposes accepts nothing at all: most likely the edge without `public`.
    if (mode === "strict" && s.name !== undefined && !called.has(s.name) && !isPublic && (allow === undefined || allow.length === 0)) {
      findings.push(finding(Diag.Unreachable, [...s.path, "name"], { name: JSON.stringify(s.name) }));
    }
  }
  if (mode === "permissive") {
    findings.push(finding(Diag.PermissiveMtls, ["spec", "security", "mtls"]));
  }
}
