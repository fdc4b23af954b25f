// A parser for Varlink interface definitions (https://varlink.org/Interface-Definition) and a checker for call
// parameters against a method's input struct, for the tests: they serve interfaces written as IDL text (the
// certification interface, their own) through the server's table form (`idlInterface`), so a wrong type, a
// missing field or an unknown one is answered with org.varlink.service.InvalidParameter before any handler
// runs; and they read the generated varlink/org.bootc.Storage.varlink back. The daemon parses no IDL: its
// interfaces are tables (params.ts), so none of this is in its bundle.

import type { VarlinkMethod, VarlinkTableInterface } from '../../src/api/varlink/protocol.js';
import { INTERFACE_NAME, MEMBER_NAME, type VarlinkParams } from '../../src/api/varlink/wire.js';

export type VarlinkType =
  | { kind: 'bool' | 'int' | 'float' | 'string' | 'object' }
  | { kind: 'maybe' | 'array' | 'dict'; of: VarlinkType }
  | { kind: 'struct'; fields: Map<string, VarlinkType> }
  | { kind: 'enum'; values: string[] }
  | { kind: 'alias'; name: string };

export interface VarlinkMethodDecl {
  in: Map<string, VarlinkType>;
  out: Map<string, VarlinkType>;
}

export interface VarlinkIdl {
  name: string;
  types: Map<string, VarlinkType>;
  methods: Map<string, VarlinkMethodDecl>;
  errors: Map<string, Map<string, VarlinkType>>;
  /** The comment lines right before each member, keyed `method Name`, `error Name`, `type Name`, `field Owner.name`. */
  docs: Map<string, string>;
}

/** Values nested deeper than this are refused (recursive types could otherwise recurse without bound). */
const MAX_DEPTH = 64;
const FIELD_NAME = /^[A-Za-z](?:_?[A-Za-z0-9])*$/;

interface Token {
  text: string;
  doc: string;
  line: number;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let doc: string[] = [];
  let line = 1;
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      line += 1;
      i += 1;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i += 1;
      continue;
    }
    if (c === '#') {
      const end = src.indexOf('\n', i);
      doc.push(src.slice(i + 1, end === -1 ? src.length : end).replace(/^ /, ''));
      i = end === -1 ? src.length : end;
      continue;
    }
    let text: string;
    if (src.startsWith('->', i)) text = '->';
    else if (src.startsWith('[]', i)) text = '[]';
    else if (src.startsWith('[string]', i)) text = '[string]';
    else if ('(),:?'.includes(c)) text = c;
    else {
      const m = /^[A-Za-z0-9_.-]+/.exec(src.slice(i, i + 256));
      if (!m) throw new Error(`varlink IDL line ${line}: unexpected character ${JSON.stringify(c)}`);
      text = m[0];
    }
    tokens.push({ text, doc: doc.join('\n'), line });
    doc = [];
    i += text.length;
  }
  return tokens;
}

/** Parses an interface definition; throws with the line number on a syntax error. */
export function parseIdl(src: string): VarlinkIdl {
  const tokens = tokenize(src);
  let pos = 0;
  const peek = () => tokens[pos]?.text;
  const fail = (what: string): never => {
    const t = tokens[pos];
    throw new Error(
      `varlink IDL ${t ? `line ${t.line}` : 'end'}: expected ${what}, got ${t?.text ?? 'nothing'}`,
    );
  };
  const take = (expected?: string): Token => {
    const t = tokens[pos];
    if (!t || (expected !== undefined && t.text !== expected)) return fail(expected ?? 'a token');
    pos += 1;
    return t;
  };
  const docs = new Map<string, string>();

  // A parenthesized list: a struct (name: type, …) or an enum (a, b, …); "()" is an empty struct.
  const parseParens = (owner: string): VarlinkType => {
    take('(');
    if (peek() === ')') {
      take(')');
      return { kind: 'struct', fields: new Map() };
    }
    const first = tokens[pos + 1]?.text;
    if (first === ':') {
      const fields = new Map<string, VarlinkType>();
      for (;;) {
        const nameTok = take();
        if (!FIELD_NAME.test(nameTok.text)) fail('a field name');
        if (fields.has(nameTok.text)) throw new Error(`varlink IDL line ${nameTok.line}: duplicate field`);
        take(':');
        fields.set(nameTok.text, parseType(`${owner}.${nameTok.text}`));
        docs.set(`field ${owner}.${nameTok.text}`, nameTok.doc);
        if (peek() === ',') take(',');
        else break;
      }
      take(')');
      return { kind: 'struct', fields };
    }
    const values: string[] = [];
    for (;;) {
      const v = take();
      if (!FIELD_NAME.test(v.text)) fail('an enum value');
      values.push(v.text);
      if (peek() === ',') take(',');
      else break;
    }
    take(')');
    return { kind: 'enum', values };
  };

  const parseType = (owner: string): VarlinkType => {
    const t = peek();
    if (t === '?') {
      take();
      if (peek() === '?') fail('a type after ?');
      return { kind: 'maybe', of: parseType(owner) };
    }
    if (t === '[]') {
      take();
      return { kind: 'array', of: parseType(owner) };
    }
    if (t === '[string]') {
      take();
      return { kind: 'dict', of: parseType(owner) };
    }
    if (t === '(') return parseParens(owner);
    const tok = take();
    if (['bool', 'int', 'float', 'string', 'object'].includes(tok.text))
      return { kind: tok.text as 'bool' | 'int' | 'float' | 'string' | 'object' };
    if (MEMBER_NAME.test(tok.text)) return { kind: 'alias', name: tok.text };
    return fail('a type');
  };

  const struct = (owner: string): Map<string, VarlinkType> => {
    if (peek() !== '(') fail('(');
    const t = parseParens(owner);
    if (t.kind !== 'struct') return fail('a struct');
    return t.fields;
  };

  take('interface');
  const name = take().text;
  if (!INTERFACE_NAME.test(name)) throw new Error(`varlink IDL: bad interface name ${name}`);
  const idl: VarlinkIdl = { name, types: new Map(), methods: new Map(), errors: new Map(), docs };
  const seen = new Set<string>();
  while (pos < tokens.length) {
    const kw = take();
    const memberTok = take();
    const member = memberTok.text;
    if (!MEMBER_NAME.test(member)) fail('a member name');
    if (seen.has(member)) throw new Error(`varlink IDL line ${memberTok.line}: ${member} declared twice`);
    seen.add(member);
    docs.set(`${kw.text} ${member}`, kw.doc);
    if (kw.text === 'type') idl.types.set(member, parseParens(member));
    else if (kw.text === 'method') {
      const input = struct(member);
      take('->');
      idl.methods.set(member, { in: input, out: struct(`${member}.out`) });
    } else if (kw.text === 'error') idl.errors.set(member, struct(member));
    else throw new Error(`varlink IDL line ${kw.line}: expected type, method or error, got ${kw.text}`);
  }
  if (idl.methods.size === 0 && idl.types.size === 0 && idl.errors.size === 0)
    throw new Error('varlink IDL: an interface needs at least one member');
  const struct_ = (fields: Map<string, VarlinkType>): VarlinkType => ({ kind: 'struct', fields });
  const uses: [string, VarlinkType][] = [
    ...idl.types,
    ...[...idl.methods].flatMap(([k, m]): [string, VarlinkType][] => [
      [k, struct_(m.in)],
      [k, struct_(m.out)],
    ]),
    ...[...idl.errors].map(([k, f]): [string, VarlinkType] => [k, struct_(f)]),
  ];
  for (const [member, t] of uses) {
    for (const alias of aliasesIn(t)) {
      if (!idl.types.has(alias)) throw new Error(`varlink IDL: ${member} uses the unknown type ${alias}`);
    }
  }
  return idl;
}

