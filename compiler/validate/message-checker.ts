/**
 * A strict walker of proto3 JSON against protobufjs reflection: each message
 * type is compiled once into a plan (fields by JSON key, oneofs, PGV rules),
 * then values are checked against the plans.
 *
 * Strict where protobufjs's `fromObject` is lax: unknown fields, wrong scalar
 * types, enum names, Duration syntax, two members of a oneof, `@type` URLs
 * that name no known message (Any contents are checked as that message),
 * deprecated fields and enum values, the PGV rules of pgv-rules.ts (also on
 * scalars left unset, which PGV sees as their default), whether regex
 * fields compile (regex-fields.ts) and extension points hold a config of
 * their kind (extension-points.ts).
 */
import protobuf from "protobufjs";
import {
  describe,
  fieldPath,
  indexPath,
  isPlainObject,
  mapKeyPath,
  rebase,
  type Check,
  type ValidationError,
} from "./errors.js";
import {
  fieldRules,
  isDeprecated,
  isRequired,
  mapRuleCheck,
  oneofRequired,
  repeatedRuleCheck,
  valueRuleCheck,
} from "./pgv-rules.js";
import { extensionPointCheck } from "./extension-points.js";
import { regexFieldCheck } from "./regex-fields.js";
import { SCALAR_CHECKS, SPECIAL_JSON, type ScalarCheck } from "./scalars.js";
import { closestName } from "./suggest.js";

/** A message check; `inAny` allows the `@type` key of an Any that holds this message. */
type MessageCheck = (value: unknown, path: string, out: ValidationError[], inAny?: boolean) => void;

interface FieldPlan {
  name: string;
  jsonName: string;
  /** Real oneof this field belongs to (not proto3-optional's synthetic one). */
  oneof: string | undefined;
  deprecated: boolean;
  /** Checks a non-null value of this field (type, items, rules). */
  check: Check;
}

interface MessagePlan {
  typeName: string;
  byKey: Map<string, FieldPlan>;
  required: FieldPlan[];
  /** Scalar fields whose proto3 default breaks their PGV rules: leaving them out is an error too. */
  defaultBreaksRules: Array<{ field: FieldPlan; problem: string }>;
  requiredOneofs: Array<{ name: string; members: string[] }>;
}

const TYPED_STRUCTS = new Set(["xds.type.v3.TypedStruct", "udpa.type.v1.TypedStruct"]);

/**
 * Types whose frozen instances are checked once and remembered by identity:
 * big parts that compiler/envoy shares between bootstraps. (Not every type: a
 * WeakMap entry costs more than walking a small object. Clusters have their
 * own cache in index.ts.)
 */
const IDENTITY_CACHED_TYPES: ReadonlySet<string> = new Set([
  "envoy.config.route.v3.RouteConfiguration",
  "envoy.extensions.filters.network.http_connection_manager.v3.HttpFilter",
  "envoy.config.metrics.v3.StatsConfig",
  // One object per mesh, in every outbound listener's Wasm filter (compiler/envoy/wasm.ts).
  "envoy.extensions.wasm.v3.VmConfig",
  // Every HTTP connection manager's early header mutation, and listener addresses shared per port.
  "envoy.config.core.v3.TypedExtensionConfig",
  "envoy.config.core.v3.Address",
]);
const ANY = "google.protobuf.Any";

export class MessageChecker {
  private readonly checks = new Map<string, MessageCheck>();
  private readonly typesByName = new Map<string, protobuf.Type | null>();
  private readonly typeNameOfUrl = new Map<string, string>();

  /** `findType` returns the message type of a full name (no leading dot), or undefined. */
  constructor(private readonly findType: (fullName: string) => protobuf.Type | undefined) {}

  /** Checks `value` as the JSON of message `typeName` (full name without leading dot). */
  check(typeName: string, value: unknown, path = ""): ValidationError[] {
    const out: ValidationError[] = [];
    this.checkInto(typeName, value, path, out);
    return out;
  }

  checkInto(typeName: string, value: unknown, path: string, out: ValidationError[]): void {
    const special = SPECIAL_JSON[typeName];
    if (special) return reportScalar(special, value, path, out);
    if (typeName === ANY) return this.checkAny(value, path, out);
    this.messageCheck(typeName)(value, path, out);
  }

  /** The message type of a full name, or undefined (cached). */
  messageType(typeName: string): protobuf.Type | undefined {
    let t = this.typesByName.get(typeName);
    if (t === undefined) {
      t = this.findType(typeName) ?? null;
      this.typesByName.set(typeName, t);
    }
    return t ?? undefined;
  }

