/**
 * Value, RawValue, Array, RawArray (Python's multiprocessing.sharedctypes):
 * typed values in shared memory, optionally guarded by a lock.
 *
 *   Value region (8 bytes)            Array region (length * itemsize bytes)
 *   +---------------------------+     +--------+--------+-----+--------+
 *   | the value (1 to 8 bytes)  |     | [0]    | [1]    | ... | [n-1]  |
 *   +---------------------------+     +--------+--------+-----+--------+
 *
 * The lock (an RLock by default, as in Python) lives in its own region. Reads and
 * writes are plain typed-array accesses, not atomic read-modify-writes: like
 * Python's, `v.value += 1` needs the lock.
 */
import { inspect } from "node:util";
import { SharedRegion, type RegionHandle } from "./memory/region.ts";
import { registerWireType, type WireForm } from "./wire/serialize.ts";
import { kWire } from "./symbols.ts";
import { indexedProxy, itemIndex } from "./util/indexed-proxy.ts";
import { Lock, RLock } from "./synchronize/lock.ts";
import type { AcquireOptions } from "./synchronize/options.ts";

/**
 * C type codes, as on 64-bit Linux: `b` Int8, `B` Uint8, `h` Int16, `H` Uint16,
 * `i` Int32, `I` Uint32, `l`/`q` BigInt64, `L`/`Q` BigUint64, `f` Float32,
 * `d` Float64, `c` one byte (a one-character string).
 */
export type Typecode = "b" | "B" | "h" | "H" | "i" | "I" | "l" | "q" | "L" | "Q" | "f" | "d" | "c";
/** Typecodes whose values are bigints. */
export type BigIntTypecode = "l" | "q" | "L" | "Q";
/** The JavaScript type of one item of `C`: bigint for 64-bit integers, a one-character string for `c`, else number. */
export type TypecodeValue<C extends Typecode> = C extends BigIntTypecode ? bigint : C extends "c" ? string : number;

/** The typed array behind a RawArray of typecode `C`. */
export type TypedArrayOf<C extends Typecode> = C extends "b" ? Int8Array
  : C extends "B" | "c" ? Uint8Array
  : C extends "h" ? Int16Array
  : C extends "H" ? Uint16Array
  : C extends "i" ? Int32Array
  : C extends "I" ? Uint32Array
  : C extends "l" | "q" ? BigInt64Array
  : C extends "L" | "Q" ? BigUint64Array
  : C extends "f" ? Float32Array
  : Float64Array;

type AnyTypedArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;
type TypedArrayConstructor = new (buffer: SharedArrayBuffer, byteOffset: number, length: number) => AnyTypedArray;

export interface TypeInfo {
  View: TypedArrayConstructor;
  size: number;
  kind: "int" | "bigint" | "float" | "char";
  zero: number | bigint | string;
}

const TYPES: Record<Typecode, TypeInfo> = {
  b: { View: Int8Array, size: 1, kind: "int", zero: 0 },
  B: { View: Uint8Array, size: 1, kind: "int", zero: 0 },
  h: { View: Int16Array, size: 2, kind: "int", zero: 0 },
  H: { View: Uint16Array, size: 2, kind: "int", zero: 0 },
  i: { View: Int32Array, size: 4, kind: "int", zero: 0 },
  I: { View: Uint32Array, size: 4, kind: "int", zero: 0 },
  l: { View: BigInt64Array, size: 8, kind: "bigint", zero: 0n },
  q: { View: BigInt64Array, size: 8, kind: "bigint", zero: 0n },
  L: { View: BigUint64Array, size: 8, kind: "bigint", zero: 0n },
  Q: { View: BigUint64Array, size: 8, kind: "bigint", zero: 0n },
  f: { View: Float32Array, size: 4, kind: "float", zero: 0 },
  d: { View: Float64Array, size: 8, kind: "float", zero: 0 },
  c: { View: Uint8Array, size: 1, kind: "char", zero: "\0" },
};

const VALID = Object.keys(TYPES).join(", ");

export function typeInfo(typecode: unknown): TypeInfo {
  if (typeof typecode !== "string" || !Object.hasOwn(TYPES, typecode)) {
    throw new TypeError(`Expected \`typecode\` to be one of ${VALID}; got \`${String(typecode)}\` (${typeof typecode})`);
  }
  return TYPES[typecode as Typecode];
}

