/**
 * Condition (Python's multiprocessing.Condition) over a Lock or RLock.
 *
 *   region (12 bytes)                       + the lock's own region
 *   +----------+-----------+-----------+
 *   | seq      | waiters   | signals   |
 *   +----------+-----------+-----------+
 *     i32[0]     i32[1]      i32[2]
 *
 *   seq      bumped by every notify; waiters sleep on it
 *   waiters  workers inside wait() (changed only while holding the lock)
 *   signals  wake-ups granted by notify and not yet taken (<= waiters)
 *
 * wait() counts itself in `waiters`, reads `seq`, releases the lock and sleeps
 * while `seq` is unchanged. notify(n) (lock held) grants k = min(n, waiters -
 * signals) signals, bumps `seq` and wakes k sleepers. A woken waiter retakes the
 * lock, and returns true only if it can take a signal; otherwise it sleeps again.
 * So notify(n) makes at most n waiters return true, with no lost wake-ups: a
 * waiter that released the lock but is not asleep yet sees `seq` changed and does
 * not sleep. Which waiters get the signals is not FIFO (a waiter that arrived
 * after the notify may take one).
 */
import { LockStateError } from "../errors.ts";
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { registerWireType, type WireForm } from "../wire/serialize.ts";
import { kWire } from "../symbols.ts";
import { remaining, waitCore, type WaitResult } from "../memory/wait.ts";
import { timeoutDeadline, type AcquireOptions } from "./options.ts";
import { kIsOwned, kReleaseSave, kRestore, Lock, RLock, type ConditionLock } from "./lock.ts";
import { runAsync, runSync, waitOn, type Waiting } from "./waiting.ts";
import { withHeld } from "./with-held.ts";
import { Revival } from "../wire/revival.ts";

const SEQ = 0;
const WAITERS = 1;
const SIGNALS = 2;

function notOwnedError(what: string): Error {
  return new LockStateError(
    `Cannot ${what} an un-acquired Condition: acquire it first (await cond.acquire(), or cond.withLock(...))`,
    { code: "ERR_MP_LOCK_NOT_HELD" },
  );
}

function* waitSignal(words: Int32Array, lock: ConditionLock, deadline: number | undefined): Waiting<boolean> {
  Atomics.add(words, WAITERS, 1);
  let seq = Atomics.load(words, SEQ);
  let saved = lock[kReleaseSave]();
  for (;;) {
    const result = (yield waitOn(words, SEQ, seq, remaining(deadline))) as WaitResult;
    yield* lock[kRestore](saved);
    // The lock is held again: the counters are ours to change.
    if (Atomics.load(words, SIGNALS) > 0) {
      Atomics.sub(words, SIGNALS, 1);
      Atomics.sub(words, WAITERS, 1);
      return true;
    }
    if (result === "timed-out" || remaining(deadline) === 0) {
      Atomics.sub(words, WAITERS, 1);
      return false;
    }
    seq = Atomics.load(words, SEQ);
    saved = lock[kReleaseSave]();
  }
}

function* waitPredicate(
  words: Int32Array,
  lock: ConditionLock,
  predicate: () => unknown,
  deadline: number | undefined,
): Waiting<boolean> {
  let result = yield { kind: "settle", value: predicate() };
  while (!result) {
    if (deadline !== undefined && remaining(deadline) === 0) break;
    yield* waitSignal(words, lock, deadline);
    result = yield { kind: "settle", value: predicate() };
  }
  return Boolean(result);
}

const revival = new Revival<{ region: SharedRegion; lock: ConditionLock }>();

/**
 * A condition variable shared between workers (Python's `multiprocessing.Condition`).
 * Uses a new RLock when no lock is given.
 * @example
 * const cond = new mp.Condition();
 * await cond.withLock(async () => { while (!ready()) await cond.wait(); });
 */
export class Condition {
  readonly #region: SharedRegion;
  readonly #words: Int32Array;
  readonly #lock: ConditionLock;

