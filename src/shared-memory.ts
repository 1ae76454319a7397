/**
 * SharedMemory and ShareableList (Python's multiprocessing.shared_memory).
 *
 * Thread context: a block is a SharedArrayBuffer, named process-wide through the
 * native addon's table (publish/lookup/unpublish), so any worker thread can attach
 * it by name as Python attaches a POSIX shm segment. unlink() removes the name;
 * the memory lives on while an object still uses it.
 */
import { randomBytes } from "node:crypto";
import { inspect } from "node:util";
import { currentMemoryKind, type MemoryKind } from "./memory/kind.ts";
import { createNamedShm, openNamedShm, unlinkShm } from "./memory/shm.ts";
import { native } from "./util/native.ts";
import { registerWireType, type WireForm } from "./wire/serialize.ts";
import { kWire } from "./symbols.ts";
import { indexedProxy, itemIndex } from "./util/indexed-proxy.ts";
import { Revival } from "./wire/revival.ts";

/** Options of `new mp.SharedMemory(...)` (Python's `SharedMemory(name=None, create=False, size=0)`). */
export interface SharedMemoryOptions {
  /** The block's name; generated ("psm_" + 8 hex digits) when creating without one. Required to attach. */
  name?: string | null;
  /** Create a new block (true) or attach an existing one (false). @default false */
  create?: boolean;
  /** Size in bytes of a new block (> 0); ignored when attaching. @default 0 */
  size?: number;
}

function systemError(code: "EEXIST" | "ENOENT", name: string): Error {
  const errno = code === "EEXIST" ? 17 : 2;
  const text = code === "EEXIST" ? "File exists" : "No such file or directory";
  return Object.assign(new Error(`[Errno ${errno}] ${text}: '${name}' (shared memory block ${code === "EEXIST" ? "already exists; attach it with { name } or pick another name" : "not found: it was never created or was unlinked"})`), {
    code,
    errno,
    syscall: "shm_open",
    path: name,
  });
}

function generateName(): string {
  return `psm_${randomBytes(4).toString("hex")}`;
}

/**
 * Where named blocks live, by memory kind. "thread": the addon's process-wide
 * table of named SharedArrayBuffers (every thread of this process sees it). "os":
 * POSIX shared memory, /dev/shm/<name> on Linux, exactly as CPython's
 * shared_memory does it (shm_open("/" + name)), so a block made by either side
 * attaches on the other; it lives until unlink(), as in Python.
 */
interface BlockStore {
  /** Makes a block; false if the name is taken. */
  create(name: string, size: number): SharedArrayBuffer | false;
  /** The block of that name, or undefined. */
  attach(name: string): SharedArrayBuffer | undefined;
  /** Removes the name; false if there was none. */
  unlink(name: string): boolean;
}

const threadBlocks: BlockStore = {
  create(name, size) {
    const buffer = new SharedArrayBuffer(size);
    return native().publish(name, buffer) && buffer;
  },
  attach: (name) => native().lookup(name),
  unlink: (name) => native().unpublish(name),
};

