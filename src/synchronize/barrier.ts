/**
 * Barrier (Python's multiprocessing.Barrier, i.e. threading.Barrier with its
 * state in shared memory). A port of CPython's algorithm over an internal mutex
 * and a broadcast word.
 *
 *   region (20 bytes)
 *   +----------+----------+----------+----------+----------+
 *   | mutex    | seq      | state    | count    | parties  |
 *   +----------+----------+----------+----------+----------+
 *     i32[0]     i32[1]     i32[2]     i32[3]     i32[4]
 *
 *   mutex    lock word of the mutex core (guards state and count)
 *   seq      bumped on every state change; sleepers wait on it (a broadcast)
 *   state    0 filling, 1 draining, -1 resetting, -2 broken (CPython's values)
 *   count    parties inside wait() in this round
 *
 * The last party to arrive runs the action (holding the mutex), then switches to
 * draining; the round's parties leave, and the last one to leave switches back to
 * filling, so a fast party cannot join the next round before the slow ones left.
 */
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { registerWireType, revivalPending, type WireForm } from "../wire/serialize.ts";
import { loadFunction, resolveFunction, type FunctionRef } from "../wire/functions.ts";
import { kWire } from "../symbols.ts";
import { BrokenBarrierError } from "../errors.ts";
import { deadlineOf, remaining, waitCore, type WaitResult } from "../memory/wait.ts";
import { checkTimeout } from "./options.ts";
import { isHeldBy, lockSlow, tryLock, unlock } from "./mutex.ts";
import { ownerId, trackLock } from "./owners.ts";
import { runAsync, runSync, waitOn, type Waiting } from "./waiting.ts";
import { Revival } from "../wire/revival.ts";

const MUTEX = 0;
const SEQ = 1;
const STATE = 2;
const COUNT = 3;
const PARTIES = 4;

const FILLING = 0;
const DRAINING = 1;
const RESETTING = -1;
const BROKEN = -2;

/** Options of `new mp.Barrier(parties, options)`. */
export interface BarrierOptions {
  /** Called by one of the parties (the last to arrive) once per round, before any is released. */
  action?: (() => unknown) | null;
  /** Default timeout of wait(), in ms; undefined waits forever. */
  timeout?: number | null;
}

function brokenError(): BrokenBarrierError {
  return new BrokenBarrierError("The barrier is broken (a party timed out, the barrier was aborted or reset, or the action threw)");
}

const revival = new Revival<{ region: SharedRegion; actionRef: FunctionRef | null; timeout: number | undefined }>();

/**
 * A meeting point for a fixed number of workers (Python's `multiprocessing.Barrier`).
 * @example
 * const barrier = new mp.Barrier(3);
 * const index = await barrier.wait(); // 0..2 once all three arrived
 */
export class Barrier {
  readonly #region: SharedRegion;
  readonly #words: Int32Array;
  readonly #timeout: number | undefined;
  #action: (() => unknown) | null = null;
  #actionRef: FunctionRef | null = null;
  #actionLoading: Promise<void> | null = null;
  #tracked = false;

  constructor(parties: number, options: BarrierOptions = {}) {
    const revived = revival.take();
    if (revived) {
      this.#region = revived.region;
      this.#words = this.#region.int32(0, 5);
      this.#timeout = revived.timeout;
      this.#actionRef = revived.actionRef;
      if (revived.actionRef) {
        const loading = loadFunction(revived.actionRef).then((fn) => {
          this.#action = fn as () => unknown;
          this.#actionLoading = null;
        });
        loading.catch(() => {}); // reported when a wait() needs it
        this.#actionLoading = loading;
        revivalPending(loading); // a worker receiving it as an argument waits for this first

      }
      return;
    }
    if (typeof parties !== "number" || !Number.isInteger(parties) || parties < 1) {
      throw new RangeError(`Expected \`parties\` to be an integer >= 1, got \`${String(parties)}\` (${typeof parties})`);
    }
    if (typeof options !== "object" || options === null) {
      throw new TypeError(`Expected Barrier options to be an object like { action, timeout }, got ${String(options)}`);
    }
    const { action = null, timeout } = options;
    if (action !== null && typeof action !== "function") {
      throw new TypeError(`Expected \`action\` to be a function, got ${typeof action}`);
    }
    this.#timeout = checkTimeout(timeout);
    this.#action = action;
    this.#region = SharedRegion.create(20);
    this.#words = this.#region.int32(0, 5);
    this.#words[PARTIES] = parties;
  }

  /** @internal */
  static fromState(region: SharedRegion, actionRef: FunctionRef | null, timeout: number | undefined): Barrier {
    return revival.run({ region, actionRef, timeout }, () => new Barrier(0));
  }

  /** The number of parties needed to pass the barrier. */
  get parties(): number {
    return this.#words[PARTIES];
  }

