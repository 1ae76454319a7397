/**
 * The caller's side of a cluster Pool (API.md, "Beyond one machine"): the same jobs,
 * sinks and feeds as a local pool (the Pool's API code does not change), with tasks
 * written to a Redis stream that workers on any machine read, and results read back
 * from this caller's own result stream. docs/cluster.md describes the data and the
 * rules; scripts.ts holds the atomic steps.
 *
 * Each task has one outcome: a result is taken only for a task this caller is still
 * waiting for (by job and chunk), and the first one ends the wait; the worker side
 * delivers only while it still holds the task (fencing), so a worker declared dead that
 * comes back cannot add a second one.
 */
import { randomUUID } from "node:crypto";
import type { TransferListItem } from "node:worker_threads";
import { ClusterError, WorkerLostError } from "../errors.ts";
import type { PoolEngine } from "../pool/engine.ts";
import { Job, type CallerStack, type JobSink, type Task } from "../pool/job.ts";
import { JobTable } from "../pool/job-table.ts";
import { DurationSamples, type PoolStats, type WorkerCounts } from "../pool/stats.ts";
import { exportedOrigin, type FunctionRef } from "../wire/functions.ts";
import { decodeClusterError, decodeValue, encodeValue } from "./codec.ts";
import { clusterKeys, DEFAULT_PREFIX, WORKER_GROUP, type ClusterKeys } from "./keys.ts";
import { BEAT_MS, BEAT_TIMEOUT_MS, ensureGroup, pause, reap, WORKER_DEAD_MS } from "./lease.ts";
import { connectRedis, type RedisLink } from "./redis.ts";
import { ADD_TASKS, CALLER_BEAT } from "./scripts.ts";
import { rawEntries, resultRecords, type ResultRecord } from "./streams.ts";
import { clusterTaskRef, encodeTaskCall, type ClusterTaskRef } from "./task-ref.ts";

/** `new mp.Pool({ cluster })`: where the cluster is and how its tasks behave. */
export interface ClusterOptions {
  /** The Redis server, as a URL: "redis://host:6379". */
  redis: string;
  /** How many times a task whose worker was lost is queued again before it fails with WorkerLostError. @default 0 (at most once, as a local pool) */
  retries?: number;
  /** The project directory: task modules are named by their path under it, on this machine and on the workers (their --root). @default process.cwd() */
  root?: string;
  /** The prefix of every Redis key of this cluster, so several can share a server. @default "multiproc" */
  prefix?: string;
  /** Pending calls reject with ClusterError when Redis has not answered for this long (ms). @default 30000 */
  unreachableMs?: number;
}

const enum State {
  Run,
  Close,
  Terminate,
}

/** A task on its way: written (its entry id known) or waiting to be. */
interface SentTask {
  task: Task;
  entry: string | undefined;
  sentAt: number;
}

/** One ADD_TASKS call writes at most this many tasks, or about this many payload bytes: a Lua script holds the server while it runs. */
const MAX_TASKS_PER_ADD = 1_000;
const MAX_BYTES_PER_ADD = 8 * 2 ** 20;

/** A task's key in #sent: its job and chunk, as numbers here or as the text of a result's fields. */
function taskKey(job: number | string, chunk: number | string): string {
  return `${job}:${chunk}`;
}

