/**
 * Proxies: the client side of a manager's objects (CPython's `BaseProxy` and its
 * `DictProxy`, `ListProxy`, `AutoProxy`...). A proxy is an address, an object id
 * and a typeid; every method is a call to the server and returns a Promise.
 *
 * A proxy crosses to Process and Pool workers, through queues and pipes, and
 * into other managed objects, and stays the same shared object: to a worker of
 * this machine it travels with the authkey (as CPython's does to a child it
 * spawns), to a manager without it.
 */
import { inspect } from "node:util";
import { kWire } from "../symbols.ts";
import { registerWireType, type WireForm } from "../wire/serialize.ts";
import { isAddress, type Address, describeAddress } from "./address.ts";
import { ManagerClient, setProxyRefOf, setProxyReviver } from "./client.ts";
import { ProxyRef } from "./codec.ts";
import type { AcquireOptionsLike, BlockingOptions } from "./proxy-types.ts";

/** Lets copies of the library in one thread (a worker's runtime and a user's import) recognize each other's proxies. */
const kProxyRef = Symbol.for("multiproc.manager.proxyRef");
const WIRE_TYPE = "ManagerProxy";

/** Python's `BaseProxy`: one object of a manager, reached by method calls. */
export class BaseProxy {
  readonly #ref: ProxyRef & { address: Address };
  readonly #authkey: Buffer;
  #client: ManagerClient | undefined;
  /** Whether the CREATE of this proxy's object is still unanswered (calls may then fail for its reason). */
  #creating: boolean;
  #creationError: unknown;

