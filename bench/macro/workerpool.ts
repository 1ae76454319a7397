/** workerpool: named functions registered by workers/workerpool.mjs; no map, so map runs in chunks. */
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, type PoolLibrary } from "./suite.ts";

interface WorkerPool {
  exec(method: string, params: unknown[]): Promise<unknown>;
  terminate(force?: boolean): Promise<void>;
}
type WorkerpoolModule = {
  default: {
    pool(script: string, options: { minWorkers: number; maxWorkers: number; workerType: "thread" | "process" }): WorkerPool;
  };
};

const { module, version } = await importPeer<WorkerpoolModule>("workerpool");
const script = fileURLToPath(new URL("./workers/workerpool.mjs", import.meta.url));

/** workerpool's adapter with `workerType` "thread" or "process" (child processes). */
export function workerpool(kind: PoolLibrary["kind"]): PoolLibrary {
  return {
    name: kind === "thread" ? "workerpool" : "workerpool-process",
    version,
    kind,
    mapHow: CHUNKED_MAP,
    settings: `minWorkers = maxWorkers = workers (its default is cpus - 1), workerType '${kind}'`,
    async open(workers) {
      const pool = module.default.pool(script, { minWorkers: workers, maxWorkers: workers, workerType: kind });
      return {
        inc: (x) => pool.exec("inc", [x]) as Promise<number>,
        map: mapInChunks((part) => pool.exec("incAll", [part])),
        fib: (n) => pool.exec("fib", [n]) as Promise<number>,
        sum: (values) => pool.exec("sumArray", [values]) as Promise<number>,
        spin: (ms) => pool.exec("spin", [ms]) as Promise<number>,
        close: () => pool.terminate(),
      };
    },
  };
}

export default workerpool("thread");
