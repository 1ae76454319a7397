/**
 * A FIFO of waiting calls, for the manager's blocking methods (lock acquire,
 * queue get, event wait...). Each wait ends one way: woken (with a value), timed
 * out, or dropped because its caller's connection closed.
 */
import type { Caller } from "../caller.ts";

export const TIMED_OUT = Symbol("timed out");
export const CALLER_GONE = Symbol("caller gone");
export type WaitEnd<T> = T | typeof TIMED_OUT | typeof CALLER_GONE;

interface Waiter<T> {
  caller: Caller;
  finish(result: WaitEnd<T>): void;
}

export class WaitList<T = true> {
  readonly #waiters: Waiter<T>[] = [];

  get size(): number {
    return this.#waiters.length;
  }

  /** Waits until woken, `timeout` ms pass (undefined: no limit), or the caller goes away. */
  wait(caller: Caller, timeout?: number | null): Promise<WaitEnd<T>> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      let cancelClose = (): void => {};
      const waiter: Waiter<T> = {
        caller,
        finish: (result) => {
          if (timer) clearTimeout(timer);
          cancelClose();
          resolve(result);
        },
      };
      const leave = (result: WaitEnd<T>): void => {
        const index = this.#waiters.indexOf(waiter);
        if (index < 0) return;
        this.#waiters.splice(index, 1);
        waiter.finish(result);
      };
      this.#waiters.push(waiter);
      cancelClose = caller.onClose(() => leave(CALLER_GONE));
      if (timeout !== undefined && timeout !== null && timeout !== Infinity) {
        timer = setTimeout(() => leave(TIMED_OUT), Math.max(0, timeout));
      }
    });
  }

  /** Wakes the oldest waiter with `value`; returns its caller, or null when none waits. */
  wakeOne(value: T): Caller | null {
    const waiter = this.#waiters.shift();
    if (!waiter) return null;
    waiter.finish(value);
    return waiter.caller;
  }

  /** Wakes every waiter; returns how many woke. */
  wakeAll(value: T): number {
    const count = this.#waiters.length;
    while (this.#waiters.length > 0) this.wakeOne(value);
    return count;
  }
}

/** Validates a `timeout` (ms) given to a manager method. */
export function checkTimeout(timeout: unknown): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(`Expected \`timeout\` to be a number of milliseconds, got ${typeof timeout}`);
  }
  return timeout;
}

/** Reads `{ block, timeout }` as a local acquire/get/put does. */
export function blockingOptions(options: unknown): { block: boolean; timeout: number | undefined } {
  if (options === undefined || options === null) return { block: true, timeout: undefined };
  if (typeof options !== "object") throw new TypeError(`Expected options to be { block?, timeout? }, got ${typeof options}`);
  const { block = true, timeout } = options as { block?: unknown; timeout?: unknown };
  return { block: Boolean(block), timeout: checkTimeout(timeout) };
}
