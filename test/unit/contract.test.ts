// The one contract (src/core/operations.ts) and what follows from it: the generated XML and IDL are fresh; the
// daemon's live introspection is the documented XML without its comments; the Varlink IDL the daemon serves is
// the documented file and declares exactly the table's methods with the table's fields, and the parameter
// checks made from the table answer as the file's declarations do; every entry is coherent (its schema has one
// element per argument, its errors are catalogue names, its polkit action is a known one).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { IDL_FILE, renderContractFiles, XML_FILE } from '../../scripts/contract/generate.js';
import { introspect } from '../../src/api/dbus/interface-xml.js';
import { JOB_PATH_PREFIX, STORAGE_PATH } from '../../src/api/dbus/members.js';
import { operationCheck, storageDescription } from '../../src/api/varlink/storage-interface.js';
import { ALL_ACTIONS } from '../../src/authz/actions.js';
import { jobObjectPath, varlinkName } from '../../src/core/contract.js';
import { JOB_FIELDS } from '../../src/core/job-fields.js';
import { OPERATIONS, operationsOf } from '../../src/core/operations.js';
import { ERROR_NAMES } from '../../src/errors.js';
import { JOB_KINDS } from '../../src/jobs/job.js';
import { checkParameters, parseIdl } from '../helpers/varlink-idl.js';
import { parseXml, type XmlElement, type XmlNode } from '../helpers/xml.js';

const REPO = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, REPO), 'utf8');

/** An element tree without comments and whitespace, for comparing XML by meaning. */
function shape(el: XmlElement): unknown {
  return {
    name: el.name,
    attrs: el.attrs,
    children: el.children
      .filter((c: XmlNode): c is XmlElement => c.kind === 'element')
      .filter((c) => c.name !== 'node')
      .map(shape),
  };
}

describe('generated files', () => {
  it('every generated file is fresh (run `make generate` after changing the table, the catalogue or a header)', () => {
    const files = renderContractFiles(read);
    expect(files.size).toBe(2);
    for (const [path, content] of files) expect(read(path), `${path} is stale`).toBe(content);
  });

  it('the staleness check bites: a hand edit to a generated part is reported', () => {
    const edited = (path: string) =>
      path === XML_FILE
        ? read(path).replace('name="dry_run"', 'name="dryrun"')
        : read(path).replace('dryRun: bool', 'dry_run: bool');
    const files = renderContractFiles(edited);
    for (const path of [XML_FILE, IDL_FILE]) {
      expect(edited(path), path).not.toBe(read(path));
      expect(files.get(path), path).not.toBe(edited(path));
      expect(files.get(path), path).toBe(read(path));
    }
  });
});

describe('the live contract equals the documented one', () => {
  it("Introspect() of the storage and a job object is the XML's two interfaces without comments", () => {
    const documented = parseXml(read(XML_FILE));
    const live = [introspect(STORAGE_PATH, []), introspect(`${JOB_PATH_PREFIX}1`, [])].flatMap((xml) =>
      parseXml(xml).children.filter((c): c is XmlElement => c.kind === 'element'),
    );
    const bootc = live.filter((i) => i.attrs.name?.startsWith('org.bootc.'));
    expect(bootc.map(shape)).toEqual(
      documented.children.filter((c): c is XmlElement => c.kind === 'element').map(shape),
    );
  });

  it("the daemon parses no IDL text: the parser is the tests' (test/helpers/varlink-idl.ts)", () => {
    const walk = (dir: string): string[] =>
      readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
        e.isDirectory() ? walk(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
      );
    const src = fileURLToPath(new URL('src', REPO));
    const parsing = walk(src).filter((f) =>
      /from '[^']*varlink-idl|\bparseIdl\(/.test(readFileSync(f, 'utf8')),
    );
    expect(parsing).toEqual([]);
  });

  it('the served IDL is varlink/org.bootc.Storage.varlink byte for byte, rendered from the table', () => {
    expect(storageDescription()).toBe(read(IDL_FILE));
    expect(storageDescription()).toBe(storageDescription()); // rendered once, then kept
  });

  it('the served IDL declares exactly the table, each method with its fields in order', () => {
    const idl = parseIdl(storageDescription());
    expect([...idl.methods.keys()]).toEqual(operationsOf('varlink').map((op) => op.name));
    for (const op of operationsOf('varlink')) {
      const m = idl.methods.get(op.name)!;
      expect([...m.in.keys()], op.name).toEqual(op.in.map(varlinkName));
      for (const f of op.out) expect([...m.out.keys()], op.name).toContain(varlinkName(f));
    }
    const job = idl.types.get('Job');
    expect(job?.kind === 'struct' ? [...job.fields.keys()] : []).toEqual(JOB_FIELDS.map((f) => f.name));
  });
});

