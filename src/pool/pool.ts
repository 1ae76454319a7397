/**
 * mp.Pool (CPython's multiprocessing.pool.Pool): a fixed set of workers that run
 * function calls for the caller. This file is the API: option checks and turning
 * each call into a job; its engine (the local Scheduler, or the ClusterEngine over Redis) runs the jobs and keeps the pool's state
 * (running, closed, terminated).
 *
 * Lifecycle: RUN --close()--> CLOSE --(queued work done, workers exit)--> joined
 *            RUN/CLOSE --terminate()--> TERMINATE --(workers killed)--> joined
 */
import type { TransferListItem } from "node:worker_threads";
import { PoolStateError } from "../errors.ts";
import type { ResourceLimits, StartMethod } from "../backends/backend.ts";
import { backendFor } from "../backends/index.ts";
import { cpuCount } from "../process.ts";
import { checkNotImporting } from "../process-identity.ts";
import { commonBootstrap, moduleUrls, nextChildIdentity } from "../spawn.ts";
import { resolveStartMethod } from "../start-method.ts";
import { uncloneableError } from "../wire/clone-check.ts";
import { STACK_AT_AWAIT, withAwaitingStack } from "../wire/errors.ts";
import { findSharedMemory, ipcCloneError } from "../wire/ipc-check.ts";
import { resolveFunction } from "../wire/functions.ts";
import type { FunctionRef } from "../wire/functions.ts";
import type { PoolBootstrap } from "../wire/protocol.ts";
import { encodeForWire } from "../wire/serialize.ts";
import { AdaptiveChunkSize, chunkCount, defaultChunkSize, readAheadWindow } from "./chunking.ts";
import { Collector, encodeEntries, enqueueChunk, Feed, isInput, isSyncIterable } from "./feed.ts";
import type { Input } from "./feed.ts";
import { ApplySink, AsyncResult, IMapIterator, MapSink, PromiseSink, validateTimeout } from "./results.ts";
import type { ProgressHook, ResultCallbacks } from "./results.ts";
import { Scheduler } from "./scheduler.ts";
import { ClusterEngine, type ClusterOptions } from "../cluster/engine.ts";
import { checkClusterOptions } from "../cluster/options.ts";
import type { PoolStats } from "./stats.ts";
import type { CallerStack, Job, JobSink } from "./job.ts";
import type { PoolEngine } from "./engine.ts";

/** apply()'s caller: its stack is added where the failure is awaited (withAwaitingStack). */
const AWAITING_CALLER: CallerStack = Object.freeze({ stack: STACK_AT_AWAIT });

function rethrowWithAwaitingStack(error: unknown): never {
  throw withAwaitingStack(error);
}

export interface PoolOptions {
  /** Number of workers. @default mp.cpuCount() */
  processes?: number | null;
  /** Runs once in each worker, before its first task (may be async). */
  initializer?: ((...args: never[]) => unknown) | null;
  /** Arguments of the initializer. @default [] */
  initArgs?: unknown[];
  /** Replace a worker after it ran this many tasks (chunks). @default null: never */
  maxTasksPerChild?: number | null;
  /** The kind of worker. @default "thread" */
  context?: StartMethod;
  /** Modules whose exported functions may be sent by reference; each worker imports them first. */
  modules?: (string | URL)[];
  /** Per-worker memory and stack limits, with Node's names. */
  resourceLimits?: ResourceLimits;
  /**
   * The most workers `processes` may ask for, a guard against a typo that would
   * start a billion threads or processes. Raise it to run more. @default 256
   */
  maxProcesses?: number;
  /**
   * Runs the pool on workers spread over machines, through Redis (API.md, "Beyond one
   * machine"): the same calls, on workers started by `npx multiproc worker`. `processes`
   * then only sizes map's default chunks and imap's read-ahead, as if that many workers
   * ran (default CLUSTER_PLANNED_WORKERS).
   */
  cluster?: ClusterOptions;
}

/** On a cluster, how many workers map's default chunk size and imap's read-ahead plan for when `processes` is not given. */
export const CLUSTER_PLANNED_WORKERS = 16;

