/**
 * A compact encoder for the plain data most queue and pipe messages are made of.
 *
 * Why: V8's serializer (`v8.serialize`) costs about 3 µs for a two-field object in
 * Node 20, which alone would cap a queue below a MessagePort. This encoder writes
 * primitives, plain objects, plain arrays and plain Uint8Arrays into a reused
 * scratch buffer in about 0.1 µs, and gives up (returns -1) on anything else, so
 * the caller falls back to `encodeMessage` and structured-clone semantics are kept:
 * Maps, Sets, Dates, class instances, BigInts, Buffers, library objects, holes in
 * arrays, repeated references and cycles all take the V8 path.
 *
 * Format (little endian; one tag byte per value):
 *
 *   0 undefined | 1 null | 2 true | 3 false
 *   4 int32  [i32]                5 float64 [f64]
 *   6 latin1 string  [u32 n][n bytes]
 *   7 utf8 string    [u32 n][n bytes]        (well-formed strings only)
 *   8 utf16 string   [u32 n][2n bytes]       (strings with lone surrogates)
 *   9 array  [u32 n] n values
 *  10 object [u32 n] n × (key string value, value)
 *  11 Uint8Array [u32 n][0-7 pad bytes to an 8-aligned address][n bytes]
 *  12 other typed array [u8 kind][u32 n bytes][pad to 8][n bytes]: Int8Array ... BigUint64Array
 *     (kind: the class's place in TYPED_ARRAY_CLASSES), as raw bytes: one copy in, one out, never element by element
 *  13 array of int32 numbers  [u32 n][pad to 4][n × i32]   (PACKED_MIN items or more)
 *  14 array of other numbers  [u32 n][pad to 8][n × f64]
 *     A map's chunk of numbers and its results: one tag and one bulk write or read per
 *     array, where tags 4/5 cost a tag and a dispatch per item.
 */

import { native } from "../util/native.ts";
import { TYPED_ARRAY_CLASSES, uninitializedBytes } from "../util/typed-arrays.ts";

const T_UNDEFINED = 0;
const T_NULL = 1;
const T_TRUE = 2;
const T_FALSE = 3;
const T_INT = 4;
const T_FLOAT = 5;
const T_LATIN1 = 6;
const T_UTF8 = 7;
const T_UTF16 = 8;
const T_ARRAY = 9;
const T_OBJECT = 10;
const T_BYTES = 11;
const T_TYPED = 12;
const T_INT32S = 13;
const T_FLOAT64S = 14;

/** Arrays of numbers this long or longer are packed (tags 13, 14); shorter ones gain nothing. */
const PACKED_MIN = 16;

/** Tag 12's kinds: a class's place in TYPED_ARRAY_CLASSES (Uint8Array's is unused: it is tag 11). */
const typedKindOf = new Map<object, number>(TYPED_ARRAY_CLASSES.map((Class, kind) => [Class.prototype, kind]));

/** Nesting deeper than this goes to V8 (which handles any depth). */
const MAX_DEPTH = 64;
/** Strings up to this length are written by a JS loop; longer ones by the native UTF-8 encoder. */
const SHORT_STRING = 48;

const objectProto = Object.prototype;
const arrayProto = Array.prototype;
const uint8Proto = Uint8Array.prototype;

/** Per-thread encoder state: one scratch buffer, grown on demand and reused. */
let scratch = Buffer.allocUnsafeSlow(4096);
let view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
let pos = 0;

/**
 * The arrays and objects met in this encode: one met twice is given up on (V8 keeps a
 * shared reference or a cycle, this format would write it twice or forever). A message
 * holds few, so they are looked up in a reused array and only past SEEN_LIST_MAX in a
 * Set: a Set cleared after every encode allocated a new table each time, garbage on
 * every tiny pool task's frame and result.
 */
const SEEN_LIST_MAX = 16;
const seenList: (object | undefined)[] = new Array(SEEN_LIST_MAX).fill(undefined);
const seenSet = new Set<object>();
let seenCount = 0;

