/**
 * Semaphore and BoundedSemaphore (Python's multiprocessing.Semaphore /
 * BoundedSemaphore).
 *
 *   region (12 bytes)
 *   +----------+-----------+-----------+
 *   | value    | sleepers  | bound     |
 *   +----------+-----------+-----------+
 *     i32[0]     i32[1]      i32[2]: max value, -1 when unbounded
 *
 * An acquirer takes a unit with a CAS while value > 0. Otherwise it counts itself
 * in `sleepers`, re-checks, and sleeps on `value` expecting 0. release() adds a
 * unit and notifies one sleeper if `sleepers` > 0. With Atomics' sequential
 * consistency, either the acquirer's re-check sees the new unit or the releaser
 * sees the sleeper; Atomics.wait re-checks `value` as it queues, so no wake-up is lost.
 */
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { registerWireType, type WireForm } from "../wire/serialize.ts";
import { kWire } from "../symbols.ts";
import { remaining, waitCore } from "../memory/wait.ts";
import { acquireDeadline, type AcquireOptions } from "./options.ts";
import { runAsync, runSync, waitOn, type Waiting } from "./waiting.ts";
import { withHeld } from "./with-held.ts";
import { Revival } from "../wire/revival.ts";

const VALUE = 0;
const SLEEPERS = 1;
const BOUND = 2;
const MAX_VALUE = 0x7fff_ffff;

function tryDown(words: Int32Array): boolean {
  let value = Atomics.load(words, VALUE);
  while (value > 0) {
    const seen = Atomics.compareExchange(words, VALUE, value, value - 1);
    if (seen === value) return true;
    value = seen;
  }
  return false;
}

function* downSlow(words: Int32Array, deadline: number | undefined): Waiting<boolean> {
  Atomics.add(words, SLEEPERS, 1);
  try {
    for (;;) {
      if (tryDown(words)) return true;
      const left = remaining(deadline);
      if (left === 0) return false;
      yield waitOn(words, VALUE, 0, left);
    }
  } finally {
    Atomics.sub(words, SLEEPERS, 1);
  }
}

function checkInitial(value: unknown): number {
  if (value === undefined) return 1;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > MAX_VALUE) {
    throw new RangeError(`Expected the semaphore's initial \`value\` to be an integer >= 0, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

const revival = new Revival<SharedRegion>();

/**
 * A counter of available units shared between workers (Python's `multiprocessing.Semaphore`).
 * @default value 1
 * @example
 * const slots = new mp.Semaphore(3);
 * await slots.withLock(() => download());
 */
export class Semaphore {
  readonly #region: SharedRegion;
  readonly #words: Int32Array;

  constructor(value?: number) {
    const reviving = revival.take();
    if (reviving) {
      this.#region = reviving;
      this.#words = reviving.int32(0, 3);
      return;
    }
    const initial = checkInitial(value);
    this.#region = SharedRegion.create(12);
    this.#words = this.#region.int32(0, 3);
    this.#words[VALUE] = initial;
    this.#words[BOUND] = this.bounded ? initial : -1;
  }

  /** Whether release() refuses to go above the initial value. */
  protected get bounded(): boolean {
    return false;
  }

  /** @internal */
  static fromRegion(region: SharedRegion): Semaphore {
    const bound = region.int32(0, 3)[BOUND];
    return revival.run(region, () => (bound >= 0 ? new BoundedSemaphore() : new Semaphore()));
  }

  /** Takes one unit; resolves false if `timeout` ms pass (or `block` is false) with none available. */
  acquire(options?: AcquireOptions): Promise<boolean> {
    try {
      const deadline = acquireDeadline(options);
      if (tryDown(this.#words)) return Promise.resolve(true);
      return runAsync(downSlow(this.#words, deadline));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like acquire(), blocking the calling thread. */
  acquireSync(options?: AcquireOptions): boolean {
    const deadline = acquireDeadline(options);
    if (tryDown(this.#words)) return true;
    return runSync(downSlow(this.#words, deadline));
  }

  /** Gives one unit back. A BoundedSemaphore throws a RangeError above its initial value. */
  release(): void {
    const words = this.#words;
    const bound = Atomics.load(words, BOUND);
    let value = Atomics.load(words, VALUE);
    for (;;) {
      if (bound >= 0 ? value >= bound : value >= MAX_VALUE) {
        throw Object.assign(
          new RangeError(
            bound >= 0
              ? `BoundedSemaphore released too many times: its value is already at its initial value ${bound}`
              : "Semaphore released too many times: its value would overflow",
          ),
          { code: "ERR_MP_SEMAPHORE_OVER_RELEASED" },
        );
      }
      const seen = Atomics.compareExchange(words, VALUE, value, value + 1);
      if (seen === value) break;
      value = seen;
    }
    if (Atomics.load(words, SLEEPERS) > 0) waitCore.notify(words, VALUE, 1);
  }

  /** Runs `fn` holding one unit; gives it back even if `fn` throws. */
  withLock<R>(fn: () => R | Promise<R>): Promise<R> {
    return withHeld(this, fn);
  }

  /** The number of available units (Python's `get_value()`). */
  getValue(): number {
    return Atomics.load(this.#words, VALUE);
  }

  [kWire](): WireForm {
    return { type: "multiproc.Semaphore", state: this.#region.handle() };
  }

  get [Symbol.toStringTag](): string {
    return this.bounded ? "BoundedSemaphore" : "Semaphore";
  }
}

/** A Semaphore whose release() throws above the initial value (Python's `BoundedSemaphore`). */
export class BoundedSemaphore extends Semaphore {
  protected override get bounded(): boolean {
    return true;
  }
}

registerWireType("multiproc.Semaphore", (state) => Semaphore.fromRegion(SharedRegion.open(state as RegionHandle)));
