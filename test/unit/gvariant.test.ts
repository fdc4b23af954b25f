// The GVariant reader against bytes GLib itself serialized (libglib through koffi): the records libostree
// keeps in /run, every container kind, 1- and 2-byte framing offsets, and random dictionaries (fast-check).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeGVariant, decodeVardict } from '../../src/ostree/gvariant.js';
import { serializeGVariant } from '../helpers/ostree-sysroot.js';

const gvString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

describe('decodeGVariant', () => {
  it('reads a staged-deployment record as libostree writes it', async () => {
    const name = `${'a'.repeat(64)}.3`;
    const buf = await serializeGVariant(
      `{'target': <{'name': <'${name}'>, 'osname': <'default'>, 'bootcsum': <'${'b'.repeat(64)}'>}>, 'kargs': <['rw', 'quiet']>, 'locked': <true>}`,
    );
    const dict = decodeVardict(buf);
    expect(dict.get('kargs')).toEqual({ type: 'as', value: ['rw', 'quiet'] });
    expect(dict.get('locked')).toEqual({ type: 'b', value: true });
    const target = dict.get('target');
    expect(target?.type).toBe('a{sv}');
    expect(decodeVardict(await serializeGVariant(`{'name': <'${name}'>}`)).get('name')?.value).toBe(name);
    expect(target?.value).toEqual([
      ['name', { type: 's', value: name }],
      ['osname', { type: 's', value: 'default' }],
      ['bootcsum', { type: 's', value: 'b'.repeat(64) }],
    ]);
  });

  it('reads fixed-size tuples, integers of every width, doubles, maybes and nested variants', async () => {
    expect(
      decodeGVariant(await serializeGVariant('(uint64 66305, uint64 18446744073709551615)'), '(tt)'),
    ).toEqual([66305n, 18446744073709551615n]);
    expect(
      decodeGVariant(
        await serializeGVariant(
          "(byte 0x7f, int16 -2, uint16 65535, int32 -7, uint32 7, int64 -9, 2.5, 'x')",
        ),
        '(ynqiuxds)',
      ),
    ).toEqual([127, -2, 65535, -7, 7, -9n, 2.5, 'x']);
    expect(decodeGVariant(await serializeGVariant('@ms nothing'), 'ms')).toBeNull();
    expect(decodeGVariant(await serializeGVariant("@ms 'here'"), 'ms')).toBe('here');
    expect(decodeGVariant(await serializeGVariant('@mu 5'), 'mu')).toBe(5);
    expect(decodeGVariant(await serializeGVariant('[uint32 1, 2, 3]'), 'au')).toEqual([1, 2, 3]);
    expect(decodeGVariant(await serializeGVariant('@as []'), 'as')).toEqual([]);
    expect(decodeGVariant(await serializeGVariant('<<(1, "two")>>'), 'v')).toEqual({
      type: 'v',
      value: { type: '(is)', value: [1, 'two'] },
    });
  });

  it('reads containers past 255 bytes (2-byte framing offsets) and past 65535 (4-byte)', async () => {
    for (const len of [300, 70_000]) {
      const long = 'x'.repeat(len);
      const dict = decodeVardict(await serializeGVariant(`{'a': <'${long}'>, 'b': <['${long}', 'y']>}`));
      expect(dict.get('a')?.value).toBe(long);
      expect(dict.get('b')?.value).toEqual([long, 'y']);
    }
  });

  it('refuses malformed bytes instead of inventing values', () => {
    expect(() => decodeGVariant(Buffer.from('abc'), 's')).toThrow(/NUL/);
    expect(() => decodeGVariant(Buffer.from([1, 2, 3]), 't')).toThrow();
    expect(() => decodeGVariant(Buffer.from([0x61, 0x00, 0xff]), 'as')).toThrow();
    expect(() => decodeVardict(Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 200]))).toThrow();
    expect(() => decodeGVariant(Buffer.alloc(0), 'a{sv}x')).toThrow(/complete type/);
  });

  it('decodes random string dictionaries exactly as GLib wrote them', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.string({ maxLength: 12 }),
          fc.array(fc.string({ maxLength: 40, unit: 'grapheme' }), { maxLength: 5 }),
          {
            maxKeys: 8,
          },
        ),
        async (d) => {
          const entries = Object.entries(d);
          const text =
            entries.length === 0
              ? '@a{sv} {}'
              : `{${entries.map(([k, v]) => `${gvString(k)}: <@as [${v.map(gvString).join(', ')}]>`).join(', ')}}`;
          const got = decodeVardict(await serializeGVariant(text));
          expect(Object.fromEntries([...got].map(([k, box]) => [k, box.value]))).toEqual(d);
        },
      ),
      { numRuns: 200 },
    );
  });
});
