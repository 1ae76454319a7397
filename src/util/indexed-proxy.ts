/**
 * Index access for the fixed-length shared sequences (SynchronizedArray,
 * ShareableList): `seq[i]` reads and writes items (negative `i` counts from the
 * end), `i in seq`, Object.keys and spreading list them. Every other key goes to
 * the object itself; its methods come back bound to it, so they can reach its
 * #private fields when called on the Proxy.
 */

/** A canonical integer key ("0", "-1"; not "01", "1.0" or "+1"). */
const INDEX = /^-?(?:0|[1-9]\d*)$/;

/** How the owner reads and writes its items; it checks `i` (range, negatives) itself. */
export interface IndexedItems {
  length(): number;
  get(i: number): unknown;
  set(i: number, value: unknown): void;
}

/**
 * `i` as a position in a sequence of `length` items, a negative `i` counting from
 * the end (Python's indexing). Throws a RangeError naming `what` when it is out of range.
 */
export function itemIndex(i: number, length: number, what: string): number {
  const at = i < 0 ? i + length : i;
  if (at < 0 || at >= length) throw new RangeError(`${what} index ${i} out of range (length ${length})`);
  return at;
}

function isIndex(key: PropertyKey): key is string {
  return typeof key === "string" && INDEX.test(key);
}

/** Wraps `owner` (the constructor returns the result) so that its items answer to indexes. */
export function indexedProxy<T extends object>(owner: T, items: IndexedItems): T {
  const bound = new Map<PropertyKey, unknown>();
  return new Proxy(owner, {
    get: (target, key) => {
      if (isIndex(key)) return items.get(Number(key));
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== "function") return value;
      let method = bound.get(key);
      if (!method) bound.set(key, (method = (value as Function).bind(target)));
      return method;
    },
    set: (target, key, value) => {
      if (isIndex(key)) {
        items.set(Number(key), value);
        return true;
      }
      return Reflect.set(target, key, value, target);
    },
    has: (target, key) => {
      if (isIndex(key)) {
        const i = Number(key);
        return i >= 0 && i < items.length();
      }
      return Reflect.has(target, key);
    },
    ownKeys: (target) => [...Array.from({ length: items.length() }, (_, i) => String(i)), ...Reflect.ownKeys(target)],
    getOwnPropertyDescriptor: (target, key) => {
      if (isIndex(key)) {
        const i = Number(key);
        if (i < 0 || i >= items.length()) return undefined;
        return { value: items.get(i), writable: true, enumerable: true, configurable: true };
      }
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
  });
}
