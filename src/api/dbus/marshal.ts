// A D-Bus marshaller for the daemon's own replies, byte for byte what dbus-next 0.10.2 writes for the same
// values (a unit test holds the two equal), without its per-value Buffers and put-streams or its 64-bit path
// (each t/x through BigInt → string → Long): reads are answered in microseconds, and dbus-next spends more
// marshalling a 30-image List than the whole round trip of a Ping. Little-endian, as dbus-next writes.

import dbus from 'dbus-next';
import { parseSignature, type SignatureElement } from './dbus-next-internals.js';

/** A parsed signature element, as dbus-next's parser returns it. */
type Sig = SignatureElement;

/** Parsed signatures: the daemon's replies and job properties use a few dozen; more are parsed each time. */
const TREES = new Map<string, Sig[]>();
const MAX_TREES = 256;
const MAX_U64 = 0xffffffffffffffffn;
// dbus-next refuses -2^63 (its MIN_INT64 is -(2^63 - 1)): so does this, to fail where it fails.
const MIN_I64 = -0x7fffffffffffffffn;
const MAX_I64 = 0x7fffffffffffffffn;
const TWO_32 = 0x100000000;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
/** Elements whose arrays are padded to 8 after the length, as dbus-next decides it. */
const ALIGN_8 = new Set(['x', 't', 'd', '{', '(']);

/** The parsed form of a signature (cached for the ones the daemon uses). */
export function signatureTree(signature: string): Sig[] {
  let tree = TREES.get(signature);
  if (!tree) {
    tree = parseSignature(signature);
    if (TREES.size < MAX_TREES) TREES.set(signature, tree);
  }
  return tree;
}

/** A growing little-endian buffer; offsets are those of the message (alignment counts from its start). */
export class WireWriter {
  buf: Buffer;
  at = 0;

  constructor(size = 512) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for n more bytes. */
  reserve(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(next, 0, 0, this.at);
    this.buf = next;
  }

  /** Zero padding up to a multiple of n (at most 7 bytes: a loop is cheaper than fill). */
  align(n: number): void {
    const pad = (n - (this.at % n)) % n;
    if (pad === 0) return;
    this.reserve(pad);
    for (let i = 0; i < pad; i++) this.buf[this.at++] = 0;
  }

  u8(v: number): void {
    this.reserve(1);
    this.buf[this.at++] = v;
  }

  u32(v: number): void {
    this.align(4);
    this.reserve(4);
    this.buf.writeUInt32LE(v, this.at);
    this.at += 4;
  }

  /** A string or object path: length, UTF-8 bytes, NUL. ASCII (IDs, names, paths) is copied byte by byte. */
  str(v: string): void {
    this.u32(v.length);
    const lengthAt = this.at - 4;
    this.reserve(v.length + 1);
    const buf = this.buf;
    let at = this.at;
    for (let i = 0; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c > 0x7f) {
        // Not ASCII: its UTF-8 length differs from its length in UTF-16 units; write it whole instead.
        const bytes = Buffer.byteLength(v, 'utf8');
        this.buf.writeUInt32LE(bytes, lengthAt);
        this.reserve(bytes + 1);
        this.buf.write(v, this.at, 'utf8');
        this.at += bytes;
        this.buf[this.at++] = 0;
        return;
      }
      buf[at++] = c;
    }
    buf[at++] = 0;
    this.at = at;
  }

  /** A signature: one length byte, ASCII, NUL. */
  sig(v: string): void {
    this.reserve(v.length + 2);
    this.buf[this.at++] = v.length;
    this.buf.write(v, this.at, 'latin1');
    this.at += v.length;
    this.buf[this.at++] = 0;
  }

  /** What was written, as its own copy. */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.at));
  }
}

/** marshalBody's writer, reused (it never yields, and returns a copy); dropped when it grew past 64 KiB. */
let scratch: WireWriter | undefined;
const SCRATCH_MAX = 64 * 1024;

/** A message body: the values in dbus-next's JS form (arrays for structs, objects for dicts, Variant for v). */
export function marshalBody(signature: string, body: readonly unknown[]): Buffer {
  const tree = signatureTree(signature);
  if (tree.length !== body.length)
    throw new Error(
      `Expected ${tree.length} body elements for signature '${signature}' (got ${body.length})`,
    );
  const w = scratch ?? new WireWriter(8192);
  scratch = undefined;
  w.at = 0;
  try {
    for (let i = 0; i < tree.length; i++) writeValue(w, tree[i]!, body[i]);
    return w.take();
  } finally {
    if (w.buf.length <= SCRATCH_MAX) scratch = w;
  }
}

