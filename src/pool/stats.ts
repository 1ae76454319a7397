/**
 * What pool.stats() reports: counts of workers and tasks, and how long tasks
 * waited and ran. Times are kept for the most recent tasks only (a fixed ring of
 * samples), so a pool that runs for days keeps a constant footprint and its
 * percentiles describe what it does now.
 */

/** Percentiles of a duration, in ms. All 0 before the first sample. */
export interface TimeSummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** A snapshot of a pool's state (multiproc's own; Python's Pool has no such call). */
export interface PoolStats {
  /** Workers alive now (starting, ready or finishing their last task). */
  workers: number;
  /** Workers ready and with no task. */
  idle: number;
  /** Tasks (chunks) waiting for a worker. */
  queued: number;
  /** Tasks (chunks) posted to workers and not answered yet. */
  running: number;
  /** Tasks (chunks) that finished with a result. */
  completed: number;
  /** Tasks (chunks) that failed: threw, timed out, or lost their worker. */
  failed: number;
  /** How long recent tasks ran, from their start in a worker to their result. */
  runTime: TimeSummary;
  /** How long recent tasks waited, from submission to their start. */
  waitTime: TimeSummary;
  /**
   * Each worker alive now: its name ("PoolWorker-3"; on a cluster, the worker's label with
   * its host and pid), the tasks it holds, and how many it has finished. On a cluster, as of
   * the last heartbeat (about once a second).
   */
  perWorker: WorkerCounts[];
}

/** One worker's counts in PoolStats.perWorker. */
export interface WorkerCounts {
  name: string;
  running: number;
  done: number;
}

/** How many recent durations each summary is computed from. */
const SAMPLES = 1024;

/** The last SAMPLES durations of one kind, in a ring. */
export class DurationSamples {
  readonly #ring = new Float64Array(SAMPLES);
  #count = 0;

  add(ms: number): void {
    this.#ring[this.#count++ % SAMPLES] = ms;
  }

  summary(): TimeSummary {
    const n = Math.min(this.#count, SAMPLES);
    if (n === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
    const sorted = this.#ring.slice(0, n).sort();
    const at = (q: number): number => sorted[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[n - 1]! };
  }
}
