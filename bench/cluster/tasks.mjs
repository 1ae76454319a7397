/**
 * The cluster bench's task module: the same two functions for multiproc's workers
 * (`--module bench/cluster/tasks.mjs`) and BullMQ's (bullmq-worker.mjs).
 */

/** A small task: one number in, one out. */
export function inc(x) {
  return x + 1;
}

/** A job of many numbers, for BullMQ's side of the map measure (multiproc maps `inc` over chunks itself). */
export function incAll(xs) {
  const out = new Array(xs.length);
  for (let i = 0; i < xs.length; i++) out[i] = xs[i] + 1;
  return out;
}

/** Holds its worker for `ms`, busy (the worker-loss measure kills the worker that runs it). */
export function spin(ms) {
  const end = Date.now() + ms;
  while (Date.now() < end);
  return ms;
}
