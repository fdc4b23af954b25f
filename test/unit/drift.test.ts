// Drift tests, in the spirit of fastify's error-catalogue tests: the D-Bus contract, the polkit actions, the bus
// policy and the error names each live in code AND in a documentation/system file. These tests fail the moment a
// method, signal, property, error or action is added, renamed or retyped in one place but not in the other.
// Every comparison runs in both directions, and the comparison functions are themselves tested on mutated copies
// so a broken comparison cannot pass silently.

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import pino from 'pino';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { mapErrorToDBus, WIRE_ERROR_NAMES } from '../../src/api/dbus/map-error.js';
import {
  type Arg,
  BUS_NAME,
  ERROR_PREFIX,
  inSignature,
  introspect,
  JOB_IFACE,
  JOB_METHODS,
  JOB_PATH_PREFIX,
  JOB_PROPERTIES,
  type MethodDef,
  outSignature,
  type PropertyDef,
  STORAGE_IFACE,
  STORAGE_METHODS,
  STORAGE_PATH,
  STORAGE_PROPERTIES,
  STORAGE_SIGNALS,
} from '../../src/api/dbus/members.js';
import { DBusServer } from '../../src/api/dbus/server.js';
import {
  ACTION_CANCEL_FOREIGN,
  ACTION_PULL,
  ACTION_READ,
  ACTION_REMOVE,
  type ActionId,
  ALL_ACTIONS,
  METHOD_POLICY,
  type MethodPolicy,
} from '../../src/authz/actions.js';
import type { Authority, AuthorizationRequest } from '../../src/authz/polkit.js';
import type { StorageService } from '../../src/core/storage-service.js';
import { createError, ERROR_NAMES } from '../../src/errors.js';
import { JOB_KINDS } from '../../src/jobs/job.js';

const REPO = new URL('../../', import.meta.url);
const readRepoFile = (path: string): string => readFileSync(new URL(path, REPO), 'utf8');

const XML_PATH = 'dbus/org.bootc.Storage.xml';
const CONF_PATH = 'dbus/org.bootc.Storage.conf';
const SERVICE_PATH = 'dbus/org.bootc.Storage.service';
const POLICY_PATH = 'polkit/org.bootc.storage.policy';

const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
const INTROSPECT_IFACE = 'org.freedesktop.DBus.Introspectable';
const PEER_IFACE = 'org.freedesktop.DBus.Peer';
const STANDARD_IFACES = [INTROSPECT_IFACE, PEER_IFACE, PROPS_IFACE];
const EMITS_CHANGED = 'org.freedesktop.DBus.Property.EmitsChangedSignal';
const FD_ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied';
const FD_INTERACTIVE = 'org.freedesktop.DBus.Error.InteractiveAuthorizationRequired';

