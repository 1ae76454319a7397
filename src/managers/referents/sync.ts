/**
 * The synchronization types a SyncManager serves (CPython registers threading's
 * Lock, RLock, Semaphore, BoundedSemaphore, Condition, Event, Barrier). Here they
 * are asynchronous: a waiting call is a pending reply, never a blocked thread, so
 * one server loop serves every client at once.
 *
 * Beyond Python: a lock remembers which client holds it, and when that client's
 * connection closes (it exited or was killed) the lock is released with a
 * warning; a barrier one of whose waiting parties went away breaks, so the
 * others get BrokenBarrierError instead of waiting forever.
 */
import { BrokenBarrierError } from "../../errors.ts";
import { getLogger } from "../../util/logger.ts";
import { currentCaller, type Caller } from "../caller.ts";
import { pythonError } from "./python-errors.ts";
import { blockingOptions, checkTimeout, TIMED_OUT, CALLER_GONE, WaitList } from "./waiters.ts";

/**
 * Watches the client that now holds a lock: if its connection closes while it still
 * holds it (`stillHolds`), `release` runs, with a warning. Returns the cancel function.
 */
function releaseIfHolderGoes(what: string, caller: Caller, stillHolds: () => boolean, release: () => void): () => void {
  return caller.onClose(() => {
    if (!stillHolds()) return;
    getLogger().warning(`manager: released a ${what} held by a client that went away (${caller.peer})`);
    release();
  });
}

/** Python's `threading.Lock` in a manager; any client may release it, as in Python. */
export class ManagedLock {
  #holder: Caller | null = null;
  #cancelWatch = (): void => {};
  readonly #waiters = new WaitList();

  async acquire(options?: unknown): Promise<boolean> {
    const caller = currentCaller();
    const { block, timeout } = blockingOptions(options);
    if (this.#holder === null) {
      this.#take(caller);
      return true;
    }
    if (!block) return false;
    const end = await this.#waiters.wait(caller, timeout);
    return end === true; // release() handed the lock to this waiter
  }

  release(): void {
    if (this.#holder === null) throw pythonError("RuntimeError", "release unlocked lock");
    this.#handOver();
  }

  locked(): boolean {
    return this.#holder !== null;
  }

  #take(caller: Caller): void {
    this.#holder = caller;
    this.#cancelWatch = releaseIfHolderGoes("Lock", caller, () => this.#holder === caller, () => this.#handOver());
  }

  #handOver(): void {
    this.#cancelWatch();
    this.#holder = null;
    const next = this.#waiters.wakeOne(true);
    if (next) this.#take(next);
  }
}

/** Python's `threading.RLock` in a manager: re-entrant for the client (connection) that holds it. */
export class ManagedRLock {
  #holder: Caller | null = null;
  #count = 0;
  #cancelWatch = (): void => {};
  readonly #waiters = new WaitList();

  async acquire(options?: unknown): Promise<boolean> {
    return this.acquireAs(currentCaller(), options);
  }

  /** acquire() for a given caller (a Condition re-taking its lock after a wait). */
  async acquireAs(caller: Caller, options?: unknown, count = 1): Promise<boolean> {
    const { block, timeout } = blockingOptions(options);
    if (this.#holder === caller) {
      this.#count += count;
      return true;
    }
    if (this.#holder === null) {
      this.#take(caller, count);
      return true;
    }
    if (!block) return false;
    for (;;) {
      const end = await this.#waiters.wait(caller, timeout);
      if (end !== true) return false;
      if (this.#holder === null) {
        this.#take(caller, count);
        return true;
      }
    }
  }

  release(): void {
    this.releaseAs(currentCaller());
  }

  releaseAs(caller: Caller): void {
    if (this.#holder !== caller) throw pythonError("RuntimeError", "cannot release un-acquired lock");
    if (--this.#count === 0) this.#free();
  }

  /** Releases every level the caller holds; returns how many (a Condition's wait). */
  releaseAll(caller: Caller): number {
    if (this.#holder !== caller) throw pythonError("RuntimeError", "cannot wait on un-acquired lock");
    const count = this.#count;
    this.#free();
    return count;
  }

  isOwnedBy(caller: Caller): boolean {
    return this.#holder === caller;
  }

  locked(): boolean {
    return this.#holder !== null;
  }

  #take(caller: Caller, count: number): void {
    this.#holder = caller;
    this.#count = count;
    this.#cancelWatch = releaseIfHolderGoes("RLock", caller, () => this.#holder === caller, () => this.#free());
  }

  #free(): void {
    this.#cancelWatch();
    this.#holder = null;
    this.#count = 0;
    this.#waiters.wakeOne(true);
  }
}

function checkValue(value: unknown): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new RangeError(`Expected a semaphore's initial value to be an integer >= 0, got ${String(value)}`);
  }
  return value;
}

/** Python's `threading.Semaphore` in a manager. */
export class ManagedSemaphore {
  protected value: number;
  readonly #waiters = new WaitList();

  constructor(value: unknown = 1) {
    this.value = checkValue(value);
  }

