// Call parameters checked against a method's input fields given as Varlink type spellings ("string", "?int",
// "[]string", "[string]bool", a named struct type), compiled once into predicates: how the interfaces served
// from a table (org.bootc.Storage's operations, org.varlink.service) are checked, with no IDL text parsed.

import { isPlainObject, type VarlinkParams } from './wire.js';

/** One input field: its Varlink name and type spelling (`?T` may be absent or null). */
export interface ParamSpec {
  readonly name: string;
  readonly type: string;
}

/** The name of the first unknown, missing or wrongly typed parameter (InvalidParameter's), or undefined. */
export type ParameterCheck = (params: VarlinkParams) => string | undefined;

type Fits = (v: unknown) => boolean;

const PRIMITIVES: Readonly<Record<string, Fits>> = {
  bool: (v) => typeof v === 'boolean',
  int: (v) => Number.isSafeInteger(v),
  float: (v) => typeof v === 'number' && Number.isFinite(v),
  string: (v) => typeof v === 'string',
  object: (v) => v !== undefined,
};
const TYPE_NAME = /^[A-Z][A-Za-z0-9]*$/;

const own = (o: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(o, key) ? o[key] : undefined;

/** The predicate for one spelling; throws for one it cannot check (inline structs and enums, unknown names). */
function compile(type: string, types: ReadonlyMap<string, readonly ParamSpec[]>, open: string[]): Fits {
  if (type.startsWith('?')) {
    if (type.startsWith('??')) throw new Error(`varlink type ${type}: "?" twice`);
    const inner = compile(type.slice(1), types, open);
    return (v) => v === undefined || v === null || inner(v);
  }
  if (type.startsWith('[]')) {
    const inner = compile(type.slice(2), types, open);
    return (v) => Array.isArray(v) && v.every((x) => inner(x));
  }
  if (type.startsWith('[string]')) {
    const inner = compile(type.slice(8), types, open);
    return (v) => isPlainObject(v) && Object.values(v).every((x) => inner(x));
  }
  const primitive = Object.hasOwn(PRIMITIVES, type) ? PRIMITIVES[type] : undefined;
  if (primitive) return primitive;
  const fields = TYPE_NAME.test(type) ? types.get(type) : undefined;
  if (!fields) throw new Error(`varlink type ${JSON.stringify(type)} cannot be checked`);
  if (open.includes(type)) throw new Error(`varlink type ${type} contains itself`);
  const checks = compileFields(fields, types, [...open, type]);
  return (v) => isPlainObject(v) && firstMisfit(checks, v) === undefined;
}

function compileFields(
  specs: readonly ParamSpec[],
  types: ReadonlyMap<string, readonly ParamSpec[]>,
  open: string[],
): Map<string, Fits> {
  const checks = new Map(specs.map((s): [string, Fits] => [s.name, compile(s.type, types, open)]));
  if (checks.size !== specs.length) throw new Error('varlink fields: a name declared twice');
  return checks;
}

/** Unknown keys first (in the call's order), then the declared fields in their order. */
function firstMisfit(checks: ReadonlyMap<string, Fits>, v: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(v)) if (!checks.has(key)) return key;
  for (const [key, fits] of checks) if (!fits(own(v, key))) return key;
  return undefined;
}

/** Compiles a method's parameter check from its input fields and the named struct types they may use. */
export function parameterCheck(
  specs: readonly ParamSpec[],
  types: ReadonlyMap<string, readonly ParamSpec[]> = new Map(),
): ParameterCheck {
  const checks = compileFields(specs, types, []);
  return (params) => firstMisfit(checks, params);
}