  private messageCheck(typeName: string): MessageCheck {
    let check = this.checks.get(typeName);
    if (check) return check;
    const type = this.messageType(typeName);
    if (!type) throw new Error(`validator: no message type ${typeName} in the loaded protos`);
    // Registered before compiling, so recursive types find it.
    let compiled: MessageCheck | undefined;
    check = (v, p, o, inAny) => (compiled ??= this.compileMessage(type))(v, p, o, inAny);
    this.checks.set(typeName, check);
    return check;
  }

  private compileMessage(type: protobuf.Type): MessageCheck {
    const plan = this.plan(type);
    const { typeName, byKey, required, defaultBreaksRules, requiredOneofs } = plan;
    const walk: MessageCheck = (value, path, out, inAny) => {
      if (!isPlainObject(value)) {
        out.push({ path, message: `expected an object (${typeName}), got ${describe(value)}` });
        return;
      }
      let oneofSeen: Record<string, string> | undefined;
      for (const key in value) {
        const f = byKey.get(key);
        if (f === undefined) {
          if (inAny && key === "@type") continue;
          out.push({ path: fieldPath(path, key), message: unknownField(key, plan) });
          continue;
        }
        const v = value[key];
        if (v === null || v === undefined) continue; // proto3 JSON: null means unset
        const p = fieldPath(path, key);
        if (key !== f.name && value[f.name] !== undefined) {
          out.push({ path: p, message: `field "${f.name}" is set twice (as "${f.name}" and "${key}")` });
        }
        if (f.deprecated) out.push({ path: p, message: `field "${f.name}" of ${typeName} is deprecated` });
        if (f.oneof !== undefined) {
          oneofSeen ??= {};
          const other = oneofSeen[f.oneof];
          if (other !== undefined) {
            out.push({ path: p, message: `"${other}" and "${key}" are both set, but only one member of oneof "${f.oneof}" may be` });
          } else oneofSeen[f.oneof] = key;
        }
        f.check(v, p, out);
      }
      for (const f of required) {
        if (value[f.name] == null && value[f.jsonName] == null) {
          out.push({ path: fieldPath(path, f.name), message: `missing required field "${f.name}" of ${typeName}` });
        }
      }
      for (const { field: f, problem } of defaultBreaksRules) {
        if (value[f.name] == null && value[f.jsonName] == null) {
          out.push({ path: fieldPath(path, f.name), message: `missing field "${f.name}" of ${typeName}: unset it reads as ${problem}` });
        }
      }
      for (const o of requiredOneofs) {
        if (!o.members.some((m) => value[m] != null || value[byKey.get(m)!.jsonName] != null)) {
          out.push({ path, message: `${typeName} needs one of ${o.members.map((m) => `"${m}"`).join(", ")} (oneof "${o.name}")` });
        }
      }
    };
    if (!IDENTITY_CACHED_TYPES.has(typeName)) return walk;
    // Frozen objects (compiler/envoy shares them deep-frozen between bootstraps) are checked once.
    const frozenResults = [new WeakMap<object, ValidationError[]>(), new WeakMap<object, ValidationError[]>()] as const;
    return (value, path, out, inAny) => {
      if (typeof value !== "object" || value === null || !Object.isFrozen(value)) return walk(value, path, out, inAny);
      const results = frozenResults[inAny ? 1 : 0];
      let relative = results.get(value);
      if (relative === undefined) {
        relative = [];
        walk(value, "", relative, inAny);
        results.set(value, relative);
      }
      if (relative.length > 0) out.push(...rebase(path, relative));
    };
  }

  private plan(type: protobuf.Type): MessagePlan {
    const typeName = type.fullName.slice(1);
    const byKey = new Map<string, FieldPlan>();
    const required: FieldPlan[] = [];
    const defaultBreaksRules: MessagePlan["defaultBreaksRules"] = [];
    for (const field of type.fieldsArray) {
      const rules = fieldRules(field);
      const partOf = field.partOf;
      const oneof = partOf && !field.options?.proto3_optional ? partOf.name : undefined;
      const plan: FieldPlan = {
        name: field.name,
        jsonName: jsonName(field.name),
        oneof,
        deprecated: isDeprecated(field),
        check: withLoadCheck(this.fieldCheck(field, rules), regexFieldCheck(typeName, field.name) ?? extensionPointCheck(typeName, field.name)),
      };
      byKey.set(plan.name, plan);
      byKey.set(plan.jsonName, plan);
      // PGV `required` of a oneof member only applies when that member is chosen.
      if (!oneof && !field.repeated && !(field instanceof protobuf.MapField) && isRequired(rules)) required.push(plan);
      const problem = partOf ? undefined : defaultValueProblem(field, rules);
      if (problem) defaultBreaksRules.push({ field: plan, problem });
    }
    const requiredOneofs = type.oneofsArray
      .filter((o) => oneofRequired(o))
      .map((o) => ({ name: o.name, members: o.oneof.slice() }));
    return { typeName, byKey, required, defaultBreaksRules, requiredOneofs };
  }

