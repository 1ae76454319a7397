/**
 * A pool's jobs and the sources that feed them: the job table that a local pool's
 * scheduler and a cluster pool's engine share (each is a dispatcher of tasks around it).
 * Cancelling, aborting, a source's end and a job's end are the same for both; what
 * differs goes through the hooks: how a cancelled job's tasks are dropped, and what the
 * dispatcher does once a job is gone or a job settled.
 */
import { JobList, type Job, type Source } from "./job.ts";

export interface JobTableHooks {
  /** A cancelled job's tasks: drop the ones queued, take back the ones sent where the dispatcher can. */
  dropTasks(job: Job): void;
  /** A job was forgotten: nothing of it is queued, running or left to read. */
  jobFinished?(job: Job): void;
  /** A job was cancelled or its input ended: whatever waits for the pool to run dry may look again. */
  settled?(): void;
}

export class JobTable {
  readonly #jobs = new JobList();
  readonly #sources = new Set<Source>();
  readonly #hooks: JobTableHooks;
  #closed = false;

  constructor(hooks: JobTableHooks) {
    this.#hooks = hooks;
  }

  add(job: Job): void {
    this.#jobs.add(job);
  }

  /** Whether some job's input may still queue tasks. */
  get reading(): boolean {
    return this.#sources.size > 0;
  }

  /** The job wants no more results: drop its tasks and stop its input. */
  cancel(job: Job): void {
    if (job.cancelled) return;
    job.cancelled = true;
    this.#hooks.dropTasks(job);
    const source = job.source;
    if (source) {
      job.source = null;
      this.#sources.delete(source);
      source.stop();
    }
    this.finishIfDone(job);
    this.#hooks.settled?.();
  }

  /** Fails a whole job now (terminate, start-up failure, abort signal, unreadable input). */
  abortJob(job: Job, error: unknown): void {
    this.cancel(job);
    job.sink.abort(error);
  }

  /** Fails every job now. */
  abortAll(error: unknown): void {
    for (const job of this.#jobs.toArray()) this.abortJob(job, error);
  }

  /** Registers a source that may still queue tasks for `job`; after close(), it reads on at once. */
  addSource(job: Job, source: Source): void {
    job.source = source;
    this.#sources.add(source);
    if (this.#closed) source.release();
  }

  /** The source of `job` has read its whole input. */
  sourceEnded(job: Job): void {
    const source = job.source;
    if (!source) return;
    job.source = null;
    this.#sources.delete(source);
    this.finishIfDone(job);
    this.#hooks.settled?.();
  }

  /** Forgets a job that has nothing queued, running or left to read. */
  finishIfDone(job: Job): void {
    if (job.queued === 0 && job.running === 0 && job.source === null && this.#jobs.remove(job)) {
      job.onFinish?.();
      this.#hooks.jobFinished?.(job);
    }
  }

  /** The pool was closed: every source reads to the end of its input without waiting for its consumer. */
  close(): void {
    this.#closed = true;
    for (const source of [...this.#sources]) source.release();
  }
}
