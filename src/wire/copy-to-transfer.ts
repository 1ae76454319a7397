/**
 * Big binary data to a worker thread in one copy instead of two.
 *
 * postMessage copies a typed array twice: into the serializer's buffer, then out of it
 * into the receiver's new buffer. A fresh copy made here and *transferred* crosses with no
 * copy at all, so the receiver still gets a private array of the same class and contents
 * (what structured clone gives it), for one copy in all: W4's 1 MiB arrays. Worker threads
 * only: between processes every message is copied by the channel anyway.
 */
import { native } from "../util/native.ts";
import { TYPED_ARRAY_CLASSES } from "../util/typed-arrays.ts";

/** From this size up, a typed array posted to a worker thread is copied once and transferred. */
export const COPY_TO_TRANSFER_BYTES = 64 * 1024;

/**
 * How much of a task's big arrays a worker thread reads in before the task runs (warmCopies):
 * about what one core's L2 cache holds, so what is read in is still there when the task reads it.
 */
const WARM_BUDGET_BYTES = 1 << 20;

/** The built-in typed array classes, copied here (a subclass, Buffer among them, keeps postMessage's own handling). */
const COPYABLE = new Set<object>(TYPED_ARRAY_CLASSES.map((Class) => Class.prototype));

function copyable(value: unknown, minBytes: number): value is ArrayBuffer | ArrayBufferView {
  if (typeof value !== "object" || value === null) return false;
  if (value instanceof ArrayBuffer) return value.byteLength >= minBytes;
  return COPYABLE.has(Object.getPrototypeOf(value)) && (value as ArrayBufferView).byteLength >= minBytes && !((value as ArrayBufferView).buffer instanceof SharedArrayBuffer);
}

type TypedArrayClass = new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView;

/**
 * A copy of `value` in a buffer of its own of exactly its size. The addon writes it into
 * memory mapped before and given back when the worker drops the array (privateCopy in
 * native/multiproc.cc): fresh memory cost a page fault and the kernel's zero-fill per
 * 4 KiB, which made a 1 MiB copy two to three times slower.
 */
function freshCopy(value: ArrayBuffer | ArrayBufferView): ArrayBuffer | ArrayBufferView {
  // A resizable buffer keeps slice()'s own rules.
  if (value instanceof ArrayBuffer && (value as { resizable?: boolean }).resizable) return value.slice(0);
  const copy = native().privateCopy(value);
  if (value instanceof ArrayBuffer) return copy;
  const Class = (Object.getPrototypeOf(value) as { constructor: TypedArrayClass }).constructor;
  return new Class(copy, 0, value.byteLength / (value as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT);
}

/**
 * `items` with each typed array or ArrayBuffer of `minBytes` or more, in it or in an array
 * in it (a task's arguments), replaced by a copy, and the copies' buffers to transfer; null
 * when there is none. The same array met twice becomes the same copy, as structured clone
 * keeps one object for it. `items` itself is not changed.
 */
export function copiesToTransfer(items: unknown[], minBytes: number): { items: unknown[]; transfer: ArrayBuffer[] } | null {
  let copies: Map<object, unknown> | undefined;
  const copyOf = (value: object): unknown => {
    copies ??= new Map();
    let copy = copies.get(value);
    if (copy === undefined) {
      copy = freshCopy(value as ArrayBuffer | ArrayBufferView);
      copies.set(value, copy);
    }
    return copy;
  };
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    let replaced: unknown = item;
    if (copyable(item, minBytes)) replaced = copyOf(item);
    else if (Array.isArray(item)) {
      let inner: unknown[] | undefined;
      for (let j = 0; j < item.length; j++) {
        if (!copyable(item[j], minBytes)) continue;
        inner ??= item.slice();
        inner[j] = copyOf(item[j] as object);
      }
      if (inner) replaced = inner;
    }
    if (replaced !== item) (out ??= items.slice())[i] = replaced;
  }
  if (!out || !copies) return null;
  const transfer: ArrayBuffer[] = [];
  for (const copy of copies.values()) transfer.push(copy instanceof ArrayBuffer ? copy : ((copy as ArrayBufferView).buffer as ArrayBuffer));
  return { items: out, transfer };
}

/**
 * Reads the big arrays among a task's `items` (those copiesToTransfer copies) into this
 * worker thread's caches, up to WARM_BUDGET_BYTES, just before the task runs.
 *
 * The copy was written by the caller's core, so the task's first pass over it waits on
 * memory: a JavaScript loop summing a 1 MiB Float64Array took 300-370 µs over it against
 * 114 µs over data in its own cache, since each element's load waits behind the previous
 * add. The addon's wide loads read the same MiB in about 80 µs, and the task's loop then
 * runs from the cache: 230-250 µs for both. A task that ignores its big argument pays those
 * 80 µs per MiB for nothing; one that reads it, which is what an argument is sent for, gains.
 */
export function warmCopies(items: unknown[]): void {
  let budget = WARM_BUDGET_BYTES;
  const warm = (value: unknown): void => {
    if (copyable(value, COPY_TO_TRANSFER_BYTES) && value.byteLength <= budget) {
      native().warm(value);
      budget -= value.byteLength;
    }
  };
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (Array.isArray(item)) for (let j = 0; j < item.length; j++) warm(item[j]);
    else warm(item);
  }
}
