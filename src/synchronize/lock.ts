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
import { LockStateError } from "../errors.ts";
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { registerWireType, type WireForm } from "../wire/serialize.ts";
import { kWire } from "../symbols.ts";
import { acquireDeadline, type AcquireOptions } from "./options.ts";
import { isHeldBy, isLocked, lockSlow, tryLock, unlock } from "./mutex.ts";
import { ownerId, trackLock } from "./owners.ts";
import { runAsync, runSync, type Waiting } from "./waiting.ts";
import { withHeld } from "./with-held.ts";
import { Revival } from "../wire/revival.ts";

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
    return new LockStateError(`Cannot release a ${kind} held by another worker: only the worker that acquired it may release it`, {
      code: "ERR_MP_LOCK_NOT_OWNED",
    });
  }
  return new LockStateError(
    `Cannot release a ${kind} that is not acquired (Python: "semaphore or lock released too many times"); call release() once per successful acquire()`,
    { code: "ERR_MP_LOCK_NOT_HELD" },
  );
}

function deadlockError(kind: string): Error {
  return new LockStateError(
    `This worker already holds the ${kind}; acquireSync() without a timeout would block forever. ` +
      "Release it first, use an RLock for re-entrant locking, or pass a timeout.",
    { code: "ERR_MP_DEADLOCK" },
  );
}

/** What tells a Lock from an RLock; everything else about them is the same. */
interface LockKind {
  name: "Lock" | "RLock";
  /** How the recovery warning names it. */
  article: string;
  /** 4: the lock word only; 8: the lock word and the depth. */
  bytes: number;
  /** Whether the worker holding it may take it again (and must release it as often). */
  reentrant: boolean;
}

const LOCK: LockKind = { name: "Lock", article: "a Lock", bytes: 4, reentrant: false };
const RLOCK: LockKind = { name: "RLock", article: "an RLock", bytes: 8, reentrant: true };

const WORD = 0;
const DEPTH = 1; // RLock only

const revival = new Revival<SharedRegion>();

/**
 * Lock and RLock: a mutex-core lock word at i32[0] of their region, tracked for
 * dead-owner recovery from its first acquire. An RLock also keeps at i32[1] how
 * many times its holder acquired it. Not public: use mp.Lock or mp.RLock.
 */
export abstract class OwnedLock implements ConditionLock {
  readonly #kind: LockKind;
  readonly #region: SharedRegion;
  readonly #words: Int32Array;
  #tracked = false;

  protected constructor(kind: LockKind) {
    this.#kind = kind;
    this.#region = revival.take() ?? SharedRegion.create(kind.bytes);
    this.#words = this.#region.int32(0, kind.bytes >> 2);
  }

  /** @internal Rebuilds a lock over an existing region (wire reviver). */
  static fromRegion<T extends OwnedLock>(this: new () => T, region: SharedRegion): T {
    return revival.run(region, () => new this());
  }

  /** Records a fresh take; `depth` is what an RLock's holder now owes in release() calls. */
  #took(depth = 1): true {
    if (this.#kind.reentrant) this.#words[DEPTH] = depth;
    if (!this.#tracked) {
      this.#tracked = true;
      trackLock(this, this.#region.buffer);
    }
    return true;
  }

  /** An RLock already held by this worker is taken again at once. */
  #reentered(owner: number): boolean {
    if (!this.#kind.reentrant || !isHeldBy(this.#words, WORD, owner)) return false;
    this.#words[DEPTH]++;
    return true;
  }

  /**
   * Takes the lock (an RLock: again, if this worker holds it); resolves false if
   * `timeout` ms pass, or `block` is false, while another holds it.
   */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      const deadline = acquireDeadline(options);
      const owner = ownerId();
      if (tryLock(this.#words, WORD, owner)) return Promise.resolve(this.#took());
      if (this.#reentered(owner)) return Promise.resolve(true);
      return runAsync(lockSlow(this.#words, WORD, owner, deadline, this.#kind.article)).then((r) => r === "acquired" && this.#took());
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like acquire(), blocking the calling thread. */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = acquireDeadline(options);
    const owner = ownerId();
    if (tryLock(this.#words, WORD, owner)) return this.#took();
    if (this.#reentered(owner)) return true;
    // Unlike acquire(), no other task of this worker can run to release it.
    if (deadline === undefined && isHeldBy(this.#words, WORD, owner)) throw deadlockError(this.#kind.name);
    return runSync(lockSlow(this.#words, WORD, owner, deadline, this.#kind.article)) === "acquired" && this.#took();
  }

  /** Releases the lock (an RLock: one level; it is free once every acquire is matched). Throws if this worker does not hold it. */
  release(): void {
    if (!this[kIsOwned]()) throw notHeldError(this.#kind.name, this.#words);
    if (this.#kind.reentrant && --this.#words[DEPTH] > 0) return;
    this.#unlock();
  }

  /** Runs `fn` holding the lock (Python's `with lock:`); releases it even if `fn` throws. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this, fn);
  }

  [kIsOwned](): boolean {
    return isHeldBy(this.#words, WORD, ownerId());
  }

  [kReleaseSave](): number {
    if (!this[kIsOwned]()) throw notHeldError(this.#kind.name, this.#words);
    const depth = this.#kind.reentrant ? this.#words[DEPTH] : 1;
    this.#unlock();
    return depth;
  }

  *[kRestore](depth: number): Waiting<void> {
    const owner = ownerId();
    if (!tryLock(this.#words, WORD, owner)) yield* lockSlow(this.#words, WORD, owner, undefined, this.#kind.article);
    this.#took(depth);
  }

  /** Frees the lock completely (the caller holds it). */
  #unlock(): void {
    if (this.#kind.reentrant) this.#words[DEPTH] = 0;
    unlock(this.#words, WORD);
  }

  [kWire](): WireForm {
    return { type: `multiproc.${this.#kind.name}`, state: this.#region.handle() };
  }

  get [Symbol.toStringTag](): string {
    return this.#kind.name;
  }
}

/**
 * A non-recursive lock shared between workers (Python's `multiprocessing.Lock`).
 * @example
 * const lock = new mp.Lock();
 * await lock.withLock(() => console.log("one at a time"));
 */
export class Lock extends OwnedLock {
  constructor() {
    super(LOCK);
  }
}

/**
 * A re-entrant lock (Python's `multiprocessing.RLock`): the worker holding it may
 * acquire it again, and must release it as many times.
 */
export class RLock extends OwnedLock {
  constructor() {
    super(RLOCK);
  }
}

registerWireType("multiproc.Lock", (state) => Lock.fromRegion(SharedRegion.open(state as RegionHandle)));
registerWireType("multiproc.RLock", (state) => RLock.fromRegion(SharedRegion.open(state as RegionHandle)));