/** Converts a JavaScript value to what the typed array stores, or throws a TypeError. */
export function toStored(info: TypeInfo, typecode: string, value: unknown): number | bigint {
  switch (info.kind) {
    case "int":
      if (typeof value === "number" && Number.isInteger(value)) return value;
      if (typeof value === "boolean") return value ? 1 : 0;
      break;
    case "float":
      if (typeof value === "number") return value;
      break;
    case "bigint":
      if (typeof value === "bigint") return value;
      if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
      break;
    case "char":
      if (typeof value === "string" && value.length === 1 && value.charCodeAt(0) < 256) return value.charCodeAt(0);
      if (typeof value === "number" && Number.isInteger(value) && value >= 0 && value < 256) return value;
      if (value instanceof Uint8Array && value.length === 1) return value[0];
      break;
  }
  const wanted = { int: "an integer number", float: "a number", bigint: "a bigint", char: "a one-character string (code < 256) or a byte number" }[info.kind];
  throw new TypeError(`Expected ${wanted} for typecode '${typecode}', got \`${String(value)}\` (${typeof value})`);
}

export function fromStored(info: TypeInfo, stored: number | bigint): number | bigint | string {
  return info.kind === "char" ? String.fromCharCode(stored as number) : stored;
}

/** The `lock` option: true (a new RLock), false (no lock: a raw object), or a lock to use. */
export interface SynchronizedOptions {
  /** @default true */
  lock?: boolean | Lock | RLock;
}

function lockFrom(options: SynchronizedOptions | undefined): Lock | RLock | null {
  if (options === undefined || options === null) return new RLock();
  if (typeof options !== "object") throw new TypeError(`Expected options to be an object like { lock }, got ${typeof options}`);
  const { lock = true } = options;
  if (lock === true) return new RLock();
  if (lock === false) return null;
  if (lock instanceof Lock || lock instanceof RLock) return lock;
  throw new TypeError(`Expected \`lock\` to be a boolean, an mp.Lock or an mp.RLock, got ${Object.prototype.toString.call(lock)}`);
}

/** Shared behaviour of objects that carry a lock (Python's `SynchronizedBase`). */
abstract class Synchronized {
  protected readonly lock: Lock | RLock;

  constructor(lock: Lock | RLock) {
    this.lock = lock;
  }

  /** The lock guarding this object (Python's `get_lock()`). */
  getLock(): Lock | RLock {
    return this.lock;
  }

  /** Acquires the lock. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.lock.acquire(options);
  }

  /** Like acquire(), blocking the calling thread. */
  acquireSync(options?: AcquireOptions): boolean {
    return this.lock.acquireSync(options);
  }

  /** Releases the lock. */
  release(): void {
    this.lock.release();
  }

  /** Runs `fn` holding the lock (Python's `with v.get_lock():`); releases it even if `fn` throws. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return this.lock.withLock(fn);
  }
}

// ---------------------------------------------------------------------------- values

interface ValueState {
  typecode: Typecode;
  region: RegionHandle;
}

/** A single typed value in shared memory, without a lock (Python's `RawValue`). */
export class RawValue<C extends Typecode = Typecode> {
  readonly typecode: C;
  readonly #region: SharedRegion;
  readonly #info: TypeInfo;
  readonly #view: AnyTypedArray;

  /** @internal Use mp.RawValue(typecode, initial). */
  constructor(typecode: C, region: SharedRegion) {
    this.typecode = typecode;
    this.#region = region;
    this.#info = typeInfo(typecode);
    this.#view = new this.#info.View(region.buffer, 0, 1);
  }

