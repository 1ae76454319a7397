/**
 * BullMQ for the cluster bench: a Queue and QueueEvents in the caller, two worker
 * processes (bullmq-worker.mjs), ioredis (BullMQ's own client) on the same kind of
 * redis-server. Completed jobs are removed, as multiproc removes finished tasks, and the
 * events stream is long enough that no completion is trimmed before the caller reads it.
 */
import { fileURLToPath } from "node:url";
import { importPeer } from "../macro/suite.ts";
import { killChild, startReady, type ClusterLibrary } from "./suite.ts";

/** The few signatures used here (importPeer: bench's packages may not be installed when the root typechecks). */
interface Closable {
  close(): Promise<void>;
}
interface BullMQ {
  Queue: new (name: string, options: { connection: unknown; streams?: { events: { maxLen: number } } }) => Closable & {
    addBulk(jobs: { name: string; data: unknown; opts: Record<string, unknown> }[]): Promise<unknown>;
  };
  QueueEvents: new (name: string, options: { connection: unknown }) => Closable & {
    waitUntilReady(): Promise<unknown>;
    on(event: "completed", listener: (args: { jobId: string; returnvalue: unknown }) => void): void;
    on(event: "failed", listener: (args: { jobId: string; failedReason: string }) => void): void;
  };
}
interface IORedisModule {
  Redis: new (url: string, options: { maxRetriesPerRequest: null }) => { disconnect(): void };
}

const here = fileURLToPath(new URL("./", import.meta.url));
const { module: bullmq, version } = await importPeer<BullMQ>("bullmq");
const { Queue, QueueEvents } = bullmq;
const { module: ioredis } = await importPeer<IORedisModule>("ioredis");
const IORedis = ioredis.Redis;
/** Jobs a worker process runs at once. For jobs this small, more concurrency means more throughput, up to about this many. */
const CONCURRENCY = Number(process.env.MP_BENCH_BULLMQ_CONCURRENCY ?? 100);
const QUEUE = "bench";
/** Jobs per addBulk call. */
const BULK = 1_000;

const library: ClusterLibrary = {
  name: "bullmq",
  version,
  settings: `2 worker processes, each new Worker(queue, fn, { concurrency: ${CONCURRENCY} }); Queue.addBulk of ${BULK}; completions by QueueEvents; removeOnComplete`,
  async open(redis, workers) {
    const started = await Promise.all(
      Array.from({ length: workers }, () => startReady(process.execPath, [`${here}bullmq-worker.mjs`, redis.url, QUEUE, String(CONCURRENCY)], /^ready$/m)),
    );
    const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(QUEUE, { connection, streams: { events: { maxLen: 1_000_000 } } });
    // QueueEvents blocks on its own connection.
    const eventsConnection = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const events = new QueueEvents(QUEUE, { connection: eventsConnection });
    await events.waitUntilReady();
    const waiting = new Map<string, (value: unknown) => void>();
    events.on("completed", ({ jobId, returnvalue }) => {
      const done = waiting.get(jobId);
      if (!done) return;
      waiting.delete(jobId);
      done(typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue);
    });
    events.on("failed", ({ jobId, failedReason }) => {
      const done = waiting.get(jobId);
      waiting.delete(jobId);
      done?.(Promise.reject(new Error(failedReason)));
    });
    let nextId = 0;
    /** Adds the jobs in bulks and resolves with their return values, in order. */
    const run = async (name: string, datas: unknown[]): Promise<unknown[]> => {
      const results: Promise<unknown>[] = [];
      for (let start = 0; start < datas.length; start += BULK) {
        const jobs = datas.slice(start, start + BULK).map((data) => {
          const jobId = `j${++nextId}`;
          results.push(new Promise((resolve) => waiting.set(jobId, resolve)));
          return { name, data, opts: { jobId, removeOnComplete: true, removeOnFail: true } };
        });
        await queue.addBulk(jobs);
      }
      return Promise.all(results);
    };
    return {
      small: (xs) => run("inc", xs) as Promise<number[]>,
      async map(xs, chunkSize) {
        const chunks: number[][] = [];
        for (let i = 0; i < xs.length; i += chunkSize) chunks.push(xs.slice(i, i + chunkSize));
        return ((await run("incAll", chunks)) as number[][]).flat();
      },
      async close() {
        await Promise.all(started.map(({ child }) => killChild(child)));
        await events.close();
        await queue.close();
        connection.disconnect();
        eventsConnection.disconnect();
      },
    };
  },
};

export default library;
