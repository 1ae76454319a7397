/** Waiting on a state the test cannot be told about by an event (a pool's readiness, a file appearing). */

/**
 * Resolves once `predicate()` is true, checking every few ms; rejects with
 * `what` after `timeout` ms (a safety net, far above what the state takes to arrive).
 */
export async function waitUntil(predicate: () => boolean, what: string, timeout = 30_000): Promise<void> {
  const deadline = performance.now() + timeout;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeout} ms waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Resolves with `promise`'s value, or with `onTimeout` after `ms` (a safety net: a test that would wait for ever fails instead). */
export function within<T, U>(promise: Promise<T>, ms: number, onTimeout: U): Promise<T | U> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<U>((resolve) => {
    timer = setTimeout(() => resolve(onTimeout), ms);
  });
  return Promise.race([promise, guard]).finally(() => clearTimeout(timer));
}
