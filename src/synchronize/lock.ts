/**
 * Lock and RLock (Python's multiprocessing.Lock / RLock), on the mutex core.
 *
 *   Lock region (4 bytes)        RLock region (8 bytes)
 *   +------------+               +------------+------------+
 *   | lock word  |               | lock word  | depth      |
 *   +------------+               +------------+------------+
 *     i32[0]                       i32[0]       i32[1]: times the owner acquired it
 *
 * A lock is owned by a worker (thread or process), not by an async task: two async
 * tasks of one worker share its RLock, and either may release its Lock.
 */
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { registerWireType, type WireForm } from "../wire/serialize.ts";
import { kWire } from "../symbols.ts";
import { acquireDeadline, type AcquireOptions } from "./options.ts";
import { isHeldBy, isLocked, lockSlow, tryLock, unlock } from "./mutex.ts";
import { ownerId, trackLock } from "./owners.ts";
import { runAsync, runSync, type Waiting } from "./waiting.ts";

/** Internal protocol a Condition uses on its lock. */
export const kIsOwned = Symbol("multiproc.lock.isOwned");
export const kReleaseSave = Symbol("multiproc.lock.releaseSave");
export const kRestore = Symbol("multiproc.lock.restore");

/** What a Condition needs from its lock. */
export interface ConditionLock {
  acquire(options?: AcquireOptions): Promise<boolean>;
  acquireSync(options?: AcquireOptions): boolean;
  release(): void;
  [kIsOwned](): boolean;
  /** Releases the lock completely and returns what restoring it needs (RLock: its depth). */
  [kReleaseSave](): number;
  /** Takes the lock back (no timeout) as `[kReleaseSave]` left it. */
  [kRestore](saved: number): Waiting<void>;
}

function notHeldError(kind: string, word: Int32Array): Error {
  if (isLocked(word, 0)) {
    return Object.assign(
      new Error(`Cannot release a ${kind} held by another worker: only the worker that acquired it may release it`),
      { code: "ERR_MP_LOCK_NOT_OWNED" },
    );
  }
  return Object.assign(
    new Error(`Cannot release a ${kind} that is not acquired (Python: "semaphore or lock released too many times"); call release() once per successful acquire()`),
    { code: "ERR_MP_LOCK_NOT_HELD" },
  );
}

function deadlockError(kind: string): Error {
  return Object.assign(
    new Error(
      `This worker already holds the ${kind}; acquireSync() without a timeout would block forever. ` +
        "Release it first, use an RLock for re-entrant locking, or pass a timeout.",
    ),
    { code: "ERR_MP_DEADLOCK" },
  );
}

/** Runs `fn` holding `lock`, releasing it even when `fn` throws. */
async function withHeld<R>(lock: { acquire(): Promise<boolean>; release(): void }, fn: () => R | Promise<R>): Promise<R> {
  if (typeof fn !== "function") throw new TypeError(`Expected withLock's argument to be a function, got ${typeof fn}`);
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}

let revivingRegion: SharedRegion | undefined;
function regionFor(bytes: number): SharedRegion {
  const region = revivingRegion ?? SharedRegion.create(bytes);
  revivingRegion = undefined;
  return region;
}

/**
 * A non-recursive lock shared between workers (Python's `multiprocessing.Lock`).
 * @example
 * const lock = new mp.Lock();
 * await lock.withLock(() => console.log("one at a time"));
 */
export class Lock implements ConditionLock {
  readonly #region: SharedRegion;
  readonly #word: Int32Array;
  #tracked = false;

  constructor() {
    this.#region = regionFor(4);
    this.#word = this.#region.int32(0, 1);
  }

  /** @internal Rebuilds a Lock over an existing region (wire reviver). */
  static fromRegion(region: SharedRegion): Lock {
    revivingRegion = region;
    return new Lock();
  }

  #took(): true {
    if (!this.#tracked) {
      this.#tracked = true;
      trackLock(this, this.#region.buffer);
    }
    return true;
  }