/** The default cap on `processes` (see PoolOptions.maxProcesses). */
export const DEFAULT_MAX_PROCESSES = 256;

/** Options of every call that submits work. */
export interface SubmitOptions {
  /** Drops the call's queued tasks and rejects it with `signal.reason`. */
  signal?: AbortSignal;
  /** Per task, in ms from the task's start: an overdue task's worker is killed and replaced, the task rejects with mp.TimeoutError. */
  timeout?: number;
}

export interface ApplyOptions extends SubmitOptions {
  /** ArrayBuffers and ports among the arguments to move to the worker instead of copying them. */
  transfer?: readonly TransferListItem[];
}

export interface ApplyAsyncOptions<R> extends ApplyOptions {
  /** Called in the main thread with the result, before the AsyncResult resolves. */
  callback?: (result: R) => void;
  /** Called in the main thread with the error, before the AsyncResult rejects. */
  errorCallback?: (error: Error) => void;
}

export interface MapOptions extends SubmitOptions {
  /**
   * Items per task. @default map: as CPython (len / (4 * processes), rounded up); imap: 1,
   * as CPython, except on a cluster, where imap's chunks start at 1 and grow towards about
   * 20 ms of work each (at most 1,000 items) as results say how long chunks ran.
   */
  chunkSize?: number;
  /**
   * Called in the main thread as results arrive (a chunk at a time): how many items have
   * a result, and how many the input has (undefined for an imap over a non-array input).
   * multiproc's own; a hook that throws fails the call with its error.
   */
  onProgress?: ProgressHook;
}

export interface MapAsyncOptions<R> extends MapOptions {
  /** Called once in the main thread with the whole list of results. */
  callback?: (results: R[]) => void;
  /** Called in the main thread with the first error. */
  errorCallback?: (error: Error) => void;
}

/** setTimeout's largest delay; longer timeouts mean no timeout. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function describe(value: unknown): string {
  let text: string;
  try {
    text = typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return `\`${text}\` (${value === null ? "null" : typeof value})`;
}

function checkInteger(name: string, value: unknown, min: number): number {
  if (typeof value !== "number") throw new TypeError(`Expected \`${name}\` to be an integer >= ${min}, got ${describe(value)}`);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be an integer >= ${min}, got ${describe(value)}`);
  }
  return value;
}

function checkFunction(name: string, value: unknown): void {
  if (value !== undefined && typeof value !== "function") {
    throw new TypeError(`Expected \`${name}\` to be a function, got ${describe(value)}`);
  }
}

/** The callbacks of an applyAsync/mapAsync call, checked; undefined when it has none. */
function resultCallbacks<R>(options: { callback?: (result: R) => void; errorCallback?: (error: Error) => void } | undefined): ResultCallbacks<R> | undefined {
  if (!options) return undefined;
  checkFunction("callback", options.callback);
  checkFunction("errorCallback", options.errorCallback);
  return options.callback || options.errorCallback ? { callback: options.callback, errorCallback: options.errorCallback } : undefined;
}

function checkResourceLimits(value: unknown): ResourceLimits | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object") throw new TypeError(`Expected \`resourceLimits\` to be an object, got ${describe(value)}`);
  const known = ["maxOldGenerationSizeMb", "maxYoungGenerationSizeMb", "stackSizeMb", "codeRangeSizeMb"];
  for (const [key, limit] of Object.entries(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`Unknown resource limit \`resourceLimits.${key}\`; use one of ${known.map((k) => `\`${k}\``).join(", ")}`);
    }
    if (limit !== undefined && (typeof limit !== "number" || !(limit > 0))) {
      throw new RangeError(`Expected \`resourceLimits.${key}\` to be a number > 0 (megabytes), got ${describe(limit)}`);
    }
  }
  return value as ResourceLimits;
}

function checkSubmitOptions(options: SubmitOptions | undefined): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null) throw new TypeError(`Expected the options to be an object, got ${describe(options)}`);
  const { signal, timeout } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`Expected \`signal\` to be an AbortSignal, got ${describe(signal)}`);
  }
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== "number" || !(timeout > 0)) {
    throw new RangeError(`Expected \`timeout\` to be a number of milliseconds > 0, got ${describe(timeout)}`);
  }
  return timeout > MAX_TIMER_MS ? undefined : timeout;
}