/** Records `value` as met; gives up if it was met already in this encode. */
function markSeen(value: object): void {
  if (seenCount < SEEN_LIST_MAX) {
    for (let i = 0; i < seenCount; i++) if (seenList[i] === value) throw giveUp;
    seenList[seenCount++] = value;
    return;
  }
  if (seenCount === SEEN_LIST_MAX) {
    for (let i = 0; i < SEEN_LIST_MAX; i++) seenSet.add(seenList[i]!);
  }
  if (seenSet.has(value)) throw giveUp;
  seenSet.add(value);
  seenCount++;
}

/** Forgets what the last encode met (without holding on to the caller's objects). */
function forgetSeen(): void {
  if (seenCount > SEEN_LIST_MAX) seenSet.clear();
  for (let i = 0; i < seenCount && i < SEEN_LIST_MAX; i++) seenList[i] = undefined;
  seenCount = 0;
}

class GiveUp {}
const giveUp = new GiveUp();
/** Thrown when a byte or typed array is bigger than the encode's `maxBinary` (see fastEncode). */
const tooBig = new GiveUp();
let maxBinary = Infinity;

/** fastEncode's answer when a byte or typed array in the value is bigger than its `maxBinary`. */
export const TOO_BIG = -2;

function reserve(bytes: number): void {
  if (pos + bytes <= scratch.length) return;
  let size = scratch.length * 2;
  while (size < pos + bytes) size *= 2;
  const next = Buffer.allocUnsafeSlow(size);
  scratch.copy(next, 0, 0, pos);
  scratch = next;
  view = new DataView(scratch.buffer, scratch.byteOffset, scratch.byteLength);
}

function writeString(value: string): void {
  const length = value.length;
  if (length <= SHORT_STRING) {
    reserve(5 + length * 2);
    const start = pos;
    scratch[pos] = T_LATIN1;
    pos += 5;
    let i = 0;
    for (; i < length; i++) {
      const code = value.charCodeAt(i);
      if (code > 0xff) break;
      scratch[pos++] = code;
    }
    if (i === length) {
      view.setUint32(start + 1, length, true);
      return;
    }
    // A character above latin1: write the whole string as UTF-16 instead.
    pos = start;
    scratch[pos] = T_UTF16;
    view.setUint32(pos + 1, length, true);
    pos += 5;
    for (let j = 0; j < length; j++) {
      view.setUint16(pos, value.charCodeAt(j), true);
      pos += 2;
    }
    return;
  }
  if (value.isWellFormed()) {
    reserve(5 + length * 3);
    scratch[pos] = T_UTF8;
    const written = scratch.write(value, pos + 5, "utf8");
    view.setUint32(pos + 1, written, true);
    pos += 5 + written;
  } else {
    reserve(5 + length * 2);
    scratch[pos] = T_UTF16;
    view.setUint32(pos + 1, length, true);
    scratch.write(value, pos + 5, "utf16le");
    pos += 5 + length * 2;
  }
}