  /** Takes the lock; resolves false if `timeout` ms pass or `block` is false and it is taken. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      const deadline = acquireDeadline(options);
      const owner = ownerId();
      if (tryLock(this.#word, 0, owner)) return Promise.resolve(this.#took());
      return runAsync(lockSlow(this.#word, 0, owner, deadline, "a Lock")).then((r) => r === "acquired" && this.#took());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like acquire(), blocking the calling thread. */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = acquireDeadline(options);
    const owner = ownerId();
    if (tryLock(this.#word, 0, owner)) return this.#took();
    if (deadline === undefined && isHeldBy(this.#word, 0, owner)) throw deadlockError("Lock");
    return runSync(lockSlow(this.#word, 0, owner, deadline, "a Lock")) === "acquired" && this.#took();
  }

  /** Releases the lock; throws if this worker does not hold it. */
  release(): void {
    if (!isHeldBy(this.#word, 0, ownerId())) throw notHeldError("Lock", this.#word);
    unlock(this.#word, 0);
  }

  /** Runs `fn` holding the lock (Python's `with lock:`); releases it even if `fn` throws. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this, fn);
  }

  [kIsOwned](): boolean {
    return isHeldBy(this.#word, 0, ownerId());
  }

  [kReleaseSave](): number {
    this.release();
    return 1;
  }

  *[kRestore](): Waiting<void> {
    const owner = ownerId();
    if (!tryLock(this.#word, 0, owner)) yield* lockSlow(this.#word, 0, owner, undefined, "a Lock");
    this.#took();
  }

  [kWire](): WireForm {
    return { type: "multiproc.Lock", state: this.#region.handle() };
  }

  get [Symbol.toStringTag](): string {
    return "Lock";
  }
}

/**
 * A re-entrant lock (Python's `multiprocessing.RLock`): the worker holding it may
 * acquire it again, and must release it as many times.
 */
export class RLock implements ConditionLock {
  readonly #region: SharedRegion;
  readonly #words: Int32Array;
  #tracked = false;

  constructor() {
    this.#region = regionFor(8);
    this.#words = this.#region.int32(0, 2);
  }

  /** @internal */
  static fromRegion(region: SharedRegion): RLock {
    revivingRegion = region;
    return new RLock();
  }

  #took(): true {
    this.#words[1] = 1;
    if (!this.#tracked) {
      this.#tracked = true;
      trackLock(this, this.#region.buffer);
    }
    return true;
  }

  /** Takes the lock (again, if this worker holds it). */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      const deadline = acquireDeadline(options);
      const owner = ownerId();
      if (tryLock(this.#words, 0, owner)) return Promise.resolve(this.#took());
      if (isHeldBy(this.#words, 0, owner)) {
        this.#words[1]++;
        return Promise.resolve(true);
      }
      return runAsync(lockSlow(this.#words, 0, owner, deadline, "an RLock")).then((r) => r === "acquired" && this.#took());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like acquire(), blocking the calling thread. */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = acquireDeadline(options);
    const owner = ownerId();
    if (tryLock(this.#words, 0, owner)) return this.#took();
    if (isHeldBy(this.#words, 0, owner)) {
      this.#words[1]++;
      return true;
    }
    return runSync(lockSlow(this.#words, 0, owner, deadline, "an RLock")) === "acquired" && this.#took();
  }

  /** Releases one level; the lock is free once every acquire is matched. Throws if this worker does not hold it. */
  release(): void {
    if (!isHeldBy(this.#words, 0, ownerId())) throw notHeldError("RLock", this.#words);
    if (--this.#words[1] <= 0) {
      this.#words[1] = 0;
      unlock(this.#words, 0);
    }
  }

  /** Runs `fn` holding the lock; releases it even if `fn` throws. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this, fn);
  }

  [kIsOwned](): boolean {
    return isHeldBy(this.#words, 0, ownerId());
  }

  [kReleaseSave](): number {
    if (!this[kIsOwned]()) throw notHeldError("RLock", this.#words);
    const depth = this.#words[1];
    this.#words[1] = 0;
    unlock(this.#words, 0);
    return depth;
  }

  *[kRestore](depth: number): Waiting<void> {
    const owner = ownerId();
    if (!tryLock(this.#words, 0, owner)) yield* lockSlow(this.#words, 0, owner, undefined, "an RLock");
    this.#took();
    this.#words[1] = depth;
  }

  [kWire](): WireForm {
    return { type: "multiproc.RLock", state: this.#region.handle() };
  }

  get [Symbol.toStringTag](): string {
    return "RLock";
  }
}

registerWireType("multiproc.Lock", (state) => Lock.fromRegion(SharedRegion.open(state as RegionHandle)));
registerWireType("multiproc.RLock", (state) => RLock.fromRegion(SharedRegion.open(state as RegionHandle)));
