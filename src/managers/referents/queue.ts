/**
 * The queues a SyncManager serves (CPython registers `queue.Queue` and
 * `JoinableQueue`): FIFO, optionally bounded, with blocking put and get whose
 * waits are pending replies. A waiting get whose client went away takes nothing,
 * so no item is lost to a dead client.
 */
import { Empty, Full } from "../../errors.ts";
import { currentCaller } from "../caller.ts";
import { pythonError } from "./python-errors.ts";
import { blockingOptions, WaitList } from "./waiters.ts";

export class ManagedQueue {
  readonly #maxSize: number;
  #items: unknown[] = [];
  #head = 0;
  readonly #getters = new WaitList();
  readonly #putters = new WaitList();

  constructor(maxSize: unknown = 0) {
    if (typeof maxSize !== "number" || !Number.isInteger(maxSize) || maxSize < 0) {
      throw new RangeError(`Expected \`maxSize\` to be an integer >= 0 (0: unbounded), got ${String(maxSize)}`);
    }
    this.#maxSize = maxSize;
  }

  qsize(): number {
    return this.#items.length - this.#head;
  }
  empty(): boolean {
    return this.qsize() === 0;
  }
  full(): boolean {
    return this.#maxSize > 0 && this.qsize() >= this.#maxSize;
  }

  async put(item: unknown, options?: unknown): Promise<void> {
    const caller = currentCaller();
    const { block, timeout } = blockingOptions(options);
    while (this.full()) {
      if (!block) throw new Full("the queue is full");
      if ((await this.#putters.wait(caller, timeout)) !== true) throw new Full("the queue stayed full until the timeout");
    }
    this.#push(item);
  }
  putNowait(item: unknown): void {
    if (this.full()) throw new Full("the queue is full");
    this.#push(item);
  }

  async get(options?: unknown): Promise<unknown> {
    const caller = currentCaller();
    const { block, timeout } = blockingOptions(options);
    while (this.empty()) {
      if (!block) throw new Empty("the queue is empty");
      if ((await this.#getters.wait(caller, timeout)) !== true) throw new Empty("the queue stayed empty until the timeout");
    }
    return this.#shift();
  }
  getNowait(): unknown {
    if (this.empty()) throw new Empty("the queue is empty");
    return this.#shift();
  }

  protected pushed(): void {}

  #push(item: unknown): void {
    this.#items.push(item);
    this.pushed();
    this.#getters.wakeOne(true);
  }

  #shift(): unknown {
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    this.#putters.wakeOne(true);
    return item;
  }
}

export class ManagedJoinableQueue extends ManagedQueue {
  #unfinished = 0;
  readonly #joiners = new WaitList();

  protected override pushed(): void {
    this.#unfinished++;
  }

  taskDone(): void {
    if (this.#unfinished === 0) throw pythonError("ValueError", "task_done() called too many times");
    if (--this.#unfinished === 0) this.#joiners.wakeAll(true);
  }

  async join(): Promise<void> {
    const caller = currentCaller();
    while (this.#unfinished > 0) {
      if ((await this.#joiners.wait(caller)) !== true) return;
    }
  }
}
