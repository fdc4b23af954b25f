// The D-Bus adapter's read path, driven through the real DBusServer with a fake bus: polkit's yes to a read is
// remembered per caller until the caller leaves the bus (NameOwnerChanged) or polkit says its answers changed;
// a denied caller is asked (and denied) every time; bad input is refused before polkit is asked; a read grant
// covers no other action; List's body is marshalled once per view snapshot; and the replies written straight
// to the socket decode to what dbus-next would have sent.

import dbus from 'dbus-next';
// @ts-expect-error dbus-next ships no types for its internals
import messageModule from 'dbus-next/lib/message.js';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import { BUS_NAME, STORAGE_IFACE, STORAGE_PATH } from '../../src/api/dbus/members.js';
import { DBusServer } from '../../src/api/dbus/server.js';
import { ACTION_READ } from '../../src/authz/actions.js';
import type { Authority, AuthorizationRequest } from '../../src/authz/polkit.js';
import { LIST } from '../../src/core/ops/reads.js';
import type { StorageService } from '../../src/core/storage-service.js';
import { createError } from '../../src/errors.js';
import type { ImageReference } from '../../src/storage/reference.js';

const METHOD_CALL = 1;
const SIGNAL = 4;

interface Reply {
  errorName?: string;
  signature?: string;
  body: unknown[];
}

const image = (i: number) => ({
  id: String(i).padStart(64, '0'),
  names: [`example.com/x:${i}`],
  digests: [],
  digest: `sha256:${'c'.repeat(64)}`,
  size: 1000 + i,
  created: 1_700_000_000 + i,
});

function harness(opts: { direct: boolean; allow?: (req: AuthorizationRequest) => boolean }) {
  let handler: ((msg: dbus.Message) => boolean) | undefined;
  const listeners: ((msg: dbus.Message) => void)[] = [];
  const replies = new Map<number, Reply>();
  const busCalls: dbus.Message[] = [];
  let serial = 1;
  const bus = {
    addMethodHandler: (fn: (msg: dbus.Message) => boolean) => {
      handler = fn;
    },
    on: (event: string, fn: (msg: dbus.Message) => void) => {
      if (event === 'message') listeners.push(fn);
    },
    send: (msg: dbus.Message) => {
      replies.set(Number(msg.replySerial), {
        errorName: msg.errorName,
        signature: msg.signature,
        body: msg.body,
      });
    },
    call: async (msg: dbus.Message) => {
      busCalls.push(msg);
      return { body: [0] };
    },
    newSerial: () => serial++,
    _connection: opts.direct
      ? {
          state: 'connected',
          stream: {
            writable: true,
            // A socket: corked writes leave together (one writev), as one message.
            corked: undefined as Buffer[] | undefined,
            cork() {
              this.corked = [];
            },
            uncork() {
              const chunks = this.corked ?? [];
              this.corked = undefined;
              this.write(Buffer.concat(chunks));
            },
            write(bytes: Buffer) {
              if (this.corked) {
                this.corked.push(bytes);
                return;
              }
              const m = messageModule.unmarshall(bytes) as dbus.Message;
              replies.set(Number(m.replySerial), {
                errorName: m.errorName,
                signature: m.signature,
                body: m.body,
              });
            },
          },
        }
      : undefined,
  };
  const state = { images: [image(1), image(2)] };
  const service = {
    onJobEvents: () => undefined,
    allJobs: () => [],
    findJob: () => undefined,
    exists: async (ref: ImageReference) => ref.canonical === 'example.com/x:1',
    list: async () => state.images,
  };
  const checks: AuthorizationRequest[] = [];
  const authority: Authority = {
    pending: 0,
    authorize: async (req) => {
      checks.push(structuredClone(req));
      if (!(opts.allow ?? (() => true))(req)) throw createError('AccessDenied', 'denied by the test');
    },
  };
  new DBusServer({
    bus: bus as unknown as dbus.MessageBus,
    service: service as unknown as StorageService,
    authority,
    version: '0.0.0-test',
    log: pino({ level: 'silent' }),
  }).start();

  let callSerial = 100;
  const callMethod = async (
    sender: string,
    member: string,
    signature = '',
    body: unknown[] = [],
    at: { path?: string; iface?: string } = {},
  ) => {
    const s = ++callSerial;
    const msg = new dbus.Message({
      type: METHOD_CALL as dbus.MessageType,
      serial: s,
      sender,
      destination: BUS_NAME,
      path: at.path ?? STORAGE_PATH,
      interface: at.iface ?? STORAGE_IFACE,
      member,
      signature,
      body,
    });
    expect(handler!(msg)).toBe(true);
    return vi.waitFor(() => {
      const r = replies.get(s);
      if (!r) throw new Error(`no reply to ${member} yet`);
      return r;
    });
  };
  const signal = (sender: string, iface: string, member: string, signature: string, body: unknown[]) => {
    const msg = new dbus.Message({
      type: SIGNAL as dbus.MessageType,
      serial: 1,
      sender,
      path: '/org/freedesktop/DBus',
      interface: iface,
      member,
      signature,
      body,
    });
    for (const l of listeners) l(msg);
  };
  return { callMethod, signal, checks, busCalls, state };
}

