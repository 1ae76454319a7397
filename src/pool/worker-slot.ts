/**
 * The scheduler's record of one pool worker: its handle, its state, and the
 * tasks posted to it (the first one is the task it is running).
 */
import type { WorkerHandle } from "../backends/backend.ts";
import type { MessageRing } from "../memory/ring.ts";
import type { ResultMessage } from "../wire/protocol.ts";
import type { Task } from "./job.ts";

export enum WorkerState {
  Starting,
  Ready,
  /** Sent its last task (maxTasksPerChild); exits after answering it. */
  Retiring,
  /** Told to stop after close(). */
  Stopping,
  /** Being killed (timeout, terminate). */
  Doomed,
}

/** Pipelining is used only while a worker's posted tasks are expected to take less than this in all (ms). */
export const PIPELINE_MAX_TASK_MS = 4;
/** At most this many tasks posted to one worker at once (the running one included). */
export const PIPELINE_DEPTH = 128;

export class PoolWorker {
  state = WorkerState.Starting;
  readonly inflight: Task[] = [];
  /** When inflight[0] started (performance.now()). */
  runningSince = 0;
  /** Moving average of task durations (ms); Infinity until a task finished. */
  averageMs = Infinity;
  sent = 0;
  /** Tasks it answered (pool.stats().perWorker). */
  done = 0;
  timer: NodeJS.Timeout | undefined;
  refd = true;
  idle = false;
  /** knownFns[id] is true once this worker was sent the FunctionRef of function `id`. */
  readonly knownFns: boolean[] = [];
  #origin: string | undefined;

  /** The seq of the next task sent to this worker (TaskMessage.seq). */
  taskSeq = 0;
  /** Tasks written into its ring, during a batch of answers, that have not woken it yet (see Scheduler#wakeLater). */
  unwokenTasks = 0;
  /** The seq of the answer to take next (ResultMessage.seq). */
  nextSeq = 0;
  /** Answers that came ahead of their turn (a message overtaking the ring), by seq. */
  readonly early = new Map<number, ResultMessage>();

  constructor(
    readonly name: string,
    readonly handle: WorkerHandle,
    /** Where the worker writes its answers (PoolBootstrap.results). */
    readonly results: MessageRing,
    /** Where its tasks are written (PoolBootstrap.tasks). */
    readonly tasks: MessageRing,
  ) {}

  get origin(): string {
    // A worker thread shares its parent's pid and is told apart by its thread id; an OS process by its pid.
    const { ident, pid } = this.handle;
    this.#origin ??= ident === pid ? `${this.name} (pid ${pid})` : `${this.name} (thread ${ident}, pid ${pid})`;
    return this.#origin;
  }
}
