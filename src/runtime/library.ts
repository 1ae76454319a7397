/**
 * The whole library in a worker, loaded only when the worker needs it.
 *
 * Every library class registers its wire reviver when index.ts loads, and a worker
 * needs them only to rebuild library objects it receives (a Queue or Lock among a
 * task's arguments). A pool worker given plain data (most of them) starts without
 * Pool, the scheduler, the managers and the rest: about a third less to load per
 * worker (issue 11, cold start). A task module that imports multiproc loads it anyway.
 */
let loading: Promise<unknown> | undefined;

/** Loads index.ts once; await it before decoding anything that may hold library objects. */
export function loadLibrary(): Promise<unknown> {
  return (loading ??= import("./library-revivers.ts"));
}