const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** Both-direction set difference, as readable problems; empty when the two sides agree. */
function diffNames(
  what: string,
  a: Iterable<string>,
  aName: string,
  b: Iterable<string>,
  bName: string,
): string[] {
  const as = new Set(a);
  const bs = new Set(b);
  return [
    ...sorted([...as].filter((x) => !bs.has(x))).map(
      (x) => `${what} ${x} is in ${aName} but not in ${bName}`,
    ),
    ...sorted([...bs].filter((x) => !as.has(x))).map(
      (x) => `${what} ${x} is in ${bName} but not in ${aName}`,
    ),
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// A minimal, strict XML reader: elements, attributes, text and comments; the XML declaration and DOCTYPE are
// skipped. It throws on anything it does not understand (CDATA, unbalanced or mismatched tags, duplicate
// attributes, unknown entities, stray markup) rather than guessing, so a test can never pass on a misread file.
// ---------------------------------------------------------------------------------------------------------------

interface XmlElement {
  kind: 'element';
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
  line: number;
}
interface XmlText {
  kind: 'text';
  text: string;
}
interface XmlComment {
  kind: 'comment';
  text: string;
}
type XmlNode = XmlElement | XmlText | XmlComment;

const XML_NAME = String.raw`[A-Za-z_][\w.:-]*`;
const XML_ATTR = String.raw`${XML_NAME}\s*=\s*(?:"[^"<]*"|'[^'<]*')`;
const TAG_RE = new RegExp(String.raw`<(/?)(${XML_NAME})((?:\s+${XML_ATTR})*)\s*(/?)>`, 'y');
const ATTR_RE = new RegExp(String.raw`(${XML_NAME})\s*=\s*(?:"([^"<]*)"|'([^'<]*)')`, 'g');
const DOCTYPE_RE = /<!DOCTYPE(?:[^>"'[]|"[^"]*"|'[^']*')*>/y;

function decodeEntities(raw: string, where: string): string {
  return raw.replace(/&([^;&\s<]*)(;?)/g, (_whole, ent: string, semi: string) => {
    if (semi !== ';') throw new Error(`${where}: bare "&" (unterminated entity)`);
    const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
    if (Object.hasOwn(named, ent)) return named[ent]!;
    if (/^#\d+$/.test(ent)) return String.fromCodePoint(Number(ent.slice(1)));
    if (/^#x[0-9a-fA-F]+$/.test(ent)) return String.fromCodePoint(Number.parseInt(ent.slice(2), 16));
    throw new Error(`${where}: unknown entity &${ent};`);
  });
}

function parseXml(src: string): XmlElement {
  const lineAt = (pos: number) => src.slice(0, pos).split('\n').length;
  const doc: XmlElement = { kind: 'element', name: '#document', attrs: {}, children: [], line: 1 };
  const stack: XmlElement[] = [doc];
  let pos = 0;
  while (pos < src.length) {
    const top = stack[stack.length - 1]!;
    if (src.startsWith('<!--', pos)) {
      const end = src.indexOf('-->', pos + 4);
      if (end < 0) throw new Error(`line ${lineAt(pos)}: unterminated comment`);
      const text = src.slice(pos + 4, end);
      if (text.includes('--')) throw new Error(`line ${lineAt(pos)}: "--" inside a comment`);
      top.children.push({ kind: 'comment', text });
      pos = end + 3;
    } else if (src.startsWith('<?', pos)) {
      if (stack.length > 1) throw new Error(`line ${lineAt(pos)}: processing instruction inside an element`);
      const end = src.indexOf('?>', pos);
      if (end < 0) throw new Error(`line ${lineAt(pos)}: unterminated processing instruction`);
      pos = end + 2;
    } else if (src.startsWith('<!DOCTYPE', pos)) {
      DOCTYPE_RE.lastIndex = pos;
      const m = DOCTYPE_RE.exec(src);
      if (!m || stack.length > 1) throw new Error(`line ${lineAt(pos)}: unsupported DOCTYPE`);
      pos += m[0].length;
    } else if (src.startsWith('<', pos)) {
      TAG_RE.lastIndex = pos;
      const m = TAG_RE.exec(src);
      if (!m)
        throw new Error(`line ${lineAt(pos)}: malformed or unsupported markup: ${src.slice(pos, pos + 40)}`);
      const [whole, close, name, attrText, selfClose] = m as unknown as [
        string,
        string,
        string,
        string,
        string,
      ];
      const where = `line ${lineAt(pos)} <${name}>`;
      if (close) {
        if (attrText || selfClose) throw new Error(`${where}: malformed end tag`);
        if (top.name !== name) throw new Error(`${where}: end tag </${name}> does not close <${top.name}>`);
        stack.pop();
      } else {
        if (stack.length === 1 && doc.children.some((c) => c.kind === 'element')) {
          throw new Error(`${where}: a second root element`);
        }
        const el: XmlElement = { kind: 'element', name, attrs: {}, children: [], line: lineAt(pos) };
        for (const a of attrText.matchAll(ATTR_RE)) {
          const key = a[1]!;
          if (Object.hasOwn(el.attrs, key)) throw new Error(`${where}: attribute ${key} given twice`);
          el.attrs[key] = decodeEntities(a[2] ?? a[3] ?? '', where);
        }
        top.children.push(el);
        if (!selfClose) stack.push(el);
      }
      pos += whole.length;
    } else {
      const next = src.indexOf('<', pos);
      const end = next < 0 ? src.length : next;
      const text = decodeEntities(src.slice(pos, end), `line ${lineAt(pos)}`);
      if (stack.length === 1 && text.trim() !== '')
        throw new Error(`line ${lineAt(pos)}: text outside the root`);
      top.children.push({ kind: 'text', text });
      pos = end;
    }
  }
  if (stack.length !== 1) throw new Error(`<${stack[stack.length - 1]!.name}> is never closed`);
  const roots = doc.children.filter((c): c is XmlElement => c.kind === 'element');
  if (roots.length !== 1) throw new Error('expected exactly one root element');
  return roots[0]!;
}

const elementsOf = (el: XmlElement, name?: string): XmlElement[] =>
  el.children.filter((c): c is XmlElement => c.kind === 'element' && (name === undefined || c.name === name));

function attrOf(el: XmlElement, name: string): string {
  const v = el.attrs[name];
  if (v === undefined) throw new Error(`line ${el.line}: <${el.name}> lacks the ${name} attribute`);
  return v;
}

const textOf = (el: XmlElement): string =>
  el.children
    .filter((c): c is XmlText => c.kind === 'text')
    .map((c) => c.text)
    .join('')
    .trim();

/** The comment right before each `kind` child element (only whitespace between), keyed by its `key` attribute. */
function docComments(parent: XmlElement, kind: string, key = 'name'): Record<string, string> {
  const out: Record<string, string> = {};
  let last: string | undefined;
  for (const c of parent.children) {
    if (c.kind === 'comment') last = c.text;
    else if (c.kind === 'text') {
      if (c.text.trim() !== '') last = undefined;
    } else {
      if (c.name === kind && last !== undefined) out[attrOf(c, key)] = last;
      last = undefined;
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The D-Bus contract as comparable data.
// ---------------------------------------------------------------------------------------------------------------

interface PropertyContract {
  type: string;
  access: string;
  emits: string | undefined;
}
interface InterfaceContract {
  methods: Record<string, MethodDef>;
  signals: Record<string, Arg[]>;
  properties: Record<string, PropertyContract>;
}
type Contract = Record<string, InterfaceContract>;

function interfaceFromMembers(
  methods: Readonly<Record<string, MethodDef>>,
  signals: Readonly<Record<string, Arg[]>>,
  properties: Readonly<Record<string, PropertyDef>>,
): InterfaceContract {
  return structuredClone({
    methods: { ...methods },
    signals: { ...signals },
    properties: Object.fromEntries(
      Object.entries(properties).map(([n, p]) => [n, { type: p.type, access: 'read', emits: p.emits }]),
    ),
  });
}

/** What members.ts exports, the same way introspect() assembles it (the Job interface has no signals). */
function contractFromMembers(): Contract {
  return {
    [STORAGE_IFACE]: interfaceFromMembers(STORAGE_METHODS, STORAGE_SIGNALS, STORAGE_PROPERTIES),
    [JOB_IFACE]: interfaceFromMembers(JOB_METHODS, {}, JOB_PROPERTIES),
  };
}

function argsOf(member: XmlElement, label: string, allowed: readonly string[], defaultDir: string) {
  const args: Record<string, Arg[]> = Object.fromEntries(allowed.map((d) => [d, []]));
  for (const arg of elementsOf(member)) {
    if (arg.name !== 'arg') throw new Error(`${label}: unexpected <${arg.name}> (line ${arg.line})`);
    if (elementsOf(arg).length > 0) throw new Error(`${label}: <arg> with children (line ${arg.line})`);
    const dir = arg.attrs.direction ?? defaultDir;
    if (!allowed.includes(dir)) throw new Error(`${label}: arg direction "${dir}" (line ${arg.line})`);
    args[dir]!.push({ name: attrOf(arg, 'name'), type: attrOf(arg, 'type') });
  }
  return args;
}

function interfaceFromXml(iface: XmlElement): InterfaceContract {
  const out: InterfaceContract = { methods: {}, signals: {}, properties: {} };
  const ifaceName = attrOf(iface, 'name');
  for (const member of elementsOf(iface)) {
    const name = attrOf(member, 'name');
    const label = `${ifaceName} <${member.name} name="${name}">`;
    if (member.name === 'method') {
      if (Object.hasOwn(out.methods, name)) throw new Error(`${label} declared twice`);
      const args = argsOf(member, label, ['in', 'out'], 'in');
      out.methods[name] = { in: args.in!, out: args.out! };
    } else if (member.name === 'signal') {
      if (Object.hasOwn(out.signals, name)) throw new Error(`${label} declared twice`);
      out.signals[name] = argsOf(member, label, ['out'], 'out').out!;
    } else if (member.name === 'property') {
      if (Object.hasOwn(out.properties, name)) throw new Error(`${label} declared twice`);
      const annotations: Record<string, string> = {};
      for (const a of elementsOf(member)) {
        if (a.name !== 'annotation') throw new Error(`${label}: unexpected <${a.name}> (line ${a.line})`);
        annotations[attrOf(a, 'name')] = attrOf(a, 'value');
      }
      const unknown = Object.keys(annotations).filter((k) => k !== EMITS_CHANGED);
      if (unknown.length > 0) throw new Error(`${label}: annotations members.ts cannot express: ${unknown}`);
      out.properties[name] = {
        type: attrOf(member, 'type'),
        access: attrOf(member, 'access'),
        emits: annotations[EMITS_CHANGED],
      };
    } else {
      throw new Error(`${label}: unexpected element (line ${member.line})`);
    }
  }
  return out;
}

function contractFromXml(root: XmlElement): Contract {
  if (root.name !== 'node') throw new Error(`root element is <${root.name}>, not <node>`);
  const out: Contract = {};
  for (const child of elementsOf(root)) {
    if (child.name === 'node') continue; // child object paths, not part of this object's contract
    if (child.name !== 'interface')
      throw new Error(`unexpected <${child.name}> under <node> (line ${child.line})`);
    const name = attrOf(child, 'name');
    if (Object.hasOwn(out, name)) throw new Error(`interface ${name} declared twice`);
    out[name] = interfaceFromXml(child);
  }
  return out;
}

const fmtArgs = (args: Arg[]): string => args.map((a) => `${a.name} ${a.type}`).join(', ');

function diffMembers<T>(
  what: string,
  iface: string,
  a: Record<string, T>,
  b: Record<string, T>,
  aName: string,
  bName: string,
  show: (t: T) => string,
): string[] {
  const problems = diffNames(
    what,
    Object.keys(a).map((n) => `${iface}.${n}`),
    aName,
    Object.keys(b).map((n) => `${iface}.${n}`),
    bName,
  );
  for (const n of sorted(Object.keys(a))) {
    if (!Object.hasOwn(b, n)) continue;
    const x = show(a[n]!);
    const y = show(b[n]!);
    if (x !== y) problems.push(`${what} ${iface}.${n}: ${aName} has ${x} but ${bName} has ${y}`);
  }
  return problems;
}

/** Every difference between two contracts, both directions; empty when they agree. */
function diffContracts(a: Contract, b: Contract, aName = 'members.ts', bName = 'the XML'): string[] {
  const problems = diffNames('interface', Object.keys(a), aName, Object.keys(b), bName);
  for (const iface of sorted(Object.keys(a))) {
    const x = a[iface]!;
    const y = b[iface];
    if (!y) continue;
    problems.push(
      ...diffMembers(
        'method',
        iface,
        x.methods,
        y.methods,
        aName,
        bName,
        (m) => `(${fmtArgs(m.in)}) → (${fmtArgs(m.out)})`,
      ),
      ...diffMembers('signal', iface, x.signals, y.signals, aName, bName, (s) => `(${fmtArgs(s)})`),
      ...diffMembers(
        'property',
        iface,
        x.properties,
        y.properties,
        aName,
        bName,
        (p) => `type=${p.type} access=${p.access} EmitsChangedSignal=${p.emits ?? '(none)'}`,
      ),
    );
  }
  return problems;
}

/** `iface.method` → `in-signature → out-signature`. */
function signaturesOf(c: Contract): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [iface, def] of Object.entries(c)) {
    for (const [m, md] of Object.entries(def.methods))
      out[`${iface}.${m}`] = `${inSignature(md)} → ${outSignature(md)}`;
  }
  return out;
}

const DOCUMENTED_XML = readRepoFile(XML_PATH);
const documentedRoot = parseXml(DOCUMENTED_XML);
const documented = contractFromXml(documentedRoot);

describe('the XML reader', () => {
  it('reads elements, attributes, entities and comments', () => {
    const root = parseXml(
      '<?xml version="1.0"?><!-- c --><a x="1" y=\'&lt;&amp;&#x41;\'><!--d--><b/> t &gt; </a>',
    );
    expect(root.name).toBe('a');
    expect(root.attrs).toEqual({ x: '1', y: '<&A' });
    expect(root.children.map((c) => c.kind)).toEqual(['comment', 'element', 'text']);
    expect(textOf(root)).toBe('t >');
  });

  it('refuses what it does not understand instead of guessing', () => {
    expect(() => parseXml('<a><b></a>')).toThrow(/does not close/);
    expect(() => parseXml('<a>')).toThrow(/never closed/);
    expect(() => parseXml('<a x="1" x="2"/>')).toThrow(/twice/);
    expect(() => parseXml('<a>&nbsp;</a>')).toThrow(/unknown entity/);
    expect(() => parseXml('<a><![CDATA[x]]></a>')).toThrow(/malformed or unsupported/);
    expect(() => parseXml('<a/><b/>')).toThrow(/second root/);
    expect(() => parseXml('<a><!-- x -- y --></a>')).toThrow(/inside a comment/);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 1. members.ts, introspect() and dbus/org.bootc.Storage.xml describe the same contract.
// ---------------------------------------------------------------------------------------------------------------

describe('D-Bus contract: members.ts ⇔ dbus/org.bootc.Storage.xml', () => {
  it('the XML documents exactly the two bootc interfaces', () => {
    expect(sorted(Object.keys(documented))).toEqual(sorted([STORAGE_IFACE, JOB_IFACE]));
  });

  it('methods, signals and properties agree in both directions (names, arg names, types, order, access, annotation)', () => {
    expect(diffContracts(contractFromMembers(), documented)).toEqual([]);
  });

  it('every property is read-only with an EmitsChangedSignal annotation', () => {
    const props = Object.entries(documented).flatMap(([iface, c]) =>
      Object.entries(c.properties).map(([n, p]) => ({
        name: `${iface}.${n}`,
        access: p.access,
        emits: p.emits,
      })),
    );
    expect(props.length).toBeGreaterThan(0);
    for (const p of props) {
      expect(p.access, p.name).toBe('read');
      expect(['true', 'const', 'invalidates', 'false'], p.name).toContain(p.emits);
    }
  });

  it('introspect() output for the storage and job objects matches the documented XML', () => {
    const storageObj = contractFromXml(parseXml(introspect(STORAGE_PATH, ['job'])));
    const jobObj = contractFromXml(parseXml(introspect(`${JOB_PATH_PREFIX}1`, [])));
    expect(sorted(Object.keys(storageObj))).toEqual(sorted([...STANDARD_IFACES, STORAGE_IFACE]));
    expect(sorted(Object.keys(jobObj))).toEqual(sorted([...STANDARD_IFACES, JOB_IFACE]));
    const generated: Contract = {
      [STORAGE_IFACE]: storageObj[STORAGE_IFACE]!,
      [JOB_IFACE]: jobObj[JOB_IFACE]!,
    };
    expect(diffContracts(generated, documented, 'introspect()', 'the XML')).toEqual([]);
    // The signatures the server enforces (inSignature/outSignature over members.ts) are the documented ones.
    expect(signaturesOf(generated)).toEqual(signaturesOf(documented));
    expect(signaturesOf(contractFromMembers())).toEqual(signaturesOf(documented));
  });

  it('each documented method names the polkit action METHOD_POLICY checks', () => {
    const mentioned: Record<string, string[]> = {};
    const expected: Record<string, string[]> = {};
    for (const iface of elementsOf(documentedRoot, 'interface')) {
      const comments = docComments(iface, 'method');
      for (const m of elementsOf(iface, 'method')) {
        const name = attrOf(m, 'name');
        const key = `${attrOf(iface, 'name')}.${name}`;
        mentioned[key] = sorted((comments[name] ?? '').match(/org\.bootc\.storage\.[a-z-]+/g) ?? []);
        const policy = METHOD_POLICY[name];
        expected[key] = policy ? [policyAction(policy) ?? '(none)'] : ['(no METHOD_POLICY entry)'];
      }
    }
    expect(mentioned).toEqual(expected);
  });

  it('the XML header "Authorization (polkit)" table lists each method under its METHOD_POLICY action', () => {
    expect(authorizationTable(DOCUMENTED_XML)).toEqual(expectedAuthorizationTable());
  });

  it('the Job.Kind documentation lists exactly JOB_KINDS, each with an exported method', () => {
    const jobIface = elementsOf(documentedRoot, 'interface').find((i) => attrOf(i, 'name') === JOB_IFACE)!;
    const comment = docComments(jobIface, 'property').Kind ?? '';
    const rows = [...comment.matchAll(/"([a-z-]+)"\s+org\.bootc\.Storage\.(\w+)/g)].map((m) => [
      m[1]!,
      m[2]!,
    ]);
    expect(
      diffNames(
        'job kind',
        JOB_KINDS,
        'JOB_KINDS',
        rows.map(([k]) => k!),
        XML_PATH,
      ),
    ).toEqual([]);
    expect(rows.filter(([, m]) => !Object.hasOwn(STORAGE_METHODS, m!))).toEqual([]);
  });

  it('each documented method lists only documented wire errors under "Errors:"', () => {
    const allowed = new Set<string>([
      ...WIRE_ERROR_NAMES,
      'AccessDenied',
      'InteractiveAuthorizationRequired',
    ]);
    const problems: string[] = [];
    for (const iface of elementsOf(documentedRoot, 'interface')) {
      const comments = docComments(iface, 'method');
      for (const m of elementsOf(iface, 'method')) {
        const name = `${attrOf(iface, 'name')}.${attrOf(m, 'name')}`;
        const errors = /Errors:([\s\S]*)$/.exec(comments[attrOf(m, 'name')] ?? '')?.[1];
        if (errors === undefined) {
          problems.push(`${name} has no "Errors:" in its comment`);
          continue;
        }
        let bare = errors;
        for (let prev = ''; prev !== bare; ) {
          prev = bare;
          bare = bare.replace(/\([^()]*\)/g, '');
        }
        for (const e of bare.split(/[\s,]+/).filter(Boolean)) {
          if (!allowed.has(e)) problems.push(`${name} lists "${e}", which is not a wire error name`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  describe('the comparison bites', () => {
    // Only the problems a mutation introduces count, so these stay meaningful even while the real files drift.
    const introduced = (code: Contract, xml: Contract): string[] => {
      const before = new Set(diffContracts(contractFromMembers(), documented));
      return diffContracts(code, xml).filter((p) => !before.has(p));
    };

    it('detects a method missing from the XML', () => {
      const code = contractFromMembers();
      code[STORAGE_IFACE]!.methods.DriftTestProbe = { in: [{ name: 'image', type: 's' }], out: [] };
      expect(introduced(code, documented)).toEqual([
        `method ${STORAGE_IFACE}.DriftTestProbe is in members.ts but not in the XML`,
      ]);
    });

    it('detects a method documented in the XML but not exported', () => {
      const xml = structuredClone(documented);
      xml[JOB_IFACE]!.methods.Pause = { in: [], out: [] };
      expect(introduced(contractFromMembers(), xml)).toEqual([
        `method ${JOB_IFACE}.Pause is in the XML but not in members.ts`,
      ]);
    });

    it('detects reordered, renamed and retyped arguments', () => {
      const name = Object.keys(STORAGE_METHODS).find((m) => STORAGE_METHODS[m]!.in.length >= 2)!;
      const mismatch = expect.stringMatching(new RegExp(`^method ${STORAGE_IFACE}\\.${name}: `));
      const reordered = contractFromMembers();
      reordered[STORAGE_IFACE]!.methods[name]!.in.reverse();
      expect(introduced(reordered, documented)).toEqual([mismatch]);
      const renamed = contractFromMembers();
      renamed[STORAGE_IFACE]!.methods[name]!.in[0]!.name = 'renamed';
      expect(introduced(renamed, documented)).toEqual([mismatch]);
      const retyped = contractFromMembers();
      retyped[STORAGE_IFACE]!.methods[name]!.in[0]!.type = 'o';
      expect(introduced(retyped, documented)).toEqual([mismatch]);
      const extraOut = contractFromMembers();
      extraOut[STORAGE_IFACE]!.methods[name]!.out.push({ name: 'extra', type: 'u' });
      expect(introduced(extraOut, documented)).toEqual([mismatch]);
    });

    it('detects signal and property drift', () => {
      const code = contractFromMembers();
      const [signal] = Object.keys(code[STORAGE_IFACE]!.signals);
      code[STORAGE_IFACE]!.signals[signal!]!.push({ name: 'extra', type: 's' });
      code[STORAGE_IFACE]!.signals.JobPaused = [];
      const [prop] = Object.keys(code[JOB_IFACE]!.properties);
      code[JOB_IFACE]!.properties[prop!]!.emits = 'invalidates';
      code[JOB_IFACE]!.properties.Paused = { type: 'b', access: 'read', emits: 'true' };
      expect(introduced(code, documented)).toEqual([
        `signal ${STORAGE_IFACE}.JobPaused is in members.ts but not in the XML`,
        expect.stringMatching(new RegExp(`^signal ${STORAGE_IFACE}\\.${signal}: `)),
        `property ${JOB_IFACE}.Paused is in members.ts but not in the XML`,
        expect.stringMatching(
          new RegExp(`^property ${JOB_IFACE}\\.${prop}: .*EmitsChangedSignal=invalidates`),
        ),
      ]);
    });

    it('detects an interface present on one side only', () => {
      const xml = structuredClone(documented);
      delete xml[JOB_IFACE];
      expect(introduced(contractFromMembers(), xml)).toEqual([
        `interface ${JOB_IFACE} is in members.ts but not in the XML`,
      ]);
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. METHOD_POLICY ⇔ exported methods ⇔ ALL_ACTIONS ⇔ polkit/org.bootc.storage.policy.
// ---------------------------------------------------------------------------------------------------------------

function policyAction(p: MethodPolicy): ActionId | undefined {
  if ('action' in p) return p.action;
  if ('ownerOr' in p) return p.ownerOr;
  return undefined;
}

/** Exported methods that would be denied by default because METHOD_POLICY has no entry for them. */
function methodsWithoutPolicy(
  methods: Iterable<string>,
  table: Readonly<Record<string, MethodPolicy>>,
): string[] {
  return sorted([...methods].filter((m) => !Object.hasOwn(table, m)));
}

const EXPORTED_METHODS = [...Object.keys(STORAGE_METHODS), ...Object.keys(JOB_METHODS)];

/** Methods as the XML header writes them: Job interface methods as `Job.<Name>`. */
const displayName = (m: string): string => (Object.hasOwn(JOB_METHODS, m) ? `Job.${m}` : m);

function authorizationTable(xml: string): Record<string, string[]> {
  const section = /Authorization \(polkit\)\s*\n\s*=+\n([\s\S]*?)\n\s*\n/.exec(xml)?.[1];
  if (section === undefined) throw new Error('no "Authorization (polkit)" section in the XML header');
  const universe = new Set(EXPORTED_METHODS.map(displayName));
  const rows: Record<string, string> = {};
  let current: string | undefined;
  for (const line of section.split('\n')) {
    const row = /^\s+(org\.bootc\.storage\.[a-z-]+)\s{2,}(\S.*)$/.exec(line);
    if (row) {
      current = row[1]!;
      rows[current] = row[2]!;
    } else if (current !== undefined && /^\s{20,}\S/.test(line)) rows[current] += ` ${line.trim()}`;
    else current = undefined;
  }
  return Object.fromEntries(
    Object.entries(rows).map(([a, text]) => [
      a,
      sorted((text.match(/\b(?:Job\.)?[A-Z]\w*/g) ?? []).filter((w) => universe.has(w))),
    ]),
  );
}

function expectedAuthorizationTable(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const m of EXPORTED_METHODS) {
    const p = METHOD_POLICY[m];
    const a = p && policyAction(p);
    if (a) out[a] = sorted([...(out[a] ?? []), displayName(m)]);
  }
  return out;
}

interface PolkitAction {
  descriptions: string[];
  messages: string[];
  defaults: Record<string, string>;
}

function polkitActions(root: XmlElement): Record<string, PolkitAction> {
  if (root.name !== 'policyconfig') throw new Error(`root element is <${root.name}>, not <policyconfig>`);
  const out: Record<string, PolkitAction> = {};
  for (const el of elementsOf(root)) {
    if (['vendor', 'vendor_url', 'icon_name'].includes(el.name)) continue;
    if (el.name !== 'action') throw new Error(`unexpected <${el.name}> in the policy (line ${el.line})`);
    const id = attrOf(el, 'id');
    if (Object.hasOwn(out, id)) throw new Error(`action ${id} defined twice`);
    const defaultsEls = elementsOf(el, 'defaults');
    if (defaultsEls.length !== 1) throw new Error(`action ${id} has ${defaultsEls.length} <defaults>`);
    out[id] = {
      descriptions: elementsOf(el, 'description').map(textOf),
      messages: elementsOf(el, 'message').map(textOf),
      defaults: Object.fromEntries(elementsOf(defaultsEls[0]!).map((d) => [d.name, textOf(d)])),
    };
  }
  return out;
}

type Defaults = { allow_any: string; allow_inactive: string; allow_active: string };
const YES: Defaults = { allow_any: 'yes', allow_inactive: 'yes', allow_active: 'yes' };
const ADMIN_KEEP: Defaults = {
  allow_any: 'auth_admin_keep',
  allow_inactive: 'auth_admin_keep',
  allow_active: 'auth_admin_keep',
};
/** Typed by ActionId, so a new action does not compile until its defaults are decided here. */
const EXPECTED_DEFAULTS: Record<ActionId, Defaults> = {
  [ACTION_READ]: YES,
  [ACTION_PULL]: ADMIN_KEEP,
  [ACTION_REMOVE]: ADMIN_KEEP,
  [ACTION_CANCEL_FOREIGN]: ADMIN_KEEP,
};

const POLICY = polkitActions(parseXml(readRepoFile(POLICY_PATH)));

describe('authorization: METHOD_POLICY ⇔ ALL_ACTIONS ⇔ polkit policy', () => {
  it('every exported method has a METHOD_POLICY entry (a missing one is denied by default)', () => {
    expect(EXPORTED_METHODS.length).toBeGreaterThan(0);
    expect(methodsWithoutPolicy(EXPORTED_METHODS, METHOD_POLICY)).toEqual([]);
  });

  it('every METHOD_POLICY entry is an exported method (no stale or pre-authorized entries)', () => {
    expect(sorted(Object.keys(METHOD_POLICY).filter((m) => !EXPORTED_METHODS.includes(m)))).toEqual([]);
  });

  it('every action METHOD_POLICY refers to is in ALL_ACTIONS', () => {
    const referenced = Object.values(METHOD_POLICY).flatMap((p) => policyAction(p) ?? []);
    expect(referenced.length).toBeGreaterThan(0);
    expect(sorted(referenced).filter((a) => !(ALL_ACTIONS as readonly string[]).includes(a))).toEqual([]);
  });

  it('every action in ALL_ACTIONS is checked by some method', () => {
    const referenced = new Set(Object.values(METHOD_POLICY).flatMap((p) => policyAction(p) ?? []));
    expect(ALL_ACTIONS.filter((a) => !referenced.has(a))).toEqual([]);
  });

  it('the policy file defines exactly ALL_ACTIONS', () => {
    expect(diffNames('action', ALL_ACTIONS, 'ALL_ACTIONS', Object.keys(POLICY), POLICY_PATH)).toEqual([]);
  });

  it("each action's comment in the policy file names exactly the methods METHOD_POLICY checks it for", () => {
    const root = parseXml(readRepoFile(POLICY_PATH));
    const comments = docComments(root, 'action', 'id');
    const universe = new Set(EXPORTED_METHODS.map(displayName));
    const named = Object.fromEntries(
      Object.entries(comments).map(([id, text]) => [
        id,
        sorted((text.match(/\b(?:Job\.)?[A-Z]\w*/g) ?? []).filter((w) => universe.has(w))),
      ]),
    );
    expect(named).toEqual(expectedAuthorizationTable());
  });

  it('each action has the agreed defaults, a description and a message', () => {
    expect(sorted(Object.keys(EXPECTED_DEFAULTS))).toEqual(sorted(ALL_ACTIONS));
    for (const id of ALL_ACTIONS) {
      const action = POLICY[id];
      expect(action, id).toBeDefined();
      expect(action!.defaults, id).toEqual(EXPECTED_DEFAULTS[id]);
      expect(action!.descriptions.filter(Boolean).length, `${id} description`).toBeGreaterThan(0);
      expect(action!.messages.filter(Boolean).length, `${id} message`).toBeGreaterThan(0);
    }
  });

  describe('the comparison bites', () => {
    it('detects a method missing from METHOD_POLICY', () => {
      const table = { ...METHOD_POLICY };
      delete table.Remove;
      expect(methodsWithoutPolicy([...EXPORTED_METHODS, 'Frobnicate'], table)).toEqual([
        'Frobnicate',
        'Remove',
      ]);
    });

    it('detects an action defined in the policy but unknown to the code, and the reverse', () => {
      expect(
        diffNames(
          'action',
          [...ALL_ACTIONS.filter((a) => a !== ACTION_PULL), 'org.bootc.storage.new'],
          'ALL_ACTIONS',
          Object.keys(POLICY),
          POLICY_PATH,
        ),
      ).toEqual([
        `action org.bootc.storage.new is in ALL_ACTIONS but not in ${POLICY_PATH}`,
        `action ${ACTION_PULL} is in ${POLICY_PATH} but not in ALL_ACTIONS`,
      ]);
    });

    it('detects a method missing from the XML authorization table', () => {
      const xml = DOCUMENTED_XML.replace(/(org\.bootc\.storage\.read\s+)Exists, /, '$1');
      expect(authorizationTable(xml)).not.toEqual(expectedAuthorizationTable());
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 3. Error names: catalogue ⇔ wire names ⇔ XML ⇔ README.
// ---------------------------------------------------------------------------------------------------------------

/** Every D-Bus error name the XML mentions. */
const documentedErrorNames = (xml: string): string[] =>
  sorted(xml.match(/\b(?:org\.bootc\.Storage\.Error|org\.freedesktop\.DBus\.Error)\.[A-Za-z]+/g) ?? []);

function readmeErrorTable(readme: string): string[] {
  const section = /^## Errors\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no "## Errors" section');
  return [...section.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|\s*\S/gm)].map((m) => m[1]!);
}

const README = readRepoFile('README.md');

describe('errors: catalogue ⇔ wire names ⇔ XML ⇔ README', () => {
  it('every WIRE_ERROR_NAMES entry is a catalogue name', () => {
    expect(WIRE_ERROR_NAMES.filter((n) => !(ERROR_NAMES as string[]).includes(n))).toEqual([]);
  });

  it('the XML documents exactly the org.bootc.Storage.Error names in WIRE_ERROR_NAMES', () => {
    const inXml = documentedErrorNames(DOCUMENTED_XML)
      .filter((n) => n.startsWith(ERROR_PREFIX))
      .map((n) => n.slice(ERROR_PREFIX.length));
    expect(diffNames('error', WIRE_ERROR_NAMES, 'WIRE_ERROR_NAMES', inXml, XML_PATH)).toEqual([]);
  });

  it('the XML documents the freedesktop AccessDenied and InteractiveAuthorizationRequired names', () => {
    expect(documentedErrorNames(DOCUMENTED_XML)).toEqual(
      expect.arrayContaining([FD_ACCESS_DENIED, FD_INTERACTIVE]),
    );
    expect(mapErrorToDBus(createError('AccessDenied', 'x'), false).name).toBe(FD_ACCESS_DENIED);
    expect(mapErrorToDBus(createError('InteractiveAuthorizationRequired', 'x'), false).name).toBe(
      FD_INTERACTIVE,
    );
  });

  it('every name mapErrorToDBus can send for a catalogue error is documented in the XML', () => {
    const documentedNames = new Set(documentedErrorNames(DOCUMENTED_XML));
    const sent = ERROR_NAMES.flatMap((n) =>
      [true, false].map((p) => mapErrorToDBus(createError(n, 'x'), p).name),
    );
    expect(sorted(sent).filter((n) => !documentedNames.has(n))).toEqual([]);
  });

  it('the internal-only names the XML lists are exactly the catalogue names not sent as themselves', () => {
    const listed = /Failure names used only inside the daemon\s*\(([^)]*)\)/.exec(DOCUMENTED_XML)?.[1];
    expect(listed, 'the XML lists the internal failure names').toBeDefined();
    const internal = ERROR_NAMES.filter((n) => {
      const wire = mapErrorToDBus(createError(n, 'x'), false).name;
      return wire !== `${ERROR_PREFIX}${n}` && !wire.startsWith('org.freedesktop.DBus.Error.');
    });
    expect(sorted(listed!.split(',').map((s) => s.trim()))).toEqual(sorted(internal));
    // …and, as the XML says, they go out as PullFailed while pulling and StorageFailure otherwise.
    for (const n of internal) {
      expect(mapErrorToDBus(createError(n, 'x'), true).name, n).toBe(`${ERROR_PREFIX}PullFailed`);
      expect(mapErrorToDBus(createError(n, 'x'), false).name, n).toBe(`${ERROR_PREFIX}StorageFailure`);
    }
  });

  it("README.md's error table lists exactly the catalogue names", () => {
    expect(diffNames('error', ERROR_NAMES, 'ERROR_CATALOGUE', readmeErrorTable(README), 'README.md')).toEqual(
      [],
    );
  });

  describe('the comparison bites', () => {
    it('detects a catalogue name missing from the README table', () => {
      const table = readmeErrorTable(README);
      const first = table[0]!;
      const shorter = readmeErrorTable(README.replace(new RegExp(`^\\| \`${first}\` \\|.*\\n`, 'm'), ''));
      expect(shorter).toEqual(table.slice(1));
      expect(
        diffNames('error', [...table, 'Frobnicated'], 'ERROR_CATALOGUE', shorter, 'README.md').sort(),
      ).toEqual(
        [
          `error ${first} is in ERROR_CATALOGUE but not in README.md`,
          'error Frobnicated is in ERROR_CATALOGUE but not in README.md',
        ].sort(),
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 4. The bus policy dbus/org.bootc.Storage.conf (and the activation file that must agree with it).
// ---------------------------------------------------------------------------------------------------------------

const CONF = parseXml(readRepoFile(CONF_PATH));
const EXPECTED_BUS_INTERFACES = [STORAGE_IFACE, JOB_IFACE, PROPS_IFACE, INTROSPECT_IFACE, PEER_IFACE];

/** Interfaces the daemon serves, taken from its own generated introspection. */
const servedInterfaces = (): string[] =>
  sorted([
    ...Object.keys(contractFromXml(parseXml(introspect(STORAGE_PATH, [])))),
    ...Object.keys(contractFromXml(parseXml(introspect(`${JOB_PATH_PREFIX}1`, [])))),
  ]);

describe('bus policy: dbus/org.bootc.Storage.conf', () => {
  const policies = elementsOf(CONF, 'policy');
  const defaults = policies.filter((p) => p.attrs.context === 'default');
  const defaultRules = defaults[0] ? elementsOf(defaults[0]) : [];
  const sendAllows = defaultRules.filter((r) => r.name === 'allow' && r.attrs.send_destination === BUS_NAME);

  it('only contains <policy> elements, one of them the default context', () => {
    expect(CONF.name).toBe('busconfig');
    expect(elementsOf(CONF).map((e) => e.name)).toEqual(policies.map(() => 'policy'));
    expect(defaults).toHaveLength(1);
  });

  it('only root may own org.bootc.Storage, and the default context denies owning it', () => {
    const owners = policies.flatMap((p) =>
      elementsOf(p, 'allow')
        .filter((r) => r.attrs.own !== undefined || r.attrs.own_prefix !== undefined)
        .map((r) => ({ policy: p.attrs, rule: r.attrs })),
    );
    expect(owners).toEqual([{ policy: { user: 'root' }, rule: { own: BUS_NAME } }]);
    expect(defaultRules.some((r) => r.name === 'deny' && r.attrs.own === BUS_NAME)).toBe(true);
  });

  it('the default context denies every message to the daemon before opening interfaces', () => {
    const denyAll = defaultRules.findIndex(
      (r) => r.name === 'deny' && r.attrs.send_destination === BUS_NAME && Object.keys(r.attrs).length === 1,
    );
    expect(denyAll).toBeGreaterThanOrEqual(0);
    const firstAllow = defaultRules.findIndex(
      (r) => r.name === 'allow' && r.attrs.send_destination === BUS_NAME,
    );
    expect(firstAllow).toBeGreaterThan(denyAll);
  });

  it('allows sending to org.bootc.Storage for exactly the interfaces the daemon serves', () => {
    expect(sendAllows.every((r) => r.attrs.send_interface !== undefined)).toBe(true);
    const allowed = sorted(sendAllows.map((r) => r.attrs.send_interface!));
    expect(allowed).toEqual(sorted(EXPECTED_BUS_INTERFACES));
    expect(allowed).toEqual(servedInterfaces());
    // No other allow rule in the default context (e.g. to another destination, or without a destination).
    expect(defaultRules.filter((r) => r.name === 'allow' && !sendAllows.includes(r))).toEqual([]);
  });

  it('opens the bootc interfaces whole, and Properties only for Get/GetAll (every property is read-only)', () => {
    for (const iface of [STORAGE_IFACE, JOB_IFACE]) {
      const rules = sendAllows.filter((r) => r.attrs.send_interface === iface);
      expect(rules, iface).toHaveLength(1);
      expect(rules[0]!.attrs, iface).toEqual({ send_destination: BUS_NAME, send_interface: iface });
    }
    const props = sendAllows.filter((r) => r.attrs.send_interface === PROPS_IFACE);
    expect(sorted(props.map((r) => r.attrs.send_member ?? '(every member)'))).toEqual(['Get', 'GetAll']);
    const allProps = Object.values(contractFromMembers()).flatMap((c) => Object.values(c.properties));
    expect(allProps.every((p) => p.access === 'read')).toBe(true);
  });

  it('the activation file names the same bus name and the only user allowed to own it', () => {
    const service = readRepoFile(SERVICE_PATH);
    const keys = Object.fromEntries(
      [...service.matchAll(/^(\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()] as [string, string]),
    );
    expect(keys.Name).toBe(BUS_NAME);
    const owner = policies.find((p) => elementsOf(p, 'allow').some((r) => r.attrs.own === BUS_NAME));
    expect(keys.User).toBe(owner?.attrs.user);
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 5. polkit $(key) placeholders only use details the daemon really passes for that action. Observed by driving the
//    real DBusServer with a fake bus and an Authority that records each check (and denies it).
// ---------------------------------------------------------------------------------------------------------------

const CALLER_UID = 4242;
const JOB_ID = 7;
const JOB_OWNER_UID = 1000; // not the caller, so cancelling needs cancel-foreign
const METHOD_CALL = 1; // D-Bus message type; dbus-next's typings number its enum from 0

/** A valid-looking argument of a D-Bus type; extend it when a method takes a new type. */
function sampleArg(type: string): unknown {
  switch (type) {
    case 's':
      return 'example.com/drift/test:1';
    case 'as':
      return ['example.com/drift/test:1'];
    case 'u':
      return JOB_ID;
    case 'b':
      return true;
    default:
      throw new Error(`no sample value for D-Bus type ${type}; extend sampleArg in drift.test.ts`);
  }
}

interface Observed {
  method: string;
  checks: AuthorizationRequest[];
  reply: string;
}

async function observeAuthorization(): Promise<Observed[]> {
  let handler: ((msg: dbus.Message) => boolean) | undefined;
  const sent: dbus.Message[] = [];
  const bus = {
    addMethodHandler: (fn: (msg: dbus.Message) => boolean) => {
      handler = fn;
    },
    send: (msg: dbus.Message) => {
      sent.push(msg);
    },
    call: async () => ({ body: [CALLER_UID] }), // GetConnectionUnixUser
  };
  const job = {
    id: JOB_ID,
    owner: JOB_OWNER_UID,
    cancel: () => undefined,
    isWantedBy: (uid: number) => uid === JOB_OWNER_UID,
    withdraw: () => true,
  };
  const queue = Object.assign(new EventEmitter(), {
    get: (id: number) => (id === JOB_ID ? job : undefined),
    list: () => [job],
  });
  const service = {
    queue,
    onJobEvents: (onNew: (j: unknown) => void, onRemoved: (j: unknown, r: string) => void) => {
      queue.on('job-new', onNew);
      queue.on('job-removed', onRemoved);
    },
    findJob: (id: number) => queue.get(id),
    listJobs: () => queue.list(),
    getJob: (id: number) => {
      if (id !== JOB_ID) throw createError('NotFound', `no job ${id}`);
      return job;
    },
  };
  const checks: AuthorizationRequest[] = [];
  const authority: Authority = {
    pending: 0,
    authorize: async (req) => {
      checks.push(structuredClone(req));
      throw createError('AccessDenied', 'recorded by drift.test.ts');
    },
  };
  new DBusServer({
    bus: bus as unknown as dbus.MessageBus,
    service: service as unknown as StorageService,
    authority,
    version: '0.0.0-drift',
    log: pino({ level: 'silent' }),
  }).start();

  const targets = [
    ...Object.entries(STORAGE_METHODS).map(([m, def]) => ({
      path: STORAGE_PATH,
      iface: STORAGE_IFACE,
      m,
      def,
    })),
    ...Object.entries(JOB_METHODS).map(([m, def]) => ({
      path: `${JOB_PATH_PREFIX}${JOB_ID}`,
      iface: JOB_IFACE,
      m,
      def,
    })),
  ];
  const observed: Observed[] = [];
  let serial = 100;
  for (const { path, iface, m, def } of targets) {
    serial += 1;
    const before = checks.length;
    const msg = new dbus.Message({
      type: METHOD_CALL as dbus.MessageType,
      serial,
      sender: ':1.42',
      destination: BUS_NAME,
      path,
      interface: iface,
      member: m,
      signature: inSignature(def),
      body: def.in.map((a) => sampleArg(a.type)),
    });
    expect(handler, 'the server registered a method handler').toBeDefined();
    expect(handler!(msg), `${iface}.${m} is routed`).toBe(true);
    const s = serial;
    const reply = await vi.waitFor(() => {
      const r = sent.find((x) => Number(x.replySerial) === s);
      if (!r) throw new Error(`no reply to ${iface}.${m} yet`);
      return r;
    });
    observed.push({ method: m, checks: checks.slice(before), reply: reply.errorName ?? '(method return)' });
  }
  return observed;
}

/** For each action, the detail keys every check of it carries (the intersection over all its methods). */
function guaranteedDetails(observed: Observed[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const o of observed) {
    for (const c of o.checks) {
      const keys = Object.keys(c.details ?? {});
      out[c.action] = out[c.action] ? out[c.action]!.filter((k) => keys.includes(k)) : sorted(keys);
    }
  }
  return out;
}

/** `$(key)` placeholders in an action's texts that the daemon does not always pass as a detail. */
function placeholderProblems(
  actions: Record<string, PolkitAction>,
  details: Record<string, string[]>,
): string[] {
  const problems: string[] = [];
  for (const [id, a] of Object.entries(actions)) {
    for (const text of [...a.descriptions, ...a.messages]) {
      for (const [, key] of text.matchAll(/\$\(([^)]*)\)/g)) {
        if (!(details[id] ?? []).includes(key!))
          problems.push(`${id} uses $(${key}) but the daemon does not pass it`);
      }
    }
  }
  return problems;
}

describe('polkit details: $(…) placeholders ⇔ details the daemon passes', () => {
  let observed: Observed[] = [];
  beforeAll(async () => {
    observed = await observeAuthorization();
  });

  it('every exported method reaches polkit exactly once, with its METHOD_POLICY action', () => {
    const actual = Object.fromEntries(
      observed.map((o) => [o.method, { actions: o.checks.map((c) => c.action), reply: o.reply }]),
    );
    const expected = Object.fromEntries(
      EXPORTED_METHODS.map((m) => {
        const p = METHOD_POLICY[m];
        return [m, { actions: p && policyAction(p) ? [policyAction(p)] : [], reply: FD_ACCESS_DENIED }];
      }),
    );
    expect(actual).toEqual(expected);
  });

  it('the policy uses $(image) only where every check of that action carries an image detail', () => {
    const details = guaranteedDetails(observed);
    // pull passes the reference; the policy's own comment promises "image" for org.bootc.storage.pull.
    expect(details[ACTION_PULL]).toContain('image');
    expect(placeholderProblems(POLICY, details)).toEqual([]);
  });

  it('detects a placeholder the daemon does not pass', () => {
    const texts = (message: string): PolkitAction => ({
      descriptions: ['d'],
      messages: [message],
      defaults: {},
    });
    const actions = {
      [ACTION_READ]: texts('query $(image)'),
      [ACTION_PULL]: texts('pull $(image)'),
      [ACTION_CANCEL_FOREIGN]: texts('cancel $(job) of $(owner)'),
    };
    const details = { [ACTION_PULL]: ['image'], [ACTION_CANCEL_FOREIGN]: ['job'] };
    expect(placeholderProblems(actions, details)).toEqual([
      `${ACTION_READ} uses $(image) but the daemon does not pass it`,
      `${ACTION_CANCEL_FOREIGN} uses $(owner) but the daemon does not pass it`,
    ]);
  });
});