for (const direct of [true, false]) {
  describe(`D-Bus reads (${direct ? 'written to the socket' : "through dbus-next's send"})`, () => {
    it('asks polkit once per caller, until it leaves the bus or polkit changes', async () => {
      const h = harness({ direct });
      const exists = (sender: string) => h.callMethod(sender, 'Exists', 's', ['example.com/x:1']);
      expect((await exists(':1.5')).body).toEqual([true]);
      expect((await exists(':1.5')).body).toEqual([true]);
      expect(h.checks.map((c) => [c.sender, c.action])).toEqual([[':1.5', ACTION_READ]]);
      await exists(':1.6'); // another caller: its own check
      expect(h.checks).toHaveLength(2);

      // A signal claiming to be the bus driver's from someone else does nothing; the real one forgets :1.5.
      h.signal(':1.9', 'org.freedesktop.DBus', 'NameOwnerChanged', 'sss', [':1.5', ':1.5', '']);
      await exists(':1.5');
      expect(h.checks).toHaveLength(2);
      h.signal('org.freedesktop.DBus', 'org.freedesktop.DBus', 'NameOwnerChanged', 'sss', [
        ':1.5',
        ':1.5',
        '',
      ]);
      await exists(':1.5');
      expect(h.checks).toHaveLength(3);
      await exists(':1.6');
      expect(h.checks).toHaveLength(3);

      h.signal(':1.2', 'org.freedesktop.PolicyKit1.Authority', 'Changed', '', []);
      await exists(':1.5');
      await exists(':1.6');
      expect(h.checks).toHaveLength(5);
      // The daemon subscribed to both signals.
      const rules = h.busCalls.filter((m) => m.member === 'AddMatch').map((m) => String(m.body[0]));
      expect(rules.some((r) => r.includes("member='NameOwnerChanged'"))).toBe(true);
      expect(rules.some((r) => r.includes("member='Changed'"))).toBe(true);
    });

    it('a grant answers only its own question: an Exists of another image asks polkit again', async () => {
      const h = harness({ direct, allow: (req) => req.details?.image !== 'example.com/x:2' });
      expect((await h.callMethod(':1.5', 'Exists', 's', ['example.com/x:1'])).body).toEqual([true]);
      expect((await h.callMethod(':1.5', 'Exists', 's', ['example.com/x:1'])).body).toEqual([true]);
      // A rule that decides per image is obeyed: the grant for x:1 does not answer for x:2.
      const other = await h.callMethod(':1.5', 'Exists', 's', ['example.com/x:2']);
      expect(other.errorName).toBe('org.freedesktop.DBus.Error.AccessDenied');
      expect(h.checks.map((c) => c.details)).toEqual([
        { image: 'example.com/x:1' },
        { image: 'example.com/x:2' },
      ]);
    });

    it('job data is a read: GetManagedObjects and job properties are refused to a caller denied reads', async () => {
      const h = harness({ direct, allow: (req) => req.sender !== ':1.8' });
      const managed = (sender: string) =>
        h.callMethod(sender, 'GetManagedObjects', '', [], { iface: 'org.freedesktop.DBus.ObjectManager' });
      expect((await managed(':1.5')).errorName).toBeUndefined();
      expect((await managed(':1.8')).errorName).toBe('org.freedesktop.DBus.Error.AccessDenied');
      const getAll = (sender: string) =>
        h.callMethod(sender, 'GetAll', 's', ['org.bootc.Storage.Job'], {
          path: `${STORAGE_PATH}/job/7`,
          iface: 'org.freedesktop.DBus.Properties',
        });
      // Refused before the job is looked up: a denied caller does not even learn that job 7 does not exist.
      expect((await getAll(':1.8')).errorName).toBe('org.freedesktop.DBus.Error.AccessDenied');
      expect((await getAll(':1.5')).errorName).toBe('org.bootc.Storage.Error.NotFound');
    });

    it("never shows polkit a SyncBoundImages argument that is not a deployment's name", async () => {
      const h = harness({ direct });
      for (const bad of ['nosuch.0', `${'a'.repeat(64)}.0\u202e`, 'x\ny', `${'A'.repeat(64)}.1`]) {
        const r = await h.callMethod(':1.5', 'SyncBoundImages', 's', [bad]);
        expect(r.errorName).toBe('org.bootc.Storage.Error.InvalidArgument');
      }
      expect(h.checks).toEqual([]);
    });

    it('asks polkit every time for a denied caller, which stays denied', async () => {
      const h = harness({ direct, allow: (req) => req.sender !== ':1.7' });
      for (let i = 0; i < 3; i++) {
        const r = await h.callMethod(':1.7', 'List');
        expect(r.errorName).toBe('org.freedesktop.DBus.Error.AccessDenied');
      }
      expect(h.checks).toHaveLength(3);
    });

    it('refuses a bad reference before polkit, and the same way for a caller with a grant', async () => {
      const h = harness({ direct });
      const bad = await h.callMethod(':1.8', 'Exists', 's', ['no-registry']);
      expect(bad.errorName).toBe('org.bootc.Storage.Error.InvalidReference');
      expect(h.checks).toHaveLength(0);
      await h.callMethod(':1.8', 'Exists', 's', ['example.com/x:1']);
      expect(h.checks).toHaveLength(1);
      expect((await h.callMethod(':1.8', 'Exists', 's', ['no-registry'])).errorName).toBe(bad.errorName);
      expect(h.checks).toHaveLength(1);
    });

    it('lets a read grant cover no other action', async () => {
      const h = harness({ direct, allow: (req) => req.action === ACTION_READ });
      await h.callMethod(':1.3', 'List');
      const r = await h.callMethod(':1.3', 'Remove', 'as', [['example.com/x:1']]);
      expect(r.errorName).toBe('org.freedesktop.DBus.Error.AccessDenied');
      expect(h.checks.map((c) => c.action)).toEqual([ACTION_READ, 'org.bootc.storage.remove']);
    });

    it("answers List with the view's images, marshalled once per snapshot", async () => {
      const h = harness({ direct });
      const project = vi.spyOn(LIST, 'toDBus');
      try {
        const first = await h.callMethod(':1.4', 'List');
        const again = await h.callMethod(':1.4', 'List');
        expect(first.signature).toBe('a(sasstx)');
        const expected = [
          h.state.images.map((i) => [i.id, i.names, i.digest, BigInt(i.size), BigInt(i.created)]),
        ];
        expect(first.body).toEqual(expected);
        expect(again.body).toEqual(expected);
        expect(project).toHaveBeenCalledTimes(direct ? 1 : 2);
        h.state.images = [image(3)]; // the view moved on: a new array
        const moved = await h.callMethod(':1.4', 'List');
        expect(moved.body).toEqual([[[image(3).id, image(3).names, image(3).digest, 1003n, 1_700_000_003n]]]);
        expect(project).toHaveBeenCalledTimes(direct ? 2 : 3);
        // A body past 1 KiB goes out after its header, uncopied (to the socket): the same message.
        h.state.images = Array.from({ length: 40 }, (_, i) => image(i));
        for (let i = 0; i < 2; i++) {
          const big = await h.callMethod(':1.4', 'List');
          expect(big.body).toEqual([
            h.state.images.map((x) => [x.id, x.names, x.digest, BigInt(x.size), BigInt(x.created)]),
          ]);
        }
      } finally {
        project.mockRestore();
      }
    });
  });
}
