/**
 * Route selection as Envoy's HTTP connection manager does it, evaluated on a
 * compiled listener: early header mutations, then the route config (virtual
 * host by `:authority`, first route whose path and header matchers all match),
 * then the action (`cluster`, `cluster_header`, `direct_response`).
 *
 * This is how the filter's scheduling header takes effect in the simulator and
 * in tests: the filter sets the header, Envoy (ABI 0.2.1) clears the route
 * cache, and `select` runs again on the changed headers. Only the parts of
 * Envoy's route API the compiler can emit (plus their obvious neighbours) are
 * understood; anything else is reported as an EnvoyConfigError, never guessed.
 *
 * Envoy semantics followed (route_components.proto, header matcher docs):
 * - domains: exact (case-insensitive) > longest `*.suffix` > longest `prefix.*` > `*`;
 * - a header matcher on a header present several times matches the values
 *   joined with ","; `safe_regex` must match the whole value;
 * - `cluster_header` naming no header or no known cluster → 503 (NC);
 * - no route → 404 (NR).
 */
import {
  EnvoyConfigError,
  arrayField,
  boolField,
  durationMs,
  field,
  httpConnectionManager,
  isObject,
  numberField,
  stringField,
  type Json,
} from "./envoy-json.js";

/** Request headers as the simulator keeps them: lower-case names, repeated names allowed. */
export type HeaderPairs = [string, string][];

export interface RetryPolicy {
  /** Conditions of `retry_on` (comma-separated in Envoy). */
  retryOn: ReadonlySet<string>;
  numRetries: number;
  perTryTimeoutMs?: number;
  retriableStatusCodes: readonly number[];
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** `previous_hosts` predicate: a retry avoids the hosts already tried. */
  avoidPreviousHosts: boolean;
  /** `previous_priorities` retry priority: a retry avoids the priority levels already tried (update_frequency 1). */
  avoidPreviousPriorities: boolean;
  hostSelectionRetryMaxAttempts: number;
}

export type HashSource = { kind: "header"; name: string; stripQuery: boolean } | { kind: "cookie"; name: string };

export type RouteDecision =
  | {
      kind: "cluster";
      routeName: string;
      virtualHost: string;
      cluster: string;
      /** Route timeout in ms; 0 disables it (Envoy: "0s"). */
      timeoutMs: number;
      retry?: RetryPolicy;
      hashPolicy: readonly HashSource[];
      headersToRemove: readonly string[];
    }
  | { kind: "clusterNotFound"; routeName: string; virtualHost: string; wanted: string | undefined }
  | { kind: "direct"; routeName: string; virtualHost: string; status: number }
  | { kind: "noRoute" };

const ENVOY_DEFAULT_ROUTE_TIMEOUT_MS = 15_000;
const ENVOY_DEFAULT_RETRY_BASE_MS = 25;

type HeaderLookup = (name: string) => string | undefined;
type HeaderTest = (lookup: HeaderLookup) => boolean;
type PathTest = (path: string) => boolean;

interface CompiledRoute {
  name: string;
  path: PathTest;
  headers: HeaderTest[];
  action:
    | { kind: "cluster"; cluster?: string; clusterHeader?: string; timeoutMs: number; retry?: RetryPolicy; hashPolicy: HashSource[] }
    | { kind: "direct"; status: number };
  headersToRemove: string[];
}

interface CompiledVirtualHost {
  name: string;
  domains: string[];
  routes: CompiledRoute[];
  headersToRemove: string[];
}

export interface RouteTableOptions {
  /** Clusters that exist (for cluster_header); when omitted every name is accepted. */
  knownClusters?: ReadonlySet<string>;
}

export class RouteTable {
  readonly earlyRemovals: readonly string[];
  private readonly earlyAppends: readonly [string, string, boolean][];
  private readonly virtualHosts: CompiledVirtualHost[];
  private readonly configHeadersToRemove: string[];