  /** How many parties are waiting in the current round (Python's `n_waiting`). */
  get nWaiting(): number {
    return Atomics.load(this.#words, STATE) === FILLING ? Atomics.load(this.#words, COUNT) : 0;
  }

  /** Whether the barrier is broken. */
  get broken(): boolean {
    return Atomics.load(this.#words, STATE) === BROKEN;
  }

  /**
   * Waits until all parties arrived; resolves this party's arrival index (0 to
   * parties - 1). Rejects with mp.BrokenBarrierError if the barrier breaks or the
   * timeout (ms; default: the barrier's) passes, which also breaks it.
   */
  async wait(timeout?: number | null): Promise<number> {
    const deadline = this.#deadline(timeout);
    if (this.#actionLoading) await this.#actionLoading;
    return runAsync(this.#wait(deadline));
  }

  /** Like wait(), blocking the calling thread. */
  waitSync(timeout?: number | null): number {
    const deadline = this.#deadline(timeout);
    if (this.#actionLoading) {
      throw new Error(
        "This Barrier's action is still being loaded in this worker; call `await barrier.wait()` once, or use wait() instead of waitSync()",
      );
    }
    return runSync(this.#wait(deadline));
  }

  /** Puts the barrier back to its initial state; parties waiting now get BrokenBarrierError. */
  reset(): void {
    runSync(this.#lock());
    try {
      const words = this.#words;
      if (words[COUNT] > 0) {
        if (words[STATE] === FILLING || words[STATE] === BROKEN) words[STATE] = RESETTING;
      } else {
        words[STATE] = FILLING;
      }
      this.#broadcast();
    } finally {
      this.#unlock();
    }
  }

  /** Breaks the barrier: current and future wait() calls fail with BrokenBarrierError until reset(). */
  abort(): void {
    runSync(this.#lock());
    try {
      this.#break();
    } finally {
      this.#unlock();
    }
  }

  #deadline(timeout: number | null | undefined): number | undefined {
    const ms = checkTimeout(timeout);
    return deadlineOf(ms ?? this.#timeout);
  }

  *#lock(): Waiting<void> {
    const owner = ownerId();
    if (!tryLock(this.#words, MUTEX, owner)) yield* lockSlow(this.#words, MUTEX, owner, undefined, "a Barrier's internal lock");
    if (!this.#tracked) {
      this.#tracked = true;
      trackLock(this, this.#region.buffer);
    }
  }

  #unlock(): void {
    if (isHeldBy(this.#words, MUTEX, ownerId())) unlock(this.#words, MUTEX);
  }

  #broadcast(): void {
    Atomics.add(this.#words, SEQ, 1);
    waitCore.notify(this.#words, SEQ);
  }

  #break(): void {
    this.#words[STATE] = BROKEN;
    this.#broadcast();
  }

  /** Releases the mutex, sleeps until the next broadcast (or the deadline), retakes it. */
  *#sleep(deadline: number | undefined): Waiting<WaitResult> {
    const seq = Atomics.load(this.#words, SEQ);
    this.#unlock();
    const result = (yield waitOn(this.#words, SEQ, seq, remaining(deadline))) as WaitResult;
    yield* this.#lock();
    return result;
  }

  *#wait(deadline: number | undefined): Waiting<number> {
    const words = this.#words;
    yield* this.#lock();
    try {
      // Block while the previous round drains or a reset completes.
      while (words[STATE] === DRAINING || words[STATE] === RESETTING) yield* this.#sleep(undefined);
      if (words[STATE] < 0) throw brokenError();
      const index = words[COUNT]++;
      try {
        if (index + 1 === words[PARTIES]) {
          try {
            if (this.#action) yield { kind: "settle", value: this.#action() };
            words[STATE] = DRAINING;
            this.#broadcast();
          } catch (error) {
            this.#break();
            throw error;
          }
        } else {
          while (words[STATE] === FILLING) {
            if (remaining(deadline) === 0) {
              this.#break();
              throw brokenError();
            }
            yield* this.#sleep(deadline);
          }
          if (words[STATE] < 0) throw brokenError();
        }
        return index;
      } finally {
        words[COUNT]--;
        if (words[COUNT] === 0 && (words[STATE] === RESETTING || words[STATE] === DRAINING)) {
          words[STATE] = FILLING;
          this.#broadcast();
        }
      }
    } finally {
      this.#unlock();
    }
  }

  [kWire](): WireForm {
    const actionRef = this.#actionRef ?? (this.#action ? resolveFunction(this.#action, [], "the Barrier's `action`") : null);
    return {
      type: "multiproc.Barrier",
      state: { region: this.#region.handle(), actionRef, timeout: this.#timeout ?? null },
    };
  }

  get [Symbol.toStringTag](): string {
    return "Barrier";
  }
}

registerWireType("multiproc.Barrier", (state) => {
  const { region, actionRef, timeout } = state as { region: RegionHandle; actionRef: FunctionRef | null; timeout: number | null };
  return Barrier.fromState(SharedRegion.open(region), actionRef, timeout ?? undefined);
});