  private fieldCheck(field: protobuf.FieldBase, rules: Record<string, any> | undefined): Check {
    field.resolve();
    if (field instanceof protobuf.MapField) return this.mapCheck(field, rules);
    const enumValues = field.resolvedType instanceof protobuf.Enum ? field.resolvedType.values : undefined;
    if (field.repeated) {
      const element = this.singleCheck(field, undefined);
      const { container, item } = repeatedRuleCheck(rules, enumValues);
      return (v, path, out) => {
        if (!Array.isArray(v)) {
          out.push({ path, message: `expected an array, got ${describe(v)}` });
          return;
        }
        if (container) container(v, path, out);
        for (let i = 0; i < v.length; i++) {
          const p = indexPath(path, i);
          const x = v[i];
          if (x === null || x === undefined) out.push({ path: p, message: "null is not allowed in a list" });
          else element(x, p, out);
          if (item) item(x, p, out);
        }
      };
    }
    return this.singleCheck(field, rules);
  }

  /** A single value of the field's type plus its value rules. */
  private singleCheck(field: protobuf.FieldBase, rules: Record<string, any> | undefined): Check {
    const enumValues = field.resolvedType instanceof protobuf.Enum ? field.resolvedType.values : undefined;
    const ruleCheck = valueRuleCheck(rules, enumValues);
    const base = this.typeCheck(field.type, field.resolvedType);
    if (!ruleCheck) return base;
    return (v, path, out) => {
      const before = out.length;
      base(v, path, out);
      if (out.length === before) ruleCheck(v, path, out);
    };
  }

  private typeCheck(typeName: string, resolved: protobuf.Type | protobuf.Enum | null): Check {
    if (resolved instanceof protobuf.Enum) return enumCheck(resolved);
    if (resolved instanceof protobuf.Type) {
      const name = resolved.fullName.slice(1);
      const special = SPECIAL_JSON[name];
      if (special) return (v, path, out) => reportScalar(special, v, path, out);
      if (name === ANY) return (v, path, out) => this.checkAny(v, path, out);
      const message = this.messageCheck(name);
      return (v, path, out) => message(v, path, out);
    }
    const scalar = SCALAR_CHECKS[typeName];
    if (!scalar) throw new Error(`validator: unsupported field type ${typeName}`);
    return (v, path, out) => reportScalar(scalar, v, path, out);
  }

  private mapCheck(field: protobuf.MapField, rules: Record<string, any> | undefined): Check {
    const enumValues = field.resolvedType instanceof protobuf.Enum ? field.resolvedType.values : undefined;
    const valueCheck = this.typeCheck(field.type, field.resolvedType);
    const { container, key: keyRules, value: valueRules } = mapRuleCheck(rules, enumValues);
    const keyCheck = mapKeyCheck(field.keyType);
    return (v, path, out) => {
      if (!isPlainObject(v)) {
        out.push({ path, message: `expected an object (map), got ${describe(v)}` });
        return;
      }
      if (container) container(v, path, out);
      for (const k in v) {
        const p = mapKeyPath(path, k);
        const keyProblem = keyCheck(k);
        if (keyProblem) out.push({ path: p, message: keyProblem });
        else if (keyRules) keyRules(k, p, out);
        const x = v[k];
        if (x === null || x === undefined) {
          out.push({ path: p, message: "null is not allowed as a map value" });
          continue;
        }
        valueCheck(x, p, out);
        if (valueRules) valueRules(x, p, out);
      }
    };
  }

  private checkAny(value: unknown, path: string, out: ValidationError[]): void {
    if (!isPlainObject(value)) {
      out.push({ path, message: `expected an object with "@type" (google.protobuf.Any), got ${describe(value)}` });
      return;
    }
    const url = value["@type"];
    const typePath = fieldPath(path, "@type");
    if (typeof url !== "string" || url === "") {
      out.push({ path: typePath, message: `missing "@type" in google.protobuf.Any` });
      return;
    }
    const typeName = this.typeNameOf(url);
    if (!this.messageType(typeName)) {
      out.push({ path: typePath, message: `unknown type URL "${url}": no message ${typeName} in Envoy's API` });
      return;
    }
    if (SPECIAL_JSON[typeName] !== undefined || typeName === ANY) {
      // Well-known types with a non-object JSON form sit in "value".
      for (const key in value) {
        if (key !== "@type" && key !== "value") out.push({ path: fieldPath(path, key), message: `unknown field "${key}" in an Any of ${typeName}` });
      }
      if (value.value === undefined) out.push({ path: fieldPath(path, "value"), message: `missing "value" of ${typeName}` });
      else this.checkInto(typeName, value.value, fieldPath(path, "value"), out);
      return;
    }
    this.messageCheck(typeName)(value, path, out, true);
    if (TYPED_STRUCTS.has(typeName)) this.checkTypedStruct(value, path, out);
  }

