/**
 * Reading a job's input into chunks.
 *
 * `Feed` serves imap/imapUnordered: it reads lazily and keeps at most `window`
 * chunks open. A chunk is open from when it is read until the consumer has taken
 * its results; after close() (released) also until its results arrived, so
 * join() never waits on a consumer that stopped reading.
 *
 * `Collector` serves map/starmap over an AsyncIterable: CPython reads a map's
 * whole input first (its chunk size depends on the length), and so does this.
 */
import { encodeForWire } from "../wire/serialize.ts";
import type { AdaptiveChunkSize } from "./chunking.ts";
import type { IMapIterator } from "./results.ts";
import type { PoolEngine } from "./engine.ts";
import type { Job, Source } from "./job.ts";

export type Input<T> = Iterable<T> | AsyncIterable<T>;

export function isSyncIterable<T>(input: Input<T>): input is Iterable<T> {
  return typeof (input as Iterable<T>)[Symbol.iterator] === "function";
}

export function isInput(value: unknown): value is Input<unknown> {
  if (value === null || value === undefined) return false;
  const record = value as Record<symbol, unknown>;
  return typeof record[Symbol.iterator] === "function" || typeof record[Symbol.asyncIterator] === "function";
}

/**
 * encodeForWire, skipped when every entry is a primitive (nothing to replace):
 * the common case of small tasks, and the walk's bookkeeping costs more than the task.
 * null then: the entries go as they are (no result object made per call).
 */
export function encodeEntries(entries: unknown[]): { value: unknown; wired: boolean } | null {
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i];
    if (typeof entry === "object" && entry !== null) return encodeForWire(entries);
  }
  return null;
}

/** Queues one chunk of `job`. */
export function enqueueChunk(engine: PoolEngine, job: Job, chunk: number, items: unknown[], start: number): void {
  const encoded = encodeEntries(items);
  engine.enqueue({ job, chunk, items: encoded === null ? items : (encoded.value as unknown[]), wired: encoded !== null && encoded.wired, start });
}

function closeIterator(iterator: Iterator<unknown> | AsyncIterator<unknown>): void {
  try {
    const done = iterator.return?.();
    if (done && typeof (done as Promise<unknown>).then === "function") {
      (done as Promise<unknown>).then(undefined, () => {});
    }
  } catch {
    // The consumer is gone; an error while closing its input has nobody to go to.
  }
}

export class Feed implements Source {
  readonly #engine: PoolEngine;
  readonly #job: Job;
  readonly #iterator: Iterator<unknown> | AsyncIterator<unknown>;
  readonly #async: boolean;
  /** Items a chunk: fixed, or grown as chunks come back (AdaptiveChunkSize). */
  readonly #chunkSize: number | AdaptiveChunkSize;
  readonly #window: number;
  readonly #out: IMapIterator<unknown>;
  /** Open chunks -> whether their results arrived. */
  readonly #open = new Map<number, boolean>();
  #released = false;
  #done = false;
  #busy = false;
  #chunks = 0;
  #items = 0;

  constructor(engine: PoolEngine, job: Job, input: Input<unknown>, chunkSize: number | AdaptiveChunkSize, window: number, out: IMapIterator<unknown>) {
    this.#engine = engine;
    this.#job = job;
    this.#async = !isSyncIterable(input);
    this.#iterator = this.#async
      ? (input as AsyncIterable<unknown>)[Symbol.asyncIterator]()
      : (input as Iterable<unknown>)[Symbol.iterator]();
    this.#chunkSize = chunkSize;
    this.#window = window;
    this.#out = out;
  }

  /** Starts reading (the first chunks are read at once for a synchronous input). */
  start(): void {
    this.#engine.jobs.addSource(this.#job, this);
    this.#pump();
  }

  /** A chunk's results (or error) arrived. */
  completed(chunk: number): void {
    if (this.#released) this.#open.delete(chunk);
    else if (this.#open.has(chunk)) this.#open.set(chunk, true);
    this.#pump();
  }

  /** The consumer took a chunk's results. */
  consumed(chunk: number): void {
    this.#open.delete(chunk);
    this.#pump();
  }

  release(): void {
    this.#released = true;
    for (const [chunk, arrived] of this.#open) if (arrived) this.#open.delete(chunk);
    this.#pump();
  }

  stop(): void {
    if (this.#done) return;
    this.#done = true;
    this.#open.clear();
    closeIterator(this.#iterator);
  }

  #pump(): void {
    if (this.#done || this.#busy || this.#open.size >= this.#window) return;
    if (this.#async) void this.#pumpAsync();
    else this.#pumpSync();
  }

  #pumpSync(): void {
    const iterator = this.#iterator as Iterator<unknown>;
    this.#busy = true;
    try {
      while (!this.#done && this.#open.size < this.#window) {
        const items: unknown[] = [];
        let ended = false;
        const size = this.#size();
        try {
          for (let k = 0; k < size; k++) {
            const next = iterator.next();
            if (next.done) {
              ended = true;
              break;
            }
            items.push(next.value);
          }
        } catch (error) {
          this.#fail(error);
          return;
        }
        if (items.length > 0) this.#emit(items);
        if (ended) {
          this.#end();
          return;
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  async #pumpAsync(): Promise<void> {
    const iterator = this.#iterator as AsyncIterator<unknown>;
    this.#busy = true;
    try {
      while (!this.#done && this.#open.size < this.#window) {
        const items: unknown[] = [];
        let ended = false;
        const size = this.#size();
        try {
          for (let k = 0; k < size; k++) {
            const next = await iterator.next();
            if (this.#done) return;
            if (next.done) {
              ended = true;
              break;
            }
            items.push(next.value);
          }
        } catch (error) {
          if (!this.#done) this.#fail(error);
          return;
        }
        if (items.length > 0) this.#emit(items);
        if (ended) {
          this.#end();
          return;
        }
      }
    } finally {
      this.#busy = false;
    }
  }

  #size(): number {
    return typeof this.#chunkSize === "number" ? this.#chunkSize : this.#chunkSize.size;
  }

  #emit(items: unknown[]): void {
    const chunk = this.#chunks++;
    const start = this.#items;
    this.#items += items.length;
    this.#open.set(chunk, false);
    enqueueChunk(this.#engine, this.#job, chunk, items, start);
  }

  #end(): void {
    this.#done = true;
    this.#out.setLength(this.#chunks);
    this.#engine.jobs.sourceEnded(this.#job);
  }

  /** The input threw: its error takes the next chunk's place and ends the results (as CPython's imap). */
  #fail(error: unknown): void {
    this.#done = true;
    const chunk = this.#chunks++;
    this.#out.fail(chunk, error);
    this.#out.setLength(this.#chunks);
    this.#engine.jobs.sourceEnded(this.#job);
  }
}

/** Reads a whole AsyncIterable for map/starmap, then hands the items over. */
export class Collector implements Source {
  #done = false;
  readonly #iterator: AsyncIterator<unknown>;

  constructor(input: AsyncIterable<unknown>) {
    this.#iterator = input[Symbol.asyncIterator]();
  }

  /** Resolves with every item, or null if stopped first; rejects with the input's error. */
  async collect(): Promise<unknown[] | null> {
    const items: unknown[] = [];
    for (;;) {
      const next = await this.#iterator.next();
      if (this.#done) return null;
      if (next.done) break;
      items.push(next.value);
    }
    this.#done = true;
    return items;
  }

  release(): void {
    // A map's input is read whole in any case.
  }

  stop(): void {
    if (this.#done) return;
    this.#done = true;
    closeIterator(this.#iterator);
  }
}
