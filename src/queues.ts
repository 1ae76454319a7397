/**
 * Queue, JoinableQueue and SimpleQueue (Python's `multiprocessing.queues`), over a
 * MessageRing in shared memory. Any thread holding the queue (sent to it as a
 * Process/Pool argument or inside another message) puts and gets on the same ring.
 *
 * Differences from CPython, on purpose:
 * - There is no feeder thread. `put` serializes and writes at the call, so a clone
 *   error is thrown to the caller and the item is visible to `qsize()`/`get()` as
 *   soon as `put` returns. An unbounded queue never blocks in `put` (the ring
 *   spills into overflow segments, see memory/ring.ts), so the "joining processes
 *   that use queues" deadlock of CPython cannot happen.
 * - `qsize()` is exact (CPython's is approximate and raises on macOS).
 * - `close()` applies to this handle, as in CPython: it stops this thread from
 *   putting or getting through it; other handles go on.
 */
import { EOFError, Empty, Full, QueueStateError } from "./errors.ts";
import { CLOSED, MessageRing, NOTHING, type RingState } from "./memory/ring.ts";
import { SharedRegion, type RegionHandle } from "./memory/region.ts";
import { deadlineOf, waitCore } from "./memory/wait.ts";
import { kWire } from "./symbols.ts";
import { decodeFrame, detach, dropOutgoing, encodeOutgoing, type Outgoing } from "./wire/message-codec.ts";
import { registerWireType, type WireForm } from "./wire/serialize.ts";
import { Revival } from "./wire/revival.ts";

/** Options of `Queue.put`/`putSync` and `get`/`getSync` (Python's `block` and `timeout`, in ms). */
export interface QueueOptions {
  /** Wait for space (put) or an item (get). When false, fail at once with Full/Empty. @default true */
  block?: boolean;
  /** Longest wait in ms when `block` is true; undefined or null waits forever. */
  timeout?: number | null;
}

/** Data-ring size of a queue: small items stay in the ring, bigger ones go by their own buffer. */
const QUEUE_RING_BYTES = 1 << 20;

const WHAT = "an item to the queue";

interface QueueState {
  ring: RingState;
  maxSize: number;
  tasks: RegionHandle | undefined;
}

/** Offered while a queue is rebuilt from its wire form, so the public constructor adopts it. */
const revival = new Revival<QueueState>();

function checkMaxSize(maxSize: unknown): number {
  if (maxSize === undefined || maxSize === null) return 0;
  if (typeof maxSize !== "number" || !Number.isInteger(maxSize) || maxSize < 0) {
    throw new RangeError(`Expected \`maxSize\` to be an integer >= 0 (0: unbounded), got \`${String(maxSize)}\` (${typeof maxSize})`);
  }
  return maxSize;
}

/** Returns the deadline for a blocking call, or null for a non-blocking one. */
function deadlineFor(options: QueueOptions | undefined): number | undefined | null {
  if (options === undefined || options === null) return undefined;
  if (typeof options !== "object") {
    throw new TypeError(`Expected the options to be an object like \`{ block, timeout }\`, got \`${String(options)}\` (${typeof options})`);
  }
  const { block = true, timeout } = options;
  if (!block) return null;
  if (timeout === undefined || timeout === null) return undefined;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    throw new RangeError(`Expected \`timeout\` to be a number of milliseconds >= 0, got \`${String(timeout)}\` (${typeof timeout})`);
  }
  return deadlineOf(timeout);
}

/** What get throws when no item came: at once (`block` false, deadline null) or by the deadline. */
function emptyError(deadline: number | undefined | null): Empty {
  return new Empty(deadline === null ? "Queue is empty" : "Queue is still empty after the timeout");
}

function closedError(kind: string): Error {
  return new QueueStateError(
    `${kind} is closed: close() was called on this handle, so it cannot put or get any more. Use another handle, or do not close it yet.`,
    { code: "ERR_MP_QUEUE_CLOSED" },
  );
}

