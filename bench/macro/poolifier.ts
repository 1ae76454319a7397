/**
 * poolifier: a FixedThreadPool over workers/poolifier.mjs. Its mapExecute() sends one
 * task per item, so map runs in chunks like the other peers (per-item numbers are
 * close to the tiny-tasks row).
 */
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, type PoolLibrary } from "./suite.ts";

interface FixedThreadPool {
  execute(data: unknown, name?: string): Promise<unknown>;
  destroy(): Promise<void>;
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
    return {
      inc: (x) => pool.execute(x, "inc") as Promise<number>,
      map: mapInChunks(workers, (part) => pool.execute(part, "incAll")),
      spin: (ms) => pool.execute(ms, "spin") as Promise<number>,
      close: async () => {
        // destroy() unrefs each worker before awaiting its exit, so with nothing else
        // pending the process can exit with the await unsettled (code 13); a timer
        // keeps the loop alive until it settles and costs nothing meanwhile.
        const keepAlive = setInterval(() => {}, 60_000);
        try {
          await pool.destroy();
        } finally {
          clearInterval(keepAlive);
        }
      },
    };
  },
};
export default library;
