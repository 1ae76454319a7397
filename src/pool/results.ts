/**
 * What pool calls return (CPython's ApplyResult, MapResult, IMapIterator), and
 * the sinks through which the scheduler fills them.
 *
 * An AsyncResult makes its Promise only when someone asks for it (get, wait,
 * then): a failed task that nobody looks at then never becomes an unhandled
 * rejection, as in Python, where an error stays inside its result until get().
 */
import { TimeoutError } from "../errors.ts";
import { getLogger } from "../util/logger.ts";
import type { JobSink } from "./scheduler.ts";

const enum State {
  Pending,
  Fulfilled,
  Rejected,
}

export interface ResultCallbacks<R> {
  callback?: ((result: R) => void) | undefined;
  errorCallback?: ((error: Error) => void) | undefined;
}

/** Runs a user callback; an exception in it goes to mp.getLogger() and does not disturb the pool. */
function runCallback<T>(fn: (value: T) => void, value: T): void {
  try {
    fn(value);
  } catch (error) {
    getLogger().error(`A pool callback threw: ${(error as Error)?.stack ?? String(error)}`);
  }
}

export function validateTimeout(timeout: unknown, name = "timeout"): number | undefined {
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    // As every other check: the wrong type is a TypeError, a number out of range a RangeError.
    const ErrorClass = typeof timeout === "number" ? RangeError : TypeError;
    throw new ErrorClass(`Expected \`${name}\` to be a number of milliseconds >= 0, got \`${String(timeout)}\` (${typeof timeout})`);
  }
  return timeout;
}

let settleResult!: (result: AsyncResult<unknown>, ok: boolean, value: unknown) => void;

/**
 * The result of applyAsync/mapAsync/starmapAsync (Python's `AsyncResult`). It is
 * also PromiseLike: `await pool.applyAsync(fn, args)` gives the result.
 */
export class AsyncResult<R> implements PromiseLike<R> {
  #state = State.Pending;
  #value: unknown;
  #promise: Promise<R> | undefined;
  #resolve: ((value: R) => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;
  #callbacks: ResultCallbacks<R> | undefined;

  static {
    settleResult = (result, ok, value) => result.#settle(ok, value);
  }

  /** Made by the pool; not meant to be constructed by users. */
  constructor(callbacks?: ResultCallbacks<R>) {
    this.#callbacks = callbacks;
  }

  #settle(ok: boolean, value: unknown): void {
    if (this.#state !== State.Pending) return;
    this.#state = ok ? State.Fulfilled : State.Rejected;
    this.#value = value;
    const callbacks = this.#callbacks;
    this.#callbacks = undefined;
    // As in CPython, the callback runs before waiters see the result.
    if (ok && callbacks?.callback) runCallback(callbacks.callback, value as R);
    if (!ok && callbacks?.errorCallback) runCallback(callbacks.errorCallback, value as Error);
    if (ok) this.#resolve?.(value as R);
    else this.#reject?.(value);
    this.#resolve = this.#reject = undefined;
  }

