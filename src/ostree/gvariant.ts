// A reader of GVariant's serialized form (the GLib spec, "normal form"), enough for the state libostree keeps
// in /run: `/run/ostree/staged-deployment` and `/run/ostree-booted` are `a{sv}` dictionaries written with
// g_variant_get_data, so in this machine's byte order. Malformed data throws; callers treat that as "no record".

import { endianness } from 'node:os';

/** A decoded value: basic types as JS values, 64-bit integers as bigint, arrays/tuples as arrays, `v` boxed. */
export type GValue = boolean | number | bigint | string | null | GValue[] | GVariantBox;

/** A `v` value: its own type string and the value. */
export interface GVariantBox {
  type: string;
  value: GValue;
}

type GType =
  | { k: 'fixed'; c: string; size: number }
  | { k: 'string' }
  | { k: 'variant' }
  | { k: 'array'; el: GType }
  | { k: 'maybe'; el: GType }
  | { k: 'tuple'; items: GType[] };

const FIXED_SIZES: Record<string, number> = { b: 1, y: 1, n: 2, q: 2, i: 4, u: 4, h: 4, x: 8, t: 8, d: 8 };
const LITTLE = endianness() === 'LE';
/** Deeper nesting than this is refused (GLib's own limit is 128). */
const MAX_DEPTH = 64;

class Malformed extends Error {}

/** Parses one complete type string; throws on anything else. */
function parseType(text: string): GType {
  let i = 0;
  const one = (depth: number): GType => {
    if (depth > MAX_DEPTH) throw new Malformed('type nests too deeply');
    const c = text[i++];
    if (c === undefined) throw new Malformed(`truncated type ${text}`);
    if (c in FIXED_SIZES) return { k: 'fixed', c, size: FIXED_SIZES[c]! };
    if (c === 's' || c === 'o' || c === 'g') return { k: 'string' };
    if (c === 'v') return { k: 'variant' };
    if (c === 'a') return { k: 'array', el: one(depth + 1) };
    if (c === 'm') return { k: 'maybe', el: one(depth + 1) };
    if (c === '(' || c === '{') {
      const close = c === '(' ? ')' : '}';
      const items: GType[] = [];
      while (text[i] !== close) items.push(one(depth + 1));
      i++;
      if (c === '{' && items.length !== 2) throw new Malformed('a dictionary entry has two members');
      return { k: 'tuple', items };
    }
    throw new Malformed(`unsupported type character ${JSON.stringify(c)}`);
  };
  const t = one(0);
  if (i !== text.length) throw new Malformed(`not one complete type: ${text}`);
  return t;
}

function alignOf(t: GType): number {
  if (t.k === 'fixed') return t.size;
  if (t.k === 'string') return 1;
  if (t.k === 'variant') return 8;
  if (t.k === 'array' || t.k === 'maybe') return alignOf(t.el);
  return Math.max(1, ...t.items.map(alignOf));
}

/** The size of a fixed-size type, undefined for a variable-size one. */
function fixedSizeOf(t: GType): number | undefined {
  if (t.k === 'fixed') return t.size;
  if (t.k !== 'tuple') return undefined;
  if (t.items.length === 0) return 1; // the unit type
  let pos = 0;
  for (const item of t.items) {
    const size = fixedSizeOf(item);
    if (size === undefined) return undefined;
    pos = align(pos, alignOf(item)) + size;
  }
  return align(pos, alignOf(t));
}

const align = (n: number, a: number) => Math.ceil(n / a) * a;

/** How wide a container's framing offsets are, from the container's size. */
function offsetSize(n: number): number {
  return n <= 0xff ? 1 : n <= 0xffff ? 2 : n <= 0xffffffff ? 4 : 8;
}

function readOffset(buf: Buffer, at: number, size: number): number {
  if (at < 0 || at + size > buf.length) throw new Malformed('framing offset out of range');
  const w = Math.min(size, 6); // a Buffer holds far less than 2^48 bytes: the high bytes of an 8-byte offset are 0
  const v = LITTLE ? buf.readUIntLE(at, w) : buf.readUIntBE(at + size - w, w);
  if (v > buf.length) throw new Malformed('framing offset past the end');
  return v;
}

