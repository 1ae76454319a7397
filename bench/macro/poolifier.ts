/**
 * poolifier: a FixedThreadPool over workers/poolifier.mjs, or a FixedClusterPool (child
 * processes through Node's cluster) over workers/poolifier-cluster.mjs. Its mapExecute()
 * sends one task per item, so map runs in chunks like the other peers.
 */
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, type PoolLibrary } from "./suite.ts";

interface PoolifierPool {
  execute(data: unknown, name?: string): Promise<unknown>;
  destroy(): Promise<void>;
  /** Internal in poolifier's types, public at runtime: a Worker or a cluster Worker. */
  readonly workerNodes: readonly { worker: NodeJS.EventEmitter }[];
}
type PoolClass = new (workers: number, filePath: string, options?: { settings?: { execArgv?: string[] } }) => PoolifierPool;
type PoolifierModule = { FixedThreadPool: PoolClass; FixedClusterPool: PoolClass };

const { module, version } = await importPeer<PoolifierModule>("poolifier");

/** poolifier's adapter on threads (FixedThreadPool) or child processes (FixedClusterPool). */
export function poolifier(kind: PoolLibrary["kind"]): PoolLibrary {
  const script = fileURLToPath(new URL(kind === "thread" ? "./workers/poolifier.mjs" : "./workers/poolifier-cluster.cjs", import.meta.url));
  const Pool = kind === "thread" ? module.FixedThreadPool : module.FixedClusterPool;
  return {
    name: kind === "thread" ? "poolifier" : "poolifier-cluster",
    version,
    kind,
    mapHow: CHUNKED_MAP,
    settings: kind === "thread" ? "FixedThreadPool(workers), default options" : "FixedClusterPool(workers), execArgv [] (see the adapter)",
    async open(workers) {
      // A cluster worker inherits this process's --import tsx, and under tsx poolifier's
      // cluster workers never answered here; they run plain JavaScript, so they get no flags.
      const pool = kind === "thread" ? new Pool(workers, script) : new Pool(workers, script, { settings: { execArgv: [] } });
      // Listened to from the start: see close().
      const exited = Promise.all(pool.workerNodes.map(({ worker }) => once(worker, "exit")));
      return {
        inc: (x) => pool.execute(x, "inc") as Promise<number>,
        map: mapInChunks((part) => pool.execute(part, "incAll")),
        fib: (n) => pool.execute(n, "fib") as Promise<number>,
        sum: (values) => pool.execute(values, "sumArray") as Promise<number>,
        spin: (ms) => pool.execute(ms, "spin") as Promise<number>,
        close: async () => {
          // poolifier 5.3.2's destroy() sometimes never settles: a worker that closes its
          // port on the kill message can exit before destroy() listens for its "exit".
          // So shutdown ends when destroy() settles or every worker has exited, whichever
          // comes first. destroy() also unrefs the workers, which lets a process with
          // nothing else pending exit mid-await (code 13); the timer keeps it alive.
          const keepAlive = setInterval(() => {}, 60_000);
          try {
            await Promise.race([pool.destroy(), exited]);
          } finally {
            clearInterval(keepAlive);
          }
        },
      };
    },
  };
}

export default poolifier("thread");