  #getPromise(): Promise<R> {
    if (!this.#promise) {
      if (this.#state === State.Fulfilled) this.#promise = Promise.resolve(this.#value as R);
      else if (this.#state === State.Rejected) this.#promise = Promise.reject(this.#value);
      else {
        this.#promise = new Promise<R>((resolve, reject) => {
          this.#resolve = resolve;
          this.#reject = reject;
        });
      }
    }
    return this.#promise;
  }

  /**
   * The result once it arrives (Python's `get`). Rejects with the task's error, or
   * with mp.TimeoutError when `timeout` ms pass first (the task goes on).
   */
  get(timeout?: number): Promise<R> {
    let ms: number | undefined;
    try {
      ms = validateTimeout(timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    const promise = this.#getPromise();
    if (ms === undefined || this.#state !== State.Pending) return promise;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new TimeoutError(`No result within ${ms} ms (the task goes on; call get() again to keep waiting)`, { timeout: ms }));
      }, ms);
      promise.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /** Waits until the result is ready or `timeout` ms pass (Python's `wait`); never rejects. */
  wait(timeout?: number): Promise<void> {
    const ms = validateTimeout(timeout);
    if (this.#state !== State.Pending) return Promise.resolve();
    const settled = this.#getPromise().then(
      () => undefined,
      () => undefined,
    );
    if (ms === undefined) return settled;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      void settled.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Whether the call has completed (Python's `ready`). */
  ready(): boolean {
    return this.#state !== State.Pending;
  }

  /**
   * Whether the call completed without an error (Python's `successful`).
   * @throws Error when the result is not ready yet (Python's ValueError).
   */
  successful(): boolean {
    if (this.#state === State.Pending) {
      throw new Error("The result is not ready yet: call successful() after ready() returns true or after wait()");
    }
    return this.#state === State.Fulfilled;
  }

  then<T1 = R, T2 = never>(
    onFulfilled?: ((value: R) => T1 | PromiseLike<T1>) | null,
    onRejected?: ((reason: unknown) => T2 | PromiseLike<T2>) | null,
  ): Promise<T1 | T2> {
    return this.#getPromise().then(onFulfilled, onRejected);
  }

  get [Symbol.toStringTag](): string {
    return "AsyncResult";
  }
}

/** Settles an AsyncResult from inside the library. */
export function settle<R>(result: AsyncResult<R>, ok: boolean, value: unknown): void {
  settleResult(result as AsyncResult<unknown>, ok, value);
}

// ------------------------------------------------------------------ job sinks

/** apply/applyAsync: one chunk of one call. */
export class ApplySink<R> implements JobSink {
  readonly result: AsyncResult<R>;
  constructor(callbacks?: ResultCallbacks<R>) {
    this.result = new AsyncResult<R>(callbacks);
  }
  chunkDone(_chunk: number, values: unknown[]): void {
    settle(this.result, true, values[0]);
  }
  chunkFailed(_chunk: number, error: unknown): void {
    settle(this.result, false, error);
  }
  abort(error: unknown): void {
    settle(this.result, false, error);
  }
}

/**
 * apply: one chunk of one call, straight into the Promise apply returns. No AsyncResult:
 * apply's caller only awaits, and with 20,000 calls pending (W1) every object a call
 * keeps alive is copied by each young-generation GC until it settles.
 */
export class PromiseSink<R> implements JobSink {
  readonly promise: Promise<R>;
  #resolve!: (value: R) => void;
  #reject!: (error: unknown) => void;
  constructor() {
    this.promise = new Promise<R>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
  }
  chunkDone(_chunk: number, values: unknown[]): void {
    this.#resolve(values[0] as R);
  }
  chunkFailed(_chunk: number, error: unknown): void {
    this.#reject(error);
  }
  abort(error: unknown): void {
    this.#reject(error);
  }
}

/**
 * map/starmap (and their Async forms): fills one array chunk by chunk. The
 * result rejects at the first error, but, as in CPython (bpo-23992,
 * test_map_no_failfast), the call's other tasks still run: a map's side
 * effects do not depend on when its first error happened, and close() + join()
 * wait for them. Only abort (terminate, a signal, a start-up failure) drops them.
 */
/**
 * `onProgress(done, total)` of the map and imap calls (multiproc's own): items with a result so far,
 * and how many the input has (undefined for an imap over an input that is not an array). A hook that
 * throws fails the call with its error.
 */
export type ProgressHook = (done: number, total: number | undefined) => void;

export class MapSink<R> implements JobSink {
  readonly result: AsyncResult<R[]>;
  #values: R[] = [];
  #chunkSize = 1;
  #left = -1;
  readonly #onProgress: ProgressHook | undefined;
  #done = 0;

  constructor(callbacks?: ResultCallbacks<R[]>, onProgress?: ProgressHook) {
    this.result = new AsyncResult<R[]>(callbacks);
    this.#onProgress = onProgress;
  }

  /** Sets the input's shape once it is known; an empty input completes at once. */
  setShape(length: number, chunkSize: number, chunks: number): void {
    this.#values = new Array<R>(length);
    this.#chunkSize = chunkSize;
    this.#left = chunks;
    if (chunks === 0) settle(this.result, true, this.#values);
  }

  chunkDone(chunk: number, values: unknown[]): void {
    if (this.result.ready()) return;
    const base = chunk * this.#chunkSize;
    const out = this.#values;
    for (let i = 0; i < values.length; i++) out[base + i] = values[i] as R;
    if (this.#onProgress) {
      this.#done += values.length;
      try {
        this.#onProgress(this.#done, out.length);
      } catch (error) {
        this.abort(error);
        return;
      }
    }
    if (--this.#left === 0) settle(this.result, true, out);
  }

  chunkFailed(_chunk: number, error: unknown): void {
    this.abort(error);
  }

  /** The scheduler has already dropped the job's queued tasks when this comes from abortJob. */
  abort(error: unknown): void {
    if (this.result.ready()) return;
    this.#values = [];
    settle(this.result, false, error);
  }
}

// ------------------------------------------------------------------ imap

type Entry = { chunk: number; ok: true; values: unknown[] } | { chunk: number; ok: false; error: unknown };

interface Waiter<R> {
  resolve(result: IteratorResult<R, undefined>): void;
  reject(error: unknown): void;
  timer: NodeJS.Timeout | undefined;
}

type Taken<R> = { ok: true; result: IteratorResult<R, undefined> } | { ok: false; error: unknown };

const DONE: IteratorResult<never, undefined> = Object.freeze({ done: true, value: undefined });

export interface IMapHooks {
  /** The consumer has taken everything of this chunk (its window slot is free). */
  consumed(chunk: number): void;
  /** The consumer stopped iterating (break, return()). */
  stop(): void;
}

/**
 * The iterator imap/imapUnordered return (Python's `IMapIterator`): an async
 * iterator whose `next(timeout)` rejects with mp.TimeoutError when nothing
 * arrives in time. A chunk's error is raised at its place, once; iteration may
 * go on after it, as in Python.
 */
export class IMapIterator<R> implements AsyncIterableIterator<R> {
  readonly #ordered: boolean;
  /** ordered: chunk index -> entry; unordered: arrival number -> entry. */
  readonly #entries = new Map<number, Entry>();
  #head = 0;
  #pos = 0;
  #arrivals = 0;
  /** Number of chunks, once the input is exhausted. */
  #length: number | null = null;
  #failure: { error: unknown } | null = null;
  #finished = false;
  #waiters: Waiter<R>[] = [];
  #draining = false;
  #hooks: IMapHooks | undefined;
  /**
   * The entry at #head while it is a chunk of results with more left, for next()'s
   * quick path: a value at hand costs one result object and one resolved promise, not
   * a Map lookup and a wrapper besides (for await takes every item through next()).
   */
  #current: Extract<Entry, { ok: true }> | null = null;

  /** Made by the pool; not meant to be constructed by users. */
  constructor(ordered: boolean) {
    this.#ordered = ordered;
  }

  /** @internal */
  attach(hooks: IMapHooks): void {
    this.#hooks = hooks;
  }

  /** @internal A chunk's results arrived. */
  push(chunk: number, values: unknown[]): void {
    if (this.#finished) return;
    this.#entries.set(this.#ordered ? chunk : this.#arrivals++, { chunk, ok: true, values });
    this.#drain();
  }

  /** @internal A chunk failed. */
  fail(chunk: number, error: unknown): void {
    if (this.#finished) return;
    this.#entries.set(this.#ordered ? chunk : this.#arrivals++, { chunk, ok: false, error });
    this.#drain();
  }

  /** @internal The input is exhausted after `chunks` chunks. */
  setLength(chunks: number): void {
    this.#length = chunks;
    this.#drain();
  }

  /** @internal The whole job failed (terminate, abort): results already here are still delivered. */
  abort(error: unknown): void {
    if (this.#finished || this.#failure) return;
    this.#failure = { error };
    this.#drain();
  }

  #take(): Taken<R> | undefined {
    for (;;) {
      if (this.#finished) return { ok: true, result: DONE };
      const entry = this.#entries.get(this.#head);
      if (!entry) {
        if (this.#length !== null && this.#head >= this.#length) {
          this.#finished = true;
          return { ok: true, result: DONE };
        }
        if (this.#failure) {
          this.#finished = true;
          this.#entries.clear();
          return { ok: false, error: this.#failure.error };
        }
        return undefined;
      }
      if (!entry.ok) {
        this.#advance(entry);
        return { ok: false, error: entry.error };
      }
      const { values } = entry;
      if (this.#pos < values.length) {
        const value = values[this.#pos++] as R;
        if (this.#pos === values.length) this.#advance(entry);
        else this.#current = entry;
        return { ok: true, result: { done: false, value } };
      }
      this.#advance(entry);
    }
  }

  #advance(entry: Entry): void {
    this.#current = null;
    this.#entries.delete(this.#head);
    this.#head++;
    this.#pos = 0;
    this.#hooks?.consumed(entry.chunk);
  }

  /**
   * Hands results to waiting next() calls. Re-entrant calls return at once:
   * taking a result frees a window slot, which reads more input, which may end
   * the input (setLength) and drain again from inside #take; the outer loop
   * re-reads the state after every take, so it sees whatever the inner call would.
   */
  #drain(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#waiters.length > 0) {
        const taken = this.#take();
        if (!taken) return;
        const waiter = this.#waiters.shift()!;
        if (waiter.timer) clearTimeout(waiter.timer);
        if (taken.ok) waiter.resolve(taken.result);
        else waiter.reject(taken.error);
      }
    } finally {
      this.#draining = false;
    }
  }

  /**
   * The next result (Python's `next`). Rejects with the task's error at its
   * place, or with mp.TimeoutError when nothing arrives within `timeout` ms
   * (the result is not lost: the next call gets it).
   */
  next(timeout?: number): Promise<IteratorResult<R, undefined>> {
    const current = this.#current;
    if (current !== null && timeout === undefined && this.#waiters.length === 0) {
      const value = current.values[this.#pos++] as R;
      if (this.#pos === current.values.length) this.#advance(current);
      return Promise.resolve({ done: false, value });
    }
    let ms: number | undefined;
    try {
      ms = validateTimeout(timeout);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#waiters.length === 0) {
      const taken = this.#take();
      if (taken) return taken.ok ? Promise.resolve(taken.result) : Promise.reject(taken.error);
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter<R> = { resolve, reject, timer: undefined };
      if (ms !== undefined) {
        waiter.timer = setTimeout(() => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(new TimeoutError(`No result arrived within ${ms} ms`, { timeout: ms }));
        }, ms);
      }
      this.#waiters.push(waiter);
    });
  }

  /** Stops iterating: the rest of the input is not read and its queued tasks are dropped. */
  return(): Promise<IteratorResult<R, undefined>> {
    if (!this.#finished) {
      this.#finished = true;
      this.#current = null;
      this.#entries.clear();
      for (const waiter of this.#waiters.splice(0)) {
        if (waiter.timer) clearTimeout(waiter.timer);
        waiter.resolve(DONE);
      }
      this.#hooks?.stop();
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  get [Symbol.toStringTag](): string {
    return "IMapIterator";
  }
}
