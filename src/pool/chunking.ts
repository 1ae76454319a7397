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