function decode(buf: Buffer, t: GType, depth: number): GValue {
  if (depth > MAX_DEPTH) throw new Malformed('value nests too deeply');
  switch (t.k) {
    case 'fixed':
      return decodeFixed(buf, t.c, t.size);
    case 'string':
      if (buf.length === 0 || buf[buf.length - 1] !== 0) throw new Malformed('string without its NUL');
      return buf.toString('utf8', 0, buf.length - 1);
    case 'variant': {
      const zero = buf.lastIndexOf(0);
      if (zero === -1) throw new Malformed('variant without a type');
      const type = buf.toString('latin1', zero + 1);
      return { type, value: decode(buf.subarray(0, zero), parseType(type), depth + 1) };
    }
    case 'maybe': {
      if (buf.length === 0) return null;
      const fixed = fixedSizeOf(t.el) !== undefined;
      return decode(fixed ? buf : buf.subarray(0, buf.length - 1), t.el, depth + 1);
    }
    case 'array':
      return decodeArray(buf, t.el, depth);
    case 'tuple': {
      const size = fixedSizeOf(t);
      if (size !== undefined && buf.length !== size)
        throw new Malformed(`a fixed tuple of ${buf.length} bytes`);
      return decodeTuple(buf, t.items, depth);
    }
  }
}

function decodeFixed(buf: Buffer, c: string, size: number): GValue {
  if (buf.length !== size) throw new Malformed(`a ${c} is ${size} bytes, not ${buf.length}`);
  const le = LITTLE;
  if (c === 'b') return buf[0] !== 0;
  if (c === 'y') return buf[0]!;
  if (c === 'n') return le ? buf.readInt16LE(0) : buf.readInt16BE(0);
  if (c === 'q') return le ? buf.readUInt16LE(0) : buf.readUInt16BE(0);
  if (c === 'i' || c === 'h') return le ? buf.readInt32LE(0) : buf.readInt32BE(0);
  if (c === 'u') return le ? buf.readUInt32LE(0) : buf.readUInt32BE(0);
  if (c === 'x') return le ? buf.readBigInt64LE(0) : buf.readBigInt64BE(0);
  if (c === 't') return le ? buf.readBigUInt64LE(0) : buf.readBigUInt64BE(0);
  return le ? buf.readDoubleLE(0) : buf.readDoubleBE(0);
}

function decodeArray(buf: Buffer, el: GType, depth: number): GValue[] {
  const n = buf.length;
  if (n === 0) return [];
  const size = fixedSizeOf(el);
  const out: GValue[] = [];
  if (size !== undefined) {
    if (n % size !== 0) throw new Malformed('array size is not a multiple of its element size');
    for (let at = 0; at < n; at += size) out.push(decode(buf.subarray(at, at + size), el, depth + 1));
    return out;
  }
  const osz = offsetSize(n);
  const table = readOffset(buf, n - osz, osz);
  if ((n - table) % osz !== 0) throw new Malformed('array offset table is misaligned');
  let start = 0;
  for (let at = table; at < n; at += osz) {
    const end = readOffset(buf, at, osz);
    start = align(start, alignOf(el));
    if (start > end || end > table) throw new Malformed('array element out of range');
    out.push(decode(buf.subarray(start, end), el, depth + 1));
    start = end;
  }
  return out;
}

function decodeTuple(buf: Buffer, items: GType[], depth: number): GValue[] {
  const n = buf.length;
  const osz = offsetSize(n);
  const out: GValue[] = [];
  let pos = 0;
  let framing = 0;
  for (const [i, item] of items.entries()) {
    pos = align(pos, alignOf(item));
    const size = fixedSizeOf(item);
    let end: number;
    if (size !== undefined) end = pos + size;
    else if (i === items.length - 1) end = n - framing * osz;
    else end = readOffset(buf, n - ++framing * osz, osz);
    if (pos > end || end > n) throw new Malformed('tuple member out of range');
    out.push(decode(buf.subarray(pos, end), item, depth + 1));
    pos = end;
  }
  return out;
}

/** Decodes `buf` as a value of `type` (e.g. `a{sv}`); throws on malformed data or an unsupported type. */
export function decodeGVariant(buf: Buffer, type: string): GValue {
  return decode(buf, parseType(type), 0);
}

/** An `a{sv}` as a Map of its boxed values (a repeated key keeps its last value, as GVariantDict does). */
export function decodeVardict(buf: Buffer): Map<string, GVariantBox> {
  return toVardict(decodeGVariant(buf, 'a{sv}'));
}

/** A decoded `a{sv}` value as a Map (for a dictionary nested in a `v`). */
export function toVardict(value: GValue): Map<string, GVariantBox> {
  const map = new Map<string, GVariantBox>();
  if (!Array.isArray(value)) throw new Malformed('not a dictionary');
  for (const entry of value) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') throw new Malformed('not a dictionary entry');
    const box = entry[1] as GVariantBox;
    map.set(entry[0], box);
  }
  return map;
}