  /** @internal Made by a manager or when a proxy arrives; not meant to be called by users. */
  constructor(ref: ProxyRef & { address: Address }, authkey: Buffer, created?: Promise<unknown>) {
    this.#ref = ref;
    this.#authkey = authkey;
    this.#creating = created !== undefined;
    created?.then(
      () => (this.#creating = false),
      (error: unknown) => {
        this.#creationError = error;
        this.#creating = false;
      },
    );
  }

  /** The typeid this proxy's object was registered under ("dict", "Queue", a user's name). */
  get typeid(): string {
    return this.#ref.typeid;
  }

  /** The manager serving the object. */
  get address(): Address {
    return this.#ref.address;
  }

  /** Python's `_callmethod`: calls `method(...args)` on the object in the server. */
  _callMethod(method: string, args: unknown[] = []): Promise<any> {
    const { address, id } = this.#ref;
    const call = (this.#client ??= ManagerClient.for(address, this.#authkey)).call(id, method, args);
    if (this.#creationError !== undefined) {
      call.catch(() => {});
      return Promise.reject(this.#creationError);
    }
    if (!this.#creating) return call;
    // Made just now: if the making fails, its error explains this call's "no such object".
    return call.catch((error: unknown) => {
      throw this.#creationError ?? error;
    });
  }

  /** @internal */
  [kProxyRef](): ProxyRef {
    return this.#ref;
  }

  /** @internal How the proxy crosses to a worker of this machine (see wire/serialize.ts). */
  [kWire](): WireForm {
    const { address, id, typeid } = this.#ref;
    return { type: WIRE_TYPE, state: { address, id, typeid, authkey: this.#authkey.toString("hex") } };
  }

  toString(): string {
    return `<${this.constructor.name} of '${this.#ref.typeid}' object ${this.#ref.id} at ${describeAddress(this.#ref.address)}>`;
  }

  [inspect.custom](): string {
    return this.toString();
  }
}

function refOfProxy(value: object): ProxyRef | undefined {
  const getRef = (value as Record<symbol, unknown>)[kProxyRef];
  return typeof getRef === "function" ? (getRef.call(value) as ProxyRef) : undefined;
}

/** Python's `DictProxy`. `copy()` gives a plain object. */
export class DictProxy<K = string, V = unknown> extends BaseProxy {
  get(key: K): Promise<V | undefined>;
  get<D>(key: K, fallback: D): Promise<V | D>;
  get(key: K, ...fallback: unknown[]): Promise<unknown> {
    return this._callMethod("get", [key, ...fallback]);
  }
  set(key: K, value: V): Promise<void> {
    return this._callMethod("set", [key, value]);
  }
  has(key: K): Promise<boolean> {
    return this._callMethod("has", [key]);
  }
  /** Resolves true; rejects with RemoteError (`remoteName` "KeyError") for a missing key, as Python's `del d[k]`. */
  delete(key: K): Promise<boolean> {
    return this._callMethod("delete", [key]);
  }
  keys(): Promise<K[]> {
    return this._callMethod("keys");
  }
  values(): Promise<V[]> {
    return this._callMethod("values");
  }
  items(): Promise<[K, V][]> {
    return this._callMethod("items");
  }
  len(): Promise<number> {
    return this._callMethod("len");
  }
  update(other: Partial<Record<K & PropertyKey, V>> | Map<K, V> | Iterable<readonly [K, V]>): Promise<void> {
    return this._callMethod("update", [other instanceof Map || Array.isArray(other) ? other : other && typeof other === "object" && Symbol.iterator in other ? [...(other as Iterable<[K, V]>)] : other]);
  }
  pop(key: K): Promise<V>;
  pop<D>(key: K, fallback: D): Promise<V | D>;
  pop(key: K, ...fallback: unknown[]): Promise<unknown> {
    return this._callMethod("pop", [key, ...fallback]);
  }
  popitem(): Promise<[K, V]> {
    return this._callMethod("popitem");
  }
  setdefault(key: K, value?: V): Promise<V> {
    return this._callMethod("setdefault", [key, value]);
  }
  clear(): Promise<void> {
    return this._callMethod("clear");
  }
  copy(): Promise<Record<string, V>> {
    return this._callMethod("copy");
  }
}

/** Python's `ListProxy`; indices may be negative. `copy()` gives an array. */
export class ListProxy<T = unknown> extends BaseProxy {
  get(index: number): Promise<T> {
    return this._callMethod("get", [index]);
  }
  set(index: number, value: T): Promise<void> {
    return this._callMethod("set", [index, value]);
  }
  append(value: T): Promise<void> {
    return this._callMethod("append", [value]);
  }
  extend(values: Iterable<T>): Promise<void> {
    return this._callMethod("extend", [Array.isArray(values) ? values : [...values]]);
  }
  insert(index: number, value: T): Promise<void> {
    return this._callMethod("insert", [index, value]);
  }
  pop(index?: number): Promise<T> {
    return this._callMethod("pop", index === undefined ? [] : [index]);
  }
  remove(value: T): Promise<void> {
    return this._callMethod("remove", [value]);
  }
  index(value: T): Promise<number> {
    return this._callMethod("index", [value]);
  }
  count(value: T): Promise<number> {
    return this._callMethod("count", [value]);
  }
  len(): Promise<number> {
    return this._callMethod("len");
  }
  /** Sorts as Python does: numbers by value, strings by code point; `{ reverse: true }` for descending. */
  sort(options?: { reverse?: boolean }): Promise<void> {
    return this._callMethod("sort", options ? [options] : []);
  }
  reverse(): Promise<void> {
    return this._callMethod("reverse");
  }
  copy(): Promise<T[]> {
    return this._callMethod("copy");
  }
}

/** Python's `NamespaceProxy`: named attributes, read with get(name) and written with set(name, v). */
export class NamespaceProxy<T extends Record<string, unknown> = Record<string, any>> extends BaseProxy {
  get<N extends keyof T & string>(name: N): Promise<T[N]> {
    return this._callMethod("get", [name]);
  }
  set<N extends keyof T & string>(name: N, value: T[N]): Promise<void> {
    return this._callMethod("set", [name, value]);
  }
  has(name: string): Promise<boolean> {
    return this._callMethod("has", [name]);
  }
  delete(name: keyof T & string): Promise<boolean> {
    return this._callMethod("delete", [name]);
  }
  copy(): Promise<Partial<T>> {
    return this._callMethod("copy");
  }
}

/** Python's `ValueProxy`. */
export class ValueProxy<T = unknown> extends BaseProxy {
  get(): Promise<T> {
    return this._callMethod("get");
  }
  set(value: T): Promise<void> {
    return this._callMethod("set", [value]);
  }
}

/** Python's `ArrayProxy` (an `array.array` in the server); `copy()` gives an array. */
export class ArrayProxy<T = number> extends BaseProxy {
  get(index: number): Promise<T> {
    return this._callMethod("get", [index]);
  }
  set(index: number, value: T): Promise<void> {
    return this._callMethod("set", [index, value]);
  }
  len(): Promise<number> {
    return this._callMethod("len");
  }
  copy(): Promise<T[]> {
    return this._callMethod("copy");
  }
}

/** A manager's Queue (Python's `queue.Queue` through a proxy); rejects with mp.Empty / mp.Full as the local one throws. */
export class QueueProxy<T = unknown> extends BaseProxy {
  put(item: T, options?: BlockingOptions): Promise<void> {
    return this._callMethod("put", options ? [item, options] : [item]);
  }
  putNowait(item: T): Promise<void> {
    return this._callMethod("putNowait", [item]);
  }
  get(options?: BlockingOptions): Promise<T> {
    return this._callMethod("get", options ? [options] : []);
  }
  getNowait(): Promise<T> {
    return this._callMethod("getNowait");
  }
  qsize(): Promise<number> {
    return this._callMethod("qsize");
  }
  empty(): Promise<boolean> {
    return this._callMethod("empty");
  }
  full(): Promise<boolean> {
    return this._callMethod("full");
  }
}

/** A manager's JoinableQueue. */
export class JoinableQueueProxy<T = unknown> extends QueueProxy<T> {
  taskDone(): Promise<void> {
    return this._callMethod("taskDone");
  }
  join(): Promise<void> {
    return this._callMethod("join");
  }
}

function acquireArgs(options: AcquireOptionsLike | undefined): unknown[] {
  return options === undefined ? [] : [typeof options === "boolean" ? { block: options } : options];
}

/** Runs `fn` between an acquire() and a release() of a manager's lock or semaphore. */
async function holding<R>(lock: { acquire(): Promise<boolean>; release(): Promise<void> }, fn: () => R | Promise<R>): Promise<R> {
  await lock.acquire();
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}

/** A manager's Lock, released by the server if its holder's connection closes. */
export class LockProxy extends BaseProxy {
  acquire(options?: AcquireOptionsLike): Promise<boolean> {
    return this._callMethod("acquire", acquireArgs(options));
  }
  release(): Promise<void> {
    return this._callMethod("release");
  }
  locked(): Promise<boolean> {
    return this._callMethod("locked");
  }
  /** Python's `with lock:`: runs `fn` holding the lock, releasing it however `fn` ends. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return holding(this, fn);
  }
}

/** A manager's RLock: re-entrant for the process or worker (connection) that holds it. */
export class RLockProxy extends LockProxy {}

/** A manager's Semaphore or BoundedSemaphore. */
export class SemaphoreProxy extends BaseProxy {
  acquire(options?: AcquireOptionsLike): Promise<boolean> {
    return this._callMethod("acquire", acquireArgs(options));
  }
  release(n?: number): Promise<void> {
    return this._callMethod("release", n === undefined ? [] : [n]);
  }
  getValue(): Promise<number> {
    return this._callMethod("getValue");
  }
  /** Python's `with sem:`: runs `fn` holding one unit, giving it back however `fn` ends. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return holding(this, fn);
  }
}

/** A manager's Event. */
export class EventProxy extends BaseProxy {
  set(): Promise<void> {
    return this._callMethod("set");
  }
  clear(): Promise<void> {
    return this._callMethod("clear");
  }
  isSet(): Promise<boolean> {
    return this._callMethod("isSet");
  }
  wait(timeout?: number): Promise<boolean> {
    return this._callMethod("wait", timeout === undefined ? [] : [timeout]);
  }
}

/** A manager's Condition (over its own RLock in the server). */
export class ConditionProxy extends LockProxy {
  wait(timeout?: number): Promise<boolean> {
    return this._callMethod("wait", timeout === undefined ? [] : [timeout]);
  }
  /** Python's `wait_for`: the predicate runs here, between waits, holding the lock. */
  async waitFor(predicate: () => unknown, timeout?: number): Promise<boolean> {
    const deadline = timeout === undefined ? undefined : performance.now() + timeout;
    let result = await predicate();
    while (!result) {
      const left = deadline === undefined ? undefined : deadline - performance.now();
      if (left !== undefined && left <= 0) break;
      await this.wait(left);
      result = await predicate();
    }
    return Boolean(result);
  }
  notify(n?: number): Promise<void> {
    return this._callMethod("notify", n === undefined ? [] : [n]);
  }
  notifyAll(): Promise<void> {
    return this._callMethod("notifyAll");
  }
}

/** A manager's Barrier; `parties`, `nWaiting` and `broken` are Promises (each is a call). */
export class BarrierProxy extends BaseProxy {
  wait(timeout?: number): Promise<number> {
    return this._callMethod("wait", timeout === undefined ? [] : [timeout]);
  }
  reset(): Promise<void> {
    return this._callMethod("reset");
  }
  abort(): Promise<void> {
    return this._callMethod("abort");
  }
  get parties(): Promise<number> {
    return this._callMethod("parties");
  }
  get nWaiting(): Promise<number> {
    return this._callMethod("nWaiting");
  }
  get broken(): Promise<boolean> {
    return this._callMethod("broken");
  }
}

/** The proxy of a registered type: each public method of `T`, returning a Promise of its result. */
export type AutoProxy<T> = BaseProxy & {
  [K in keyof T as K extends `_${string}` ? never : T[K] extends (...args: any[]) => unknown ? K : never]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/** Python's `AutoProxy`: any method name becomes a call (never `then`, so a proxy is not mistaken for a Promise). */
export function autoProxy<T>(ref: ProxyRef & { address: Address }, authkey: Buffer, created?: Promise<unknown>): AutoProxy<T> {
  const base = new BaseProxy(ref, authkey, created);
  return new Proxy(base, {
    get(target, property) {
      if (typeof property === "symbol" || property in target) {
        const value = Reflect.get(target, property, target) as unknown;
        return typeof value === "function" ? value.bind(target) : value;
      }
      if (property === "then" || property.startsWith("_")) return undefined;
      return (...args: unknown[]) => target._callMethod(property, args);
    },
  }) as AutoProxy<T>;
}

type ProxyClass = new (ref: ProxyRef & { address: Address }, authkey: Buffer, created?: Promise<unknown>) => BaseProxy;

/** The proxy class of each SyncManager typeid (others get an AutoProxy). */
export const proxyClasses: Readonly<Record<string, ProxyClass>> = {
  dict: DictProxy, list: ListProxy, Namespace: NamespaceProxy, Value: ValueProxy, Array: ArrayProxy,
  Queue: QueueProxy, JoinableQueue: JoinableQueueProxy, Lock: LockProxy, RLock: RLockProxy,
  Semaphore: SemaphoreProxy, BoundedSemaphore: SemaphoreProxy, Event: EventProxy,
  Condition: ConditionProxy, Barrier: BarrierProxy,
};

/** The proxy for a reference (by its typeid). */
export function makeProxy(ref: ProxyRef & { address: Address }, authkey: Buffer, created?: Promise<unknown>): BaseProxy {
  const Class = Object.hasOwn(proxyClasses, ref.typeid) ? proxyClasses[ref.typeid] : undefined;
  return Class ? new Class(ref, authkey, created) : autoProxy(ref, authkey, created);
}

setProxyRefOf(refOfProxy);
setProxyReviver((ref, authkey, from) => makeProxy(new ProxyRef(ref.address ?? from, ref.id, ref.typeid) as ProxyRef & { address: Address }, authkey));

registerWireType(WIRE_TYPE, (state) => {
  const { address, id, typeid, authkey } = state as { address: unknown; id: unknown; typeid: unknown; authkey: unknown };
  if (!isAddress(address) || typeof id !== "string" || typeof typeid !== "string" || typeof authkey !== "string") {
    throw new TypeError("a malformed manager proxy arrived");
  }
  return makeProxy(new ProxyRef(address, id, typeid) as ProxyRef & { address: Address }, Buffer.from(authkey, "hex"));
});
