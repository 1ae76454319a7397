/**
 * The worker side of a cluster (`npx multiproc worker`): a supervisor that pulls tasks
 * from Redis and runs them on a local Pool of its own. The supervisor runs no task
 * code: its event loop only reads tasks, writes results and beats, so a task that keeps
 * its worker busy for minutes never stops the heartbeat (lease.ts), and a task's worker
 * that dies or overruns its timeout is the local pool's to replace.
 *
 * It reads only as many tasks as it has free places (#capacity: one per process while
 * tasks are long, more for short ones), so a task waits in Redis, where any idle worker
 * can take it, rather than behind a long task here.
 */
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { StartMethod } from "../backends/backend.ts";
import { wantTypeScript } from "../backends/loader.ts";
import { ClusterError } from "../errors.ts";
import { Pool } from "../pool/pool.ts";
import { exportStandIn } from "../wire/functions.ts";
import { decodeValue, encodeClusterError, encodeValue } from "./codec.ts";
import { clusterKeys, DEFAULT_PREFIX, WORKER_GROUP, type ClusterKeys } from "./keys.ts";
import { BEAT_MS, BEAT_TIMEOUT_MS, ensureGroup, pause, reap } from "./lease.ts";
import { connectRedis, type RedisLink } from "./redis.ts";
import { COMPLETE, REGISTER_WORKER, WORKER_BEAT } from "./scripts.ts";
import { streamEntries, text, type StreamEntry } from "./streams.ts";
import { decodeTaskCall, moduleHash, pathUnder, type TaskCall } from "./task-ref.ts";

/** A worker holds at most this much work per process (by recent tasks' run time), and at most MAX_HELD_PER_PROCESS tasks. */
const HOLD_MS = 20;
const MAX_HELD_PER_PROCESS = 256;
/** Tasks this long (ms, on average) are held one per process. */
const LONG_TASK_MS = 100;

/** How long a worker keeps trying to deliver a result while Redis is out of reach. */
const DELIVERY_PATIENCE_MS = 60_000;

/** One COMPLETE call takes at most this many results, or about this many payload bytes. */
const MAX_RESULTS_PER_COMPLETE = 512;
const MAX_BYTES_PER_COMPLETE = 8 * 2 ** 20;

/** The "f" fields read (decodeTaskCall) are kept up to this many; a worker sees a few per job. */
const MAX_CALLS_KEPT = 1024;

/** A finished task's result on its way to COMPLETE. */
interface Outgoing {
  /** The COMPLETE_STRIDE values of this result. */
  args: (string | Buffer)[];
  bytes: number;
  /** Delivered (true), dropped as no longer this worker's (false), or given up on (undefined). */
  settle(delivered: boolean | undefined): void;
}

export interface ClusterWorkerOptions {
  redis: string;
  /** Task modules (paths); tasks may call the exports of these only. */
  modules: string[];
  processes: number;
  context: StartMethod;
  maxTasksPerChild: number | null;
  /** Shown in errors and in `multiproc status`. @default the host name */
  name?: string;
  /** The project directory modules are named under. @default process.cwd() */
  root?: string;
  prefix?: string;
  /** Where the supervisor says what it does. @default nowhere */
  log?: (line: string) => void;
}

interface LoadedModule {
  url: string;
  hash: string;
  /** Stand-ins of its exports by name (exportStandIn). */
  exports: Map<string, Function>;
}

export class ClusterWorker {
  readonly #options: ClusterWorkerOptions;
  readonly #keys: ClusterKeys;
  readonly #prefix: string;
  readonly #root: string;
  readonly #name: string;
  readonly #label: string;
  readonly #modules = new Map<string, LoadedModule>();
  /** Recent tasks' mean time per process (ms), for how many to hold at once (#capacity). */
  #averageMs = Infinity;
  #lastCompletion: number | undefined;
  #id = "";
  #link: RedisLink | undefined;
  #reader: RedisLink | undefined;
  #pool: Pool | undefined;
  #running = 0;
  /** The entries it runs now, by id. */
  readonly #held = new Set<string>();
  /** A read failed: its reply may have been lost with entries already given to this worker, so read its own pending list next. */
  #rereadOwn = false;
  #done = 0;
  #draining = false;
  #stopped = false;
  /** Results waiting for the COMPLETE call in flight to end (#deliverLoop). */
  #outbox: Outgoing[] = [];
  #delivering = false;
  readonly #calls = new Map<string, TaskCall | null>();
  #slotFreed: (() => void) | undefined;
  #idle: (() => void) | undefined;
  readonly #finished: Promise<void>;
  #resolveFinished!: () => void;

