/**
 * Managers (CPython's `multiprocessing.managers`): `BaseManager` with
 * `register()`, `start()`, `connect()`, `getServer()`, `shutdown()`, and
 * `SyncManager`, whose server holds dicts, lists, namespaces, queues and
 * synchronization objects for many processes, on this machine or over TCP.
 *
 * `start()` runs the server in its own OS process (a daemon: it dies with its
 * parent). A proxy-making method (`manager.dict()`, a registered typeid) returns
 * its proxy at once, as Python's does: the object's id is chosen here, and the
 * request that makes it goes out ahead of any call on it.
 */
import { getContext } from "../context.ts";
import { ProcessError } from "../errors.ts";
import { kExited } from "../symbols.ts";
import { currentAuthkey } from "../process-identity.ts";
import type { Process } from "../process.ts";
import { moduleUrls } from "../spawn.ts";
import { resolveFunction } from "../wire/functions.ts";
import { checkAddress, describeAddress, localAddress, type Address } from "./address.ts";
import { syncManagerTypes } from "./builtins.ts";
import { ManagerClient } from "./client.ts";
import { ProxyRef } from "./codec.ts";
import { authkeyBytes } from "./handshake.ts";
import {
  ArrayProxy, BarrierProxy, ConditionProxy, DictProxy, EventProxy, JoinableQueueProxy, ListProxy, LockProxy, makeProxy,
  NamespaceProxy, QueueProxy, RLockProxy, SemaphoreProxy, ValueProxy, type AutoProxy, type BaseProxy,
} from "./proxies.ts";
import { runManagerServer, type ReadyMessage, type ServedType, type ServerConfig } from "./server-process.ts";
import { Server, type Factory } from "./server.ts";

/** Options of `new mp.BaseManager(...)` (Python's BaseManager(address, authkey)). */
export interface ManagerOptions {
  /** Where to serve or connect: `{ host, port }` (port 0: any free port) or a Unix socket path. @default a fresh abstract Unix socket */
  address?: Address;
  /** The shared secret clients prove with an HMAC challenge. @default mp.currentProcess().authkey */
  authkey?: string | Uint8Array;
  /** Modules the server's process imports, so registered classes and factories resolve there. */
  modules?: (string | URL)[];
  /** Largest message accepted, in bytes (checked before a frame's body is read). @default 256 MiB */
  maxFrameBytes?: number;
}

interface Registration {
  factory?: Function;
  builtin?: string;
}

const registries = new WeakMap<Function, Map<string, Registration>>();
const TYPEID = /^[A-Za-z_$][\w$]*$/;
let managerCounter = 0;

/** Every typeid registered on `cls` and its base classes (a subclass's win). */
function registryOf(cls: Function): Map<string, Registration> {
  const chain: Function[] = [];
  for (let c: Function | null = cls; c && c !== Function.prototype; c = Object.getPrototypeOf(c) as Function | null) chain.unshift(c);
  const merged = new Map<string, Registration>();
  for (const c of chain) for (const [k, v] of registries.get(c) ?? []) merged.set(k, v);
  return merged;
}

function ownRegistry(cls: Function): Map<string, Registration> {
  let own = registries.get(cls);
  if (!own) registries.set(cls, (own = new Map()));
  return own;
}

/** Python's `BaseManager`. */
export class BaseManager {
  readonly #requested: Address;
  readonly #authkey: Buffer;
  readonly #modules: string[];
  readonly #maxFrameBytes: number | undefined;
  #address: Address | null = null;
  #client: ManagerClient | null = null;
  #process: Process | null = null;
  #state: "initial" | "started" | "connected" | "shutdown" = "initial";

