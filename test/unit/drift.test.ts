// Drift tests, in the spirit of fastify's error-catalogue tests, for what is NOT generated from the contract:
// the polkit policy file, the bus policy, the README's error table and the polkit placeholders each live in code
// AND in a hand-written system or documentation file. (The XML's and the IDL's methods, arguments, job
// properties, error lists and authorization table are generated from src/core/operations.ts and src/errors.ts;
// test/unit/contract.test.ts checks they are fresh.) Every comparison runs in both directions, and the
// comparison functions are themselves tested on mutated copies so a broken comparison cannot pass silently.

import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import dbus from 'dbus-next';
import pino from 'pino';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { introspect } from '../../src/api/dbus/interface-xml.js';
import { mapErrorToDBus } from '../../src/api/dbus/map-error.js';
import {
  BUS_NAME,
  inSignature,
  JOB_IFACE,
  JOB_METHODS,
  JOB_PATH_PREFIX,
  STORAGE_IFACE,
  STORAGE_METHODS,
  STORAGE_PATH,
} from '../../src/api/dbus/members.js';
import { DBusServer } from '../../src/api/dbus/server.js';
import {
  ACTION_CANCEL_FOREIGN,
  ACTION_PULL,
  ACTION_READ,
  ACTION_REMOVE,
  type ActionId,
  ALL_ACTIONS,
  type MethodPolicy,
} from '../../src/authz/actions.js';
import type { Authority, AuthorizationRequest } from '../../src/authz/polkit.js';
import { OPERATIONS, operationsOf } from '../../src/core/operations.js';
import { StorageService } from '../../src/core/storage-service.js';
import { createError, ERROR_NAMES, DBUS_ERROR_PREFIX as ERROR_PREFIX } from '../../src/errors.js';
import { attrOf, docComments, elementsOf, parseXml, textOf, type XmlElement } from '../helpers/xml.js';

const REPO = new URL('../../', import.meta.url);
const readRepoFile = (path: string): string => readFileSync(new URL(path, REPO), 'utf8');

const CONF_PATH = 'dbus/org.bootc.Storage.conf';
const SERVICE_PATH = 'dbus/org.bootc.Storage.service';
const POLICY_PATH = 'polkit/org.bootc.storage.policy';

const PROPS_IFACE = 'org.freedesktop.DBus.Properties';
const INTROSPECT_IFACE = 'org.freedesktop.DBus.Introspectable';
const PEER_IFACE = 'org.freedesktop.DBus.Peer';
const FD_ACCESS_DENIED = 'org.freedesktop.DBus.Error.AccessDenied';

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
// 1. The operations table's polkit actions ⇔ ALL_ACTIONS ⇔ polkit/org.bootc.storage.policy.
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

/** Methods as the policy's comments write them: Job interface methods as `Job.<Name>`. */
const displayName = (m: string): string => (Object.hasOwn(JOB_METHODS, m) ? `Job.${m}` : m);

/** Each D-Bus method's policy: the operations table's, and Job.Cancel's (CancelJob's, which it calls). */
const METHOD_POLICY: Readonly<Record<string, MethodPolicy>> = {
  ...Object.fromEntries(operationsOf('dbus').map((op) => [op.name, op.access])),
  ...Object.fromEntries(
    Object.entries(JOB_METHODS).map(([m, def]) => [
      m,
      OPERATIONS.find((op) => op.name === def.sameAs)!.access,
    ]),
  ),
};

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

describe('authorization: the operations table ⇔ ALL_ACTIONS ⇔ polkit policy', () => {
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
  });
});

// ---------------------------------------------------------------------------------------------------------------
// 2. Error names: the catalogue ⇔ the README's table, and the mapping the generated docs describe.
// ---------------------------------------------------------------------------------------------------------------

function readmeErrorTable(readme: string): string[] {
  const section = /^## Errors\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  if (section === undefined) throw new Error('README.md has no "## Errors" section');
  return [...section.matchAll(/^\|\s*`([A-Za-z]+)`\s*\|\s*\S/gm)].map((m) => m[1]!);
}

const README = readRepoFile('README.md');

describe('errors: catalogue ⇔ README', () => {
  it('internal-only names go out as PullFailed while pulling and StorageFailure otherwise, as documented', () => {
    const internal = ERROR_NAMES.filter((n) => {
      const wire = mapErrorToDBus(createError(n, 'x'), false).name;
      return wire !== `${ERROR_PREFIX}${n}` && !wire.startsWith('org.freedesktop.DBus.Error.');
    });
    expect(internal.length).toBeGreaterThan(0);
    for (const n of internal) {
      expect(mapErrorToDBus(createError(n, 'x'), true).name, n).toBe(`${ERROR_PREFIX}PullFailed`);
      expect(mapErrorToDBus(createError(n, 'x'), false).name, n).toBe(`${ERROR_PREFIX}StorageFailure`);
    }
    expect(mapErrorToDBus(createError('AccessDenied', 'x'), false).name).toBe(FD_ACCESS_DENIED);
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
// 3. The bus policy dbus/org.bootc.Storage.conf (and the activation file that must agree with it).
// ---------------------------------------------------------------------------------------------------------------

const CONF = parseXml(readRepoFile(CONF_PATH));
const EXPECTED_BUS_INTERFACES = [
  STORAGE_IFACE,
  JOB_IFACE,
  PROPS_IFACE,
  INTROSPECT_IFACE,
  PEER_IFACE,
  'org.freedesktop.DBus.ObjectManager',
];

/** Interfaces the daemon serves, taken from its own generated introspection. */
const servedInterfaces = (): string[] =>
  sorted(
    [introspect(STORAGE_PATH, []), introspect(`${JOB_PATH_PREFIX}1`, [])].flatMap((xml) =>
      elementsOf(parseXml(xml), 'interface').map((i) => attrOf(i, 'name')),
    ),
  );

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
    const served = [introspect(STORAGE_PATH, []), introspect(`${JOB_PATH_PREFIX}1`, [])].join('\n');
    const accesses = [...served.matchAll(/<property [^>]*access="([a-z]+)"/g)].map((m) => m[1]);
    expect(accesses.length).toBeGreaterThan(10);
    expect(sorted(accesses as string[])).toEqual(['read']);
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
// 4. polkit $(key) placeholders only use details the daemon really passes for that action. Observed by driving the
//    real DBusServer with a fake bus and an Authority that records each check (and denies it).
// ---------------------------------------------------------------------------------------------------------------

const CALLER_UID = 4242;
const JOB_ID = 7;
const JOB_OWNER_UID = 1000; // not the caller, so cancelling needs cancel-foreign
const METHOD_CALL = 1; // D-Bus message type; dbus-next's typings number its enum from 0

/** A valid-looking argument of a D-Bus type; extend it when a method takes a new type. */
function sampleArg(type: string, name: string): unknown {
  switch (type) {
    case 's':
      // Arguments checked in full before polkit get a valid value: "" (every deployment), a pull policy.
      if (name === 'deployment') return '';
      return name === 'policy' ? 'missing' : 'example.com/drift/test:1';
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
    // The core's own cancel decision (withdraw, or cancel-foreign through the caller's polkit check).
    cancelFor: (j: unknown, caller: unknown, action: unknown) =>
      StorageService.prototype.cancelFor.call(
        { log: pino({ level: 'silent' }) } as unknown as StorageService,
        j as never,
        caller as never,
        action as never,
      ),
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
      body: def.in.map((a) => sampleArg(a.type, a.name)),
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
