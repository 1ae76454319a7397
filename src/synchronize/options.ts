/** Option parsing shared by the primitives: `{ block, timeout }` and plain timeouts (ms). */
import { deadlineOf } from "../memory/wait.ts";

/** Options of `acquire()` (Python's `acquire(block=True, timeout=None)`); `timeout` in ms. */
export interface AcquireOptions {
  /** Wait for the lock (true) or return false at once if it is taken. @default true */
  block?: boolean;
  /** Longest wait in milliseconds; undefined/null waits forever, negative counts as 0. */
  timeout?: number | null;
}

function describe(value: unknown): string {
  return `\`${String(value)}\` (${value === null ? "null" : typeof value})`;
}

/** Checks a timeout in ms: a number (NaN rejected) or undefined/null for "no limit". */
export function checkTimeout(timeout: unknown, name = "timeout"): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout)) {
    throw new TypeError(`Expected \`${name}\` to be a number of milliseconds or undefined, got ${describe(timeout)}`);
  }
  return timeout;
}

/**
 * Turns acquire options into a deadline: `undefined` waits forever, `0` (an
 * already-passed deadline) only tries once.
 */
export function acquireDeadline(options: AcquireOptions | undefined): number | undefined {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object") {
    throw new TypeError(`Expected acquire options to be an object like { block, timeout }, got ${describe(options)}`);
  }
  const { block = true, timeout } = options;
  if (typeof block !== "boolean") {
    throw new TypeError(`Expected \`block\` to be a boolean, got ${describe(block)}`);
  }
  const ms = checkTimeout(timeout);
  if (!block) return performance.now(); // Python ignores the timeout of a non-blocking acquire.
  return deadlineOf(ms);
}

/** Deadline of a method that takes its timeout as a plain number. */
export function timeoutDeadline(timeout: unknown): number | undefined {
  return deadlineOf(checkTimeout(timeout));
}