  private constructor(
    hcm: Record<string, Json>,
    private readonly options: RouteTableOptions,
  ) {
    const removals: string[] = [];
    const appends: [string, string, boolean][] = [];
    for (const ext of arrayField(hcm, "early_header_mutation_extensions")) {
      const config = field(ext, "typed_config");
      const type = stringField(config, "@type") ?? "";
      if (!type.endsWith("early_header_mutation.header_mutation.v3.HeaderMutation")) {
        throw new EnvoyConfigError(`unsupported early header mutation ${type}`);
      }
      for (const mutation of arrayField(config, "mutations")) {
        const remove = stringField(mutation, "remove");
        if (remove !== undefined) removals.push(remove.toLowerCase());
        const append = field(mutation, "append");
        if (append !== undefined) {
          const header = field(append, "header");
          const action = stringField(append, "append_action") ?? "APPEND_IF_EXISTS_OR_ADD";
          appends.push([(stringField(header, "key") ?? "").toLowerCase(), stringField(header, "value") ?? "", action === "OVERWRITE_IF_EXISTS_OR_ADD"]);
        }
      }
    }
    this.earlyRemovals = removals;
    this.earlyAppends = appends;
    const routeConfig = field(hcm, "route_config");
    if (!isObject(routeConfig)) throw new EnvoyConfigError("the HTTP connection manager has no inline route_config (RDS is not simulated)");
    this.configHeadersToRemove = lowerList(arrayField(routeConfig, "request_headers_to_remove"));
    this.virtualHosts = arrayField(routeConfig, "virtual_hosts").map(compileVirtualHost);
  }

  /** The route table of a listener object (static_resources.listeners[i]). */
  static fromListener(listener: Json, options: RouteTableOptions = {}): RouteTable {
    return new RouteTable(httpConnectionManager(listener), options);
  }

  /** Applies the connection manager's early header mutations in place (before any filter runs). */
  applyEarlyMutations(headers: HeaderPairs): HeaderPairs {
    if (this.earlyRemovals.length > 0) removeHeaders(headers, this.earlyRemovals);
    for (const [name, value, overwrite] of this.earlyAppends) {
      if (overwrite) removeHeaders(headers, [name]);
      headers.push([name, value]);
    }
    return headers;
  }

  /** Selects the route for the request headers as they are now. */
  select(headers: HeaderPairs): RouteDecision {
    return this.selectBy(pairLookup(headers));
  }

  /** Same as select, for callers that keep headers elsewhere (e.g. a host stream's map). */
  selectBy(lookup: HeaderLookup): RouteDecision {
    const authority = lookup(":authority") ?? lookup("host") ?? "";
    const vhost = this.virtualHostFor(authority.toLowerCase());
    if (!vhost) return { kind: "noRoute" };
    const path = lookup(":path") ?? "/";
    for (const route of vhost.routes) {
      if (!route.path(path)) continue;
      if (!route.headers.every((test) => test(lookup))) continue;
      const action = route.action;
      if (action.kind === "direct") return { kind: "direct", routeName: route.name, virtualHost: vhost.name, status: action.status };
      const cluster = action.cluster ?? (action.clusterHeader ? lookup(action.clusterHeader) : undefined);
      const known = this.options.knownClusters;
      if (cluster === undefined || cluster === "" || (known && !known.has(cluster))) {
        return { kind: "clusterNotFound", routeName: route.name, virtualHost: vhost.name, wanted: cluster };
      }
      return {
        kind: "cluster",
        routeName: route.name,
        virtualHost: vhost.name,
        cluster,
        timeoutMs: action.timeoutMs,
        retry: action.retry,
        hashPolicy: action.hashPolicy,
        headersToRemove: [...route.headersToRemove, ...vhost.headersToRemove, ...this.configHeadersToRemove],
      };
    }
    return { kind: "noRoute" };
  }

  /** The headers the upstream receives on a routed request (request_headers_to_remove applied). */
  upstreamHeaders(headers: HeaderPairs, decision: RouteDecision): HeaderPairs {
    const copy = headers.map(([k, v]) => [k, v] as [string, string]);
    if (decision.kind === "cluster") removeHeaders(copy, decision.headersToRemove);
    return copy;
  }

  private virtualHostFor(authority: string): CompiledVirtualHost | undefined {
    let best: CompiledVirtualHost | undefined;
    let bestRank = -1;
    for (const vhost of this.virtualHosts) {
      for (const domain of vhost.domains) {
        const rank = domainRank(domain, authority);
        if (rank > bestRank) {
          best = vhost;
          bestRank = rank;
        }
      }
    }
    return best;
  }
}

/** Higher is a better match; -1 no match. Exact beats suffix wildcards beats prefix wildcards beats "*". */
function domainRank(domain: string, authority: string): number {
  if (domain === "*") return 0;
  if (domain.startsWith("*")) {
    const suffix = domain.slice(1);
    return authority.length > suffix.length && authority.endsWith(suffix) ? 2_000_000 + suffix.length : -1;
  }
  if (domain.endsWith("*")) {
    const prefix = domain.slice(0, -1);
    return authority.length > prefix.length && authority.startsWith(prefix) ? 1_000_000 + prefix.length : -1;
  }
  return domain === authority ? 3_000_000 : -1;
}

