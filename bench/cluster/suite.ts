/**
 * The cluster measures (issue 12), over a small adapter that multiproc's cluster Pool and
 * BullMQ each implement (bench/cluster/<library>.ts), on a redis-server of its own started
 * the same way for each (loopback, no persistence), with two worker processes:
 *
 *   C1 small tasks: `smallTasks` calls of inc(x), submitted at once, all awaited (jobs/s);
 *   C2 map: `mapItems` numbers in chunks (jobs) of `mapChunkSize`, results back (items/s);
 *   C3 worker loss: SIGKILL of the worker process that holds a long task, to the caller
 *      hearing that the task is lost (ms; BullMQ has no such notice: its stalled-job check
 *      re-queues the job after `stalledInterval`, 30 s by default, and is not timed here).
 */
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Plan } from "../lib/plan.ts";
import { duration, rate, timeRuns, type Measure } from "../lib/timing.ts";
import { startRedis, type RedisServer } from "../../test/helpers/redis.ts";

/** A started cluster of one library: its two workers and a caller. */
export interface BenchCluster {
  /** inc(x) for each x, each as a task of its own (BullMQ: a job), all submitted at once. */
  small(xs: number[]): Promise<number[]>;
  /** inc over every item, `chunkSize` items to a task (BullMQ: to a job). */
  map(xs: number[], chunkSize: number): Promise<number[]>;
  /** ms from the SIGKILL of a worker that runs a long task to the caller's error; undefined when the library has none. */
  loss?(): Promise<number>;
  close(): Promise<void>;
}

export interface ClusterLibrary {
  name: string;
  version: string;
  /** How the library is set up, for the report. */
  settings: string;
  open(redis: RedisServer, workers: number): Promise<BenchCluster>;
}

export interface ClusterResult {
  library: string;
  version: string;
  settings: string;
  measures: Record<string, Measure>;
}

/** The cluster workload: fixed, as the BullMQ figures are for these sizes. */
export const CLUSTER_WORKLOAD = { workers: 2, smallTasks: 20_000, mapItems: 1_000_000, mapChunkSize: 10_000, losses: 3 } as const;

export { startReady } from "../../test/helpers/start-ready.ts";

/** SIGKILL, and wait for the exit. */
export async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGKILL");
  await once(child, "exit");
}

export async function runClusterSuite(library: ClusterLibrary, plan: Plan): Promise<ClusterResult> {
  const { workers, smallTasks, mapItems, mapChunkSize, losses } = CLUSTER_WORKLOAD;
  const redis = await startRedis();
  try {
    const cluster = await library.open(redis, workers);
    try {
      const items = Array.from({ length: mapItems }, (_, i) => i);
      const smallItems = Array.from({ length: smallTasks }, (_, i) => i);
      const small = () => cluster.small(smallItems);
      const map = async () => {
        const out = await cluster.map(items, mapChunkSize);
        if (out.length !== mapItems || out[mapItems - 1] !== mapItems) throw new Error(`${library.name}: map returned a wrong result`);
      };
      // One untimed run of each first: connections, scripts and JIT warmed, as in W1-W4.
      const check = await small();
      if (check[smallTasks - 1] !== smallTasks) throw new Error(`${library.name}: inc returned a wrong result`);
      await map();
      const measures: Record<string, Measure> = {
        c1SmallTasks: rate(smallTasks, await timeRuns(plan.repeat, small), "jobs/s"),
        c2Map: rate(mapItems, await timeRuns(plan.repeat, map), "items/s"),
      };
      if (cluster.loss) {
        const times: number[] = [];
        for (let i = 0; i < losses; i++) times.push(await cluster.loss());
        measures.c3WorkerLoss = duration(times);
      }
      return { library: library.name, version: library.version, settings: library.settings, measures };
    } finally {
      await cluster.close();
    }
  } finally {
    await redis.stop();
  }
}