/** The item a read returned; a closed ring (CLOSED) becomes mp.EOFError. */
function take<T>(result: unknown): T {
  if (result === CLOSED) throw new EOFError("The queue was closed");
  return result as T;
}

/**
 * A multi-producer, multi-consumer FIFO queue shared by every worker that holds it
 * (Python's `multiprocessing.Queue`). Items from one producer arrive in order.
 *
 * @example
 * const q = new mp.Queue<number>();
 * await q.put(1);
 * console.log(await q.get()); // 1
 */
export class Queue<T = unknown> {
  readonly #ring: MessageRing;
  readonly #maxSize: number;
  #closed = false;

  /** @param maxSize Most items the queue holds; a `put` beyond it waits. 0 means unbounded. @default 0 */
  constructor(maxSize = 0) {
    const state = revival.take();
    if (state) {
      this.#ring = MessageRing.open(state.ring);
      this.#maxSize = state.maxSize;
    } else {
      this.#maxSize = checkMaxSize(maxSize);
      this.#ring = MessageRing.create(QUEUE_RING_BYTES);
    }
  }

  /** Puts `obj` on the queue, waiting for room if it is bounded and full. Rejects with mp.Full on timeout or when `block` is false. */
  async put(obj: T, options?: QueueOptions): Promise<void> {
    const deadline = deadlineFor(options);
    const message = this.#startPut(obj);
    let written: boolean;
    try {
      written = this.#ring.tryWrite(message.kind, message.bytes, message.length, this.#maxSize);
      if (!written && deadline !== null) {
        const kept = detach(message);
        written = await this.#ring.writeAsync(kept.kind, kept.bytes, kept.length, this.#maxSize, deadline);
      }
    } catch (error) {
      throw this.#abandonPut(message, error);
    }
    if (!written) throw this.#abandonPut(message, new Full(`Queue is full (maxSize ${this.#maxSize})`));
  }

  /** Blocking twin of `put` (for workers): throws mp.Full on timeout or when `block` is false. */
  putSync(obj: T, options?: QueueOptions): void {
    const deadline = deadlineFor(options);
    const message = this.#startPut(obj);
    let written: boolean;
    try {
      written = this.#ring.tryWrite(message.kind, message.bytes, message.length, this.#maxSize);
      if (!written && deadline !== null) {
        written = this.#ring.writeSync(message.kind, message.bytes, message.length, this.#maxSize, deadline);
      }
    } catch (error) {
      throw this.#abandonPut(message, error);
    }
    if (!written) throw this.#abandonPut(message, new Full(`Queue is full (maxSize ${this.#maxSize})`));
  }

  /** Puts without waiting; throws mp.Full when the queue is full. */
  putNowait(obj: T): void {
    this.putSync(obj, { block: false });
  }

  /** Removes and returns the oldest item, waiting for one. Rejects with mp.Empty on timeout or when `block` is false. */
  async get(options?: QueueOptions): Promise<T> {
    const deadline = deadlineFor(options);
    this.#checkOpen();
    const ring = this.#ring;
    let result = ring.tryRead(decodeFrame);
    if (result === NOTHING && deadline !== null) result = await ring.readAsync(decodeFrame, deadline);
    if (result === NOTHING) throw emptyError(deadline);
    return take<T>(result);
  }

  /** Blocking twin of `get` (for workers): throws mp.Empty on timeout or when `block` is false. */
  getSync(options?: QueueOptions): T {
    const deadline = deadlineFor(options);
    this.#checkOpen();
    const ring = this.#ring;
    let result = ring.tryRead(decodeFrame);
    if (result === NOTHING && deadline !== null) result = ring.readSync(decodeFrame, deadline);
    if (result === NOTHING) throw emptyError(deadline);
    return take<T>(result);
  }

  /** Takes an item without waiting; throws mp.Empty when there is none. */
  getNowait(): T {
    return this.getSync({ block: false });
  }

  /** Number of items in the queue (exact at the moment of the call). */
  qsize(): number {
    return this.#ring.size;
  }