function compileVirtualHost(raw: Json): CompiledVirtualHost {
  return {
    name: stringField(raw, "name") ?? "",
    domains: arrayField(raw, "domains").map((d) => String(d).toLowerCase()),
    routes: arrayField(raw, "routes").map(compileRoute),
    headersToRemove: lowerList(arrayField(raw, "request_headers_to_remove")),
  };
}

function compileRoute(raw: Json, index: number): CompiledRoute {
  const match = field(raw, "match");
  const name = stringField(raw, "name") ?? `#${index}`;
  const caseSensitive = boolField(match, "case_sensitive") ?? true;
  return {
    name,
    path: compilePath(match, caseSensitive, name),
    headers: arrayField(match, "headers").map((h) => compileHeaderMatcher(h, name)),
    action: compileAction(raw, name),
    headersToRemove: lowerList(arrayField(raw, "request_headers_to_remove")),
  };
}

function compilePath(match: Json, caseSensitive: boolean, routeName: string): PathTest {
  const fold = caseSensitive ? (s: string) => s : (s: string) => s.toLowerCase();
  const prefix = stringField(match, "prefix");
  if (prefix !== undefined) {
    const p = fold(prefix);
    return (path) => fold(path).startsWith(p);
  }
  const exact = stringField(match, "path");
  if (exact !== undefined) {
    const p = fold(exact);
    return (path) => fold(withoutQuery(path)) === p;
  }
  const regex = stringField(field(match, "safe_regex"), "regex");
  if (regex !== undefined) {
    const re = fullMatch(regex, !caseSensitive);
    return (path) => re.test(withoutQuery(path));
  }
  const separated = stringField(match, "path_separated_prefix");
  if (separated !== undefined) {
    const p = fold(separated);
    return (path) => {
      const bare = fold(withoutQuery(path));
      return bare === p || bare.startsWith(p + "/");
    };
  }
  throw new EnvoyConfigError(`route "${routeName}": unsupported path match ${JSON.stringify(match)}`);
}

function withoutQuery(path: string): string {
  const q = path.indexOf("?");
  return q < 0 ? path : path.slice(0, q);
}

/** RE2 patterns the compiler writes are also valid JavaScript patterns; Envoy requires a full match. */
function fullMatch(regex: string, ignoreCase = false): RegExp {
  return new RegExp(`^(?:${regex})$`, ignoreCase ? "i" : "");
}

function compileHeaderMatcher(raw: Json, routeName: string): HeaderTest {
  const name = (stringField(raw, "name") ?? "").toLowerCase();
  const invert = boolField(raw, "invert_match") ?? false;
  const missingAsEmpty = boolField(raw, "treat_missing_header_as_empty") ?? false;
  const valueTest = compileValueMatcher(raw, routeName, name);
  const present = boolField(raw, "present_match");
  if (present !== undefined) {
    return (lookup) => (lookup(name) !== undefined) === present !== invert;
  }
  return (lookup) => {
    let value = lookup(name);
    if (value === undefined) {
      if (!missingAsEmpty) return false; // a missing header never matches, inverted or not
      value = "";
    }
    return valueTest(value) !== invert;
  };
}

function compileValueMatcher(raw: Json, routeName: string, header: string): (value: string) => boolean {
  const stringMatch = field(raw, "string_match");
  if (isObject(stringMatch)) return compileStringMatcher(stringMatch, routeName, header);
  // Deprecated direct forms, still accepted by Envoy.
  const exact = stringField(raw, "exact_match");
  if (exact !== undefined) return (v) => v === exact;
  const regex = stringField(field(raw, "safe_regex_match"), "regex");
  if (regex !== undefined) {
    const re = fullMatch(regex);
    return (v) => re.test(v);
  }
  const prefix = stringField(raw, "prefix_match");
  if (prefix !== undefined) return (v) => v.startsWith(prefix);
  const suffix = stringField(raw, "suffix_match");
  if (suffix !== undefined) return (v) => v.endsWith(suffix);
  const contains = stringField(raw, "contains_match");
  if (contains !== undefined) return (v) => v.includes(contains);
  if (field(raw, "present_match") !== undefined) return () => true;
  // No value matcher: Envoy matches on presence.
  return () => true;
}