  constructor(options: ClusterWorkerOptions) {
    this.#options = options;
    this.#prefix = options.prefix ?? DEFAULT_PREFIX;
    this.#keys = clusterKeys(this.#prefix);
    this.#root = resolve(options.root ?? process.cwd());
    this.#name = options.name ?? hostname();
    this.#label = `${this.#name} on ${hostname()} (pid ${process.pid})`;
    this.#finished = new Promise((done) => {
      this.#resolveFinished = done;
    });
    for (const module of options.modules) {
      const path = resolve(module);
      if (!existsSync(path)) throw new ClusterError(`--module ${module}: no such file (${path})`, { code: "ERR_MP_CLUSTER_UNKNOWN_MODULE" });
      const under = pathUnder(this.#root, path);
      if (under === null) {
        throw new ClusterError(`--module ${module} is outside the root ${this.#root}; callers name modules by their path under the root: pass --root <project directory>`, {
          code: "ERR_MP_CLUSTER_UNKNOWN_MODULE",
        });
      }
      if (/\.(?:c|m)?tsx?$/.test(path)) wantTypeScript();
      this.#modules.set(under, { url: pathToFileURL(path).href, hash: moduleHash(path), exports: new Map() });
    }
  }

  /**
   * How many tasks to hold at once. While tasks are long (LONG_TASK_MS or more, and before
   * any finished), one per process: a task waits in Redis, where any idle worker takes it,
   * never behind a long one here, and the round trip to fetch the next is a trifle beside
   * the task. Shorter tasks, two per process (one running, one waiting), and more when they
   * are so short that a round trip to Redis must bring enough of them to keep the processes
   * busy: as many as fill HOLD_MS of work, at most MAX_HELD_PER_PROCESS.
   */
  #capacity(): number {
    if (this.#averageMs >= LONG_TASK_MS) return this.#options.processes;
    const perProcess = Math.min(MAX_HELD_PER_PROCESS, Math.max(2, Math.floor(HOLD_MS / this.#averageMs)));
    return this.#options.processes * perProcess;
  }

  /**
   * Updates #averageMs: the time between completions times the processes while more than
   * one task is held (what a task costs a process, queueing here left out), else the task's own time.
   */
  #timeCompletion(started: number): void {
    const now = performance.now();
    const sample = this.#running > 1 && this.#lastCompletion !== undefined ? (now - this.#lastCompletion) * this.#options.processes : now - started;
    this.#lastCompletion = now;
    this.#averageMs = this.#averageMs === Infinity ? sample : this.#averageMs * 0.9 + sample * 0.1;
  }

  /** The id this worker reads under now (a new one after it was declared dead and came back). */
  get id(): string {
    return this.#id;
  }

  /** Resolves once the worker has stopped (drain() or kill()). */
  get finished(): Promise<void> {
    return this.#finished;
  }

  async start(): Promise<void> {
    this.#link = await connectRedis(this.#options.redis);
    this.#reader = await this.#link.duplicate();
    await ensureGroup(this.#link, this.#keys, WORKER_GROUP);
    this.#pool = new Pool({
      processes: this.#options.processes,
      context: this.#options.context,
      maxTasksPerChild: this.#options.maxTasksPerChild,
      modules: [...this.#modules.values()].map((module) => module.url),
    });
    await this.#register();
    this.#log(`worker ${this.#id}: ${this.#options.processes} ${this.#options.context} workers, modules ${[...this.#modules.keys()].join(", ")}`);
    void this.#beatLoop();
    void this.#readLoop();
  }

  #log(line: string): void {
    this.#options.log?.(line);
  }

  async #register(): Promise<void> {
    this.#id = `${this.#name}-${randomUUID().slice(0, 8)}`;
    await this.#link!.script(REGISTER_WORKER, [this.#keys.workers, this.#keys.worker(this.#id)], [
      this.#id,
      "label", this.#label, "host", hostname(), "pid", String(process.pid), "processes", String(this.#options.processes),
      "started", new Date().toISOString(), "running", "0", "done", "0",
    ]);
  }

  async #beatLoop(): Promise<void> {
    while (!this.#stopped) {
      try {
        const beat = await this.#link!.script(WORKER_BEAT, [this.#keys.workers, this.#keys.worker(this.#id)], [this.#id], BEAT_TIMEOUT_MS);
        if (beat === -1) {
          // Declared dead (stopped too long, or Redis lost its data): what it still runs is no longer
          // its own (the results are fenced off), and it goes on under a new id.
          const old = this.#id;
          await ensureGroup(this.#link!, this.#keys, WORKER_GROUP);
          await this.#register();
          this.#log(`worker ${old} was declared dead; now ${this.#id}`);
        }
        void this.#link!.call(["HSET", this.#keys.worker(this.#id), "running", String(this.#running), "done", String(this.#done)]).catch(() => {});
        await reap(this.#link!, this.#keys, this.#prefix);
      } catch {
        // Redis is out of reach for now; node-redis reconnects and the next beat tries again.
      }
      await pause(BEAT_MS);
    }
  }

  async #readLoop(): Promise<void> {
    while (!this.#draining) {
      const capacity = this.#capacity();
      if (this.#running >= capacity) {
        await new Promise<void>((wake) => (this.#slotFreed = wake));
        continue;
      }
      const consumer = this.#id;
      const own = this.#rereadOwn;
      let entries: StreamEntry[];
      try {
        const reply = await this.#reader!.callBinary([
          "XREADGROUP", "GROUP", WORKER_GROUP, consumer, "COUNT", String(capacity - this.#running), "BLOCK", String(BEAT_MS * 4),
          "STREAMS", this.#keys.tasks, own ? "0" : ">",
        ]);
        const deleted: string[] = [];
        entries = streamEntries(reply, deleted).filter((entry) => !this.#held.has(entry.id));
        // Entries of its own that callers took back (XDEL) while it held them: nothing to run, nothing to leave pending.
        if (deleted.length > 0) void this.#link!.call(["XACK", this.#keys.tasks, WORKER_GROUP, ...deleted]).catch(() => {});
        this.#rereadOwn = false;
      } catch (error) {
        if (this.#draining) break;
        this.#rereadOwn = true;
        if (String((error as Error).message).includes("NOGROUP")) await ensureGroup(this.#link!, this.#keys, WORKER_GROUP).catch(() => {});
        await pause(50);
        continue;
      }
      if (entries.length === 0) continue;
      const callers = entries.map((entry) => text(entry, "c"));
      let alive: unknown[] = callers.map(() => "1");
      try {
        alive = (await this.#link!.call(["ZMSCORE", this.#keys.callers, ...callers])) as unknown[];
      } catch {
        // Cannot tell now: run them; a gone caller's results are dropped by COMPLETE.
      }
      entries.forEach((entry, i) => {
        if (alive[i] === null) {
          // Its caller is gone: nobody waits for the result.
          void this.#link!.call(["XACK", this.#keys.tasks, WORKER_GROUP, entry.id]).then(() => this.#link!.call(["XDEL", this.#keys.tasks, entry.id])).catch(() => {});
          return;
        }
        void this.#run(entry, consumer);
      });
    }
  }

  async #run(entry: StreamEntry, consumer: string): Promise<void> {
    this.#running++;
    this.#held.add(entry.id);
    const started = performance.now();
    let outcome: "ok" | "error";
    let payload: Buffer;
    try {
      const values = await this.#execute(entry);
      payload = encodeValue(values, "The task's result");
      outcome = "ok";
    } catch (error) {
      payload = encodeClusterError(error, this.#root);
      outcome = "error";
    }
    const ranMs = (performance.now() - started).toFixed(1);
    this.#timeCompletion(started);
    const args = [entry.id, text(entry, "j"), text(entry, "k"), outcome, payload, ranMs, text(entry, "c")];
    const delivered = await this.#deliver(args, payload.length);
    if (delivered === false) {
      this.#log(`worker ${consumer}: the result of task ${entry.id} was dropped: the task is no longer this worker's (it was declared dead, or its caller is gone)`);
    }
    this.#held.delete(entry.id);
    this.#done++;
    this.#running--;
    const wake = this.#slotFreed;
    this.#slotFreed = undefined;
    wake?.();
    if (this.#running === 0) this.#idle?.();
  }

  /** Queues a result for COMPLETE: every result that finishes while one call is on its way goes in the next. */
  #deliver(args: (string | Buffer)[], bytes: number): Promise<boolean | undefined> {
    return new Promise((settle) => {
      this.#outbox.push({ args, bytes, settle });
      if (!this.#delivering) void this.#deliverLoop();
    });
  }

  async #deliverLoop(): Promise<void> {
    this.#delivering = true;
    while (this.#outbox.length > 0 && !this.#stopped) {
      let count = 0;
      let bytes = 0;
      while (count < this.#outbox.length && count < MAX_RESULTS_PER_COMPLETE && (count === 0 || bytes + this.#outbox[count]!.bytes <= MAX_BYTES_PER_COMPLETE)) {
        bytes += this.#outbox[count]!.bytes;
        count++;
      }
      const batch = this.#outbox.splice(0, count);
      const delivered = await this.#complete(batch);
      batch.forEach((result, i) => result.settle(delivered?.[i]));
    }
    for (const result of this.#outbox.splice(0)) result.settle(undefined);
    this.#delivering = false;
  }

  /**
   * COMPLETE for a batch, tried again while Redis is out of reach (a killed connection, a
   * restart): fencing makes a second try harmless. Per result, false when the task was no
   * longer this worker's; undefined when the worker stopped, or Redis stayed away past
   * DELIVERY_PATIENCE_MS (the tasks are then reaped as a lost worker's, or lost with Redis's data).
   */
  async #complete(batch: Outgoing[]): Promise<boolean[] | undefined> {
    const args: (string | Buffer)[] = [this.#keys.results("")];
    for (const result of batch) args.push(...result.args);
    args.push(this.#label);
    const giveUp = performance.now() + DELIVERY_PATIENCE_MS;
    while (!this.#stopped) {
      try {
        const reply = (await this.#link!.script(COMPLETE, [this.#keys.tasks, this.#keys.callers], args)) as unknown[];
        return batch.map((_, i) => Number(reply[i]) === 1);
      } catch (error) {
        if (performance.now() > giveUp) {
          this.#log(`worker ${this.#id}: could not deliver ${batch.length} results for ${DELIVERY_PATIENCE_MS / 1000} s (${(error as Error).message}); giving up on them`);
          return undefined;
        }
        await pause(100);
      }
    }
    return undefined;
  }

  /** The call an entry's "f" field names, read once per distinct field. */
  #call(entry: StreamEntry): TaskCall {
    const field = text(entry, "f");
    let call = this.#calls.get(field);
    if (call === undefined) {
      call = decodeTaskCall(field);
      if (this.#calls.size >= MAX_CALLS_KEPT) this.#calls.clear();
      this.#calls.set(field, call);
    }
    if (!call) throw new ClusterError(`The task entry ${entry.id} does not name a call (its caller runs another version of multiproc?)`, { code: "ERR_MP_CLUSTER_REDIS" });
    return call;
  }

  /** Runs one task on the local pool; its results. */
  async #execute(entry: StreamEntry): Promise<unknown[]> {
    const { module: path, name, hash, star, timeout } = this.#call(entry);
    const module = this.#modules.get(path);
    if (!module) {
      throw new ClusterError(
        `The worker ${this.#label} has no module ${path}: it loaded ${[...this.#modules.keys()].join(", ") || "none"}. Start it with --module ${path}`,
        { code: "ERR_MP_CLUSTER_UNKNOWN_MODULE" },
      );
    }
    if (hash !== module.hash) {
      throw new ClusterError(
        `Version skew: the worker ${this.#label} has a different ${path} (content hash ${module.hash}) from the caller's (${hash}). ` +
          "Deploy the same version of the module to the caller and every worker, then restart the workers",
        { code: "ERR_MP_CLUSTER_VERSION_SKEW" },
      );
    }
    let fn = module.exports.get(name);
    if (!fn) {
      fn = exportStandIn(module.url, name);
      module.exports.set(name, fn);
    }
    const items = decodeValue(entry.fields.get("p") ?? Buffer.alloc(0));
    if (!Array.isArray(items)) throw new ClusterError(`A task entry ${entry.id} holds no list of items`, { code: "ERR_MP_CLUSTER_REDIS" });
    const pool = this.#pool!;
    // One call (an apply, or a map of one item): the local pool's apply, with no map around it.
    if (items.length === 1) return [await pool.apply(fn as (...args: unknown[]) => unknown, star ? (items[0] as unknown[]) : [items[0]], { timeout })];
    const options = { chunkSize: Math.max(1, items.length), timeout };
    return star ? pool.starmap(fn as (...args: unknown[]) => unknown, items as unknown[][], options) : pool.map(fn as (item: unknown) => unknown, items, options);
  }

  /** Takes no new task, finishes the ones it holds, then leaves the cluster (the first SIGTERM). */
  async drain(): Promise<void> {
    if (this.#draining) return this.#finished;
    this.#draining = true;
    this.#slotFreed?.();
    // The reader may be blocked in XREADGROUP: what it would still return is left to others.
    this.#reader?.destroy();
    if (this.#running > 0) await new Promise<void>((idle) => (this.#idle = idle));
    this.#pool?.close();
    await this.#pool?.join();
    await this.#leave();
    return this.#finished;
  }

  /** Stops now: the tasks it holds are reaped by the others as a lost worker's (the second SIGTERM). */
  async kill(): Promise<void> {
    this.#draining = true;
    this.#stopped = true;
    this.#reader?.destroy();
    this.#link?.destroy();
    await this.#pool?.terminate();
    this.#resolveFinished();
  }

  async #leave(): Promise<void> {
    this.#stopped = true;
    try {
      await this.#link!.call(["ZREM", this.#keys.workers, this.#id]);
      await this.#link!.call(["DEL", this.#keys.worker(this.#id)]);
      await this.#link!.call(["XGROUP", "DELCONSUMER", this.#keys.tasks, WORKER_GROUP, this.#id]);
    } catch {
      // Redis is out of reach: the reaper forgets this worker once its beats stop.
    }
    await this.#link?.close();
    this.#resolveFinished();
  }
}