  /**
   * Python's `BaseManager.register(typeid, callable)`: `manager.<typeid>(...args)`
   * (or `manager.create(typeid, ...args)`) then makes an object in the server with
   * `classOrFactory` (a class is constructed) and returns its proxy. For `start()`
   * the class or factory must be exported from a module the server's process can
   * import (the entry module, `modules`, or mp.registerModule). A client that only
   * `connect()`s registers the typeid alone.
   */
  static register(typeid: string, classOrFactory?: Function): void {
    if (typeof typeid !== "string" || !TYPEID.test(typeid)) {
      throw new TypeError(`Expected \`typeid\` to be an identifier (letters, digits, _ or $), got ${JSON.stringify(typeid)}`);
    }
    if (classOrFactory !== undefined && typeof classOrFactory !== "function") {
      throw new TypeError(`Expected the second argument of register() to be a class or function, got ${typeof classOrFactory}`);
    }
    const prototype = this.prototype as unknown as Record<string, unknown>;
    // Registering a user typeid again replaces it; any other name on the prototype (a method, a SyncManager type) stays.
    const existing = registryOf(this).get(typeid);
    const reRegistering = existing !== undefined && existing.builtin === undefined;
    if (typeid in prototype && !reRegistering) {
      throw new TypeError(`Cannot register '${typeid}': it would hide ${this.name}.prototype.${typeid}; choose another typeid`);
    }
    ownRegistry(this).set(typeid, { factory: classOrFactory });
    Object.defineProperty(prototype, typeid, {
      value: function (this: BaseManager, ...args: unknown[]) {
        return this.create(typeid, ...args);
      },
      writable: true,
      configurable: true,
    });
  }

  /** @internal SyncManager's own types: served by the library's classes, made by typed methods. */
  protected static registerBuiltin(typeid: string): void {
    ownRegistry(this).set(typeid, { builtin: typeid });
  }

