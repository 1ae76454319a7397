/**
 * The one wait/notify core every primitive is built on.
 *
 * Thread context: Atomics.wait (blocks the calling thread) and Atomics.waitAsync
 * (a Promise, no timers, no polling). Process context: the kernel futex through
 * the native addon (futexWaitCore), because V8's Atomics.wait/notify never cross
 * an OS process. `waitCore` picks one per view: futex for views over OS shared
 * memory (shm.ts), Atomics for everything else.
 *
 * A pending Atomics.waitAsync does not keep Node's event loop alive, so a program
 * whose only work is such a wait would exit. While any async wait is pending we
 * hold one ref'd interval handle, and unref it when none is.
 */

export type WaitResult = "ok" | "not-equal" | "timed-out";

export interface WaitCore {
  /** Blocks while `view[index] === expected`, up to `timeout` ms (undefined: forever). */
  waitSync(view: Int32Array, index: number, expected: number, timeout?: number): WaitResult;
  /** Resolves once `view[index]` is notified, no longer `expected`, or `timeout` ms pass. */
  waitAsync(view: Int32Array, index: number, expected: number, timeout?: number): Promise<WaitResult>;
  /** Wakes up to `count` waiters on `view[index]` (all when omitted); returns how many woke. */
  notify(view: Int32Array, index: number, count?: number): number;
}

import { native } from "../util/native.ts";
import { osSharedBuffers, osSharedInUse } from "./shm.ts";

let pendingAsyncWaits = 0;
let keepAlive: NodeJS.Timeout | undefined;

function holdEventLoop(): void {
  if (pendingAsyncWaits++ === 0) {
    if (keepAlive) keepAlive.ref();
    else keepAlive = setInterval(() => {}, 1 << 30);
  }
}

function releaseEventLoop(): void {
  if (--pendingAsyncWaits === 0) keepAlive?.unref();
}

function toAtomicsTimeout(timeout: number | undefined): number {
  return timeout === undefined || timeout === null ? Infinity : Math.max(0, timeout);
}

/**
 * How many times waitSync re-reads the word before it sleeps. A futex sleep and
 * wake-up costs tens of microseconds on this kind of machine (about 45 µs per
 * Event ping-pong between two workers); when the other side answers within a
 * few microseconds, a short look first avoids the sleep altogether (0.2 µs per
 * ping-pong, Pipe round trips from 50 to 4 µs, measured with `npm run bench`).
 * The spin is bounded (a few microseconds at most, then a real sleep), so a
 * thread that waits long still uses no CPU: this is not polling.
 */
const SPIN_BEFORE_SLEEP = 4096;

/** Whether `view[index]` stops being `expected` within the bounded look before a sleep. */
function changesSoon(view: Int32Array, index: number, expected: number): boolean {
  for (let i = 0; i < SPIN_BEFORE_SLEEP; i++) {
    if (Atomics.load(view, index) !== expected) return true;
  }
  return false;
}

export const atomicsWaitCore: WaitCore = {
  waitSync(view, index, expected, timeout) {
    if (changesSoon(view, index, expected)) return "not-equal";
    return Atomics.wait(view, index, expected, toAtomicsTimeout(timeout));
  },

  waitAsync(view, index, expected, timeout) {
    const waiting = Atomics.waitAsync(view, index, expected, toAtomicsTimeout(timeout));
    if (!waiting.async) return Promise.resolve(waiting.value);
    holdEventLoop();
    return waiting.value.then(
      (result) => {
        releaseEventLoop();
        return result;
      },
      (error: unknown) => {
        releaseEventLoop();
        throw error;
      },
    );
  },

  notify(view, index, count) {
    return Atomics.notify(view, index, count);
  },
};

/**
 * Futex wait/wake: the same contract as atomicsWaitCore, across OS processes when
 * the view is over OS shared memory. The async wait sleeps in a native thread and
 * holds its own ref'd handle, so it needs no keep-alive here.
 */
export const futexWaitCore: WaitCore = {
  waitSync(view, index, expected, timeout) {
    if (changesSoon(view, index, expected)) return "not-equal";
    return native().futexWait(view, index, expected, timeout ?? undefined);
  },

  waitAsync(view, index, expected, timeout) {
    return native().futexWaitAsync(view, index, expected, timeout ?? undefined);
  },

  notify(view, index, count) {
    return native().futexWake(view, index, count);
  },
};

/**
 * The wait core every primitive uses: futex for views over OS shared memory,
 * Atomics otherwise. Until this thread touches OS shared memory, one boolean test
 * decides (measured: no difference from calling atomicsWaitCore directly).
 */
function isOsShared(view: Int32Array): boolean {
  return osSharedInUse && osSharedBuffers.has(view.buffer as SharedArrayBuffer);
}

export const waitCore: WaitCore = {
  waitSync(view, index, expected, timeout) {
    if (isOsShared(view)) return futexWaitCore.waitSync(view, index, expected, timeout);
    return atomicsWaitCore.waitSync(view, index, expected, timeout);
  },

  waitAsync(view, index, expected, timeout) {
    if (isOsShared(view)) return futexWaitCore.waitAsync(view, index, expected, timeout);
    return atomicsWaitCore.waitAsync(view, index, expected, timeout);
  },

  notify(view, index, count) {
    if (isOsShared(view)) return futexWaitCore.notify(view, index, count);
    return Atomics.notify(view, index, count);
  },
};

/** Milliseconds left until `deadline` (a performance.now() value); undefined means no deadline. */
export function remaining(deadline: number | undefined): number | undefined {
  return deadline === undefined ? undefined : Math.max(0, deadline - performance.now());
}

/** The deadline for a timeout in ms; undefined (or Infinity) means none. */
export function deadlineOf(timeout: number | undefined | null): number | undefined {
  return timeout === undefined || timeout === null || timeout === Infinity ? undefined : performance.now() + Math.max(0, timeout);
}