/** Writes one value of type `t` at the writer's offset. */
export function writeValue(w: WireWriter, t: Sig, v: unknown): void {
  switch (t.type) {
    case 's':
    case 'o':
      w.str(checkString(v));
      return;
    case 'g':
      w.sig(checkSignature(v));
      return;
    case 'b':
      if (!(typeof v === 'boolean' || v === 0 || v === 1))
        throw new Error(`Data: ${v} was not of type boolean`);
      w.u32(v ? 1 : 0);
      return;
    case 'y':
      w.u8(checkInteger(v, 0, 0xff));
      return;
    case 'u':
      w.u32(checkInteger(v, 0, 0xffffffff));
      return;
    case 'i':
      w.align(4);
      w.reserve(4);
      w.buf.writeInt32LE(checkInteger(v, -0x80000000, 0x7fffffff), w.at);
      w.at += 4;
      return;
    case 'n':
    case 'q':
      w.align(2);
      w.reserve(2);
      if (t.type === 'n') w.buf.writeInt16LE(checkInteger(v, -0x8000, 0x7fff), w.at);
      else w.buf.writeUInt16LE(checkInteger(v, 0, 0xffff), w.at);
      w.at += 2;
      return;
    case 't':
    case 'x':
      write64(w, v, t.type === 'x');
      return;
    case 'd':
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`Data: ${v} is not a finite number`);
      w.align(8);
      w.reserve(8);
      w.buf.writeDoubleLE(v, w.at);
      w.at += 8;
      return;
    case '(':
    case '{':
      writeStruct(w, t.child, v);
      return;
    case 'a':
      writeArray(w, t.child[0]!, v);
      return;
    case 'v': {
      if (!(v instanceof dbus.Variant)) throw new Error(`expected a Variant for value (got ${typeof v})`);
      const inner = signatureTree(v.signature);
      if (inner.length !== 1) throw new Error(`a variant holds one value, not '${v.signature}'`);
      w.sig(checkSignature(v.signature));
      writeValue(w, inner[0]!, v.value);
      return;
    }
    default:
      // 'h' (file descriptors) and anything else: the daemon sends none; dbus-next's path handles them.
      throw new Error(`no fast marshalling for type '${t.type}'`);
  }
}

function writeStruct(w: WireWriter, fields: readonly Sig[], v: unknown): void {
  if (!Array.isArray(v) || v.length !== fields.length)
    throw new Error(`expecting a struct of ${fields.length} members`);
  w.align(8);
  for (let i = 0; i < fields.length; i++) writeValue(w, fields[i]!, v[i]);
}

function writeArray(w: WireWriter, element: Sig, v: unknown): void {
  w.u32(0); // the length, filled in below
  const lengthAt = w.at - 4;
  if (ALIGN_8.has(element.type)) w.align(8);
  const start = w.at;
  if (element.type === '{') {
    if (v === null || typeof v !== 'object' || v.constructor !== Object)
      throw new Error(`expecting an object for a dict (got ${typeof v})`);
    const [key, value] = element.child as [Sig, Sig];
    for (const [k, item] of Object.entries(v)) {
      w.align(8);
      writeValue(w, key, k);
      writeValue(w, value, item);
    }
  } else if (element.type === 'y' && Buffer.isBuffer(v)) {
    w.reserve(v.length);
    v.copy(w.buf, w.at);
    w.at += v.length;
  } else {
    if (!Array.isArray(v)) throw new Error(`expecting an array (got ${typeof v})`);
    for (const item of v) writeValue(w, element, item);
  }
  w.buf.writeUInt32LE(w.at - start, lengthAt);
}

/** A uint64/int64 from a safe integer (two words, no BigInt), a bigint, or what BigInt() reads (as dbus-next). */
function write64(w: WireWriter, v: unknown, signed: boolean): void {
  w.align(8);
  w.reserve(8);
  // A bigint in the safe range (sizes, times) is written as a number: BigInt's own write allocates.
  if (typeof v === 'bigint' && v >= 0n && v <= MAX_SAFE) v = Number(v);
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) {
    w.buf.writeUInt32LE(v % TWO_32, w.at);
    w.buf.writeUInt32LE(Math.floor(v / TWO_32), w.at + 4);
    w.at += 8;
    return;
  }
  const big = typeof v === 'bigint' ? v : BigInt(String(v));
  if (signed ? big < MIN_I64 || big > MAX_I64 : big < 0n || big > MAX_U64)
    throw new Error(`data was out of range for ${signed ? 'int64' : 'uint64'}`);
  if (signed) w.buf.writeBigInt64LE(big, w.at);
  else w.buf.writeBigUInt64LE(big, w.at);
  w.at += 8;
}

function checkString(v: unknown): string {
  const s = Buffer.isBuffer(v) ? v.toString() : v;
  if (typeof s !== 'string') throw new Error(`Data: ${String(v)} was not of type string`);
  if (s.includes('\0')) throw new Error('String contains null byte');
  return s;
}

function checkSignature(v: unknown): string {
  const s = checkString(v);
  if (s.length > 0xff) throw new Error(`signature too long (${s.length} > 255)`);
  signatureTree(s); // throws for a malformed one
  return s;
}

function checkInteger(v: unknown, min: number, max: number): number {
  if (typeof v !== 'number' || Math.floor(v) !== v) throw new Error(`Data: ${String(v)} was not an integer`);
  if (v < min || v > max) throw new Error('Number outside range');
  return v;
}