function writeValue(value: unknown, depth: number): void {
  switch (typeof value) {
    case "number": {
      reserve(9);
      if ((value | 0) === value && !(value === 0 && 1 / value < 0)) {
        scratch[pos] = T_INT;
        view.setInt32(pos + 1, value, true);
        pos += 5;
      } else {
        scratch[pos] = T_FLOAT;
        view.setFloat64(pos + 1, value, true);
        pos += 9;
      }
      return;
    }
    case "string":
      writeString(value);
      return;
    case "boolean":
      reserve(1);
      scratch[pos++] = value ? T_TRUE : T_FALSE;
      return;
    case "undefined":
      reserve(1);
      scratch[pos++] = T_UNDEFINED;
      return;
    case "object": {
      if (value === null) {
        reserve(1);
        scratch[pos++] = T_NULL;
        return;
      }
      if (depth > MAX_DEPTH) throw giveUp;
      const proto = Object.getPrototypeOf(value);
      if (proto === arrayProto) {
        markSeen(value);
        const array = value as unknown[];
        const length = array.length;
        if (length >= PACKED_MIN && writePackedNumbers(array)) return;
        reserve(5);
        scratch[pos] = T_ARRAY;
        view.setUint32(pos + 1, length, true);
        pos += 5;
        for (let i = 0; i < length; i++) {
          const item = array[i];
          if (item === undefined && !(i in array)) throw giveUp; // a hole: V8 keeps it, we would not
          writeValue(item, depth + 1);
        }
        return;
      }
      if (proto === objectProto) {
        markSeen(value);
        const record = value as Record<string, unknown>;
        const keys = Object.keys(record);
        reserve(5);
        scratch[pos] = T_OBJECT;
        view.setUint32(pos + 1, keys.length, true);
        pos += 5;
        for (let i = 0; i < keys.length; i++) {
          const key = keys[i]!;
          writeString(key);
          writeValue(record[key], depth + 1);
        }
        return;
      }
      if (proto === uint8Proto && !((value as Uint8Array).buffer instanceof SharedArrayBuffer)) {
        const bytes = value as Uint8Array;
        const length = bytes.length;
        if (length > maxBinary) throw tooBig;
        reserve(13 + length);
        scratch[pos] = T_BYTES;
        view.setUint32(pos + 1, length, true);
        // Pad so the bytes start 8-aligned (frames keep this alignment in shared memory; aligned copies out are faster).
        pos = (pos + 5 + 7) & ~7;
        scratch.set(bytes, pos);
        pos += length;
        return;
      }
      const kind = typedKindOf.get(proto);
      if (kind !== undefined && !((value as ArrayBufferView).buffer instanceof SharedArrayBuffer)) {
        const typed = value as ArrayBufferView;
        const length = typed.byteLength;
        if (length > maxBinary) throw tooBig;
        reserve(14 + length);
        scratch[pos] = T_TYPED;
        scratch[pos + 1] = kind;
        view.setUint32(pos + 2, length, true);
        // 8-aligned, as tag 11's bytes: a Float64Array or BigInt64Array is then read out without realignment.
        pos = (pos + 6 + 7) & ~7;
        scratch.set(new Uint8Array(typed.buffer, typed.byteOffset, length), pos);
        pos += length;
        return;
      }
      throw giveUp;
    }
    default:
      throw giveUp;
  }
}

/**
 * Writes `array` as tag 13 or 14 if every item is a number (holes are not numbers), and
 * returns whether it did. -0 is not an int32 here: it goes as a float64 and stays -0.
 */
function writePackedNumbers(array: unknown[]): boolean {
  const length = array.length;
  let ints = true;
  for (let i = 0; i < length; i++) {
    const item = array[i];
    if (typeof item !== "number") return false;
    if (ints && ((item | 0) !== item || (item === 0 && 1 / item < 0))) ints = false;
  }
  const width = ints ? 4 : 8;
  reserve(5 + width + length * width);
  scratch[pos] = ints ? T_INT32S : T_FLOAT64S;
  view.setUint32(pos + 1, length, true);
  pos = (pos + 5 + width - 1) & ~(width - 1);
  // The scratch buffer's memory starts 8-aligned (allocUnsafeSlow), so `pos` aligns the view.
  const out = ints ? new Int32Array(scratch.buffer, scratch.byteOffset + pos, length) : new Float64Array(scratch.buffer, scratch.byteOffset + pos, length);
  for (let i = 0; i < length; i++) out[i] = array[i] as number;
  pos += length * width;
  return true;
}

/**
 * Encodes `value` into the shared scratch buffer and returns its length, or -1
 * when the value needs V8's serializer, or TOO_BIG (nothing copied past it) when it
 * holds a byte or typed array of more than `binaryLimit` bytes. The bytes stay valid
 * until the next call (read them with `fastScratch()`).
 */
