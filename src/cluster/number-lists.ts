/**
 * The commonest task payloads as raw float64s: a list of numbers (a map's chunk, a result
 * list) and a list of equally long lists of numbers (an apply's `[[x]]`, a starmap's
 * numeric tuples). V8's serializer costs an object and a call per value, and was a tenth
 * of a small task's time at both ends; a plain copy keeps every number exact (-0 and NaN
 * included).
 *
 * Layout: an 8-byte header, so the numbers start 8-aligned in a buffer of their own —
 * byte 0 the tag (V8's serialization starts with 0xFF, so the tags never clash), bytes
 * 4–7 the row length (little-endian uint32; 1 for a flat list) — then the float64s.
 */

const FLAT = 0x01;
const ROWS = 0x02;
const HEADER = 8;
/** Shorter runs are copied a number at a time: a typed array view costs more than it saves. */
const VIEW_FROM = 32;

function allNumbers(values: readonly unknown[]): boolean {
  for (let i = 0; i < values.length; i++) if (typeof values[i] !== "number") return false;
  return true;
}

/** The row length when `value` is a non-empty list of equally long, non-empty lists of numbers, else 0. */
function rowLength(value: unknown[]): number {
  const first = value[0];
  if (!Array.isArray(first) || first.length === 0) return 0;
  const length = first.length;
  for (let i = 0; i < value.length; i++) {
    const row = value[i];
    if (!Array.isArray(row) || row.length !== length || !allNumbers(row)) return 0;
  }
  return length;
}

function pack(tag: number, rowLength: number, count: number, read: (i: number) => number): Buffer {
  const bytes = Buffer.alloc(HEADER + count * 8);
  bytes[0] = tag;
  bytes.writeUInt32LE(rowLength, 4);
  if (count < VIEW_FROM || (bytes.byteOffset & 7) !== 0) {
    for (let i = 0; i < count; i++) bytes.writeDoubleLE(read(i), HEADER + i * 8);
  } else {
    const view = new Float64Array(bytes.buffer, bytes.byteOffset + HEADER, count);
    for (let i = 0; i < count; i++) view[i] = read(i);
  }
  return bytes;
}

/** `value` packed when it is one of the two shapes above, else null (the caller serializes it). */
export function packNumberLists(value: unknown): Buffer | null {
  if (!Array.isArray(value)) return null;
  if (allNumbers(value)) return pack(FLAT, 1, value.length, (i) => value[i] as number);
  const length = rowLength(value);
  if (length === 0) return null;
  return pack(ROWS, length, value.length * length, (i) => (value[(i / length) | 0] as number[])[i % length]!);
}

/** Whether `bytes` is packNumberLists' output. */
export function isPackedNumbers(bytes: Buffer): boolean {
  return bytes[0] === FLAT || bytes[0] === ROWS;
}

export function unpackNumberLists(bytes: Buffer): number[] | number[][] {
  const count = (bytes.length - HEADER) >> 3;
  const numbers = new Array<number>(count);
  if (count < VIEW_FROM) {
    for (let i = 0; i < count; i++) numbers[i] = bytes.readDoubleLE(HEADER + i * 8);
  } else {
    const start = bytes.byteOffset + HEADER;
    // A reply's bytes sit anywhere in the client's buffer: aligned ones are viewed, others copied first.
    const view = (start & 7) === 0 ? new Float64Array(bytes.buffer, start, count) : new Float64Array(new Uint8Array(bytes.subarray(HEADER)).buffer);
    for (let i = 0; i < count; i++) numbers[i] = view[i]!;
  }
  if (bytes[0] === FLAT) return numbers;
  const length = bytes.readUInt32LE(4);
  const rows = new Array<number[]>(count / length);
  for (let r = 0; r < rows.length; r++) rows[r] = numbers.slice(r * length, (r + 1) * length);
  return rows;
}
