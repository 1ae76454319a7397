/**
 * The pool's engine (CPython's task handler, result handler and worker handler
 * in one event-driven object): a queue of chunks, the workers with the chunks
 * each has in flight, replacement of workers that exit, retire or time out, and
 * the feeds that read imap's input lazily.
 *
 * Invariants:
 * - A worker runs its tasks one at a time, in the order they were posted, and
 *   answers them in that order; so the first entry of `inflight` is the task it
 *   is running, and a result always answers that entry.
 * - More tasks are posted to a busy worker (pipelining, up to PIPELINE_DEPTH in
 *   all) only when no worker is idle, none of them has a timeout, and the
 *   worker's posted tasks are expected to take less than PIPELINE_MAX_TASK_MS
 *   together; so a task never waits long behind others while a worker idles
 *   (and #steal takes back what waits when one does), and a task's timeout
 *   always counts from its real start. Keeping several tiny tasks in flight per
 *   worker is what makes them cheap: a worker that finds its next task already
 *   queued does not go back to sleep to be woken by the next postMessage.
 * - `queueLive` counts the queued tasks of jobs that still want results; tasks
 *   of cancelled jobs stay in `queue` and are skipped when reached.
 */
import type { PoolEngine } from "./engine.ts";
import type { TransferListItem } from "node:worker_threads";
import type { ResourceLimits, WorkerBackend, WorkerExit, WorkerHandle } from "../backends/backend.ts";
import { TimeoutError, WorkerLostError } from "../errors.ts";
import { findUncloneable, uncloneableError } from "../wire/clone-check.ts";
import { withMemoryKind } from "../memory/kind.ts";
import { CLOSED, MessageRing, NOTHING } from "../memory/ring.ts";
import { unlinkShm } from "../memory/shm.ts";
import { decodeError, encodeError, loadErrorClasses, type EncodedError } from "../wire/errors.ts";
import { decodeFrame, fastOutgoing } from "../wire/message-codec.ts";
import { TOO_BIG } from "../wire/fast-codec.ts";
import { COPY_TO_TRANSFER_BYTES, copiesToTransfer } from "../wire/copy-to-transfer.ts";
import { encodeTaskFrame, resultFromFrame, type ResultFrame } from "../wire/pool-frames.ts";
import { RingSend, ringLimit, sendThroughRing, writeOutgoing } from "../wire/ring-send.ts";
import { explainSourceError, type FunctionRef } from "../wire/functions.ts";
import type { PoolBootstrap, ResultMessage, TaskMessage, WorkerMessage } from "../wire/protocol.ts";
import { decodeFromWire } from "../wire/serialize.ts";
import { FunctionTable } from "./function-table.ts";
import { Job, type CallerStack, type JobSink, type Task } from "./job.ts";
import { JobTable } from "./job-table.ts";
import { TaskQueue } from "./task-queue.ts";
import { DurationSamples, type PoolStats, type WorkerCounts } from "./stats.ts";
import { PIPELINE_DEPTH, PIPELINE_MAX_TASK_MS, PoolWorker, WorkerState } from "./worker-slot.ts";

export { Job, type CallerStack, type JobSink, type Source, type Task } from "./job.ts";

/**
 * Data bytes of a worker's task ring and of its result ring: a task or an answer up to
 * a quarter of it goes through the ring, a bigger one as a message (#writeTask, and
 * the worker's writeResult).
 */
const RING_BYTES = 1 << 20;

/** A batch of answers wakes a worker lingering on its task ring once per this many tasks written for it (#wakeLater). */
const WAKE_EVERY = 8;

/** Unlinks the OS name of a pool ring (task or result) in OS shared memory; the memory stays mapped where it is open. */
function forgetRingName(ring: MessageRing): void {
  const { region } = ring.state;
  if (region.kind === "shm") unlinkShm(region.name);
}

/** This many workers in a row dying before they are ready breaks the pool (a start-up failure that repeats). */
const MAX_START_DEATHS = 5;
/** The pause before replacing a worker that died while starting; doubles with each such death in a row. */
const RESPAWN_PAUSE_MS = 50;
const RESPAWN_PAUSE_MAX_MS = 2_000;

export interface SchedulerOptions {
  processes: number;
  backend: WorkerBackend;
  /** The start-up data of the next worker (its name included); the scheduler adds its rings. */
  nextBootstrap(): Omit<PoolBootstrap, "results" | "tasks">;
  resourceLimits: ResourceLimits | undefined;
  maxTasks: number | null;
  /**
   * A worker runs no code of the user's until its first task (no initializer, no
   * `modules`): one still starting when the pool is closed with nothing left to do is
   * stopped rather than waited for, since nothing could tell the difference. Python
   * would let it start and stop; here that wait was most of close() + join() right
   * after a pool's first task (a child process takes 60-100 ms to start on this machine).
   */
  startsQuietly: boolean;
}