export function fastEncode(value: unknown, binaryLimit = Infinity): number {
  pos = 0;
  maxBinary = binaryLimit;
  try {
    writeValue(value, 0);
    return pos;
  } catch (error) {
    if (error === giveUp) return -1;
    if (error === tooBig) return TOO_BIG;
    throw error;
  } finally {
    forgetSeen();
  }
}

/**
 * fastEncode of the array of the first `count` (at most 8) of `f0`...`f7`, without that
 * array: a pool's task frame (pool-frames.ts), made for every tiny task, where the tuple
 * itself was about a tenth of what the parent allocated per task.
 */
export function fastEncodeFields(
  count: number,
  f0: unknown,
  f1: unknown,
  f2: unknown,
  f3: unknown,
  f4: unknown,
  f5: unknown,
  f6: unknown,
  f7: unknown,
  binaryLimit = Infinity,
): number {
  pos = 0;
  maxBinary = binaryLimit;
  try {
    reserve(5);
    scratch[pos] = T_ARRAY;
    view.setUint32(pos + 1, count, true);
    pos += 5;
    writeValue(f0, 1);
    if (count > 1) writeValue(f1, 1);
    if (count > 2) writeValue(f2, 1);
    if (count > 3) writeValue(f3, 1);
    if (count > 4) writeValue(f4, 1);
    if (count > 5) writeValue(f5, 1);
    if (count > 6) writeValue(f6, 1);
    if (count > 7) writeValue(f7, 1);
    return pos;
  } catch (error) {
    if (error === giveUp) return -1;
    if (error === tooBig) return TOO_BIG;
    throw error;
  } finally {
    forgetSeen();
  }
}

/** The scratch buffer `fastEncode` wrote into. */
export function fastScratch(): Buffer {
  return scratch;
}

/**
 * From this size up, a received byte array is allocated without zero-filling and
 * filled by the addon's memmove: V8 zero-fills `new Uint8Array(n)` and copies out of
 * shared memory slowly, which made 64 KiB messages cost several microseconds each.
 */
const NATIVE_COPY_MIN = 4096;

/** Decoder state: module-level so a decode allocates nothing but the values it returns. */
let inBytes: Buffer = scratch;
let inView: DataView = view;
let at = 0;
/** Where the message ends: no length read from it may reach past this (a corrupt or hostile length is refused before it allocates). */
let end = 0;
/**
 * Where the message starts: padding is counted from here, as the encoder counted it from
 * the start of its scratch buffer. A message read from a socket may start anywhere in its
 * buffer; one in a ring starts 8-aligned, where packed numbers are read in place.
 */
let base = 0;

function checkRoom(count: number, unit: number): void {
  if (count * unit > end - at) throw new Error(`Corrupt message: ${count} items of ${unit} bytes announced at byte ${at}, ${end - at} bytes left`);
}

function readString(tag: number): string {
  const length = inView.getUint32(at, true);
  at += 4;
  checkRoom(length, tag === T_UTF16 ? 2 : 1);
  let text: string;
  if (tag === T_LATIN1) {
    if (length <= 16) {
      text = "";
      for (let i = 0; i < length; i++) text += String.fromCharCode(inBytes[at + i]!);
    } else {
      text = inBytes.toString("latin1", at, at + length);
    }
    at += length;
  } else if (tag === T_UTF8) {
    text = inBytes.toString("utf8", at, at + length);
    at += length;
  } else {
    text = inBytes.toString("utf16le", at, at + length * 2);
    at += length * 2;
  }
  return text;
}

/** The next `length` bytes of the message as a fresh Uint8Array over a buffer of exactly that size. */
function takeBytes(length: number): Uint8Array {
  let copy: Uint8Array;
  if (length >= NATIVE_COPY_MIN) {
    copy = uninitializedBytes(length);
    native().copy(copy, 0, inBytes, at, length);
  } else {
    copy = new Uint8Array(length);
    copy.set(inBytes.subarray(at, at + length));
  }
  at += length;
  return copy;
}