  /** Whether the queue holds no items. */
  empty(): boolean {
    return this.#ring.size === 0;
  }

  /** Whether a bounded queue holds `maxSize` items (always false when unbounded). */
  full(): boolean {
    return this.#maxSize > 0 && this.#ring.size >= this.#maxSize;
  }

  /** Stops this handle from putting or getting (Python's `close()`); items already put stay readable through other handles. */
  close(): void {
    this.#closed = true;
  }

  /** Python's `join_thread()`: nothing to wait for here (no feeder thread); kept for ported code. */
  joinThread(): void {}

  /** Python's `cancel_join_thread()`: a no-op here (no feeder thread). */
  cancelJoinThread(): void {}

  /** @internal */
  [kWire](): WireForm {
    return { type: "multiproc.Queue", state: this.wireState() };
  }

  /** @internal The shared state another worker reopens. */
  protected wireState(): QueueState {
    return { ring: this.#ring.state, maxSize: this.#maxSize, tasks: undefined };
  }

  /** @internal Hook for JoinableQueue: count the task before it becomes visible. */
  protected beforePut(): void {}

  /** @internal Hook for JoinableQueue: uncount a task whose put failed. */
  protected afterFailedPut(): void {}

  /** Checks the handle, encodes `obj` (a clone error is thrown here) and counts the task. */
  #startPut(obj: T): Outgoing {
    this.#checkOpen();
    const message = encodeOutgoing(obj, WHAT, this.#ring.owner);
    this.beforePut();
    return message;
  }

  /** Undoes a put that did not happen; returns `error` for the caller to throw. */
  #abandonPut(message: Outgoing, error: unknown): unknown {
    dropOutgoing(message);
    this.afterFailedPut();
    return error;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError(this.constructor.name);
  }

  get [Symbol.toStringTag](): string {
    return this.constructor.name;
  }
}

/*
 * JoinableQueue task counter (Int32 words):
 *
 *   word 0  unfinished     items put and not yet marked done
 *   word 1  doneSeq        bumped when unfinished reaches 0 and joiners wait
 *   word 2  joinersWaiting
 */
const UNFINISHED = 0;
const DONE_SEQ = 1;
const JOINERS = 2;

/**
 * A Queue that counts unfinished tasks (Python's `multiprocessing.JoinableQueue`):
 * every put adds one, `taskDone()` removes one, `join()` waits for zero.
 *
 * @example
 * const tasks = new mp.JoinableQueue<number>();
 * await tasks.put(1);
 * tasks.getSync(); tasks.taskDone();
 * await tasks.join();
 */
export class JoinableQueue<T = unknown> extends Queue<T> {
  readonly #taskRegion: SharedRegion;
  readonly #tasks: Int32Array;

  constructor(maxSize = 0) {
    const state = revival.peek();
    super(maxSize);
    this.#taskRegion = state?.tasks ? SharedRegion.open(state.tasks) : SharedRegion.create(16);
    this.#tasks = this.#taskRegion.int32(0, 4);
  }

  /** Marks one item taken by `get` as processed. Throws an Error when called more times than items were put. */
  taskDone(): void {
    const tasks = this.#tasks;
    for (;;) {
      const unfinished = Atomics.load(tasks, UNFINISHED);
      if (unfinished <= 0) {
        throw new QueueStateError("taskDone() called too many times: more calls than items put on the queue", {
          code: "ERR_MP_TASK_DONE_TOO_MANY",
        });
      }
      if (Atomics.compareExchange(tasks, UNFINISHED, unfinished, unfinished - 1) === unfinished) {
        if (unfinished === 1) this.#wakeJoiners();
        return;
      }
    }
  }

  /** Resolves when every item put has been marked done by `taskDone()`. */
  async join(): Promise<void> {
    const tasks = this.#tasks;
    while (Atomics.load(tasks, UNFINISHED) !== 0) {
      Atomics.add(tasks, JOINERS, 1);
      const seq = Atomics.load(tasks, DONE_SEQ);
      try {
        if (Atomics.load(tasks, UNFINISHED) !== 0) await waitCore.waitAsync(tasks, DONE_SEQ, seq);
      } finally {
        Atomics.sub(tasks, JOINERS, 1);
      }
    }
  }

