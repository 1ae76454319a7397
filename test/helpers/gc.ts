/**
 * Full garbage collection for leak tests, without `--expose-gc` on the command line
 * (the library passes the parent's execArgv to its workers, and Node refuses V8
 * flags there). Freeing a SharedArrayBuffer's memory is not synchronous with the GC
 * that finds it dead (V8 sweeps backing stores concurrently, and a store shared with
 * other threads lives until each lets go), so `settle` collects and waits a turn of
 * the event loop repeatedly until a condition holds or a deadline passes.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

export const fullGc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** Collects until `done()` holds; returns its last value (false when `ms` passed first). */
export async function settle(done: () => boolean, ms = 10_000): Promise<boolean> {
  const deadline = performance.now() + ms;
  for (;;) {
    if (done()) return true;
    if (performance.now() > deadline) return false;
    fullGc();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
