/**
 * piscina and tinypool (a fork of piscina) share one API: a pool class named after
 * the package, `run(task, { name })` to call an export of the worker module, and
 * `destroy()`. Neither has map, so map runs in chunks. tinypool also runs its
 * workers as child processes (`runtime: "child_process"`).
 */
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, tasksUrl, type PoolLibrary } from "./suite.ts";

interface PiscinaLikePool {
  run(task: unknown, options?: { name?: string }): Promise<unknown>;
  destroy(): Promise<void>;
}
type PiscinaLikeClass = new (options: {
  filename: string;
  minThreads: number;
  maxThreads: number;
  runtime?: "worker_threads" | "child_process";
}) => PiscinaLikePool;

/** The benchmark adapter of `packageName`, whose pool class is its export `className`. */
export async function piscinaLike(packageName: string, className: string, kind: PoolLibrary["kind"] = "thread"): Promise<PoolLibrary> {
  const { module, version } = await importPeer<Record<string, PiscinaLikeClass>>(packageName);
  const PoolClass = module[className]!;
  const runtime = kind === "process" ? ({ runtime: "child_process" } as const) : {};
  return {
    name: kind === "process" ? `${packageName}-process` : packageName,
    version,
    kind,
    mapHow: CHUNKED_MAP,
    settings: `minThreads = maxThreads = workers${kind === "process" ? ', runtime "child_process"' : ""}`,
    async open(workers) {
      const pool = new PoolClass({ filename: fileURLToPath(tasksUrl), minThreads: workers, maxThreads: workers, ...runtime });
      return {
        inc: (x) => pool.run(x, { name: "inc" }) as Promise<number>,
        map: mapInChunks((part) => pool.run(part, { name: "incAll" })),
        fib: (n) => pool.run(n, { name: "fib" }) as Promise<number>,
        sum: (values) => pool.run(values, { name: "sumArray" }) as Promise<number>,
        spin: (ms) => pool.run(ms, { name: "spin" }) as Promise<number>,
        close: () => pool.destroy(),
      };
    },
  };
}
