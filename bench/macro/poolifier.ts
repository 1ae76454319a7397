/**
 * poolifier: a FixedThreadPool over workers/poolifier.mjs. Its mapExecute() sends one
 * task per item, so map runs in chunks like the other peers (per-item numbers are
 * close to the tiny-tasks row).
 */
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import type { Worker } from "node:worker_threads";
import { CHUNKED_MAP, importPeer, mapInChunks, type PoolLibrary } from "./suite.ts";

interface FixedThreadPool {
  execute(data: unknown, name?: string): Promise<unknown>;
  destroy(): Promise<void>;
  /** Internal in poolifier's types, public at runtime. */
  readonly workerNodes: readonly { worker: Worker }[];
}
type PoolifierModule = {
  FixedThreadPool: new (workers: number, filePath: string) => FixedThreadPool;
};

const { module, version } = await importPeer<PoolifierModule>("poolifier");
const script = fileURLToPath(new URL("./workers/poolifier.mjs", import.meta.url));

const library: PoolLibrary = {
  name: "poolifier",
  version,
  mapHow: CHUNKED_MAP,
  settings: "FixedThreadPool(workers), default options",
  async open(workers) {
    const pool = new module.FixedThreadPool(workers, script);
    // Listened to from the start: see close().
    const exited = Promise.all(pool.workerNodes.map(({ worker }) => once(worker, "exit")));
    return {
      inc: (x) => pool.execute(x, "inc") as Promise<number>,
      map: mapInChunks(workers, (part) => pool.execute(part, "incAll")),
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
export default library;