  /** The current value. */
  get value(): TypecodeValue<C> {
    return fromStored(this.#info, this.#view[0]) as TypecodeValue<C>;
  }

  set value(value: TypecodeValue<C>) {
    this.#view[0] = toStored(this.#info, this.typecode, value) as never;
  }

  [kWire](): WireForm {
    return { type: "multiproc.RawValue", state: { typecode: this.typecode, region: this.#region.handle() } satisfies ValueState };
  }

  get [Symbol.toStringTag](): string {
    return "RawValue";
  }

  [inspect.custom](): string {
    return `RawValue('${this.typecode}', ${inspect(this.value)})`;
  }
}

/** A typed value in shared memory with a lock (Python's `Synchronized`, what `Value()` returns). */
export class SynchronizedValue<C extends Typecode = Typecode> extends Synchronized {
  readonly #raw: RawValue<C>;

  /** @internal Use mp.Value(typecode, initial). */
  constructor(raw: RawValue<C>, lock: Lock | RLock) {
    super(lock);
    this.#raw = raw;
  }

  get typecode(): C {
    return this.#raw.typecode;
  }

  /** The current value. Read-modify-write needs the lock: `await v.withLock(() => { v.value += 1; })`. */
  get value(): TypecodeValue<C> {
    return this.#raw.value;
  }

  set value(value: TypecodeValue<C>) {
    this.#raw.value = value;
  }

  /** The unsynchronized value underneath (Python's `get_obj()`). */
  getObj(): RawValue<C> {
    return this.#raw;
  }

  [kWire](): WireForm {
    return { type: "multiproc.Value", state: { raw: this.#raw, lock: this.lock } };
  }

  get [Symbol.toStringTag](): string {
    return "SynchronizedValue";
  }

  [inspect.custom](): string {
    return `Synchronized(RawValue('${this.typecode}', ${inspect(this.value)}))`;
  }
}

/**
 * A typed value in shared memory, without a lock (Python's `RawValue`).
 * @example const hits = mp.RawValue("i", 0); hits.value = 3;
 */
export function createRawValue<C extends Typecode>(typecode: C, initial?: TypecodeValue<C>): RawValue<C> {
  const info = typeInfo(typecode);
  const value = new RawValue(typecode, SharedRegion.create(8));
  if (initial !== undefined && initial !== null) value.value = initial;
  else if (info.kind === "char") value.value = info.zero as TypecodeValue<C>;
  return value;
}

/**
 * A typed value in shared memory guarded by a lock (Python's `Value`); `.value`
 * reads and writes it. With `{ lock: false }` it returns a RawValue.
 * @example
 * const counter = mp.Value("i", 0);
 * await counter.withLock(() => { counter.value += 1; });
 */
export function createValue<C extends Typecode>(typecode: C, initial: TypecodeValue<C> | undefined, options: { lock: false }): RawValue<C>;
export function createValue<C extends Typecode>(typecode: C, initial?: TypecodeValue<C>, options?: { lock?: true | Lock | RLock }): SynchronizedValue<C>;
export function createValue<C extends Typecode>(typecode: C, initial?: TypecodeValue<C>, options?: SynchronizedOptions): SynchronizedValue<C> | RawValue<C>;
export function createValue<C extends Typecode>(typecode: C, initial?: TypecodeValue<C>, options?: SynchronizedOptions): SynchronizedValue<C> | RawValue<C> {
  const raw = createRawValue(typecode, initial);
  const lock = lockFrom(options);
  return lock ? new SynchronizedValue(raw, lock) : raw;
}

registerWireType("multiproc.RawValue", (state) => {
  const { typecode, region } = state as ValueState;
  return new RawValue(typecode, SharedRegion.open(region));
});
registerWireType("multiproc.Value", (state) => {
  const { raw, lock } = state as { raw: RawValue; lock: Lock | RLock };
  return new SynchronizedValue(raw, lock);
});

// ---------------------------------------------------------------------------- arrays

function itemsOf(info: TypeInfo, typecode: string, sizeOrValues: unknown): { length: number; values: Iterable<unknown> | null } {
  if (typeof sizeOrValues === "number") {
    if (!Number.isInteger(sizeOrValues) || sizeOrValues < 0) {
      throw new RangeError(`Expected \`sizeOrValues\` to be an integer >= 0 or an iterable of values, got \`${sizeOrValues}\` (number)`);
    }
    return { length: sizeOrValues, values: null };
  }
  if (typeof sizeOrValues === "string" && info.kind === "char") return { length: sizeOrValues.length, values: sizeOrValues };
  if (sizeOrValues !== null && typeof sizeOrValues === "object" && Symbol.iterator in sizeOrValues) {
    const values = [...(sizeOrValues as Iterable<unknown>)];
    return { length: values.length, values };
  }
  throw new TypeError(`Expected \`sizeOrValues\` to be a size or an iterable of values for typecode '${typecode}', got ${String(sizeOrValues)} (${typeof sizeOrValues})`);
}

function createRawArrayImpl<C extends Typecode>(typecode: C, sizeOrValues: unknown): TypedArrayOf<C> {
  const info = typeInfo(typecode);
  const { length, values } = itemsOf(info, typecode, sizeOrValues);
  const region = SharedRegion.create(length * info.size);
  const view = new info.View(region.buffer, 0, length);
  if (values) {
    let i = 0;
    for (const item of values) view[i++] = toStored(info, typecode, item) as never;
  }
  return view as TypedArrayOf<C>;
}

/**
 * A typed array over shared memory (Python's `RawArray`). It travels to workers
 * as the same memory.
 * @example const pixels = mp.RawArray("B", 1024);
 */
export function createRawArray<C extends Typecode>(typecode: C, sizeOrValues: number | Iterable<TypecodeValue<C>>): TypedArrayOf<C> {
  return createRawArrayImpl(typecode, sizeOrValues);
}

/**
 * A typed array in shared memory with a lock (Python's `SynchronizedArray`, what
 * `Array()` returns): `arr[i]` (negative indexes count from the end), `length`,
 * iteration, `slice()`.
 */
export class SynchronizedArray<C extends Typecode = Typecode> extends Synchronized {
  readonly typecode: C;
  readonly #view: AnyTypedArray;
  readonly #info: TypeInfo;
  [index: number]: TypecodeValue<C>;

  /** @internal Use mp.Array(typecode, sizeOrValues). */
  constructor(typecode: C, view: AnyTypedArray, lock: Lock | RLock) {
    super(lock);
    this.typecode = typecode;
    this.#info = typeInfo(typecode);
    this.#view = view;
    // eslint-disable-next-line no-constructor-return
    return indexedProxy(this, {
      length: () => this.#view.length,
      get: (i) => this.#get(i),
      set: (i, value) => this.#set(i, value),
    });
  }

  #get(i: number): TypecodeValue<C> {
    return fromStored(this.#info, this.#view[itemIndex(i, this.#view.length, "Array")]) as TypecodeValue<C>;
  }

  #set(i: number, value: unknown): void {
    this.#view[itemIndex(i, this.#view.length, "Array")] = toStored(this.#info, this.typecode, value) as never;
  }

  /** The number of items. */
  get length(): number {
    return this.#view.length;
  }

  /** The items from `start` to `end` (exclusive; negative counts from the end) as a plain array: Python's `arr[start:end]`. */
  slice(start?: number, end?: number): TypecodeValue<C>[] {
    return Array.from(this.#view.subarray(start, end) as ArrayLike<number | bigint>, (v) => fromStored(this.#info, v) as TypecodeValue<C>);
  }

  /** Every item as a plain array (Python's `arr[:]`). */
  toArray(): TypecodeValue<C>[] {
    return this.slice();
  }

  /** For `c` arrays: the bytes up to the first NUL as a string (Python's `arr.value`). */
  get value(): string {
    if (this.#info.kind !== "char") throw new TypeError(`\`value\` exists only on arrays of typecode 'c', this one is '${this.typecode}'`);
    const bytes = this.#view as Uint8Array;
    const end = bytes.indexOf(0);
    return String.fromCharCode(...bytes.subarray(0, end === -1 ? bytes.length : end));
  }

  *[Symbol.iterator](): IterableIterator<TypecodeValue<C>> {
    for (let i = 0; i < this.#view.length; i++) yield fromStored(this.#info, this.#view[i]) as TypecodeValue<C>;
  }

  /** The unsynchronized typed array underneath (Python's `get_obj()`). */
  getObj(): TypedArrayOf<C> {
    return this.#view as TypedArrayOf<C>;
  }

  [kWire](): WireForm {
    return { type: "multiproc.Array", state: { typecode: this.typecode, view: this.#view, lock: this.lock } };
  }

  get [Symbol.toStringTag](): string {
    return "SynchronizedArray";
  }

  [inspect.custom](): string {
    return `SynchronizedArray('${this.typecode}', ${inspect(this.toArray())})`;
  }
}

/**
 * A typed array in shared memory guarded by a lock (Python's `Array`). With
 * `{ lock: false }` it returns a RawArray (a plain typed array).
 * @example
 * const arr = mp.Array("i", [1, 2, 3]);
 * arr[0] = 10; console.log(arr.toArray());
 */
export function createSharedArray<C extends Typecode>(typecode: C, sizeOrValues: number | Iterable<TypecodeValue<C>> | (C extends "c" ? string : never), options: { lock: false }): TypedArrayOf<C>;
export function createSharedArray<C extends Typecode>(typecode: C, sizeOrValues: number | Iterable<TypecodeValue<C>> | (C extends "c" ? string : never), options?: { lock?: true | Lock | RLock }): SynchronizedArray<C>;
export function createSharedArray<C extends Typecode>(typecode: C, sizeOrValues: number | Iterable<TypecodeValue<C>> | (C extends "c" ? string : never), options?: SynchronizedOptions): SynchronizedArray<C> | TypedArrayOf<C>;
export function createSharedArray<C extends Typecode>(
  typecode: C,
  sizeOrValues: number | Iterable<TypecodeValue<C>> | (C extends "c" ? string : never),
  options?: SynchronizedOptions,
): SynchronizedArray<C> | TypedArrayOf<C> {
  const view = createRawArrayImpl(typecode, sizeOrValues);
  const lock = lockFrom(options);
  return lock ? new SynchronizedArray(typecode, view as AnyTypedArray, lock) : view;
}

registerWireType("multiproc.Array", (state) => {
  const { typecode, view, lock } = state as { typecode: Typecode; view: AnyTypedArray; lock: Lock | RLock };
  return new SynchronizedArray(typecode, view, lock);
});
