/**
 * mp.transfer(): a task returns its result this way to move (not copy) the
 * listed ArrayBuffers and ports back to the caller, as postMessage's transfer
 * list does. The marker is unwrapped in the worker; the caller sees `value`.
 */
import type { TransferListItem } from "node:worker_threads";
import { kTransfer } from "./symbols.ts";

/** What mp.transfer() returns; only the pool worker looks inside. */
export interface Transfer<T> {
  readonly [kTransfer]: true;
  readonly value: T;
  readonly transferList: readonly TransferListItem[];
}

/**
 * Marks a task's result so the listed buffers and ports move to the caller instead of being copied.
 * Inside the task: `return mp.transfer(bytes, [bytes.buffer])`. The caller receives `bytes`.
 *
 * @throws TypeError when `transferList` is not an array.
 * @example
 * export function render(n: number) { const px = new Uint8Array(n); return mp.transfer(px, [px.buffer]); }
 */
export function transfer<T>(value: T, transferList: readonly TransferListItem[]): T {
  if (!Array.isArray(transferList)) {
    throw new TypeError(`Expected \`transferList\` to be an array of ArrayBuffers or ports, got ${typeof transferList}`);
  }
  const marker: Transfer<T> = { [kTransfer]: true, value, transferList };
  // Typed as T so a task's declared return type stays its value's type.
  return marker as unknown as T;
}

export function isTransfer(value: unknown): value is Transfer<unknown> {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[kTransfer] === true;
}