  /** Blocking twin of `join()` (for workers). */
  joinSync(): void {
    const tasks = this.#tasks;
    while (Atomics.load(tasks, UNFINISHED) !== 0) {
      Atomics.add(tasks, JOINERS, 1);
      const seq = Atomics.load(tasks, DONE_SEQ);
      if (Atomics.load(tasks, UNFINISHED) !== 0) waitCore.waitSync(tasks, DONE_SEQ, seq);
      Atomics.sub(tasks, JOINERS, 1);
    }
  }

  override [kWire](): WireForm {
    return { type: "multiproc.JoinableQueue", state: this.wireState() };
  }

  protected override wireState(): QueueState {
    return { ...super.wireState(), tasks: this.#taskRegion.handle() };
  }

  protected override beforePut(): void {
    Atomics.add(this.#tasks, UNFINISHED, 1);
  }

  protected override afterFailedPut(): void {
    if (Atomics.sub(this.#tasks, UNFINISHED, 1) === 1) this.#wakeJoiners();
  }

  /** Called when `unfinished` has just reached 0: wakes join() callers, if any sleep. */
  #wakeJoiners(): void {
    if (Atomics.load(this.#tasks, JOINERS) !== 0) {
      Atomics.add(this.#tasks, DONE_SEQ, 1);
      waitCore.notify(this.#tasks, DONE_SEQ);
    }
  }
}

/**
 * A plain unbounded queue (Python's `multiprocessing.SimpleQueue`): put, get,
 * getSync, empty, close.
 *
 * @example
 * const q = new mp.SimpleQueue<string>();
 * await q.put("hi");
 * console.log(q.getSync()); // "hi"
 */
export class SimpleQueue<T = unknown> {
  readonly #ring: MessageRing;
  #closed = false;

  constructor() {
    const state = revival.take();
    this.#ring = state ? MessageRing.open(state.ring) : MessageRing.create(QUEUE_RING_BYTES);
  }

  /** Puts `obj` (never waits: the queue is unbounded). Rejects with a TypeError if `obj` cannot be cloned. */
  async put(obj: T): Promise<void> {
    this.#checkOpen();
    const message = encodeOutgoing(obj, WHAT, this.#ring.owner);
    this.#ring.tryWrite(message.kind, message.bytes, message.length, 0);
  }

  /** Removes and returns the oldest item, waiting for one. */
  async get(): Promise<T> {
    this.#checkOpen();
    const ring = this.#ring;
    let result = ring.tryRead(decodeFrame);
    if (result === NOTHING) result = await ring.readAsync(decodeFrame, undefined);
    return take<T>(result);
  }

  /** Blocking twin of `get` (for workers). */
  getSync(): T {
    this.#checkOpen();
    return take<T>(this.#ring.readSync(decodeFrame, undefined));
  }

  /** Whether the queue holds no items. */
  empty(): boolean {
    return this.#ring.size === 0;
  }

  /** Stops this handle from putting or getting. */
  close(): void {
    this.#closed = true;
  }

  #checkOpen(): void {
    if (this.#closed) throw closedError("SimpleQueue");
  }

  /** @internal */
  [kWire](): WireForm {
    return { type: "multiproc.SimpleQueue", state: { ring: this.#ring.state, maxSize: 0, tasks: undefined } satisfies QueueState };
  }

  get [Symbol.toStringTag](): string {
    return "SimpleQueue";
  }
}

function reviver<C>(make: () => C) {
  return (state: unknown): C => revival.run(state as QueueState, make);
}

registerWireType("multiproc.Queue", reviver(() => new Queue()));
registerWireType("multiproc.JoinableQueue", reviver(() => new JoinableQueue()));
registerWireType("multiproc.SimpleQueue", reviver(() => new SimpleQueue()));