  constructor(lock?: Lock | RLock) {
    const revived = revival.take();
    if (revived) {
      this.#region = revived.region;
      this.#lock = revived.lock;
    } else {
      if (lock !== undefined && lock !== null && !(lock instanceof Lock) && !(lock instanceof RLock)) {
        throw new TypeError(`Expected the Condition's lock to be an mp.Lock or mp.RLock, got ${Object.prototype.toString.call(lock)}`);
      }
      this.#region = SharedRegion.create(12);
      this.#lock = lock ?? new RLock();
    }
    this.#words = this.#region.int32(0, 3);
  }

  /** @internal */
  static fromState(region: SharedRegion, lock: ConditionLock): Condition {
    return revival.run({ region, lock }, () => new Condition());
  }

  /** Acquires the underlying lock. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    return this.#lock.acquire(options);
  }

  /** Like acquire(), blocking the calling thread. */
  acquireSync(options?: AcquireOptions): boolean {
    return this.#lock.acquireSync(options);
  }

  /** Releases the underlying lock. */
  release(): void {
    this.#lock.release();
  }

  /** Runs `fn` holding the lock; releases it even if `fn` throws. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this.#lock, fn);
  }

  /**
   * Releases the lock, waits for a notify (or `timeout` ms), and takes the lock
   * back. Resolves false on timeout. Rejects if the lock is not held.
   */
  wait(timeout?: number | null): Promise<boolean> {
    try {
      const deadline = timeoutDeadline(timeout);
      if (!this.#lock[kIsOwned]()) throw notOwnedError("wait on");
      return runAsync(waitSignal(this.#words, this.#lock, deadline));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like wait(), blocking the calling thread. */
  waitSync(timeout?: number | null): boolean {
    const deadline = timeoutDeadline(timeout);
    if (!this.#lock[kIsOwned]()) throw notOwnedError("wait on");
    return runSync(waitSignal(this.#words, this.#lock, deadline));
  }

  /**
   * Waits until `predicate()` is truthy (checked with the lock held), up to
   * `timeout` ms; resolves the predicate's last result as a boolean.
   */
  waitFor(predicate: () => unknown, timeout?: number | null): Promise<boolean> {
    try {
      if (typeof predicate !== "function") throw new TypeError(`Expected \`predicate\` to be a function, got ${typeof predicate}`);
      const deadline = timeoutDeadline(timeout);
      if (!this.#lock[kIsOwned]()) throw notOwnedError("wait on");
      return runAsync(waitPredicate(this.#words, this.#lock, predicate, deadline));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like waitFor(), blocking the calling thread (the predicate must be synchronous). */
  waitForSync(predicate: () => unknown, timeout?: number | null): boolean {
    if (typeof predicate !== "function") throw new TypeError(`Expected \`predicate\` to be a function, got ${typeof predicate}`);
    const deadline = timeoutDeadline(timeout);
    if (!this.#lock[kIsOwned]()) throw notOwnedError("wait on");
    return runSync(waitPredicate(this.#words, this.#lock, predicate, deadline));
  }

  /** Wakes up to `n` waiters. The lock must be held. */
  notify(n = 1): void {
    if (typeof n !== "number" || Number.isNaN(n) || n < 0) {
      throw new RangeError(`Expected \`n\` to be a number >= 0, got \`${String(n)}\` (${typeof n})`);
    }
    if (!this.#lock[kIsOwned]()) throw notOwnedError("notify");
    const words = this.#words;
    const idle = Atomics.load(words, WAITERS) - Atomics.load(words, SIGNALS);
    const count = Math.min(n, idle);
    if (count <= 0) return;
    Atomics.add(words, SIGNALS, count);
    Atomics.add(words, SEQ, 1);
    waitCore.notify(words, SEQ, count === Infinity ? undefined : count);
  }

  /** Wakes every waiter (Python's `notify_all()`). The lock must be held. */
  notifyAll(): void {
    this.notify(Infinity);
  }

  [kWire](): WireForm {
    return { type: "multiproc.Condition", state: { region: this.#region.handle(), lock: this.#lock } };
  }

  get [Symbol.toStringTag](): string {
    return "Condition";
  }
}

registerWireType("multiproc.Condition", (state) => {
  const { region, lock } = state as { region: RegionHandle; lock: ConditionLock };
  return Condition.fromState(SharedRegion.open(region), lock);
});