function compileStringMatcher(m: Record<string, Json>, routeName: string, header: string): (value: string) => boolean {
  const ignoreCase = boolField(m, "ignore_case") ?? false;
  const fold = ignoreCase ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (typeof m.exact === "string") {
    const want = fold(m.exact);
    return (v) => fold(v) === want;
  }
  if (typeof m.prefix === "string") {
    const want = fold(m.prefix);
    return (v) => fold(v).startsWith(want);
  }
  if (typeof m.suffix === "string") {
    const want = fold(m.suffix);
    return (v) => fold(v).endsWith(want);
  }
  if (typeof m.contains === "string") {
    const want = fold(m.contains);
    return (v) => fold(v).includes(want);
  }
  const regex = stringField(m.safe_regex, "regex");
  if (regex !== undefined) {
    const re = fullMatch(regex);
    return (v) => re.test(v);
  }
  throw new EnvoyConfigError(`route "${routeName}": unsupported string_match on header "${header}": ${JSON.stringify(m)}`);
}

function compileAction(raw: Json, routeName: string): CompiledRoute["action"] {
  const direct = field(raw, "direct_response");
  if (direct !== undefined) return { kind: "direct", status: numberField(direct, "status") ?? 200 };
  const route = field(raw, "route");
  if (!isObject(route)) throw new EnvoyConfigError(`route "${routeName}": only route and direct_response actions are simulated`);
  const cluster = stringField(route, "cluster");
  const clusterHeader = stringField(route, "cluster_header")?.toLowerCase();
  if (cluster === undefined && clusterHeader === undefined) {
    throw new EnvoyConfigError(`route "${routeName}": only cluster and cluster_header targets are simulated`);
  }
  const timeout = route.timeout === undefined ? ENVOY_DEFAULT_ROUTE_TIMEOUT_MS : durationMs(route.timeout);
  if (timeout === undefined) throw new EnvoyConfigError(`route "${routeName}": bad timeout ${JSON.stringify(route.timeout)}`);
  return {
    kind: "cluster",
    cluster,
    clusterHeader,
    timeoutMs: timeout,
    retry: route.retry_policy === undefined ? undefined : compileRetryPolicy(route.retry_policy),
    hashPolicy: arrayField(route, "hash_policy").flatMap(compileHashPolicy),
  };
}

function compileRetryPolicy(raw: Json): RetryPolicy {
  const on = (stringField(raw, "retry_on") ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  const backoff = field(raw, "retry_back_off");
  const base = durationMs(field(backoff, "base_interval")) ?? ENVOY_DEFAULT_RETRY_BASE_MS;
  const max = durationMs(field(backoff, "max_interval")) ?? base * 10;
  const predicates = arrayField(raw, "retry_host_predicate").map((p) => stringField(p, "name") ?? "");
  return {
    retryOn: new Set(on),
    // Envoy: a retry policy without num_retries retries once.
    numRetries: numberField(raw, "num_retries") ?? 1,
    perTryTimeoutMs: durationMs(field(raw, "per_try_timeout")) || undefined,
    retriableStatusCodes: arrayField(raw, "retriable_status_codes").filter((c): c is number => typeof c === "number"),
    backoffBaseMs: base,
    backoffMaxMs: max,
    avoidPreviousHosts: predicates.includes("envoy.retry_host_predicates.previous_hosts"),
    avoidPreviousPriorities: stringField(field(raw, "retry_priority"), "name") === "envoy.retry_priorities.previous_priorities",
    hostSelectionRetryMaxAttempts: numberField(raw, "host_selection_retry_max_attempts") ?? 1,
  };
}

function compileHashPolicy(raw: Json): HashSource[] {
  const header = field(raw, "header");
  if (isObject(header)) {
    return [{ kind: "header", name: (stringField(header, "header_name") ?? "").toLowerCase(), stripQuery: field(header, "regex_rewrite") !== undefined }];
  }
  const cookie = field(raw, "cookie");
  if (isObject(cookie)) return [{ kind: "cookie", name: stringField(cookie, "name") ?? "" }];
  return [];
}

function lowerList(list: Json[]): string[] {
  return list.filter((x): x is string => typeof x === "string").map((x) => x.toLowerCase());
}

/** Header lookup over pairs: several values of one name are joined with "," as Envoy's matchers see them. */
function pairLookup(headers: HeaderPairs): HeaderLookup {
  return (name) => {
    let value: string | undefined;
    for (const [k, v] of headers) {
      if (k === name) value = value === undefined ? v : `${value},${v}`;
    }
    return value;
  };
}

function removeHeaders(headers: HeaderPairs, names: readonly string[]): void {
  let out = 0;
  for (let i = 0; i < headers.length; i++) {
    const pair = headers[i]!;
    if (!names.includes(pair[0])) headers[out++] = pair;
  }
  headers.length = out;
}
