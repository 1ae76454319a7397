/**
 * multiproc: mp.Pool in the plan's context (thread by default) with the shared
 * task module registered, so workers import the same plain .mjs as the peers.
 *
 * "multiproc" is bench's `file:..` dependency (a link to the repository root), so
 * `--conditions=multiproc-source` runs the TypeScript sources and running without it
 * measures the build in dist/.
 */
import { readFileSync } from "node:fs";
import * as mp from "multiproc";
import { planFromEnv } from "../lib/plan.ts";
import { tasksUrl, type PoolLibrary } from "./suite.ts";
import { inc, spin } from "./workers/tasks.mjs";

mp.registerModule(tasksUrl);

const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
const { context } = planFromEnv();

const library: PoolLibrary = {
  name: "multiproc",
  version,
  mapHow: "pool.map, default chunkSize",
  settings: `new mp.Pool({ processes: workers, context: "${context}" })`,
  async open(workers) {
    const pool = new mp.Pool({ processes: workers, context });
    return {
      inc: (x) => pool.apply(inc, [x]),
      map: (xs) => pool.map(inc, xs),
      spin: (ms) => pool.apply(spin, [ms]),
      close: async () => {
        pool.close();
        await pool.join();
      },
    };
  },
};
export default library;
