/**
 * The data types a SyncManager serves: dict, list, Namespace, Value and Array
 * (CPython's managers register `dict`, `list`, `Namespace`, `Value`, `Array`).
 * Their methods are synchronous: one call, one step of the server's loop.
 * Values are compared by content (`isDeepStrictEqual`) where Python uses `==`,
 * because every value a client sends arrives as a fresh copy.
 */
import { isDeepStrictEqual } from "node:util";
import { fromStored, toStored, typeInfo, type TypeInfo } from "../../sharedctypes.ts";
import { pythonError } from "./python-errors.ts";

function entriesOf(init: unknown, what: string): Iterable<[unknown, unknown]> {
  if (init === undefined || init === null) return [];
  if (init instanceof Map) return init;
  if (Array.isArray(init)) {
    return init.map((pair, i) => {
      if (!Array.isArray(pair) || pair.length !== 2) throw new TypeError(`${what}: item ${i} is not a [key, value] pair`);
      return pair as [unknown, unknown];
    });
  }
  if (typeof init === "object") return Object.entries(init);
  throw new TypeError(`${what}: expected a plain object, a Map or [key, value] pairs, got ${typeof init}`);
}

function keyText(key: unknown): string {
  return typeof key === "string" ? `'${key}'` : String(key);
}

/** A shared dict (Python's `dict` in a manager), kept as a Map so keys keep their type. */
export class ManagedDict {
  readonly #map = new Map<unknown, unknown>();

  constructor(init?: unknown) {
    for (const [k, v] of entriesOf(init, "dict()")) this.#map.set(k, v);
  }

