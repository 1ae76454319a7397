/** tinypool: tasks by export name from the shared worker module; no map, so map runs in chunks. */
import { fileURLToPath } from "node:url";
import { CHUNKED_MAP, importPeer, mapInChunks, tasksUrl, type PoolLibrary } from "./suite.ts";

interface Tinypool {
  run(task: unknown, options?: { name?: string }): Promise<unknown>;
  destroy(): Promise<void>;
}
type TinypoolModule = {
  Tinypool: new (options: { filename: string; minThreads: number; maxThreads: number }) => Tinypool;
};

const { module, version } = await importPeer<TinypoolModule>("tinypool");

const library: PoolLibrary = {
  name: "tinypool",
  version,
  mapHow: CHUNKED_MAP,
  settings: "minThreads = maxThreads = workers",
  async open(workers) {
    const pool = new module.Tinypool({ filename: fileURLToPath(tasksUrl), minThreads: workers, maxThreads: workers });
    return {
      inc: (x) => pool.run(x, { name: "inc" }) as Promise<number>,
      map: mapInChunks(workers, (part) => pool.run(part, { name: "incAll" })),
      spin: (ms) => pool.run(ms, { name: "spin" }) as Promise<number>,
      close: () => pool.destroy(),
    };
  },
};
export default library;