const enum PoolState {
  Run,
  Close,
  Terminate,
}

export class Scheduler implements PoolEngine {
  readonly #options: SchedulerOptions;
  #state = PoolState.Run;
  readonly #workers = new Set<PoolWorker>();
  readonly #idle: PoolWorker[] = [];
  readonly #queue = new TaskQueue();
  readonly jobs = new JobTable({
    dropTasks: (job) => this.#queue.forget(job),
    settled: () => {
      this.#stopIdleIfDone();
      this.#checkJoined();
    },
  });
  #startupError: unknown = null;
  /** Workers that died while starting since a worker last became ready. */
  #startDeaths = 0;
  #respawnTimer: NodeJS.Timeout | undefined;
  #respawnNow = false;
  #completed = 0;
  #failed = 0;
  readonly #runTimes = new DurationSamples();
  readonly #waitTimes = new DurationSamples();
  #nextJob = 1;
  readonly #functions = new FunctionTable();
  #joined: Promise<void>;
  #resolveJoined!: () => void;

  constructor(options: SchedulerOptions) {
    this.#options = options;
    this.#joined = new Promise((resolve) => {
      this.#resolveJoined = resolve;
    });
    this.#maintain();
  }

  /** The error that stopped workers from starting, if any. */
  get startupError(): unknown {
    return this.#startupError;
  }

  /** True until close() or terminate(). The Pool reads its state here rather than keeping a copy. */
  get running(): boolean {
    return this.#state === PoolState.Run;
  }

  /** Resolves once the pool is closed or terminated and every worker has exited. */
  get joined(): Promise<void> {
    return this.#joined;
  }

  createJob(
    fn: FunctionRef,
    star: boolean,
    sink: JobSink,
    caller: CallerStack,
    timeout: number | undefined,
    transfer?: readonly TransferListItem[],
  ): Job {
    const job = new Job(this.#nextJob++, fn, this.#functions.idOf(fn), star, sink, caller, timeout, transfer);
    this.jobs.add(job);
    return job;
  }

  // ------------------------------------------------------------ workers

  /**
   * Starts one worker. A worker that cannot even be spawned (the OS refused a
   * thread or a process) counts as one that died while starting; the error goes
   * to the pending calls if that keeps happening, never out of an event handler.
   * Returns false when it could not.
   */
  #spawn(): boolean {
    const backend = this.#options.backend;
    // In the memory the worker can map: this process's for a thread, OS shared memory for a process.
    const [results, tasks] = withMemoryKind(backend.method === "process" ? "os" : "thread", () => [
      MessageRing.create(RING_BYTES),
      MessageRing.create(RING_BYTES),
    ]);
    const bootstrap: PoolBootstrap = { ...this.#options.nextBootstrap(), results: results.state, tasks: tasks.state };
    const name = bootstrap.identity.name;
    let worker!: PoolWorker;
    let handle: WorkerHandle;
    try {
      handle = backend.spawn({
        bootstrap,
        resourceLimits: this.#options.resourceLimits,
        // `worker` is unset only if spawn() threw after the child was forked (its bootstrap could
        // not be sent): that child's exit was counted as a failed start already.
        events: {
          message: (message) => worker && this.#onMessage(worker, message),
          exit: (exit) => worker && this.#onExit(worker, exit),
        },
      });
    } catch (error) {
      forgetRingName(results);
      forgetRingName(tasks);
      this.#startFailed(`${name} could not be started: ${(error as Error)?.message ?? String(error)}`, { cause: error });
      return false;
    }
    worker = new PoolWorker(name, handle, results, tasks);
    this.#workers.add(worker);
    this.#updateRef(worker);
    return true;
  }

  /**
   * A worker died (or could not be spawned) before it was ready, with no
   * start-up error of its own: it is replaced after a pause (see #maintain), and
   * MAX_START_DEATHS of these in a row, with no worker ready in between, break the pool.
   */
  #startFailed(what: string, details: ConstructorParameters<typeof WorkerLostError>[1]): void {
    if (this.#startupError !== null || ++this.#startDeaths < MAX_START_DEATHS) return;
    this.#break(
      new WorkerLostError(
        `${this.#startDeaths} pool workers in a row died before they were ready, the last one: ${what}; the pool starts no more workers`,
        details,
      ),
    );
  }

  /** A worker keeps the program alive only while it has work (or work waits for it to start). */
  #updateRef(worker: PoolWorker): void {
    const wanted =
      worker.inflight.length > 0 ||
      // After close() or terminate() every worker exits soon, and join() waits to see it.
      this.#state !== PoolState.Run ||
      worker.state === WorkerState.Stopping ||
      worker.state === WorkerState.Doomed ||
      (worker.state === WorkerState.Starting && this.#queue.live > 0);
    if (wanted === worker.refd) return;
    worker.refd = wanted;
    if (wanted) worker.handle.ref();
    else worker.handle.unref();
  }

  #makeIdle(worker: PoolWorker): void {
    if (!worker.idle) {
      worker.idle = true;
      this.#idle.push(worker);
    }
  }

  #removeIdle(worker: PoolWorker): void {
    if (!worker.idle) return;
    worker.idle = false;
    const index = this.#idle.indexOf(worker);
    if (index >= 0) this.#idle.splice(index, 1);
  }

  /**
   * Starts workers until `processes` of them can take tasks (CPython's _maintain_pool).
   * After workers died while starting, the replacements wait a pause that doubles
   * with each such death, so a machine that kills every new worker sees no spawn storm.
   */
  #maintain(): void {
    if (this.#state === PoolState.Terminate || this.#startupError !== null) return;
    if (this.#state === PoolState.Close && !this.#hasWork()) return;
    if (this.#respawnTimer) return;
    if (this.#startDeaths > 0 && !this.#respawnNow) {
      const pause = Math.min(RESPAWN_PAUSE_MAX_MS, RESPAWN_PAUSE_MS * 2 ** (this.#startDeaths - 1));
      this.#respawnTimer = setTimeout(() => {
        this.#respawnTimer = undefined;
        this.#respawnNow = true;
        this.#maintain();
        this.#respawnNow = false;
      }, pause);
      // Only waiting work keeps the program alive for the pause.
      if (!this.#hasWork()) this.#respawnTimer.unref();
      return;
    }
    let live = 0;
    for (const worker of this.#workers) {
      if (worker.state === WorkerState.Starting || worker.state === WorkerState.Ready) live++;
    }
    for (; live < this.#options.processes; live++) {
      if (!this.#spawn()) {
        this.#respawnNow = false;
        this.#maintain(); // after a pause, or not at all once the pool is broken
        return;
      }
    }
  }

  #hasWork(): boolean {
    return this.#queue.live > 0 || this.jobs.reading;
  }

  #onMessage(worker: PoolWorker, message: WorkerMessage): void {
    // The tasks sent for the answers taken here wake their workers once, at the end.
    const outer = this.#bellsDue === null;
    if (outer) this.#bellsDue = [];
    try {
      this.#handleMessage(worker, message);
    } finally {
      if (outer) this.#ringBellsDue();
    }
  }

  /**
   * Workers whose task-ring doorbell was claimed while answers were being taken
   * (see #onMessage), to be posted once the batch is done; null outside a batch, when
   * a doorbell is posted at once. A batch of answers sends a task for each: posting the
   * doorbell at the first of them woke the worker, which ran it and slept again before
   * the second was written, and so on: a message per task instead of one per batch.
   */
  #bellsDue: PoolWorker[] | null = null;

  #ringBellsDue(): void {
    const due = this.#bellsDue!;
    this.#bellsDue = null;
    for (const worker of this.#workers) {
      if (worker.unwokenTasks === 0) continue;
      worker.unwokenTasks = 0;
      worker.tasks.wakeReader();
    }
    for (const worker of due) worker.handle.post({ type: "tasks" });
  }

  /**
   * A task written during a batch of answers wakes a worker waiting on its ring (a thread
   * lingering there) only with every WAKE_EVERY-th task, or when the batch is done
   * (#ringBellsDue). Woken at each write, such a worker took that one task, ran it and
   * slept again before the next write: a futex wake per task, 7% of the parent's time
   * on W1. Outside a batch (the caller's own submits) every write wakes it at once.
   */
  #wakeLater(worker: PoolWorker): void {
    if (++worker.unwokenTasks < WAKE_EVERY) return;
    worker.unwokenTasks = 0;
    worker.tasks.wakeReader();
  }

  /**
   * Outside a batch, the first doorbell is posted at once (the worker starts while the
   * caller goes on submitting) and opens a batch for the rest of this synchronous run of
   * submits, closed in a microtask. A burst of submits (a cluster worker's read of many
   * entries, a program's loop of apply calls) otherwise posted a message for nearly every
   * task: the worker took each one, slept and re-armed its doorbell before the next write.
   */
  #ringTaskBell(worker: PoolWorker): void {
    if (this.#bellsDue) {
      this.#bellsDue.push(worker);
      return;
    }
    worker.handle.post({ type: "tasks" });
    this.#bellsDue = [];
    queueMicrotask(() => {
      if (this.#bellsDue) this.#ringBellsDue();
    });
  }

  #handleMessage(worker: PoolWorker, message: WorkerMessage): void {
    // Whatever the worker sent, it wrote the results before it into the ring first.
    if (message.type === "results") worker.results.answerDoorbell();
    this.#drainResults(worker);
    switch (message.type) {
      case "results":
        break;
      case "result":
        this.#takeAnswer(worker, message);
        break;
      case "ready":
        // The worker has mapped its rings: their OS names can go (the mappings stay).
        forgetRingName(worker.results);
        forgetRingName(worker.tasks);
        if (worker.state !== WorkerState.Starting) return;
        worker.state = WorkerState.Ready;
        this.#startDeaths = 0;
        // A task sent while it was starting (see #startingCandidate) starts now, as far as we can tell.
        if (worker.inflight.length > 0) this.#started(worker, performance.now());
        else this.#makeIdle(worker);
        this.#dispatch();
        if (worker.idle && this.#queue.live === 0) this.#steal();
        this.#updateRef(worker);
        this.#stopIdleIfDone();
        break;
      case "startup-failed":
        this.#break(decodeError(message.error, worker.origin));
        break;
      case "retiring":
        break;
    }
  }

  /** Takes every answer waiting in the worker's result ring, in order. */
  #drainResults(worker: PoolWorker): void {
    const ring = worker.results;
    while (ring.size > 0) {
      let answer: unknown;
      try {
        answer = ring.tryRead(decodeFrame);
      } catch (error) {
        // Our own encoding, so this should not happen; the frame was consumed: it answered the next task.
        const task = worker.inflight[0];
        answer = { type: "result", seq: worker.nextSeq, job: task?.job.id ?? -1, chunk: task?.chunk ?? -1, ok: false, error: encodeError(error) };
      }
      if (answer === NOTHING || answer === CLOSED) break;
      if (!Array.isArray(answer)) {
        this.#takeAnswer(worker, answer as ResultMessage);
        continue;
      }
      const frame = answer as ResultFrame;
      if (frame[0] !== worker.nextSeq || worker.early.size > 0) {
        this.#takeAnswer(worker, resultFromFrame(frame));
        continue;
      }
      // The next answer, with none held: taken straight from its frame (no message object per tiny task).
      worker.nextSeq++;
      this.#onResult(worker, frame[1], frame[2], frame[3] === 1, frame[4], frame[5] === 1);
    }
  }

  /** Takes answers in the order the worker numbered them, holding one that came early. */
  #takeAnswer(worker: PoolWorker, message: ResultMessage): void {
    if (message.seq !== worker.nextSeq) {
      worker.early.set(message.seq, message);
      return;
    }
    for (let next: ResultMessage | undefined = message; next; next = worker.early.get(worker.nextSeq)) {
      worker.early.delete(worker.nextSeq);
      worker.nextSeq++;
      if (next.ok) this.#onResult(worker, next.job, next.chunk, true, next.values, next.wired);
      else this.#onResult(worker, next.job, next.chunk, false, next.error, false);
    }
  }

  /** The answer to the worker's first task in flight: its values (`wired`: in wire form), or its encoded error. */
  #onResult(worker: PoolWorker, jobId: number, chunk: number, ok: boolean, payload: unknown, wired: boolean): void {
    if (worker.state === WorkerState.Doomed) return;
    const task = worker.inflight.shift();
    if (!task || task.job.id !== jobId || task.chunk !== chunk) return;
    worker.done++;
    if (worker.timer) {
      clearTimeout(worker.timer);
      worker.timer = undefined;
    }
    const now = performance.now();
    // A worker can answer a task sent while it was starting before its "ready" is read
    // (a child process runs it as soon as it listens): its start was never seen here,
    // so it is not timed, and the next task starts at "ready".
    const starting = worker.state === WorkerState.Starting;
    if (!starting) {
      const took = now - worker.runningSince;
      worker.averageMs = worker.averageMs === Infinity ? took : worker.averageMs * 0.75 + took * 0.25;
      this.#runTimes.add(took);
    }
    if (ok) this.#completed++;
    else this.#failed++;
    if (worker.inflight.length > 0) {
      if (!starting) this.#started(worker, now);
    } else if (worker.state === WorkerState.Ready) {
      this.#makeIdle(worker);
    }
    const { job } = task;
    job.running--;
    if (!job.cancelled) {
      if (ok) {
        job.sink.chunkDone(task.chunk, wired ? (decodeFromWire(payload) as unknown[]) : (payload as unknown[]));
      } else {
        const error = payload as EncodedError;
        const fail = (): void => {
          if (!job.cancelled) job.sink.chunkFailed(task.chunk, explainSourceError(decodeError(error, worker.origin, job.caller.stack), job.fn));
        };
        // An error of the user's own class waits for its module to load here (once), to be rebuilt as that class.
        const loading = loadErrorClasses(error);
        if (loading) void loading.then(fail);
        else fail();
      }
    }
    this.jobs.finishIfDone(job);
    // Not `now`: the sink may have run the caller's callbacks since.
    this.#dispatch();
    if (worker.idle && this.#queue.live === 0) this.#steal();
    this.#updateRef(worker);
    this.#stopIdleIfDone();
  }

  /**
   * Workers are idle and nothing is queued, while tasks wait behind others in some
   * workers (pipelining guessed wrong: a task there runs long). Take such tasks back,
   * one per idle worker, from the workers with the most waiting, and run them on the
   * idle ones. Taking back goes through the task ring's start gate (claimTask), not
   * through a message: it works at once, even while the busy worker runs a long task
   * that never lets it read a message, and the worker skips a task taken back.
   */
  #steal(): void {
    while (this.#idle.length > 0 && this.#queue.live === 0) {
      const task = this.#takeBack();
      if (!task) return;
      if (task.job.cancelled) {
        this.jobs.finishIfDone(task.job);
        continue;
      }
      this.#requeueFront(task);
      this.#dispatch();
    }
  }

  /**
   * Takes back the next task not yet started by a worker that has others in flight, or by
   * one still starting (see #startingCandidate), from the worker with the most, if any
   * (see #steal).
   */
  #takeBack(): Task | undefined {
    let best: { from: PoolWorker; index: number } | undefined;
    for (const worker of this.#workers) {
      const starting = worker.state === WorkerState.Starting;
      if (!(starting || worker.state === WorkerState.Ready) || worker.inflight.length < (starting ? 1 : 2)) continue;
      if (best && worker.inflight.length <= best.from.inflight.length) continue;
      // The gate's task is the first one the worker has not started. Tasks it has finished
      // but whose answers are not read yet still stand before it in `inflight`, so it may
      // be anywhere in it (none: the worker has started them all).
      const seq = worker.tasks.nextTask;
      const index = worker.inflight.findIndex((task) => task.seq === seq);
      if (index >= 0) best = { from: worker, index };
    }
    if (!best) return undefined;
    const { from, index } = best;
    const task = from.inflight[index]!;
    // Its transferred buffers are gone from here: it can run only where it was sent.
    if (task.job.transfer !== undefined) return undefined;
    if (!from.tasks.claimTask(task.seq!)) return undefined; // the worker started it just now
    from.inflight.splice(index, 1);
    task.job.running--;
    from.sent--;
    if (index === 0 && from.state === WorkerState.Ready) {
      if (from.timer) {
        clearTimeout(from.timer);
        from.timer = undefined;
      }
      if (from.inflight.length > 0) this.#started(from, performance.now());
    }
    this.#updateRef(from);
    return task;
  }

  #onExit(worker: PoolWorker, exit: WorkerExit): void {
    // Answers the worker wrote before it died are still in shared memory: they are taken, not lost.
    this.#drainResults(worker);
    forgetRingName(worker.results);
    forgetRingName(worker.tasks);
    this.#workers.delete(worker);
    this.#removeIdle(worker);
    if (worker.timer) clearTimeout(worker.timer);
    const wasStarting = worker.state === WorkerState.Starting;
    const inflight = worker.inflight.splice(0);
    const requeue: Task[] = [];
    for (let i = 0; i < inflight.length; i++) {
      const task = inflight[i]!;
      if (task.settled) continue;
      const { job } = task;
      job.running--;
      if (job.cancelled) {
        this.jobs.finishIfDone(job);
      } else if (i === 0 && !(wasStarting && worker.tasks.claimTask(task.seq!))) {
        this.#failed++;
        job.sink.chunkFailed(task.chunk, this.#lostError(worker, exit, "while running this task"));
        this.jobs.finishIfDone(job);
      } else {
        requeue.push(task); // posted behind the lost task, or to a worker that died starting, and never started
      }
    }
    if (this.#state !== PoolState.Terminate) {
      // A start-up error (a module that throws on import, an initializer that
      // throws) came as "startup-failed" and broke the pool already. A worker that
      // dies while starting without one was killed from outside or crashed.
      if (wasStarting) {
        const lost = this.#lostError(worker, exit, "while starting");
        this.#startFailed(lost.message, { pid: lost.pid, exitCode: lost.exitCode, signal: lost.signal, cause: lost.cause });
      }
      for (let i = requeue.length - 1; i >= 0; i--) this.#requeueFront(requeue[i]!);
      this.#maintain();
      this.#dispatch();
      this.#stopIdleIfDone();
    }
    this.#checkJoined();
  }

  #lostError(worker: PoolWorker, exit: WorkerExit, when: string): WorkerLostError {
    const how = exit.signal ? `was killed (${exit.signal}, exit code ${exit.exitCode})` : `exited with code ${exit.exitCode}`;
    const reason = exit.error ? `: ${exit.error.message}` : "";
    return new WorkerLostError(`${worker.origin} ${how} ${when}${reason}`, {
      pid: worker.handle.pid,
      exitCode: exit.exitCode,
      signal: exit.signal,
      ...(exit.error ? { cause: exit.error } : {}),
    });
  }

  /** Workers cannot start: fail pending work with the start-up error and start no more workers. */
  #break(error: unknown): void {
    if (this.#startupError !== null || this.#state === PoolState.Terminate) return;
    this.#startupError = error;
    this.jobs.abortAll(error);
    this.#stopIdleIfDone();
    this.#checkJoined();
  }

  // ------------------------------------------------------------ queue

  /** Queues a task of a live job. */
  enqueue(task: Task): void {
    task.queuedAt = performance.now();
    // Live tasks waiting already mean that no worker can take one now (#dispatch stops only
    // then, and whatever lets a worker take one dispatches itself), and that they keep the
    // program alive: this one only joins them. 20,000 submits at once (W1) then cost one
    // search for a worker, not one each.
    const joinsWaiting = this.#queue.live > 0;
    this.#queue.push(task);
    if (joinsWaiting) return;
    this.#dispatch(task.queuedAt);
    // Work waiting for workers that are still starting (or yet to be started) must keep the program alive.
    if (this.#queue.live > 0) {
      for (const worker of this.#workers) if (worker.state === WorkerState.Starting) this.#updateRef(worker);
      this.#respawnTimer?.ref();
    }
  }

  #requeueFront(task: Task): void {
    if (this.#startupError !== null) {
      task.job.sink.chunkFailed(task.chunk, this.#startupError);
      this.jobs.finishIfDone(task.job);
      return;
    }
    this.#queue.pushFront(task);
  }

  /** Sends queued tasks to idle workers, or pipelines them; `now`: performance.now(), if the caller has it. */
  #dispatch(now?: number): void {
    if (this.#state === PoolState.Terminate) return;
    while (this.#queue.live > 0) {
      let worker = this.#idle.pop();
      if (worker) worker.idle = false;
      else {
        worker = this.#pipelineCandidate((now ??= performance.now())) ?? this.#startingCandidate();
        if (!worker) break;
      }
      const task = this.#queue.shift();
      if (!task) {
        if (worker.inflight.length === 0 && worker.state === WorkerState.Ready) this.#makeIdle(worker);
        break;
      }
      this.#send(worker, task);
    }
  }

  #pipelineCandidate(now: number): PoolWorker | undefined {
    const next = this.#queue.peek();
    if (!next || next.job.timeout !== undefined) return undefined;
    const maxTasks = this.#options.maxTasks;
    let best: PoolWorker | undefined;
    for (const worker of this.#workers) {
      if (
        worker.state === WorkerState.Ready &&
        worker.inflight.length > 0 &&
        worker.inflight.length < PIPELINE_DEPTH &&
        worker.inflight[0]!.job.timeout === undefined &&
        worker.inflight.length * worker.averageMs < PIPELINE_MAX_TASK_MS &&
        now - worker.runningSince < PIPELINE_MAX_TASK_MS &&
        (maxTasks === null || worker.sent < maxTasks) &&
        (!best ||
          worker.inflight.length < best.inflight.length ||
          (worker.inflight.length === best.inflight.length && worker.runningSince < best.runningSince))
      ) {
        best = worker;
      }
    }
    return best;
  }

  /**
   * A worker still starting, with nothing sent to it yet, when the next task can go ahead
   * of its "ready": the task then waits in its ring (or, posted, in its channel), and the
   * worker runs it the moment it listens, not one message round trip later (W5: a pool's
   * first task). Only a task that can move: if another worker is ready first, #steal takes
   * it back through the ring's start gate, which a task with a transfer list cannot pass.
   * Not with a timeout, which must count from the task's start (a child process may run
   * it before its "ready" is read), nor with maxTasksPerChild, whose retiring starts at
   * the send.
   */
  #startingCandidate(): PoolWorker | undefined {
    const next = this.#queue.peek();
    if (!next || next.job.timeout !== undefined || next.job.transfer !== undefined || this.#options.maxTasks !== null) return undefined;
    for (const worker of this.#workers) {
      if (worker.state === WorkerState.Starting && worker.inflight.length === 0) return worker;
    }
    return undefined;
  }

  #send(worker: PoolWorker, task: Task): void {
    const { job } = task;
    const fnId = job.fnId;
    const known = worker.knownFns[fnId] === true;
    const seq = worker.taskSeq;
    try {
      if (!this.#writeTask(worker, task, seq, known)) {
        // Two literal shapes rather than `ref: undefined`: an absent key costs nothing to clone.
        const message: TaskMessage = known
          ? { type: "task", seq, job: job.id, chunk: task.chunk, fn: fnId, items: task.items, star: job.star, wired: task.wired, start: task.start }
          : { type: "task", seq, job: job.id, chunk: task.chunk, fn: fnId, ref: job.fn, items: task.items, star: job.star, wired: task.wired, start: task.start };
        // Big arrays to a thread: copied once here and moved, rather than copied twice by postMessage.
        const moved = job.transfer === undefined && !task.wired && this.#options.backend.copyThenTransfer ? copiesToTransfer(task.items, COPY_TO_TRANSFER_BYTES) : null;
        if (moved) message.items = moved.items;
        // Announced first: a worker thread lingering on its ring goes back to its event loop for it.
        worker.tasks.messageComing();
        try {
          worker.handle.post(message, moved ? moved.transfer : job.transfer);
        } catch (error) {
          worker.tasks.messageArrived();
          throw error;
        }
      }
    } catch (error) {
      // Nothing was sent; only this task fails and the worker takes the next one.
      if (worker.inflight.length === 0 && worker.state === WorkerState.Ready) this.#makeIdle(worker);
      job.sink.chunkFailed(task.chunk, this.#sendError(task, error));
      this.jobs.finishIfDone(job);
      return;
    }
    // Only a task that was sent taught the worker the function, and used up its seq.
    task.seq = seq;
    worker.taskSeq++;
    if (!known) worker.knownFns[fnId] = true;
    job.running++;
    worker.sent++;
    worker.inflight.push(task);
    if (worker.inflight.length === 1 && worker.state !== WorkerState.Starting) this.#started(worker, performance.now());
    this.#updateRef(worker);
    const maxTasks = this.#options.maxTasks;
    if (maxTasks !== null && worker.sent >= maxTasks) {
      // Start the replacement now, while this worker runs its last task.
      worker.state = WorkerState.Retiring;
      this.#removeIdle(worker);
      this.#maintain();
    }
  }

  /**
   * Writes a task into the worker's task ring (see sendThroughRing). False when it must
   * be posted instead: it transfers buffers, carries library objects (their wire form
   * is revived by the message path), or sendThroughRing declined it.
   */
  #writeTask(worker: PoolWorker, task: Task, seq: number, known: boolean): boolean {
    const { job } = task;
    if (job.transfer !== undefined || task.wired) return false;
    const ring = worker.tasks;
    const ref = known ? undefined : job.fn;
    const inBatch = this.#bellsDue !== null;
    const encoded = encodeTaskFrame(seq, job.id, task.chunk, job.fnId, task.items, job.star, task.start, ref, ringLimit(ring));
    const sent =
      typeof encoded !== "number"
        ? sendThroughRing(ring, encoded, "a task to a pool worker", !inBatch)
        : encoded === TOO_BIG
          ? RingSend.Declined
          : writeOutgoing(ring, fastOutgoing(encoded), !inBatch);
    if (sent === RingSend.Declined) return false;
    if (sent === RingSend.WrittenRingDoorbell) this.#ringTaskBell(worker);
    if (inBatch) this.#wakeLater(worker);
    return true;
  }

  #sendError(task: Task, error: unknown): unknown {
    if (!(error instanceof Error) || (error.name !== "DataCloneError" && !/could not be cloned/i.test(error.message))) {
      return error;
    }
    if (task.start === null) {
      return uncloneableError(task.items[0], "args", "the arguments to a pool worker", error);
    }
    let bad = 0;
    for (let i = 0; i < task.items.length; i++) {
      if (findUncloneable(task.items[i], "item")) {
        bad = i;
        break;
      }
    }
    return uncloneableError(task.items[bad], `iterable[${task.start + bad}]`, "an item of the iterable to a pool worker", error);
  }

  /** The worker's first in-flight task starts now: its wait ends, its timeout starts. */
  #started(worker: PoolWorker, now: number): void {
    const task = worker.inflight[0]!;
    worker.runningSince = now;
    if (task.queuedAt !== undefined) this.#waitTimes.add(now - task.queuedAt);
    this.#startTimer(worker);
  }

  #startTimer(worker: PoolWorker): void {
    const task = worker.inflight[0]!;
    const timeout = task.job.timeout;
    if (timeout === undefined) return;
    worker.timer = setTimeout(() => this.#onTimeout(worker, task, timeout), timeout);
    worker.timer.unref();
  }

  /** A task overran its timeout: fail it, kill its worker, start a replacement. */
  #onTimeout(worker: PoolWorker, task: Task, timeout: number): void {
    if (worker.inflight[0] !== task || worker.state === WorkerState.Doomed) return;
    worker.timer = undefined;
    task.settled = true;
    this.#failed++;
    const { job } = task;
    job.running--;
    worker.state = WorkerState.Doomed;
    this.#removeIdle(worker);
    this.#updateRef(worker);
    void worker.handle.kill();
    if (!job.cancelled) {
      job.sink.chunkFailed(
        task.chunk,
        new TimeoutError(`The task did not finish within ${timeout} ms; its worker ${worker.origin} was stopped and replaced`, {
          timeout,
        }),
      );
    }
    this.jobs.finishIfDone(job);
    this.#maintain();
    this.#dispatch();
  }

  // ------------------------------------------------------------ jobs

  // ------------------------------------------------------------ stats

  stats(): PoolStats {
    let idle = 0;
    let running = 0;
    const perWorker: WorkerCounts[] = [];
    for (const worker of this.#workers) {
      running += worker.inflight.length;
      perWorker.push({ name: worker.name, running: worker.inflight.length, done: worker.done });
      if (worker.state === WorkerState.Ready && worker.inflight.length === 0) idle++;
    }
    return {
      workers: this.#workers.size,
      idle,
      queued: this.#queue.live,
      running,
      completed: this.#completed,
      failed: this.#failed,
      runTime: this.#runTimes.summary(),
      waitTime: this.#waitTimes.summary(),
      perWorker,
    };
  }

  // ------------------------------------------------------------ lifecycle

  close(): void {
    if (this.#state !== PoolState.Run) return;
    this.#state = PoolState.Close;
    for (const worker of this.#workers) this.#updateRef(worker);
    this.jobs.close();
    this.#stopIdleIfDone();
    this.#checkJoined();
  }

  /** After close(), once no work is left, idle workers are told to exit. */
  #stopIdleIfDone(): void {
    if (this.#state !== PoolState.Close || this.#hasWork()) return;
    for (const worker of this.#workers) {
      // One that was sent a task has run the user's code (or will): it answers and stops as a ready one does.
      if (worker.state === WorkerState.Starting && this.#options.startsQuietly && worker.sent === 0) {
        worker.state = WorkerState.Stopping;
        this.#updateRef(worker);
        void worker.handle.terminate();
        continue;
      }
      if (worker.state !== WorkerState.Ready || worker.inflight.length > 0) continue;
      worker.state = WorkerState.Stopping;
      this.#removeIdle(worker);
      this.#updateRef(worker);
      worker.handle.post({ type: "stop" });
    }
  }

  terminate(error: Error): Promise<void> {
    if (this.#state !== PoolState.Terminate) {
      this.#state = PoolState.Terminate;
      clearTimeout(this.#respawnTimer);
      this.#respawnTimer = undefined;
      this.jobs.abortAll(error);
      this.#queue.clear();
      for (const worker of this.#workers) {
        if (worker.timer) clearTimeout(worker.timer);
        worker.state = WorkerState.Doomed;
        this.#updateRef(worker);
        void worker.handle.terminate();
      }
      this.#idle.length = 0;
      this.#checkJoined();
    }
    return this.#joined;
  }

  #checkJoined(): void {
    if (this.#state === PoolState.Run || this.#workers.size > 0) return;
    if (this.#state === PoolState.Close && this.#hasWork() && this.#startupError === null) return;
    this.#resolveJoined();
  }
}