function checkChunkSize(chunkSize: unknown): number | undefined {
  if (chunkSize === undefined || chunkSize === null) return undefined;
  return checkInteger("chunkSize", chunkSize, 1);
}

function checkInput(value: unknown): asserts value is Input<unknown> {
  if (!isInput(value)) throw new TypeError(`Expected \`iterable\` to be an Iterable or AsyncIterable, got ${describe(value)}`);
}

function notRunningError(): Error {
  return new PoolStateError("Pool is not running: it was closed or terminated, so it takes no new tasks", { code: "ERR_MP_POOL_NOT_RUNNING" });
}

function terminatedError(): Error {
  return new PoolStateError("The pool was terminated before this task finished", { code: "ERR_MP_POOL_TERMINATED" });
}

/**
 * A pool of workers (Python's `multiprocessing.Pool`). Workers start when the pool
 * is created; idle workers do not keep the program alive.
 *
 * @throws TypeError/RangeError for an invalid option, naming it.
 * @example
 * await using pool = new mp.Pool(4);
 * console.log(await pool.map(square, [1, 2, 3])); // [1, 4, 9]
 */
export class Pool {
  readonly #processes: number;
  readonly #modules: string[];
  readonly #engine: PoolEngine;
  readonly #refs = new WeakMap<Function, FunctionRef>();