export class ClusterEngine implements PoolEngine {
  readonly #options: Required<Omit<ClusterOptions, "retries">> & { retries: number };
  readonly #keys: ClusterKeys;
  readonly #callerId = randomUUID();
  readonly #resultsKey: string;
  readonly #retries: string;
  #state = State.Run;
  readonly jobs = new JobTable({ dropTasks: (job) => this.#dropTasks(job), jobFinished: (job) => this.#jobFinished(job) });
  #jobCount = 0;
  /** Each function's reference, and its "f" fields (encodeTaskCall) by star and timeout: an apply is a job of its own. */
  readonly #refs = new Map<FunctionRef, { ref: ClusterTaskRef; calls: Map<string, string> }>();
  /** Each job's "f" field (encodeTaskCall). */
  readonly #jobCalls = new Map<number, string>();
  /** Tasks encoded and waiting to be written, with their payloads. */
  #unsent: { task: Task; payload: Buffer }[] = [];
  #flushing = false;
  readonly #sent = new Map<string, SentTask>();
  #nextJob = 1;
  #link: RedisLink | undefined;
  #reader: RedisLink | undefined;
  #startupError: unknown = null;
  #beats = 0;
  #lastAnswer = performance.now();
  #workers = 0;
  #perWorker: WorkerCounts[] = [];
  #completed = 0;
  #failed = 0;
  readonly #runTimes = new DurationSamples();
  readonly #waitTimes = new DurationSamples();
  #stopped = false;
  readonly #joined: Promise<void>;
  #resolveJoined!: () => void;
  #lastResult = "0";

  constructor(options: ClusterOptions) {
    this.#options = {
      redis: options.redis,
      retries: options.retries ?? 0,
      root: options.root ?? process.cwd(),
      prefix: options.prefix ?? DEFAULT_PREFIX,
      unreachableMs: options.unreachableMs ?? 30_000,
    };
    this.#keys = clusterKeys(this.#options.prefix);
    this.#resultsKey = this.#keys.results(this.#callerId);
    this.#retries = String(this.#options.retries);
    this.#joined = new Promise((resolve) => {
      this.#resolveJoined = resolve;
    });
    void this.#start();
  }

  get running(): boolean {
    return this.#state === State.Run;
  }

  get startupError(): unknown {
    return this.#startupError;
  }

  get joined(): Promise<void> {
    return this.#joined;
  }

  // ------------------------------------------------------------ connection

  async #start(): Promise<void> {
    let link: RedisLink | undefined;
    try {
      link = await connectRedis(this.#options.redis);
      const reader = await link.duplicate();
      this.#link = link;
      this.#reader = reader;
      await ensureGroup(link, this.#keys, WORKER_GROUP);
      await this.#beat();
    } catch (error) {
      await link?.close();
      this.#link = this.#reader = undefined;
      this.#startupError = error;
      this.jobs.abortAll(error);
      this.#unsent = [];
      this.#shutDown();
      return;
    }
    if (this.#stopped) {
      await this.#closeLinks();
      return;
    }
    this.#updateRef();
    void this.#beatLoop();
    void this.#readLoop();
    this.#flush();
  }

  /** Registers this caller (again) and reaps dead workers; fails what Redis lost when it comes back empty. */
  async #beat(): Promise<void> {
    const link = this.#link!;
    const added = await link.script(CALLER_BEAT, [this.#keys.callers], [this.#callerId], BEAT_TIMEOUT_MS);
    this.#lastAnswer = performance.now();
    if (added === 1 && this.#beats > 0) {
      this.#failSent(
        new ClusterError(
          `Redis at ${this.#options.redis} lost the cluster's data (restarted without persistence?); the tasks it held are gone`,
          { code: "ERR_MP_CLUSTER_REDIS" },
        ),
      );
      await ensureGroup(link, this.#keys, WORKER_GROUP);
    }
    this.#beats++;
    await reap(link, this.#keys, this.#options.prefix);
    // The workers' own counts, about once a second (they write them on their beats).
    if (this.#beats % 4 === 1) await this.#readWorkers(link);
  }

  async #readWorkers(link: RedisLink): Promise<void> {
    const ids = (await link.call(["ZRANGE", this.#keys.workers, "0", "-1"], BEAT_TIMEOUT_MS)) as string[];
    const rows = await Promise.all(
      ids.map((id) => link.call(["HMGET", this.#keys.worker(id), "label", "running", "done"], BEAT_TIMEOUT_MS) as Promise<(string | null)[]>),
    );
    this.#workers = ids.length;
    this.#perWorker = rows.map(([label, running, done], i) => ({ name: label ?? ids[i]!, running: Number(running) || 0, done: Number(done) || 0 }));
  }

  async #beatLoop(): Promise<void> {
    while (!this.#stopped) {
      await pause(BEAT_MS);
      if (this.#stopped) break;
      try {
        await this.#beat();
      } catch (error) {
        const silent = performance.now() - this.#lastAnswer;
        if (silent > this.#options.unreachableMs && this.#sent.size + this.#unsent.length > 0) {
          const why = new ClusterError(
            `Redis at ${this.#options.redis} has not answered for ${Math.round(silent / 1000)} s (${(error as Error).message}); the pending tasks of this pool failed`,
            { code: "ERR_MP_CLUSTER_REDIS", cause: error },
          );
          this.#failSent(why);
          for (const { task } of this.#unsent.splice(0)) this.#settle(task, false, why);
        }
      }
    }
  }

  async #readLoop(): Promise<void> {
    while (!this.#stopped) {
      let reply: unknown;
      try {
        const reader = this.#reader;
        if (!reader) break;
        reply = await reader.callBinary(["XREAD", "COUNT", "1000", "BLOCK", String(BEAT_MS * 4), "STREAMS", this.#resultsKey, this.#lastResult]);
      } catch {
        if (this.#stopped) break;
        // The connection dropped (Redis restarted, or the connection was killed): node-redis reconnects.
        await pause(50);
        continue;
      }
      const entries = rawEntries(reply);
      for (const [id, flat] of entries) {
        this.#lastResult = String(id);
        if (flat) for (const result of resultRecords(flat)) this.#onResult(result);
      }
      if (entries.length > 0) {
        // What was read is not needed again.
        this.#link?.call(["XTRIM", this.#resultsKey, "MINID", this.#lastResult]).catch(() => {});
      }
    }
  }

  #onResult({ job, chunk, outcome, payload, who, ranMs }: ResultRecord): void {
    const key = taskKey(job, chunk);
    const sent = this.#sent.get(key);
    // A result for nothing awaited: a cancelled job's, or a second one (never delivered twice).
    if (!sent) return;
    this.#sent.delete(key);
    const { task } = sent;
    const ran = Number(ranMs);
    if (Number.isFinite(ran) && ran >= 0) {
      this.#runTimes.add(ran);
      task.job.onChunkRan?.(task.items.length, ran);
    }
    const origin = `cluster worker ${who}`;
    if (outcome === "ok") {
      let values: unknown[];
      try {
        values = decodeValue(payload ?? Buffer.alloc(0)) as unknown[];
      } catch (error) {
        this.#settle(task, false, new ClusterError(`A result from ${origin} could not be read: ${(error as Error).message}`, { code: "ERR_MP_CLUSTER_REDIS" }));
        return;
      }
      this.#settle(task, true, values);
    } else if (outcome === "lost") {
      this.#settle(
        task,
        false,
        new WorkerLostError(`The cluster worker ${who} that held this task stopped beating for ${WORKER_DEAD_MS / 1000} s (it died, or its network or host stopped)`, {
          code: "ERR_MP_WORKER_LOST",
        }),
      );
    } else {
      let error: unknown;
      try {
        error = decodeClusterError(payload ?? Buffer.alloc(0), this.#options.root, origin, task.job.caller.stack);
      } catch (cause) {
        error = new ClusterError(`An error from ${origin} could not be read: ${(cause as Error).message}`, { code: "ERR_MP_CLUSTER_REDIS" });
      }
      this.#settle(task, false, error);
    }
  }

  /** Ends one task's wait with its outcome. */
  #settle(task: Task, ok: boolean, value: unknown): void {
    const { job } = task;
    job.running--;
    if (ok) this.#completed++;
    else this.#failed++;
    if (!job.cancelled) {
      if (ok) job.sink.chunkDone(task.chunk, value as unknown[]);
      else job.sink.chunkFailed(task.chunk, value);
    }
    this.jobs.finishIfDone(job);
  }

  /** Every task written and not answered fails with `error` (Redis lost them, or is out of reach). */
  #failSent(error: unknown): void {
    const sent = [...this.#sent.values()];
    this.#sent.clear();
    for (const { task } of sent) this.#settle(task, false, error);
  }

  // ------------------------------------------------------------ jobs and tasks

  createJob(fn: FunctionRef, star: boolean, sink: JobSink, caller: CallerStack, timeout: number | undefined, transfer?: readonly TransferListItem[]): Job {
    if (transfer !== undefined && transfer.length > 0) {
      throw new ClusterError("A cluster Pool cannot transfer buffers (`transfer`): every argument is copied to another machine; leave `transfer` out", {
        code: "ERR_MP_CLUSTER_NOT_SENDABLE",
      });
    }
    let known = this.#refs.get(fn);
    if (!known) {
      known = { ref: clusterTaskRef(fn.kind === "source" ? (exportedOrigin(fn) ?? fn) : fn, this.#options.root), calls: new Map() };
      this.#refs.set(fn, known);
    }
    const callKey = `${star ? 1 : 0}:${timeout ?? ""}`;
    let call = known.calls.get(callKey);
    if (call === undefined) {
      call = encodeTaskCall({ ...known.ref, star, timeout });
      // Kept for the few timeouts a program uses; one that varies its timeout per call is not cached forever.
      if (known.calls.size >= 64) known.calls.clear();
      known.calls.set(callKey, call);
    }
    const job = new Job(this.#nextJob++, fn, 0, star, sink, caller, timeout, undefined);
    this.#jobCalls.set(job.id, call);
    this.jobs.add(job);
    this.#jobCount++;
    this.#updateRef();
    return job;
  }

  enqueue(task: Task): void {
    const { job } = task;
    if (job.cancelled) return;
    task.queuedAt = performance.now();
    let payload: Buffer;
    try {
      payload = this.#encodeTask(task);
    } catch (error) {
      job.sink.chunkFailed(task.chunk, error);
      this.#failed++;
      return;
    }
    job.queued++;
    this.#unsent.push({ task, payload });
    if (this.#unsent.length === 1) queueMicrotask(() => this.#flush());
  }

  #encodeTask(task: Task): Buffer {
    const what = task.start === null ? "The task's arguments" : `An item of the iterable (from index ${task.start})`;
    if (task.wired) {
      throw new ClusterError(
        `${what} hold a multiproc object (a lock, queue, shared value or the like) that works only on this machine; a cluster task's arguments must be plain data. Use a local Pool for shared objects`,
        { code: "ERR_MP_CLUSTER_NOT_SENDABLE" },
      );
    }
    return encodeValue(task.items, what);
  }

  /** Writes the waiting tasks: ADD_TASKS calls of up to MAX_TASKS_PER_ADD tasks each, pipelined. */
  #flush(): void {
    const link = this.#link;
    if (!link || this.#flushing || this.#unsent.length === 0) return;
    const batch = this.#unsent;
    this.#unsent = [];
    const writes: Promise<void>[] = [];
    let group: SentTask[] = [];
    let args: (string | Buffer)[] = [this.#callerId, this.#retries];
    let bytes = 0;
    // No task of a cancelled job is here: cancelling takes them out of #unsent (#dropTasks).
    for (const { task, payload } of batch) {
      const { job } = task;
      job.queued--;
      job.running++;
      const sent: SentTask = { task, entry: undefined, sentAt: performance.now() };
      this.#sent.set(taskKey(job.id, task.chunk), sent);
      group.push(sent);
      args.push(String(job.id), String(task.chunk), this.#jobCalls.get(job.id)!, payload);
      bytes += payload.length;
      if (group.length === MAX_TASKS_PER_ADD || bytes >= MAX_BYTES_PER_ADD) {
        writes.push(this.#addTasks(link, group, args));
        group = [];
        args = [this.#callerId, this.#retries];
        bytes = 0;
      }
    }
    if (group.length > 0) writes.push(this.#addTasks(link, group, args));
    this.#flushing = true;
    void Promise.all(writes).then(() => {
      this.#flushing = false;
      this.#flush();
    });
  }

  /** One ADD_TASKS call; each task learns its entry id, or fails with the call's error. */
  async #addTasks(link: RedisLink, group: SentTask[], args: (string | Buffer)[]): Promise<void> {
    let ids: unknown[];
    try {
      ids = (await link.script(ADD_TASKS, [this.#keys.tasks], args)) as unknown[];
    } catch (error) {
      for (const sent of group) {
        const key = taskKey(sent.task.job.id, sent.task.chunk);
        if (this.#sent.get(key) !== sent) continue;
        this.#sent.delete(key);
        this.#settle(sent.task, false, new ClusterError(`Could not queue the task on Redis at ${this.#options.redis}: ${(error as Error).message}`, { code: "ERR_MP_CLUSTER_REDIS", cause: error }));
      }
      return;
    }
    const now = performance.now();
    const cancelled: string[] = [];
    group.forEach((sent, i) => {
      sent.entry = String(ids[i]);
      this.#waitTimes.add(now - (sent.task.queuedAt ?? sent.sentAt));
      // Cancelled while the write was on its way: take it back.
      if (sent.task.job.cancelled) cancelled.push(sent.entry);
    });
    if (cancelled.length > 0) void link.call(["XDEL", this.#keys.tasks, ...cancelled]).catch(() => {});
  }

  /** A cancelled job's tasks: the unwritten ones dropped here, the written ones taken back out of the stream (one a worker runs already finishes there and its result is dropped here). */
  #dropTasks(job: Job): void {
    if (job.queued > 0) this.#unsent = this.#unsent.filter((unsent) => unsent.task.job !== job);
    job.queued = 0;
    const entries: string[] = [];
    for (const [key, sent] of this.#sent) {
      if (sent.task.job !== job) continue;
      this.#sent.delete(key);
      job.running--;
      if (sent.entry !== undefined) entries.push(sent.entry);
    }
    if (entries.length > 0 && this.#link) void this.#link.call(["XDEL", this.#keys.tasks, ...entries]).catch(() => {});
  }

  #jobFinished(job: Job): void {
    this.#jobCalls.delete(job.id);
    this.#jobCount--;
    this.#updateRef();
    this.#checkDone();
  }

  /** Connections keep the program alive only while a call waits, as a local pool's idle workers do not. */
  #updateRef(): void {
    const busy = this.#jobCount > 0;
    this.#link?.keepAlive(busy);
    this.#reader?.keepAlive(busy);
  }

  stats(): PoolStats {
    return {
      workers: this.#workers,
      // As of the workers' last beats: those that held no task.
      idle: this.#perWorker.filter((worker) => worker.running === 0).length,
      queued: this.#unsent.length,
      running: this.#sent.size,
      completed: this.#completed,
      failed: this.#failed,
      runTime: this.#runTimes.summary(),
      waitTime: this.#waitTimes.summary(),
      perWorker: this.#perWorker,
    };
  }

  // ------------------------------------------------------------ lifecycle

  close(): void {
    if (this.#state !== State.Run) return;
    this.#state = State.Close;
    this.jobs.close();
    this.#checkDone();
  }

  terminate(error: Error): Promise<void> {
    if (this.#state !== State.Terminate) {
      this.#state = State.Terminate;
      this.jobs.abortAll(error);
      this.#unsent = [];
      this.#shutDown();
    }
    return this.#joined;
  }

  #checkDone(): void {
    if (this.#state === State.Close && this.#jobCount === 0) this.#shutDown();
  }

  #shutDown(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    void this.#closeLinks().then(this.#resolveJoined);
  }

  async #closeLinks(): Promise<void> {
    const link = this.#link;
    const reader = this.#reader;
    this.#link = this.#reader = undefined;
    if (!link) return;
    // join() waits for these last commands: they keep the program alive as a pending call does.
    link.keepAlive(true);
    try {
      await link.call(["ZREM", this.#keys.callers, this.#callerId]);
      await link.call(["DEL", this.#resultsKey]);
    } catch {
      // Redis is out of reach: the reaper forgets this caller after CALLER_GONE_MS.
    }
    // The reader may be blocked in XREAD for up to a second: drop it rather than wait.
    reader?.destroy();
    await link.close();
  }
}
