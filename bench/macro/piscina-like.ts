/**
 * piscina and tinypool (a fork of piscina) share one API: a pool class named after
 * the package, `run(task, { name })` to call an export of the worker module, and
 * `destroy()`. Neither has map, so map runs in chunks.
 */
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, tasksUrl, type PoolLibrary } from "./suite.ts";

interface PiscinaLikePool {
  run(task: unknown, options?: { name?: string }): Promise<unknown>;
  destroy(): Promise<void>;
}
type PiscinaLikeClass = new (options: { filename: string; minThreads: number; maxThreads: number }) => PiscinaLikePool;

/** The benchmark adapter of `packageName`, whose pool class is its export `className`. */
export async function piscinaLike(packageName: string, className: string): Promise<PoolLibrary> {
  const { module, version } = await importPeer<Record<string, PiscinaLikeClass>>(packageName);
  const PoolClass = module[className]!;
  return {
    name: packageName,
    version,
    mapHow: CHUNKED_MAP,
    settings: "minThreads = maxThreads = workers",
    async open(workers) {
      const pool = new PoolClass({ filename: fileURLToPath(tasksUrl), minThreads: workers, maxThreads: workers });
      return {
        inc: (x) => pool.run(x, { name: "inc" }) as Promise<number>,
        map: mapInChunks(workers, (part) => pool.run(part, { name: "incAll" })),
        spin: (ms) => pool.run(ms, { name: "spin" }) as Promise<number>,
        close: () => pool.destroy(),
      };
    },
  };
}
