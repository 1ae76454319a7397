/** workerpool: named functions registered by workers/workerpool.mjs; no map, so map runs in chunks. */
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, type PoolLibrary } from "./suite.ts";

interface WorkerPool {
  exec(method: string, params: unknown[]): Promise<unknown>;
  terminate(force?: boolean): Promise<void>;
}
type WorkerpoolModule = {
  default: {
    pool(script: string, options: { minWorkers: number; maxWorkers: number; workerType: "thread" }): WorkerPool;
  };
};

const { module, version } = await importPeer<WorkerpoolModule>("workerpool");
const script = fileURLToPath(new URL("./workers/workerpool.mjs", import.meta.url));

const library: PoolLibrary = {
  name: "workerpool",
  version,
  mapHow: CHUNKED_MAP,
  settings: "minWorkers = maxWorkers = workers (its default is cpus - 1), workerType 'thread'",
  async open(workers) {
    const pool = module.default.pool(script, { minWorkers: workers, maxWorkers: workers, workerType: "thread" });
    return {
      inc: (x) => pool.exec("inc", [x]) as Promise<number>,
      map: mapInChunks(workers, (part) => pool.exec("incAll", [part])),
      spin: (ms) => pool.exec("spin", [ms]) as Promise<number>,
      close: () => pool.terminate(),
    };
  },
};
export default library;
