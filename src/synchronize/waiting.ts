/**
 * One algorithm, two ways to block.
 *
 * Every slow path of the primitives is written once, as a generator that yields
 * "wait on this word" requests. `runSync` answers them with waitCore.waitSync
 * (blocks the thread), `runAsync` with waitCore.waitAsync (a Promise, no timers,
 * no polling). The generators never touch Atomics.wait themselves, so the process
 * context swaps only the region and the wait core.
 */
import { waitCore, type WaitResult } from "../memory/wait.ts";

/** A request to block while `view[index] === expected`, up to `timeout` ms (undefined: no limit). */
export interface WaitRequest {
  kind: "wait";
  view: Int32Array;
  index: number;
  expected: number;
  timeout: number | undefined;
}

/** A value the algorithm needs settled before it goes on (an async barrier action). */
export interface SettleRequest {
  kind: "settle";
  value: unknown;
}

export type Step = WaitRequest | SettleRequest;

/** A blocking algorithm: yields steps, receives a WaitResult (or the settled value) back. */
export type Waiting<T> = Generator<Step, T, unknown>;

export function waitOn(view: Int32Array, index: number, expected: number, timeout: number | undefined): WaitRequest {
  return { kind: "wait", view, index, expected, timeout };
}

/** Runs a blocking algorithm on the calling thread (Atomics.wait). */
export function runSync<T>(algorithm: Waiting<T>): T {
  let step = algorithm.next();
  while (!step.done) {
    const request = step.value;
    if (request.kind === "wait") {
      step = algorithm.next(waitCore.waitSync(request.view, request.index, request.expected, request.timeout));
    } else if (isThenable(request.value)) {
      step = algorithm.throw(
        new TypeError("A callback returned a Promise inside a ...Sync call; use the async form (e.g. `await barrier.wait()`)"),
      );
    } else {
      step = algorithm.next(request.value);
    }
  }
  return step.value;
}

/** Runs a blocking algorithm without blocking the thread (Atomics.waitAsync). */
export async function runAsync<T>(algorithm: Waiting<T>): Promise<T> {
  let step = algorithm.next();
  while (!step.done) {
    const request = step.value;
    let answer: unknown;
    try {
      answer =
        request.kind === "wait"
          ? await waitCore.waitAsync(request.view, request.index, request.expected, request.timeout)
          : await request.value;
    } catch (error) {
      step = algorithm.throw(error);
      continue;
    }
    step = algorithm.next(answer);
  }
  return step.value;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}

export type { WaitResult };
