/** `withLock(fn)` of every primitive that can be held: Python's `with lock:` block. */

/** Anything with an acquire()/release() pair (Lock, RLock, Semaphore, a Condition's lock). */
export interface Holdable {
  acquire(): Promise<boolean>;
  release(): void;
}

/** Runs `fn` holding `lock`, releasing it even when `fn` throws. */
export async function withHeld<R>(lock: Holdable, fn: () => R | Promise<R>): Promise<R> {
  if (typeof fn !== "function") throw new TypeError(`Expected withLock's argument to be a function, got ${typeof fn}`);
  await lock.acquire();
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
