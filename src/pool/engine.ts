/**
 * What a Pool asks of whatever runs its jobs: the local Scheduler (workers on this
 * machine) or the ClusterEngine (workers anywhere, through Redis). The Pool's API code
 * (option checks, sinks, feeds) is the same for both.
 */
import type { TransferListItem } from "node:worker_threads";
import type { FunctionRef } from "../wire/functions.ts";
import type { CallerStack, Job, JobSink, Task } from "./job.ts";
import type { JobTable } from "./job-table.ts";
import type { PoolStats } from "./stats.ts";

export interface PoolEngine {
  /** True until close() or terminate(). */
  readonly running: boolean;
  /** The error that keeps the pool from running any task (workers that cannot start, Redis out of reach), or null. */
  readonly startupError: unknown;
  /** Resolves once the pool is closed or terminated and all its work and workers are gone. */
  readonly joined: Promise<void>;
  createJob(fn: FunctionRef, star: boolean, sink: JobSink, caller: CallerStack, timeout: number | undefined, transfer?: readonly TransferListItem[]): Job;
  /** Queues a task of a live job. */
  enqueue(task: Task): void;
  /** Its jobs (cancel, abort, sources, a job's end): the same table for both, around each one's dispatch. */
  readonly jobs: JobTable;
  stats(): PoolStats;
  close(): void;
  terminate(error: Error): Promise<void>;
}