function readValue(): unknown {
  const tag = inBytes[at++]!;
  switch (tag) {
    case T_UNDEFINED:
      return undefined;
    case T_NULL:
      return null;
    case T_TRUE:
      return true;
    case T_FALSE:
      return false;
    case T_INT: {
      const value = inView.getInt32(at, true);
      at += 4;
      return value;
    }
    case T_FLOAT: {
      const value = inView.getFloat64(at, true);
      at += 8;
      return value;
    }
    case T_LATIN1:
    case T_UTF8:
    case T_UTF16:
      return readString(tag);
    case T_ARRAY: {
      const length = inView.getUint32(at, true);
      at += 4;
      checkRoom(length, 1);
      const array = new Array<unknown>(length);
      for (let i = 0; i < length; i++) array[i] = readValue();
      return array;
    }
    case T_OBJECT: {
      const count = inView.getUint32(at, true);
      at += 4;
      checkRoom(count, 6);
      const record: Record<string, unknown> = {};
      for (let i = 0; i < count; i++) {
        const key = readString(inBytes[at++]!);
        if (key === "__proto__") {
          Object.defineProperty(record, key, { value: readValue(), enumerable: true, writable: true, configurable: true });
        } else {
          record[key] = readValue();
        }
      }
      return record;
    }
    case T_BYTES: {
      const length = inView.getUint32(at, true);
      at += 4;
      at += (8 - ((at - base) & 7)) & 7;
      checkRoom(length, 1);
      return takeBytes(length);
    }
    case T_INT32S:
    case T_FLOAT64S: {
      const length = inView.getUint32(at, true);
      at += 4;
      const width = tag === T_INT32S ? 4 : 8;
      at += (width - ((at - base) & (width - 1))) & (width - 1);
      checkRoom(length, width);
      const start = inBytes.byteOffset + at;
      const array = new Array<number>(length);
      if ((start & (width - 1)) === 0) {
        const packed = tag === T_INT32S ? new Int32Array(inBytes.buffer, start, length) : new Float64Array(inBytes.buffer, start, length);
        for (let i = 0; i < length; i++) array[i] = packed[i]!;
      } else if (tag === T_INT32S) {
        for (let i = 0; i < length; i++) array[i] = inView.getInt32(at + i * 4, true);
      } else {
        for (let i = 0; i < length; i++) array[i] = inView.getFloat64(at + i * 8, true);
      }
      at += length * width;
      return array;
    }
    case T_TYPED: {
      const Class = TYPED_ARRAY_CLASSES[inBytes[at++]!];
      if (Class === undefined) throw new Error(`Corrupt message: unknown typed array kind ${inBytes[at - 1]} at byte ${at - 1}`);
      const length = inView.getUint32(at, true);
      at += 4;
      at += (8 - ((at - base) & 7)) & 7;
      checkRoom(length, 1);
      if (length % Class.BYTES_PER_ELEMENT !== 0) throw new Error(`Corrupt message: ${length} bytes is no whole number of ${Class.name} elements`);
      const copy = takeBytes(length);
      return new Class(copy.buffer as ArrayBuffer, 0, length / Class.BYTES_PER_ELEMENT);
    }
    default:
      throw new Error(`Corrupt message: unknown tag ${tag} at byte ${at - 1}`);
  }
}

/**
 * Decodes one value at `offset` of `bytes` (`dataView` covers the same memory; both may be shared),
 * reading nothing at or past `limit` (default: the end of `bytes`).
 */
export function fastDecode(bytes: Buffer, dataView: DataView, offset: number, limit = bytes.length): unknown {
  inBytes = bytes;
  inView = dataView;
  at = offset;
  base = offset;
  end = limit;
  try {
    return readValue();
  } finally {
    // Let go of the frame's memory: holding the last ring read would keep a dropped ring (and the tickets it owns) alive.
    inBytes = scratch;
    inView = view;
  }
}