const osBlocks: BlockStore = {
  create(name, size) {
    try {
      return createNamedShm(`/${name}`, size);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
  },
  attach(name) {
    try {
      return openNamedShm(`/${name}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  },
  unlink: (name) => unlinkShm(`/${name}`),
};

const stores = { thread: threadBlocks, os: osBlocks } as const;

const revival = new Revival<{ buffer: SharedArrayBuffer; kind: MemoryKind }>();

/**
 * A named block of shared memory (Python's `multiprocessing.shared_memory.SharedMemory`).
 * Throws an Error with code `EEXIST` when creating a name that exists and `ENOENT`
 * when attaching one that does not.
 * @example
 * const shm = new mp.SharedMemory({ create: true, size: 1024 });
 * const other = new mp.SharedMemory({ name: shm.name }); // in any worker
 */
/** The longest name a block may have: the OS's NAME_MAX (255) less the leading "/" of a POSIX shm name. */
const MAX_NAME_LENGTH = 254;

/**
 * A block's name is one file name of the OS's shared-memory namespace
 * (/dev/shm/<name> on Linux), as CPython passes it to shm_open after a "/":
 * no "/" inside, not "." or "..", no NUL, at most 254 bytes.
 */
function checkBlockName(name: unknown): asserts name is string {
  if (typeof name !== "string" || name.length === 0) {
    throw new TypeError(`Expected \`name\` to be a non-empty string, got \`${String(name)}\` (${typeof name})`);
  }
  const problem = name.includes("/")
    ? 'it contains "/"'
    : name === "." || name === ".." || name.includes("..")
      ? 'it contains ".."'
      : name.includes("\0")
        ? "it contains a NUL character"
        : Buffer.byteLength(name) > MAX_NAME_LENGTH
          ? `it is longer than ${MAX_NAME_LENGTH} bytes`
          : null;
  if (problem) {
    throw new RangeError(
      `Invalid SharedMemory name ${JSON.stringify(name)}: ${problem}. A name is one file name in the OS's shared-memory ` +
        'namespace (like CPython\'s "psm_1a2b3c"): letters, digits, "_", "-" and "." but not "/" or "..", at most 254 bytes.',
    );
  }
}

export class SharedMemory {
  readonly #kind: MemoryKind;
  readonly #name: string;
  readonly #buffer: SharedArrayBuffer;
  #buf: Uint8Array | null;

  constructor(options: SharedMemoryOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Expected SharedMemory options to be an object like { name, create, size }, got ${String(options)}`);
    }
    const { name = null, create = false, size = 0 } = options;
    // As CPython: the size is checked first, whatever else is wrong.
    if (typeof size !== "number" || !Number.isInteger(size) || size < 0) {
      const ErrorClass = typeof size === "number" ? RangeError : TypeError;
      throw new ErrorClass(`Expected \`size\` to be an integer number of bytes >= 0, got \`${String(size)}\` (${typeof size})`);
    }
    if (name !== null) checkBlockName(name);
    if (typeof create !== "boolean") throw new TypeError(`Expected \`create\` to be a boolean, got ${typeof create}`);
    const reviving = revival.take();
    this.#kind = reviving?.kind ?? currentMemoryKind();
    const store = stores[this.#kind];
    if (reviving) {
      this.#name = name!;
      this.#buffer = reviving.buffer;
    } else if (create) {
      if (size === 0) throw new RangeError("Expected `size` to be an integer > 0 when creating a block, got `0` (number)");
      let chosen = name;
      let buffer: SharedArrayBuffer | false;
      if (chosen === null) {
        do buffer = store.create((chosen = generateName()), size);
        while (!buffer);
      } else if (!(buffer = store.create(chosen, size))) {
        throw systemError("EEXIST", chosen);
      }
      this.#name = chosen;
      this.#buffer = buffer;
    } else {
      if (name === null) throw new TypeError("Expected `name` to attach an existing block (or pass { create: true, size })");
      const buffer = store.attach(name);
      if (!buffer) throw systemError("ENOENT", name);
      this.#name = name;
      this.#buffer = buffer;
    }
    this.#buf = new Uint8Array(this.#buffer);
  }

  /** @internal */
  static fromWire(name: string, buffer: SharedArrayBuffer, kind: MemoryKind): SharedMemory {
    return revival.run({ buffer, kind }, () => new SharedMemory({ name }));
  }

  /** The block's name; pass it to another worker to attach the block. */
  get name(): string {
    return this.#name;
  }

  /** Size in bytes. */
  get size(): number {
    return this.#buffer.byteLength;
  }

  /** The block's bytes. Throws after close(). */
  get buf(): Uint8Array {
    if (!this.#buf) throw new Error(`SharedMemory '${this.#name}' is closed in this worker; attach it again with new mp.SharedMemory({ name })`);
    return this.#buf;
  }

  /** Stops using the block from this object (the block itself stays until unlink()). */
  close(): void {
    this.#buf = null;
  }

  /** Removes the block's name, so nobody can attach it any more; call it once, from one worker. */
  unlink(): void {
    if (!stores[this.#kind].unlink(this.#name)) throw systemError("ENOENT", this.#name);
  }

  [kWire](): WireForm {
    // An OS block travels by name (any process can open it); a thread block with its buffer.
    const state = this.#kind === "os" ? { name: this.#name, os: true } : { name: this.#name, buffer: this.#buffer };
    return { type: "multiproc.SharedMemory", state };
  }

  get [Symbol.toStringTag](): string {
    return "SharedMemory";
  }

  [inspect.custom](): string {
    return `SharedMemory('${this.#name}', size=${this.size})`;
  }
}

registerWireType("multiproc.SharedMemory", (state) => {
  const { name, buffer, os } = state as { name: string; buffer?: SharedArrayBuffer; os?: true };
  if (!os) return SharedMemory.fromWire(name, buffer!, "thread");
  const attached = osBlocks.attach(name);
  if (!attached) throw systemError("ENOENT", name);
  return SharedMemory.fromWire(name, attached, "os");
});

// ---------------------------------------------------------------------------- ShareableList

/** What a ShareableList holds (Python's int, float, bool, str, bytes, None). */
export type ShareableValue = number | bigint | boolean | string | Uint8Array | null;

/*
 * ShareableList layout, in its SharedMemory block (little-endian, as the host):
 *
 *   0        4        8                8 + 16*count
 *   +--------+--------+----------------+------------------------------------+
 *   | count  | (pad)  | slot table     | data: one 8-byte-aligned slot each |
 *   +--------+--------+----------------+------------------------------------+
 *
 *   slot table entry (16 bytes): tag i32 | used bytes i32 | data offset i32 | capacity i32
 *   tags: 0 null, 1 number (f64), 2 bigint (i64), 3 boolean (u8), 4 string (UTF-8), 5 bytes
 *
 * Each slot keeps the capacity it got at creation (8 bytes, or for str/bytes their
 * length rounded up to the next multiple of 8, as CPython does): a later value of
 * any type fits if its bytes fit.
 */
const HEADER = 8;
const ENTRY = 16;
const TAG_NULL = 0;
const TAG_NUMBER = 1;
const TAG_BIGINT = 2;
const TAG_BOOL = 3;
const TAG_STRING = 4;
const TAG_BYTES = 5;
/** Python's struct format of the fixed-size slot kinds (strings and bytes give "<size>s"). */
const SLOT_FORMATS: Record<number, string> = { [TAG_NULL]: "xxxxxx?x", [TAG_NUMBER]: "d", [TAG_BIGINT]: "q", [TAG_BOOL]: "xxxxxxx?" };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function encodeItem(value: unknown, where: string): { tag: number; bytes: Uint8Array | null; size: number } {
  if (value === null || value === undefined) return { tag: TAG_NULL, bytes: null, size: 0 };
  switch (typeof value) {
    case "number":
      return { tag: TAG_NUMBER, bytes: null, size: 8 };
    case "bigint":
      if (value < -(2n ** 63n) || value >= 2n ** 63n) throw new RangeError(`${where}: a bigint must fit in 64 bits, got ${value}`);
      return { tag: TAG_BIGINT, bytes: null, size: 8 };
    case "boolean":
      return { tag: TAG_BOOL, bytes: null, size: 1 };
    case "string": {
      const bytes = encoder.encode(value);
      return { tag: TAG_STRING, bytes, size: bytes.length };
    }
  }
  if (value instanceof Uint8Array) return { tag: TAG_BYTES, bytes: value, size: value.length };
  throw new TypeError(`${where}: a ShareableList holds numbers, bigints, booleans, strings, Uint8Arrays and null; got ${Object.prototype.toString.call(value)}`);
}

function capacityFor(size: number): number {
  return 8 * (Math.floor(size / 8) + 1);
}

/**
 * A fixed-length list stored in shared memory (Python's `ShareableList`). Pass
 * values to create one, or a block's name to attach it. `list[i]` reads and writes
 * items; a string or bytes item may only be replaced by one that fits its slot.
 * @example
 * const sl = new mp.ShareableList([1, "two", null]);
 * const same = new mp.ShareableList(sl.shm.name); // in any worker
 */
export class ShareableList<T extends ShareableValue = ShareableValue> {
  readonly #shm: SharedMemory;
  readonly #view: DataView;
  readonly #bytes: Uint8Array;
  [index: number]: T;

  /** Attaches the list stored in the block named `name` (or in the given SharedMemory). */
  constructor(name: string | SharedMemory | { name: string });
  /** Creates a list holding `values` in a new SharedMemory block. */
  constructor(values?: Iterable<ShareableValue> | null);
  constructor(valuesOrName?: Iterable<ShareableValue> | string | SharedMemory | { name: string } | null) {
    if (valuesOrName instanceof SharedMemory) {
      this.#shm = valuesOrName;
    } else if (typeof valuesOrName === "string" || (valuesOrName && typeof valuesOrName === "object" && !(Symbol.iterator in valuesOrName))) {
      const name = typeof valuesOrName === "string" ? valuesOrName : (valuesOrName as { name: string }).name;
      this.#shm = new SharedMemory({ name });
    } else {
      const values = valuesOrName ? [...(valuesOrName as Iterable<ShareableValue>)] : [];
      const encoded = values.map((v, i) => encodeItem(v, `item ${i}`));
      const capacities = encoded.map((e) => (e.tag === TAG_STRING || e.tag === TAG_BYTES ? capacityFor(e.size) : 8));
      const dataStart = HEADER + ENTRY * values.length;
      const total = dataStart + capacities.reduce((a, b) => a + b, 0);
      this.#shm = new SharedMemory({ create: true, size: Math.max(total, 8) });
      const view = new DataView(this.#shm.buf.buffer);
      view.setInt32(0, values.length, true);
      let offset = dataStart;
      for (let i = 0; i < values.length; i++) {
        view.setInt32(HEADER + ENTRY * i + 8, offset, true);
        view.setInt32(HEADER + ENTRY * i + 12, capacities[i], true);
        offset += capacities[i];
      }
      this.#view = view;
      this.#bytes = new Uint8Array(this.#shm.buf.buffer);
      for (let i = 0; i < values.length; i++) this.#write(i, values[i], encoded[i]);
      return this.#proxy();
    }
    this.#view = new DataView(this.#shm.buf.buffer);
    this.#bytes = new Uint8Array(this.#shm.buf.buffer);
    return this.#proxy();
  }

  #proxy(): this {
    return indexedProxy(this, {
      length: () => this.length,
      get: (i) => this.#read(itemIndex(i, this.length, "ShareableList")),
      set: (i, value) => {
        const at = itemIndex(i, this.length, "ShareableList");
        this.#write(at, value, encodeItem(value, `item ${at}`));
      },
    });
  }

  #read(i: number): T {
    const entry = HEADER + ENTRY * i;
    const view = this.#view;
    const tag = view.getInt32(entry, true);
    const used = view.getInt32(entry + 4, true);
    const offset = view.getInt32(entry + 8, true);
    switch (tag) {
      case TAG_NUMBER:
        return view.getFloat64(offset, true) as T;
      case TAG_BIGINT:
        return view.getBigInt64(offset, true) as T;
      case TAG_BOOL:
        return (view.getUint8(offset) === 1) as T;
      case TAG_STRING:
        return decoder.decode(this.#bytes.subarray(offset, offset + used)) as T;
      case TAG_BYTES:
        return this.#bytes.slice(offset, offset + used) as T;
      default:
        return null as T;
    }
  }

  #write(i: number, value: unknown, encoded: { tag: number; bytes: Uint8Array | null; size: number }): void {
    const entry = HEADER + ENTRY * i;
    const view = this.#view;
    const offset = view.getInt32(entry + 8, true);
    const capacity = view.getInt32(entry + 12, true);
    if (encoded.size > capacity) {
      throw new RangeError(`item ${i}: ${encoded.size} bytes exceed the slot's available storage of ${capacity} bytes (a ShareableList's slots keep their size)`);
    }
    switch (encoded.tag) {
      case TAG_NUMBER:
        view.setFloat64(offset, value as number, true);
        break;
      case TAG_BIGINT:
        view.setBigInt64(offset, value as bigint, true);
        break;
      case TAG_BOOL:
        view.setUint8(offset, value ? 1 : 0);
        break;
      case TAG_STRING:
      case TAG_BYTES:
        this.#bytes.set(encoded.bytes!, offset);
        break;
    }
    view.setInt32(entry + 4, encoded.size, true);
    view.setInt32(entry, encoded.tag, true);
  }

  /**
   * The items' struct format, as Python's `ShareableList.format`: "d" for a number
   * (JavaScript numbers are stored as doubles), "q" for a bigint, "xxxxxxx?" for a
   * boolean, "xxxxxx?x" for null, and "<slot size>s" for a string or bytes.
   */
  get format(): string {
    let format = "";
    for (let i = 0; i < this.length; i++) {
      const entry = HEADER + ENTRY * i;
      const tag = this.#view.getInt32(entry, true);
      format += SLOT_FORMATS[tag] ?? `${this.#view.getInt32(entry + 12, true)}s`;
    }
    return format;
  }

  /** The number of items (fixed). */
  get length(): number {
    return this.#view.getInt32(0, true);
  }

  /** The SharedMemory block holding the list (close or unlink it through this). */
  get shm(): SharedMemory {
    return this.#shm;
  }

  /** How many items equal `value` (bytes compare by content). */
  count(value: T): number {
    let n = 0;
    for (const item of this) if (same(item, value)) n++;
    return n;
  }

  /** The index of the first item equal to `value`; throws a RangeError if there is none. */
  index(value: T): number {
    let i = 0;
    for (const item of this) {
      if (same(item, value)) return i;
      i++;
    }
    throw new RangeError(`${inspect(value)} not in ShareableList`);
  }

  /** The items as a plain array. */
  toArray(): T[] {
    return [...this];
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const length = this.length;
    for (let i = 0; i < length; i++) yield this.#read(i);
  }

  [kWire](): WireForm {
    return { type: "multiproc.ShareableList", state: this.#shm };
  }

  get [Symbol.toStringTag](): string {
    return "ShareableList";
  }

  [inspect.custom](): string {
    return `ShareableList(${inspect(this.toArray())}, name='${this.#shm.name}')`;
  }
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) {
    return a.length === b.length && a.every((byte, i) => byte === b[i]);
  }
  return a === b || (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));
}

registerWireType("multiproc.ShareableList", (state) => new ShareableList(state as SharedMemory));
