/**
 * How a job's input is cut into chunks (CPython's Pool._map_async and Pool._get_tasks).
 */

/**
 * map()'s default chunk size, exactly as CPython computes it:
 * `chunksize, extra = divmod(len(iterable), len(self._pool) * 4); if extra: chunksize += 1`.
 * An empty input has chunk size 0 (no chunks).
 */
export function defaultChunkSize(length: number, processes: number): number {
  if (length === 0) return 0;
  const divisor = processes * 4;
  const size = Math.floor(length / divisor);
  return length % divisor === 0 ? size : size + 1;
}

/** Number of chunks of `chunkSize` that `length` items make. */
export function chunkCount(length: number, chunkSize: number): number {
  return chunkSize === 0 ? 0 : Math.ceil(length / chunkSize);
}

/**
 * How many chunks imap/imapUnordered read ahead of the consumer: enough for every
 * worker to have one chunk running and one waiting, plus results waiting to be read.
 */
export function readAheadWindow(processes: number): number {
  return Math.max(4, processes * 4);
}

/** AdaptiveChunkSize aims at chunks of about this much work (ms, on the worker)... */
const ADAPTIVE_TARGET_MS = 20;
/** ...and never more items than this in one (imap reads a window of chunks ahead). */
const ADAPTIVE_MAX_ITEMS = 1_000;

/**
 * imap/imapUnordered's chunk size on a cluster when the call gives none. CPython's default
 * of one item a chunk costs a network hop and a Redis entry per item: at tiny items that
 * hop is all the time there is. So chunks start at one item and, as results come back
 * with how long their chunk ran, grow (at most doubling each time) towards
 * ADAPTIVE_TARGET_MS of work; items that take that long or more stay one a chunk, which
 * keeps CPython's laziness and balance where they matter.
 */
export class AdaptiveChunkSize {
  #size = 1;
  #perItemMs: number | undefined;

  get size(): number {
    return this.#size;
  }

  /** A chunk of `items` items ran for `ms` on its worker. */
  ran(items: number, ms: number): void {
    if (!(items > 0) || !(ms >= 0)) return;
    const perItem = ms / items;
    this.#perItemMs = this.#perItemMs === undefined ? perItem : this.#perItemMs * 0.7 + perItem * 0.3;
    const wanted = Math.floor(ADAPTIVE_TARGET_MS / Math.max(this.#perItemMs, 1e-6));
    this.#size = Math.max(1, Math.min(ADAPTIVE_MAX_ITEMS, wanted, this.#size * 2));
  }
}