  get(key: unknown, fallback?: unknown): unknown {
    return this.#map.has(key) ? this.#map.get(key) : fallback;
  }
  set(key: unknown, value: unknown): void {
    this.#map.set(key, value);
  }
  has(key: unknown): boolean {
    return this.#map.has(key);
  }
  delete(key: unknown): boolean {
    if (!this.#map.delete(key)) throw pythonError("KeyError", keyText(key));
    return true;
  }
  keys(): unknown[] {
    return [...this.#map.keys()];
  }
  values(): unknown[] {
    return [...this.#map.values()];
  }
  items(): [unknown, unknown][] {
    return [...this.#map.entries()];
  }
  len(): number {
    return this.#map.size;
  }
  update(other: unknown): void {
    for (const [k, v] of entriesOf(other, "update()")) this.#map.set(k, v);
  }
  pop(key: unknown, ...fallback: unknown[]): unknown {
    if (this.#map.has(key)) {
      const value = this.#map.get(key);
      this.#map.delete(key);
      return value;
    }
    if (fallback.length > 0) return fallback[0];
    throw pythonError("KeyError", keyText(key));
  }
  popitem(): [unknown, unknown] {
    const last = [...this.#map.keys()].pop();
    if (last === undefined && this.#map.size === 0) throw pythonError("KeyError", "popitem(): dictionary is empty");
    const value = this.#map.get(last);
    this.#map.delete(last);
    return [last, value];
  }
  setdefault(key: unknown, value?: unknown): unknown {
    if (!this.#map.has(key)) this.#map.set(key, value);
    return this.#map.get(key);
  }
  clear(): void {
    this.#map.clear();
  }
  /** A plain object (keys become strings, as JSON's). */
  copy(): Record<string, unknown> {
    return Object.fromEntries(this.#map);
  }
}

/** Python's list order for sort(): numbers and bigints by value, strings by code unit; mixing them is a TypeError. */
function compare(a: unknown, b: unknown): number {
  const numeric = (v: unknown): v is number | bigint => typeof v === "number" || typeof v === "bigint" || typeof v === "boolean";
  if (numeric(a) && numeric(b)) return a < b ? -1 : a > b ? 1 : 0;
  if (typeof a === "string" && typeof b === "string") return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = compare(a[i], b[i]);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  }
  throw pythonError("TypeError", `'<' not supported between instances of '${typeof a}' and '${typeof b}'`);
}

/** A shared list (Python's `list` in a manager); indices may be negative, as in Python. */
export class ManagedList {
  readonly #items: unknown[];

  constructor(init?: unknown) {
    if (init === undefined || init === null) this.#items = [];
    else if (typeof init === "object" && Symbol.iterator in init) this.#items = [...(init as Iterable<unknown>)];
    else throw new TypeError(`list(): expected an array or iterable, got ${typeof init}`);
  }

  #index(i: unknown, what: string): number {
    if (typeof i !== "number" || !Number.isInteger(i)) throw pythonError("TypeError", `list indices must be integers, not ${typeof i}`);
    const index = i < 0 ? this.#items.length + i : i;
    if (index < 0 || index >= this.#items.length) throw pythonError("IndexError", `${what} index out of range`);
    return index;
  }

  get(i: unknown): unknown {
    return this.#items[this.#index(i, "list")];
  }
  set(i: unknown, value: unknown): void {
    this.#items[this.#index(i, "list assignment")] = value;
  }
  append(value: unknown): void {
    this.#items.push(value);
  }
  extend(values: unknown): void {
    if (typeof values !== "object" || values === null || !(Symbol.iterator in values)) {
      throw pythonError("TypeError", `extend() expects an array or iterable, got ${typeof values}`);
    }
    for (const value of values as Iterable<unknown>) this.#items.push(value);
  }
  insert(i: unknown, value: unknown): void {
    if (typeof i !== "number" || !Number.isInteger(i)) throw pythonError("TypeError", "insert() index must be an integer");
    const length = this.#items.length;
    const index = i < 0 ? Math.max(0, length + i) : Math.min(i, length);
    this.#items.splice(index, 0, value);
  }
  pop(i?: unknown): unknown {
    if (this.#items.length === 0) throw pythonError("IndexError", "pop from empty list");
    const index = i === undefined ? this.#items.length - 1 : this.#index(i, "pop");
    return this.#items.splice(index, 1)[0];
  }
  remove(value: unknown): void {
    const index = this.#items.findIndex((item) => isDeepStrictEqual(item, value));
    if (index < 0) throw pythonError("ValueError", "list.remove(x): x not in list");
    this.#items.splice(index, 1);
  }
  index(value: unknown): number {
    const index = this.#items.findIndex((item) => isDeepStrictEqual(item, value));
    if (index < 0) throw pythonError("ValueError", `${JSON.stringify(value) ?? String(value)} is not in list`);
    return index;
  }
  count(value: unknown): number {
    return this.#items.filter((item) => isDeepStrictEqual(item, value)).length;
  }
  len(): number {
    return this.#items.length;
  }
  sort(options?: { reverse?: boolean }): void {
    this.#items.sort(compare);
    if (options?.reverse) this.#items.reverse();
  }
  reverse(): void {
    this.#items.reverse();
  }
  copy(): unknown[] {
    return [...this.#items];
  }
}

/** Python's `Namespace`: named attributes. */
export class ManagedNamespace {
  readonly #fields = new Map<string, unknown>();

  constructor(init?: unknown) {
    for (const [k, v] of entriesOf(init, "Namespace()")) this.#fields.set(String(k), v);
  }

  #name(name: unknown): string {
    if (typeof name !== "string") throw new TypeError(`Expected an attribute name (a string), got ${typeof name}`);
    return name;
  }
  get(name: unknown): unknown {
    return this.#fields.get(this.#name(name));
  }
  set(name: unknown, value: unknown): void {
    this.#fields.set(this.#name(name), value);
  }
  has(name: unknown): boolean {
    return this.#fields.has(this.#name(name));
  }
  delete(name: unknown): boolean {
    if (!this.#fields.delete(this.#name(name))) throw pythonError("AttributeError", String(name));
    return true;
  }
  copy(): Record<string, unknown> {
    return Object.fromEntries(this.#fields);
  }
}

/** Python's managed `Value(typecode, value)`: one value; the typecode is kept for show, as in CPython. */
export class ManagedValue {
  #value: unknown;
  readonly typecode: unknown;

  constructor(typecode: unknown, value?: unknown) {
    this.typecode = typecode;
    this.#value = value;
  }
  get(): unknown {
    return this.#value;
  }
  set(value: unknown): void {
    this.#value = value;
  }
}

type NumericArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** Python's managed `Array(typecode, values)` (an `array.array`): a typed array checked against the typecode. */
export class ManagedArray {
  readonly #info: TypeInfo;
  readonly #typecode: string;
  readonly #items: NumericArray;

  constructor(typecode: unknown, values?: unknown) {
    this.#info = typeInfo(typecode);
    this.#typecode = typecode as string;
    const list =
      typeof values === "number"
        ? new Array<unknown>(values).fill(this.#info.zero)
        : typeof values === "string" || (typeof values === "object" && values !== null && Symbol.iterator in values)
          ? [...(values as Iterable<unknown>)]
          : values === undefined
            ? []
            : null;
    if (!list) throw new TypeError(`Array(): expected a size or values for typecode '${this.#typecode}', got ${typeof values}`);
    const View = this.#info.View as unknown as new (length: number) => NumericArray;
    this.#items = new View(list.length);
    list.forEach((value, i) => (this.#items[i] = toStored(this.#info, this.#typecode, value) as never));
  }

  #index(i: unknown): number {
    if (typeof i !== "number" || !Number.isInteger(i)) throw pythonError("TypeError", "array indices must be integers");
    const index = i < 0 ? this.#items.length + i : i;
    if (index < 0 || index >= this.#items.length) throw pythonError("IndexError", "array index out of range");
    return index;
  }
  get(i: unknown): unknown {
    return fromStored(this.#info, this.#items[this.#index(i)]!);
  }
  set(i: unknown, value: unknown): void {
    this.#items[this.#index(i)] = toStored(this.#info, this.#typecode, value) as never;
  }
  len(): number {
    return this.#items.length;
  }
  copy(): unknown[] {
    return Array.from(this.#items as ArrayLike<number | bigint>, (v) => fromStored(this.#info, v));
  }
}