function aliasesIn(t: VarlinkType): string[] {
  switch (t.kind) {
    case 'alias':
      return [t.name];
    case 'maybe':
    case 'array':
    case 'dict':
      return aliasesIn(t.of);
    case 'struct':
      return [...t.fields.values()].flatMap(aliasesIn);
    default:
      return [];
  }
}

/**
 * Checks call parameters against a method's input struct. Returns the name of the first offending top-level
 * parameter (the `parameter` of InvalidParameter), or undefined when they fit. Unknown parameters are refused;
 * optional (`?`) ones may be absent or null.
 */
export function checkParameters(
  idl: VarlinkIdl,
  fields: Map<string, VarlinkType>,
  params: Record<string, unknown>,
): string | undefined {
  for (const key of Object.keys(params)) if (!fields.has(key)) return key;
  for (const [key, type] of fields) {
    if (!fits(idl, type, params[key], 0)) return key;
  }
  return undefined;
}

function fits(idl: VarlinkIdl, t: VarlinkType, v: unknown, depth: number): boolean {
  if (depth > MAX_DEPTH) return false;
  switch (t.kind) {
    case 'maybe':
      return v === undefined || v === null || fits(idl, t.of, v, depth);
    case 'bool':
      return typeof v === 'boolean';
    case 'int':
      return Number.isSafeInteger(v);
    case 'float':
      return typeof v === 'number' && Number.isFinite(v);
    case 'string':
      return typeof v === 'string';
    case 'object':
      return v !== undefined;
    case 'array':
      return Array.isArray(v) && v.every((x) => fits(idl, t.of, x, depth + 1));
    case 'dict':
      return isObject(v) && Object.values(v).every((x) => fits(idl, t.of, x, depth + 1));
    case 'enum':
      return typeof v === 'string' && t.values.includes(v);
    case 'struct':
      if (!isObject(v)) return false;
      for (const key of Object.keys(v)) if (!t.fields.has(key)) return false;
      for (const [key, ft] of t.fields) if (!fits(idl, ft, v[key], depth + 1)) return false;
      return true;
    case 'alias': {
      const target = idl.types.get(t.name);
      return target !== undefined && fits(idl, target, v, depth + 1);
    }
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * An interface given as IDL text, as the server's table form: every declared method checked against its input
 * struct; one declared but absent from `methods` answers MethodNotImplemented; one implemented but not
 * declared is an error at once.
 */
export function idlInterface(iface: {
  description: string;
  methods: Readonly<Record<string, VarlinkMethod>>;
  requiresMore?: readonly string[];
}): VarlinkTableInterface {
  const idl = parseIdl(iface.description);
  for (const m of Object.keys(iface.methods)) {
    if (!idl.methods.has(m)) throw new Error(`${idl.name}.${m} is implemented but not declared`);
  }
  const methods = Object.fromEntries(
    [...idl.methods].map(([m, decl]) => [
      m,
      {
        check: (p: VarlinkParams) => checkParameters(idl, decl.in, p),
        run: Object.hasOwn(iface.methods, m) ? iface.methods[m] : undefined,
      },
    ]),
  );
  const { description } = iface;
  return { name: idl.name, describe: () => description, methods, requiresMore: iface.requiresMore };
}