  async acquire(options?: unknown): Promise<boolean> {
    const caller = currentCaller();
    const { block, timeout } = blockingOptions(options);
    if (this.value > 0 && this.#waiters.size === 0) {
      this.value--;
      return true;
    }
    if (!block) return false;
    return (await this.#waiters.wait(caller, timeout)) === true;
  }

  release(n: unknown = 1): void {
    const count = checkValue(n);
    for (let i = 0; i < count; i++) {
      // A waiter takes the released unit directly; otherwise it is banked.
      if (!this.#waiters.wakeOne(true)) this.value++;
    }
  }

  getValue(): number {
    return this.value;
  }
}

/** Python's `threading.BoundedSemaphore`: releasing above the initial value is a ValueError. */
export class ManagedBoundedSemaphore extends ManagedSemaphore {
  readonly #bound: number;

  constructor(value: unknown = 1) {
    super(value);
    this.#bound = this.value;
  }

  override release(n: unknown = 1): void {
    if (this.value + checkValue(n) > this.#bound) throw pythonError("ValueError", "Semaphore released too many times");
    super.release(n);
  }
}

/** Python's `threading.Event` in a manager. */
export class ManagedEvent {
  #flag = false;
  readonly #waiters = new WaitList();

  set(): void {
    this.#flag = true;
    this.#waiters.wakeAll(true);
  }
  clear(): void {
    this.#flag = false;
  }
  isSet(): boolean {
    return this.#flag;
  }
  async wait(timeout?: unknown): Promise<boolean> {
    const caller = currentCaller();
    if (this.#flag) return true;
    const end = await this.#waiters.wait(caller, checkTimeout(timeout));
    return end === true || this.#flag;
  }
}

/** Python's `threading.Condition` in a manager, over its own RLock. */
export class ManagedCondition {
  readonly #lock = new ManagedRLock();
  readonly #waiters = new WaitList();

  acquire(options?: unknown): Promise<boolean> {
    return this.#lock.acquireAs(currentCaller(), options);
  }
  release(): void {
    this.#lock.releaseAs(currentCaller());
  }
  locked(): boolean {
    return this.#lock.locked();
  }
  async wait(timeout?: unknown): Promise<boolean> {
    const caller = currentCaller();
    const ms = checkTimeout(timeout);
    const levels = this.#lock.releaseAll(caller);
    const end = await this.#waiters.wait(caller, ms);
    if (end === CALLER_GONE) return false;
    await this.#lock.acquireAs(caller, undefined, levels);
    return end === true;
  }
  notify(n: unknown = 1): void {
    if (!this.#lock.isOwnedBy(currentCaller())) throw pythonError("RuntimeError", "cannot notify on un-acquired lock");
    const count = typeof n === "number" && n >= 0 ? n : 1;
    for (let i = 0; i < count && this.#waiters.wakeOne(true); i++);
  }
  notifyAll(): void {
    if (!this.#lock.isOwnedBy(currentCaller())) throw pythonError("RuntimeError", "cannot notify on un-acquired lock");
    this.#waiters.wakeAll(true);
  }
}

type BarrierEnd = { index: number } | "broken";

/** Python's `threading.Barrier` in a manager (no `action`: a manager never runs code it was sent). */
export class ManagedBarrier {
  readonly #parties: number;
  readonly #timeout: number | undefined;
  #waiting = new WaitList<BarrierEnd>();
  #broken = false;

  constructor(parties: unknown, options?: { timeout?: unknown; action?: unknown }) {
    if (typeof parties !== "number" || !Number.isInteger(parties) || parties < 1) {
      throw new RangeError(`Expected \`parties\` to be an integer >= 1, got ${String(parties)}`);
    }
    this.#parties = parties;
    this.#timeout = checkTimeout(options?.timeout);
  }

  async wait(timeout?: unknown): Promise<number> {
    const caller = currentCaller();
    if (this.#broken) throw new BrokenBarrierError("the barrier is broken");
    const index = this.#waiting.size;
    if (index + 1 === this.#parties) {
      const waiting = this.#waiting;
      this.#waiting = new WaitList();
      for (let i = 0; waiting.size > 0; i++) waiting.wakeOne({ index: i });
      return index;
    }
    const end = await this.#waiting.wait(caller, checkTimeout(timeout) ?? this.#timeout);
    if (end === TIMED_OUT || end === CALLER_GONE) this.#break();
    if (typeof end === "object") return end.index;
    throw new BrokenBarrierError(end === TIMED_OUT ? "the barrier's wait timed out, so it broke" : "the barrier is broken");
  }

  reset(): void {
    const waiting = this.#waiting;
    this.#waiting = new WaitList();
    waiting.wakeAll("broken");
    this.#broken = false;
  }

  abort(): void {
    this.#break();
  }

  parties(): number {
    return this.#parties;
  }
  nWaiting(): number {
    return this.#waiting.size;
  }
  broken(): boolean {
    return this.#broken;
  }

  #break(): void {
    this.#broken = true;
    this.#waiting.wakeAll("broken");
  }
}
