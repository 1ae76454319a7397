/**
 * A pool job (one submitting call), its tasks (chunks), and where its results go.
 */
import type { TransferListItem } from "node:worker_threads";
import type { STACK_AT_AWAIT } from "../wire/errors.ts";
import type { FunctionRef } from "../wire/functions.ts";

/** Error.captureStackTrace's target at the call, or STACK_AT_AWAIT (see withAwaitingStack). */
export type CallerStack = { stack?: string | typeof STACK_AT_AWAIT };

/** Where a job's results go (results.ts). */
export interface JobSink {
  /** A chunk's results arrived. */
  chunkDone(chunk: number, values: unknown[]): void;
  /** A chunk failed: the task threw, its worker was lost, it timed out, or it could not be sent. */
  chunkFailed(chunk: number, error: unknown): void;
  /** The whole job failed at once (terminate, start-up failure, abort signal). */
  abort(error: unknown): void;
}

/** Something that may still add tasks to a job (an imap feed, an async input being collected). */
export interface Source {
  /** The pool was closed: read on without waiting for the consumer. */
  release(): void;
  /** Stop reading (terminate, abort, consumer gone). */
  stop(): void;
}

/** One submitting call. */
export class Job {
  readonly id: number;
  /** Tasks in the queue. */
  queued = 0;
  /** Tasks posted to workers and not answered yet. */
  running = 0;
  /** The job wants no more results: its queued tasks are dropped. */
  cancelled = false;
  source: Source | null = null;
  /** Called once when the job has nothing queued, running or left to read. */
  onFinish: (() => void) | undefined;
  /** Told how long each chunk ran on its worker, where the engine knows (a cluster's results say): imap's AdaptiveChunkSize. */
  onChunkRan: ((items: number, ms: number) => void) | undefined;
  /** Its neighbours in the scheduler's JobList while it is unfinished. */
  prev: Job | null = null;
  next: Job | null = null;
  listed = false;

  constructor(
    id: number,
    readonly fn: FunctionRef,
    /** fn's number in the workers' function tables. */
    readonly fnId: number,
    readonly star: boolean,
    readonly sink: JobSink,
    /** Holds the caller's stack (captured, formatted only if an error needs it), or says it is taken where a failure is awaited. */
    readonly caller: CallerStack,
    readonly timeout: number | undefined,
    readonly transfer: readonly TransferListItem[] | undefined,
  ) {
    this.id = id;
  }
}

/**
 * The unfinished jobs, in submission order: a list threaded through the jobs themselves.
 * A Map by id grew and shrank its table as 20,000 calls came and went (W1): a tenth of
 * what a tiny apply allocated.
 */
export class JobList {
  #head: Job | null = null;
  #tail: Job | null = null;

  add(job: Job): void {
    job.prev = this.#tail;
    job.next = null;
    if (this.#tail) this.#tail.next = job;
    else this.#head = job;
    this.#tail = job;
    job.listed = true;
  }

  /** Takes `job` out; false if it was not in the list. */
  remove(job: Job): boolean {
    if (!job.listed) return false;
    job.listed = false;
    if (job.prev) job.prev.next = job.next;
    else this.#head = job.next;
    if (job.next) job.next.prev = job.prev;
    else this.#tail = job.prev;
    job.prev = job.next = null;
    return true;
  }

  /** The jobs as an array, to go through while they are removed. */
  toArray(): Job[] {
    const jobs: Job[] = [];
    for (let job = this.#head; job; job = job.next) jobs.push(job);
    return jobs;
  }
}

export interface Task {
  job: Job;
  chunk: number;
  items: unknown[];
  wired: boolean;
  /** Index of items[0] in the job's input; null for apply. */
  start: number | null;
  /** When it was queued (performance.now()), for pool.stats()' waitTime. */
  queuedAt?: number;
  /** Settled by the parent (timed out) while its worker still ran it. */
  settled?: boolean;
  /** Its number among the tasks sent to its worker (TaskMessage.seq), once sent. */
  seq?: number;
}