  constructor(options: ManagerOptions = {}) {
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Expected manager options to be an object ({ address, authkey, modules }), got ${typeof options}`);
    }
    this.#requested = options.address === undefined ? localAddress() : checkAddress(options.address);
    this.#authkey = options.authkey === undefined ? Buffer.from(currentAuthkey()) : authkeyBytes(options.authkey);
    this.#modules = moduleUrls(options.modules);
    if (options.maxFrameBytes !== undefined && (!Number.isInteger(options.maxFrameBytes) || options.maxFrameBytes < 1024)) {
      throw new RangeError(`Expected \`maxFrameBytes\` to be an integer >= 1024, got ${options.maxFrameBytes}`);
    }
    this.#maxFrameBytes = options.maxFrameBytes;
  }

  /** The address served: the real port after asking for port 0 (known once started or connected). */
  get address(): Address {
    return this.#address ?? this.#requested;
  }

  /** Python's `start()`: runs the server in a new OS process and connects to it. */
  async start(): Promise<void> {
    if (this.#state !== "initial") throw new ProcessError(`cannot start a manager that is ${this.#state}`);
    this.#state = "started";
    const config: ServerConfig = {
      address: this.#requested,
      authkey: this.#authkey.toString("hex"),
      types: this.#servedTypes(),
      ...(this.#maxFrameBytes === undefined ? {} : { maxFrameBytes: this.#maxFrameBytes }),
    };
    const ctx = getContext("process");
    const [reader, writer] = ctx.Pipe<ReadyMessage>(false);
    const process = new ctx.Process({
      target: runManagerServer,
      args: [config, writer],
      daemon: true,
      name: `${this.constructor.name}-${++managerCounter}`,
      // "../managers/": in the bundle this code sits in dist/chunks/ (scripts/build.mjs).
      modules: [new URL("../managers/server-process" + extensionOf(import.meta.url), import.meta.url).href, ...this.#modules],
    });
    try {
      process.start();
      writer.close();
      // Not join(): a join waiting for the manager's whole life would keep the program alive.
      const exited = process[kExited]().then(() => {
        throw new ProcessError(`the manager's process exited (exit code ${process.exitCode}) before it served`);
      });
      const message = await Promise.race([reader.recv(), exited]);
      if ("error" in message) throw new ProcessError(`the manager's server could not start: ${message.error}`);
      this.#address = message.address;
      this.#process = process;
      this.#client = ManagerClient.for(message.address, this.#authkey);
      await this.#client.connect();
    } catch (error) {
      this.#state = "shutdown";
      if (process.isAlive()) process.kill();
      throw error;
    } finally {
      reader.close();
    }
  }

  /** Python's `connect()`: connects to a server already running at `address`; rejects with mp.AuthenticationError on a wrong key. */
  async connect(): Promise<void> {
    if (this.#state !== "initial") throw new ProcessError(`cannot connect a manager that is ${this.#state}`);
    const client = ManagerClient.for(this.#requested, this.#authkey);
    await client.connect();
    this.#client = client;
    this.#address = this.#requested;
    this.#state = "connected";
  }

  /**
   * Python's `get_server()`: a server in this process for the registered types;
   * `await server.serveForever()` serves until a client shuts it down.
   */
  getServer(): Server {
    const registry = new Map<string, Factory>();
    for (const [typeid, registration] of registryOf(this.constructor)) {
      if (registration.builtin) registry.set(typeid, syncManagerTypes[registration.builtin]!);
      else if (registration.factory) registry.set(typeid, registration.factory as Factory);
    }
    return new Server({ address: this.#requested, authkey: this.#authkey, registry, maxFrameBytes: this.#maxFrameBytes });
  }

  /** Makes an object of a registered typeid in the server; returns its proxy at once. */
  create<T = unknown>(typeid: string, ...args: unknown[]): AutoProxy<T> {
    if (!registryOf(this.constructor).has(typeid)) {
      throw new TypeError(`'${typeid}' is not registered with ${this.constructor.name}: call ${this.constructor.name}.register("${typeid}", ...) first`);
    }
    return this.makeProxy(typeid, args) as AutoProxy<T>;
  }

  /** @internal */
  protected makeProxy(typeid: string, args: unknown[]): BaseProxy {
    const client = this.#client;
    if (!client || this.#state === "shutdown") {
      throw new ProcessError(
        this.#state === "shutdown"
          ? `the manager at ${describeAddress(this.address)} was shut down`
          : "the manager is not running here yet: await manager.start() or manager.connect() first",
      );
    }
    const id = client.newObjectId();
    const created = client.create(id, typeid, args);
    return makeProxy(new ProxyRef(client.address, id, typeid) as ProxyRef & { address: Address }, this.#authkey, created);
  }

  /**
   * Python's `shutdown()`: stops a server this manager started (its proxies' calls
   * reject at once afterwards), or closes this client's connection to one it connected to.
   */
  async shutdown(): Promise<void> {
    const state = this.#state;
    this.#state = "shutdown";
    const client = this.#client;
    if (state === "connected") client?.disconnect();
    if (state !== "started" || !client) return;
    await client.shutdown().catch(() => {});
    ManagerClient.markShutDown(client.address);
    const process = this.#process;
    if (!process) return;
    await process.join(5000);
    if (process.isAlive()) {
      process.kill();
      await process.join();
    }
  }

  /** `await using manager = ...`: shutdown() at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  #servedTypes(): ServedType[] {
    const types: ServedType[] = [];
    for (const [typeid, registration] of registryOf(this.constructor)) {
      if (registration.builtin) types.push({ typeid, builtin: registration.builtin });
      else if (registration.factory) {
        const ref = resolveFunction(registration.factory, this.#modules, `the class or factory of '${typeid}'`);
        if (ref.kind !== "export") {
          throw new TypeError(
            `Cannot serve '${typeid}' from a manager process: ${registration.factory.name || "its factory"} is not exported from a known module. ` +
              "Export it, and list its module in the `modules` option or call mp.registerModule(import.meta.url) there " +
              "(a manager never compiles functions it is sent as source text).",
          );
        }
        types.push({ typeid, ref });
      }
    }
    return types;
  }
}

function extensionOf(url: string): string {
  return url.endsWith(".ts") ? ".ts" : ".js";
}

/** Python's `SyncManager`: a server of shared dicts, lists, namespaces, queues and synchronization objects. */
export class SyncManager extends BaseManager {
  static {
    for (const typeid of Object.keys(syncManagerTypes)) this.registerBuiltin(typeid);
  }

  /** A shared dict (Python's `manager.dict()`); `init` is a plain object, a Map or [key, value] pairs. */
  dict<K = string, V = any>(init?: Partial<Record<K & PropertyKey, V>> | Map<K, V> | Iterable<readonly [K, V]>): DictProxy<K, V> {
    const plain = init !== undefined && init !== null && !(init instanceof Map) && !Array.isArray(init) && Symbol.iterator in (init as object) ? [...(init as Iterable<[K, V]>)] : init;
    return this.makeProxy("dict", plain === undefined ? [] : [plain]) as DictProxy<K, V>;
  }
  /** A shared list (Python's `manager.list()`). */
  list<T = any>(init?: Iterable<T>): ListProxy<T> {
    return this.makeProxy("list", init === undefined ? [] : [Array.isArray(init) ? init : [...init]]) as ListProxy<T>;
  }
  /** Python's `manager.Namespace()`. */
  Namespace<T extends Record<string, unknown> = Record<string, any>>(init?: Partial<T>): NamespaceProxy<T> {
    return this.makeProxy("Namespace", init === undefined ? [] : [init]) as NamespaceProxy<T>;
  }
  Queue<T = any>(maxSize = 0): QueueProxy<T> {
    return this.makeProxy("Queue", [maxSize]) as QueueProxy<T>;
  }
  JoinableQueue<T = any>(maxSize = 0): JoinableQueueProxy<T> {
    return this.makeProxy("JoinableQueue", [maxSize]) as JoinableQueueProxy<T>;
  }
  Lock(): LockProxy {
    return this.makeProxy("Lock", []) as LockProxy;
  }
  RLock(): RLockProxy {
    return this.makeProxy("RLock", []) as RLockProxy;
  }
  Semaphore(value = 1): SemaphoreProxy {
    return this.makeProxy("Semaphore", [value]) as SemaphoreProxy;
  }
  BoundedSemaphore(value = 1): SemaphoreProxy {
    return this.makeProxy("BoundedSemaphore", [value]) as SemaphoreProxy;
  }
  /** A Condition over its own RLock in the server. */
  Condition(lock?: unknown): ConditionProxy {
    if (lock !== undefined) {
      throw new TypeError("manager.Condition() makes its own lock in the server; call it without arguments and use its acquire()/release()");
    }
    return this.makeProxy("Condition", []) as ConditionProxy;
  }
  Event(): EventProxy {
    return this.makeProxy("Event", []) as EventProxy;
  }
  /** A Barrier for `parties` (no `action`: a manager's server never runs code it is sent). */
  Barrier(parties: number, options?: { timeout?: number }): BarrierProxy {
    if (options && "action" in options && (options as { action?: unknown }).action !== undefined) {
      throw new TypeError("a manager's Barrier cannot run an action (its server never runs code it is sent): run it where wait() resolves 0");
    }
    return this.makeProxy("Barrier", options ? [parties, options] : [parties]) as BarrierProxy;
  }
  /** Python's `manager.Value(typecode, value)`. */
  Value<T = any>(typecode: string, value: T): ValueProxy<T> {
    return this.makeProxy("Value", [typecode, value]) as ValueProxy<T>;
  }
  /** Python's `manager.Array(typecode, values)`, checked against the typecode. */
  Array<T = number>(typecode: string, values: number | Iterable<T>): ArrayProxy<T> {
    return this.makeProxy("Array", [typecode, typeof values === "number" || Array.isArray(values) ? values : [...values]]) as ArrayProxy<T>;
  }
}

/** Python's `multiprocessing.Manager()`: a started SyncManager (`await using manager = await mp.Manager()`). */
export async function Manager(options?: ManagerOptions): Promise<SyncManager> {
  const manager = new SyncManager(options);
  await manager.start();
  return manager;
}
