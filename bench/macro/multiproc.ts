/**
 * multiproc: mp.Pool on worker threads, with the shared task module registered, so
 * workers import the same plain .mjs as the peers (multiproc-process.ts: the same on
 * OS processes).
 *
 * "multiproc" is bench's `file:..` dependency (a link to the repository root), so
 * `--conditions=multiproc-source` runs the TypeScript sources and running without it
 * measures the build in dist/.
 */
import { readFileSync } from "node:fs";
import * as mp from "multiproc";
import type { PoolLibrary } from "./suite.ts";
import { fib, inc, spin, sumArray } from "./workers/tasks.mjs";
import * as typed from "./workers/tasks-ts.ts";

mp.registerModule(new URL("./workers/tasks.mjs", import.meta.url));
mp.registerModule(new URL("./workers/tasks-ts.ts", import.meta.url));

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** multiproc's adapter on `context`. */
export function multiproc(context: mp.StartMethod): PoolLibrary {
  const close = (pool: mp.Pool) => async () => {
    pool.close();
    await pool.join();
  };
  return {
    name: context === "thread" ? "multiproc" : "multiproc-process",
    version,
    kind: context,
    mapHow: "pool.map(inc, items, { chunkSize: 10000 })",
    settings: `new mp.Pool({ processes: workers, context: "${context}" })`,
    async open(workers) {
      const pool = new mp.Pool({ processes: workers, context });
      return {
        inc: (x) => pool.apply(inc, [x]),
        map: (xs, chunkSize) => pool.map(inc, xs, { chunkSize }),
        fib: (n) => pool.apply(fib, [n]),
        sum: (values) => pool.apply(sumArray, [values]),
        spin: (ms) => pool.apply(spin, [ms]),
        close: close(pool),
      };
    },
    async openTypeScript(workers) {
      const pool = new mp.Pool({ processes: workers, context });
      return { inc: (x) => pool.apply(typed.inc, [x]), close: close(pool) };
    },
  };
}

export default multiproc("thread");
