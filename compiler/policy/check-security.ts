/**
 * Semantic checks of `spec.security` and the services' `allow` / `public`
 * (mTLS and authorization, issue 17): what the schema cannot say. Like
 * check.ts it reads the raw parsed policy through type guards and skips what
 * is malformed (the schema reports that).
 *
 * Codes LS090–LS095.
 */
import { DEFAULT_MTLS } from "./defaults.js";
import { warning, error, type Finding } from "./findings.js";
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
      findings.push(error("LS091", [...s.path, field], `${field} needs caller identities, but ${why}; set spec.security.mtls to strict or permissive, or remove ${field}`, "key"));
    }
    if (allow !== undefined) {
      const seen = new Set<string>();
      allow.forEach((entry, i) => {
        const key = typeof entry === "string" ? entry : typeof rec(entry)?.["principal"] === "string" ? String(rec(entry)!["principal"]) : undefined;
        if (key === undefined) return;
        if (seen.has(key)) findings.push(error("LS092", [...s.path, "allow", i], `allow lists ${JSON.stringify(key)} twice`));
        seen.add(key);
        if (typeof entry === "string") {
          if (!names.has(entry)) findings.push(error("LS093", [...s.path, "allow", i], `service ${JSON.stringify(entry)} in allow is not defined${didYouMean(entry, [...names])} (a caller outside the policy is written { principal: spiffe://... })`));
          else if (entry === s.name) findings.push(error("LS093", [...s.path, "allow", i], `service ${JSON.stringify(entry)} allows itself; a service never calls itself through the mesh`));
        }
      });
    }
    // Under strict mTLS a service nobody calls, allows or exposes accepts nothing at all: most likely the edge without `public`.
    if (mode === "strict" && s.name !== undefined && !called.has(s.name) && !isPublic && (allow === undefined || allow.length === 0)) {
      findings.push(
        warning("LS094", [...s.path, "name"], `service ${JSON.stringify(s.name)} is called by no service and allows no caller, so with mtls strict nothing can reach it; an edge service that takes outside traffic needs public: true`),
      );
    }
  }
  if (mode === "permissive") {
    findings.push(warning("LS095", ["spec", "security", "mtls"], "mtls permissive accepts plaintext callers and does not authorize them (a migration mode): switch to strict once every caller has its certificate"));
  }
}