describe("the table's parameter checks answer as the documented IDL's declarations", () => {
  const idl = parseIdl(read(IDL_FILE));
  /** Values of every wire type, right and wrong: each field gets each of them. */
  const POOL: unknown[] = ['x', '', 5, 0, -1, 1.5, 2 ** 53, true, null, [], ['a'], ['a', 7], {}, { a: 'b' }];

  it.each(operationsOf('varlink').map((op) => [op.name, op] as const))('%s', (name, op) => {
    const declared = idl.methods.get(name)!.in;
    const documented = (p: Record<string, unknown>) => checkParameters(idl, declared, p);
    const fields = op.in.map(varlinkName);
    // A call every field of which is right: for each field in order, the first value the IDL does not refuse.
    const good: Record<string, unknown> = {};
    for (const f of fields) {
      const v = POOL.find((x) => documented({ ...good, [f]: x }) !== f);
      expect(v, `${name}.${f}: a right value in the pool`).not.toBeUndefined();
      good[f] = v;
    }
    const calls: Record<string, unknown>[] = [good, {}, { ...good, extra: 1 }, { extra: 1 }];
    for (const f of fields) {
      const { [f]: _dropped, ...without } = good;
      calls.push(without, ...POOL.map((v) => ({ ...good, [f]: v })));
    }
    const check = operationCheck(op);
    expect(check(good)).toBeUndefined();
    for (const p of calls) expect(check(p), `${name} ${JSON.stringify(p)}`).toBe(documented(p));
  });
});

describe('every operation is coherent', () => {
  it.each(OPERATIONS.map((op) => [op.name, op] as const))('%s', (_name, op) => {
    const schemaLength = (op.input as unknown as { def: { items: unknown[] } }).def.items.length;
    expect(schemaLength, 'one schema element per argument').toBe(op.in.length);
    const bare = op.errors.map((e) => e.split(' ')[0]!);
    expect(
      bare.filter((e) => !(ERROR_NAMES as string[]).includes(e)),
      'errors are catalogue names',
    ).toEqual([]);
    const action = 'action' in op.access ? op.access.action : 'ownerOr' in op.access ? op.access.ownerOr : '';
    expect(ALL_ACTIONS as readonly string[], 'a known polkit action').toContain(action);
    expect(op.doc.length, 'documented').toBeGreaterThan(20);
    for (const f of [...op.in, ...op.out])
      expect(f.doc.length, `${op.name}.${f.name} documented`).toBeGreaterThan(5);
  });

  it("the core's job paths are the ones clients are told (api/dbus/names.ts)", () => {
    expect(jobObjectPath(7)).toBe(`${JOB_PATH_PREFIX}7`);
  });

  it('method names are unique', () => {
    expect(new Set(OPERATIONS.map((op) => op.name)).size).toBe(OPERATIONS.length);
  });

  it("the Kind field's documentation names every job kind", () => {
    const kind = JOB_FIELDS.find((f) => f.name === 'kind')!;
    for (const k of JOB_KINDS) expect(kind.doc, k).toContain(`"${k}"`);
  });
});