  /** `type.googleapis.com/a.b.C` → `a.b.C` (any prefix up to the last slash, as protobuf allows). */
  private typeNameOf(url: string): string {
    let name = this.typeNameOfUrl.get(url);
    if (name === undefined) {
      name = url.slice(url.lastIndexOf("/") + 1);
      this.typeNameOfUrl.set(url, name);
    }
    return name;
  }

  /** A TypedStruct's `value` is the JSON of the message its `type_url` names. */
  private checkTypedStruct(value: Record<string, unknown>, path: string, out: ValidationError[]): void {
    const url = value.type_url ?? value.typeUrl;
    if (typeof url !== "string") return;
    const typeName = this.typeNameOf(url);
    if (!this.messageType(typeName)) {
      out.push({ path: fieldPath(path, "type_url"), message: `unknown type URL "${url}": no message ${typeName} in Envoy's API` });
      return;
    }
    if (value.value != null) this.checkInto(typeName, value.value, fieldPath(path, "value"), out);
  }
}

/**
 * PGV checks a proto3 scalar even when it is not set: it then holds its
 * default (0, "", false, the enum's 0), so e.g. a missing `stat_prefix`
 * (min_len 1) fails like an empty one. What the default breaks, or undefined
 * (also for messages, lists, maps and oneof/optional members, which PGV
 * checks only when set).
 */
function defaultValueProblem(field: protobuf.Field, rules: Record<string, any> | undefined): string | undefined {
  if (!rules || field.repeated || field instanceof protobuf.MapField) return undefined;
  field.resolve();
  if (field.resolvedType instanceof protobuf.Type) return undefined;
  const enumValues = field.resolvedType instanceof protobuf.Enum ? field.resolvedType.values : undefined;
  const check = valueRuleCheck(rules, enumValues);
  if (!check) return undefined;
  const value = enumValues ? 0 : field.type === "string" || field.type === "bytes" ? "" : field.type === "bool" ? false : 0;
  const out: ValidationError[] = [];
  check(value, "", out);
  return out.length === 0 ? undefined : out.map((e) => e.message).join("; ");
}

/**
 * A field's check followed by what Envoy checks when it loads the value
 * (a regex compiles, an extension is registered), once the value passed the rest.
 */
function withLoadCheck(check: Check, load: Check | undefined): Check {
  if (!load) return check;
  return (v, path, out) => {
    const before = out.length;
    check(v, path, out);
    if (out.length === before) load(v, path, out);
  };
}

function reportScalar(check: ScalarCheck, value: unknown, path: string, out: ValidationError[]): void {
  const problem = check(value);
  if (problem) out.push({ path, message: problem });
}

function enumCheck(type: protobuf.Enum): Check {
  const typeName = type.fullName.slice(1);
  const names = type.values;
  const numbers = new Set(Object.values(names));
  const deprecated = new Set(
    Object.entries(type.valuesOptions ?? {})
      .filter(([, o]) => o?.deprecated === true)
      .map(([name]) => name),
  );
  return (v, path, out) => {
    if (typeof v === "string") {
      if (!Object.hasOwn(names, v)) {
        out.push({ path, message: `unknown value "${v}" of enum ${typeName} (one of ${Object.keys(names).join(", ")})` });
      } else if (deprecated.has(v)) {
        out.push({ path, message: `value "${v}" of enum ${typeName} is deprecated` });
      }
      return;
    }
    if (typeof v === "number" && Number.isInteger(v)) {
      if (!numbers.has(v)) out.push({ path, message: `${v} is not a value of enum ${typeName}` });
      return;
    }
    out.push({ path, message: `expected a ${typeName} name (string), got ${describe(v)}` });
  };
}

function mapKeyCheck(keyType: string): (key: string) => string | undefined {
  if (keyType === "string") return () => undefined;
  if (keyType === "bool") return (k) => (k === "true" || k === "false" ? undefined : `map key "${k}" is not a boolean`);
  const scalar = SCALAR_CHECKS[keyType];
  return (k) => (scalar && scalar(k) ? `map key "${k}" is not a ${keyType}` : undefined);
}

/** protobuf's default JSON name: lowerCamelCase of the proto field name. */
function jsonName(protoName: string): string {
  return protoName.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function unknownField(key: string, plan: MessagePlan): string {
  const suggestion = closestName(key, [...new Set([...plan.byKey.values()].map((f) => f.name))]);
  return `unknown field "${key}" in ${plan.typeName}${suggestion ? ` (did you mean "${suggestion}"?)` : ""}`;
}