  constructor(options?: number | PoolOptions | null) {
    const opts: PoolOptions = typeof options === "number" ? { processes: options } : (options ?? {});
    if (typeof opts !== "object") {
      throw new TypeError(`Expected the Pool's options to be a number of processes or an object, got ${describe(options)}`);
    }
    if (opts.cluster !== undefined) {
      const cluster = checkClusterOptions(opts);
      this.#processes = opts.processes === undefined || opts.processes === null ? CLUSTER_PLANNED_WORKERS : checkInteger("processes", opts.processes, 1);
      this.#modules = [];
      checkNotImporting("A Pool was created");
      this.#engine = new ClusterEngine(cluster);
      return;
    }
    this.#processes = opts.processes === undefined || opts.processes === null ? cpuCount() : checkInteger("processes", opts.processes, 1);
    const maxProcesses = opts.maxProcesses === undefined ? DEFAULT_MAX_PROCESSES : checkInteger("maxProcesses", opts.maxProcesses, 1);
    if (this.#processes > maxProcesses) {
      throw new RangeError(
        `Expected \`processes\` to be at most ${maxProcesses}` +
          (opts.maxProcesses === undefined ? " (the default cap, against starting workers without bound by mistake)" : " (`maxProcesses`)") +
          `, got ${describe(this.#processes)}; to run more workers, raise the cap: new mp.Pool({ processes: ${this.#processes}, maxProcesses: ${this.#processes} })`,
      );
    }
    const maxTasks =
      opts.maxTasksPerChild === undefined || opts.maxTasksPerChild === null ? null : checkInteger("maxTasksPerChild", opts.maxTasksPerChild, 1);
    checkFunction("initializer", opts.initializer ?? undefined);
    const initArgs = opts.initArgs ?? [];
    if (!Array.isArray(initArgs)) throw new TypeError(`Expected \`initArgs\` to be an array, got ${describe(initArgs)}`);
    const resourceLimits = checkResourceLimits(opts.resourceLimits);
    const backend = backendFor(resolveStartMethod(opts.context));
    this.#modules = moduleUrls(opts.modules);
    const initializer = opts.initializer ? resolveFunction(opts.initializer, this.#modules, "`initializer`") : null;
    const encodedInit = encodeForWire(initArgs);
    try {
      structuredClone(encodedInit.value);
    } catch (error) {
      throw uncloneableError(initArgs, "initArgs", "the initializer's arguments to the pool workers", error);
    }
    if (backend.method === "process" && findSharedMemory(encodedInit.value, "initArgs")) {
      // This process's own shared memory cannot reach OS processes: refuse now, not once per worker start.
      throw ipcCloneError(encodedInit.value, "initArgs", "the initializer's arguments to the pool workers", undefined);
    }
    const modules = opts.modules;
    checkNotImporting("A Pool was created");
    this.#engine = new Scheduler({
      processes: this.#processes,
      backend,
      resourceLimits,
      maxTasks,
      startsQuietly: initializer === null && (modules === undefined || modules.length === 0),
      nextBootstrap: (): Omit<PoolBootstrap, "results" | "tasks"> => ({
        ...commonBootstrap({ ...nextChildIdentity("PoolWorker"), daemon: true, modules }),
        role: "pool",
        initializer,
        initArgs: encodedInit.value as unknown[],
        initArgsWired: encodedInit.wired,
        maxTasks,
      }),
    });
  }

  #ref(fn: unknown): FunctionRef {
    if (typeof fn === "function") {
      const cached = this.#refs.get(fn);
      if (cached) return cached;
      const ref = resolveFunction(fn, this.#modules, "`fn`");
      this.#refs.set(fn, ref);
      return ref;
    }
    return resolveFunction(fn, this.#modules, "`fn`");
  }

  #checkRunning(): void {
    if (!this.#engine.running) throw notRunningError();
  }

  /** Ties an abort signal to a job; a signal that is aborted already fails the job at once. */
  #watchSignal(job: Job, signal: AbortSignal | undefined): void {
    if (!signal) return;
    if (signal.aborted) {
      this.#engine.jobs.abortJob(job, signal.reason);
      return;
    }
    const onAbort = (): void => this.#engine.jobs.abortJob(job, signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    job.onFinish = () => signal.removeEventListener("abort", onAbort);
  }

  /** Queues one call of `fn(...args)` whose result goes to `sink` (apply, applyAsync). */
  #submitApply(fn: unknown, args: unknown, options: ApplyOptions | undefined, caller: CallerStack, sink: JobSink): void {
    this.#checkRunning();
    const timeout = checkSubmitOptions(options);
    const argList = args === undefined || args === null ? [] : args;
    if (!Array.isArray(argList)) throw new TypeError(`Expected \`args\` to be an array of arguments, got ${describe(args)}`);
    let transfer: readonly TransferListItem[] | undefined;
    if (options?.transfer !== undefined) {
      if (!Array.isArray(options.transfer)) throw new TypeError(`Expected \`transfer\` to be an array, got ${describe(options.transfer)}`);
      transfer = options.transfer;
    }
    const ref = this.#ref(fn);
    const job = this.#engine.createJob(ref, true, sink, caller, timeout, transfer);
    if (this.#rejectIfBroken(job)) return;
    this.#watchSignal(job, options?.signal);
    if (!job.cancelled) {
      const encoded = encodeEntries(argList);
      this.#engine.enqueue({ job, chunk: 0, items: [encoded === null ? argList : encoded.value], wired: encoded !== null && encoded.wired, start: null });
    }
    this.#engine.jobs.finishIfDone(job);
  }

  #rejectIfBroken(job: Job): boolean {
    const error = this.#engine.startupError;
    if (error === null) return false;
    this.#engine.jobs.abortJob(job, error);
    return true;
  }

  /**
   * Calls `fn(...args)` in a worker and resolves with its result (Python's `apply`).
   * Rejects with the task's error, or at once when the pool is not running.
   */
  apply<A extends unknown[], R>(fn: (...args: A) => R, args?: A, options?: ApplyOptions): Promise<Awaited<R>> {
    try {
      // The caller's stack is taken where the failure is awaited, at no cost to calls that succeed.
      const sink = new PromiseSink<Awaited<R>>();
      this.#submitApply(fn, args, options, AWAITING_CALLER, sink);
      return sink.promise.then(undefined, rethrowWithAwaitingStack);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Calls `fn(...args)` in a worker and returns an AsyncResult at once (Python's `apply_async`).
   * @throws Error when the pool is not running; TypeError/RangeError for bad arguments.
   */
  applyAsync<A extends unknown[], R>(fn: (...args: A) => R, args?: A, options?: ApplyAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.applyAsync);
    const sink = new ApplySink<Awaited<R>>(resultCallbacks(options));
    this.#submitApply(fn, args, options, caller, sink);
    return sink.result;
  }

  #submitMap<R>(fn: unknown, iterable: unknown, star: boolean, options: MapAsyncOptions<R> | undefined, caller: CallerStack): AsyncResult<R[]> {
    this.#checkRunning();
    const timeout = checkSubmitOptions(options);
    checkInput(iterable);
    const chunkSize = checkChunkSize(options?.chunkSize);
    const callbacks = resultCallbacks(options);
    checkFunction("onProgress", options?.onProgress);
    const ref = this.#ref(fn);
    const sink = new MapSink<R>(callbacks, options?.onProgress);
    const engine = this.#engine;
    const job = engine.createJob(ref, star, sink, caller, timeout);
    if (this.#rejectIfBroken(job)) return sink.result;
    this.#watchSignal(job, options?.signal);
    if (job.cancelled) return sink.result;
    if (isSyncIterable(iterable)) {
      let items: unknown[];
      try {
        items = Array.isArray(iterable) ? iterable : Array.from(iterable);
      } catch (error) {
        engine.jobs.abortJob(job, error);
        return sink.result;
      }
      this.#queueMap(job, sink, items, chunkSize);
    } else {
      const collector = new Collector(iterable);
      engine.jobs.addSource(job, collector);
      collector.collect().then(
        (items) => {
          if (items === null || job.cancelled) return;
          this.#queueMap(job, sink, items, chunkSize);
          engine.jobs.sourceEnded(job);
        },
        (error: unknown) => {
          if (!job.cancelled) engine.jobs.abortJob(job, error);
        },
      );
    }
    return sink.result;
  }

  #queueMap<R>(job: Job, sink: MapSink<R>, items: unknown[], chunkSize: number | undefined): void {
    const length = items.length;
    const size = chunkSize ?? defaultChunkSize(length, this.#processes);
    const chunks = chunkCount(length, size);
    sink.setShape(length, size, chunks);
    for (let chunk = 0; chunk < chunks && !job.cancelled; chunk++) {
      const start = chunk * size;
      enqueueChunk(this.#engine, job, chunk, items.slice(start, start + size), start);
    }
    this.#engine.jobs.finishIfDone(job);
  }

  /** Calls `fn` on every item, in workers, and resolves with the results in order (Python's `map`). */
  map<T, R>(fn: (item: T) => R, iterable: Iterable<T> | AsyncIterable<T>, options?: MapOptions): Promise<Awaited<R>[]> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.map);
    try {
      return this.#submitMap<Awaited<R>>(fn, iterable, false, options, caller).get();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** map() returning an AsyncResult at once (Python's `map_async`); `callback` gets the whole list. */
  mapAsync<T, R>(fn: (item: T) => R, iterable: Iterable<T> | AsyncIterable<T>, options?: MapAsyncOptions<Awaited<R>>): AsyncResult<Awaited<R>[]> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.mapAsync);
    return this.#submitMap<Awaited<R>>(fn, iterable, false, options, caller);
  }

  /** Like map(), but each item is an array of arguments: `fn(...item)` (Python's `starmap`). */
  starmap<A extends unknown[], R>(fn: (...args: A) => R, iterable: Iterable<A> | AsyncIterable<A>, options?: MapOptions): Promise<Awaited<R>[]> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.starmap);
    try {
      return this.#submitMap<Awaited<R>>(fn, iterable, true, options, caller).get();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** starmap() returning an AsyncResult at once (Python's `starmap_async`). */
  starmapAsync<A extends unknown[], R>(
    fn: (...args: A) => R,
    iterable: Iterable<A> | AsyncIterable<A>,
    options?: MapAsyncOptions<Awaited<R>>,
  ): AsyncResult<Awaited<R>[]> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.starmapAsync);
    return this.#submitMap<Awaited<R>>(fn, iterable, true, options, caller);
  }

  #submitIMap<R>(fn: unknown, iterable: unknown, ordered: boolean, options: MapOptions | undefined, caller: CallerStack): IMapIterator<R> {
    this.#checkRunning();
    const timeout = checkSubmitOptions(options);
    checkInput(iterable);
    // CPython's default, one item a chunk; on a cluster, chunks that grow with how fast items run.
    const chunkSize = checkChunkSize(options?.chunkSize) ?? (this.#engine instanceof ClusterEngine ? new AdaptiveChunkSize() : 1);
    const onProgress = options?.onProgress;
    checkFunction("onProgress", onProgress);
    const total = Array.isArray(iterable) ? iterable.length : undefined;
    let done = 0;
    const ref = this.#ref(fn);
    const iterator = new IMapIterator<R>(ordered);
    let feed: Feed | undefined;
    const sink: JobSink = {
      chunkDone: (chunk, values) => {
        iterator.push(chunk, values);
        feed?.completed(chunk);
        if (!onProgress) return;
        done += values.length;
        try {
          onProgress(done, total);
        } catch (error) {
          this.#engine.jobs.abortJob(job, error);
        }
      },
      chunkFailed: (chunk, error) => {
        iterator.fail(chunk, error);
        feed?.completed(chunk);
      },
      abort: (error) => iterator.abort(error),
    };
    const engine = this.#engine;
    const job = engine.createJob(ref, false, sink, caller, timeout);
    if (typeof chunkSize !== "number") job.onChunkRan = (items, ms) => chunkSize.ran(items, ms);
    iterator.attach({
      consumed: (chunk) => feed?.consumed(chunk),
      stop: () => engine.jobs.cancel(job),
    });
    if (this.#rejectIfBroken(job)) return iterator;
    this.#watchSignal(job, options?.signal);
    if (job.cancelled) return iterator;
    feed = new Feed(engine, job, iterable, chunkSize, readAheadWindow(this.#processes), iterator as IMapIterator<unknown>);
    feed.start();
    return iterator;
  }

  /**
   * Calls `fn` on every item and yields the results in order, as they become
   * available (Python's `imap`). Reads the input lazily, a bounded number of chunks ahead.
   * @throws Error when the pool is not running.
   */
  imap<T, R>(fn: (item: T) => R, iterable: Iterable<T> | AsyncIterable<T>, options?: MapOptions): IMapIterator<Awaited<R>> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.imap);
    return this.#submitIMap<Awaited<R>>(fn, iterable, true, options, caller);
  }

  /** Like imap(), but yields results in the order they finish (Python's `imap_unordered`). */
  imapUnordered<T, R>(fn: (item: T) => R, iterable: Iterable<T> | AsyncIterable<T>, options?: MapOptions): IMapIterator<Awaited<R>> {
    const caller: CallerStack = {};
    Error.captureStackTrace(caller, this.imapUnordered);
    return this.#submitIMap<Awaited<R>>(fn, iterable, false, options, caller);
  }

  /**
   * A snapshot of the pool: its workers (alive, idle), its tasks (queued, running,
   * completed, failed; a task is one chunk) and percentiles of recent tasks' run
   * and wait times in ms. multiproc's own; Python's Pool has no such call.
   * @example
   * const { idle, queued, runTime } = pool.stats();
   */
  stats(): PoolStats {
    return this.#engine.stats();
  }

  /** Takes no new tasks; workers exit once the submitted work is done (Python's `close`). */
  close(): void {
    this.#engine.close();
  }

  /**
   * Stops the workers now (Python's `terminate`): pending results reject at once.
   * Resolves when every worker has exited.
   */
  terminate(): Promise<void> {
    return this.#engine.terminate(terminatedError());
  }

  /**
   * Waits for every worker to exit (Python's `join`). Rejects if the pool is
   * still running: call close() or terminate() first.
   */
  join(): Promise<void> {
    if (this.#engine.running) {
      return Promise.reject(
        new PoolStateError("Pool is still running: call close() or terminate() before join()", { code: "ERR_MP_POOL_RUNNING" }),
      );
    }
    return this.#engine.joined;
  }

  /** `await using pool = new mp.Pool()`: close() then join() at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
    await this.join();
  }

  get [Symbol.toStringTag](): string {
    return "Pool";
  }
}
