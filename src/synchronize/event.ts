/**
 * Event (Python's multiprocessing.Event).
 *
 *   region (4 bytes)
 *   +----------+
 *   | flag     |  i32[0]: 0 clear, 1 set
 *   +----------+
 *
 * set() stores 1 and wakes everyone sleeping on the flag; waiters sleep while it
 * reads 0 (Atomics.wait re-checks it as they queue, so a set() is never missed).
 */
import { SharedRegion, type RegionHandle } from "../memory/region.ts";
import { registerWireType, type WireForm } from "../wire/serialize.ts";
import { kWire } from "../symbols.ts";
import { remaining, waitCore } from "../memory/wait.ts";
import { timeoutDeadline } from "./options.ts";
import { runAsync, runSync, waitOn, type Waiting } from "./waiting.ts";
import { Revival } from "../wire/revival.ts";

function* waitSet(flag: Int32Array, deadline: number | undefined): Waiting<boolean> {
  for (;;) {
    if (Atomics.load(flag, 0) === 1) return true;
    const left = remaining(deadline);
    if (left === 0) return false;
    yield waitOn(flag, 0, 0, left);
  }
}

const revival = new Revival<SharedRegion>();

/**
 * A flag workers can wait on (Python's `multiprocessing.Event`).
 * @example
 * const ready = new mp.Event();
 * // worker: ready.set();   main: await ready.wait(1000);
 */
export class Event {
  readonly #region: SharedRegion;
  readonly #flag: Int32Array;

  constructor() {
    this.#region = revival.take() ?? SharedRegion.create(4);
    this.#flag = this.#region.int32(0, 1);
  }

  /** @internal */
  static fromRegion(region: SharedRegion): Event {
    return revival.run(region, () => new Event());
  }

  /** Whether the flag is set (Python's `is_set()`). */
  isSet(): boolean {
    return Atomics.load(this.#flag, 0) === 1;
  }

  /** Sets the flag and wakes every waiter. */
  set(): void {
    if (Atomics.exchange(this.#flag, 0, 1) !== 1) waitCore.notify(this.#flag, 0);
  }

  /** Clears the flag. */
  clear(): void {
    Atomics.store(this.#flag, 0, 0);
  }

  /** Resolves true once the flag is set, false if `timeout` ms pass first. */
  wait(timeout?: number | null): Promise<boolean> {
    try {
      const deadline = timeoutDeadline(timeout);
      if (this.isSet()) return Promise.resolve(true);
      return runAsync(waitSet(this.#flag, deadline));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Like wait(), blocking the calling thread. */
  waitSync(timeout?: number | null): boolean {
    const deadline = timeoutDeadline(timeout);
    return runSync(waitSet(this.#flag, deadline));
  }

  [kWire](): WireForm {
    return { type: "multiproc.Event", state: this.#region.handle() };
  }

  get [Symbol.toStringTag](): string {
    return "Event";
  }
}

registerWireType("multiproc.Event", (state) => Event.fromRegion(SharedRegion.open(state as RegionHandle)));
