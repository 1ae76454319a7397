/**
 * multiproc's cluster Pool for the cluster bench: a caller `new mp.Pool({ cluster })` and
 * two `multiproc worker --processes 1` supervisors (each one OS process of its own
 * running the tasks), all on this machine's loopback.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as mp from "multiproc";
import { heldTasks, closeRedisCommands, eventually } from "../../test/helpers/redis.ts";
import { killChild, startReady, type ClusterLibrary } from "./suite.ts";
import { inc, spin } from "./tasks.mjs";

const root = fileURLToPath(new URL("./", import.meta.url));
const repository = fileURLToPath(new URL("../../", import.meta.url));
const { version } = JSON.parse(readFileSync(new URL("package.json", `file://${repository}`), "utf8")) as { version: string };
/** The sources through tsx under --conditions=multiproc-source (as the caller), else the build. */
const fromSource = process.execArgv.some((arg) => arg.includes("multiproc-source"));
/** Node flags for the supervisors, to profile them: MP_BENCH_WORKER_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" (they write it on SIGTERM). */
const workerFlags = (process.env.MP_BENCH_WORKER_NODE_FLAGS ?? "").split(" ").filter(Boolean);
const cli = fromSource ? ["--conditions=multiproc-source", "--import", "tsx", `${repository}src/cli.ts`] : [`${repository}dist/cli.js`];

function startWorker(url: string, prefix: string, name: string) {
  return startReady(
    process.execPath,
    [...workerFlags, ...cli, "worker", "--redis", url, "--prefix", prefix, "--module", `${root}tasks.mjs`, "--root", root, "--processes", "1", "--context", "process", "--name", name],
    /^ready \S+$/m,
  );
}

const library: ClusterLibrary = {
  name: "multiproc-cluster",
  version,
  settings: 'new mp.Pool({ cluster: { redis } }); 2 x `multiproc worker --processes 1 --context process`; map with chunkSize 10000',
  async open(redis, workers) {
    const started = await Promise.all(Array.from({ length: workers }, (_, i) => startWorker(redis.url, "bench", `w${i + 1}`)));
    const pool = new mp.Pool({ cluster: { redis: redis.url, root, prefix: "bench" } });
    let losses = 0;
    return {
      small: (xs) => Promise.all(xs.map((x) => pool.apply(inc, [x]))),
      map: (xs, chunkSize) => pool.map(inc, xs, { chunkSize }),
      async loss() {
        // A cluster of its own (another prefix) with one worker, so the long task is surely that worker's.
        const prefix = `loss${++losses}`;
        const victim = await startWorker(redis.url, prefix, "victim");
        const lossPool = new mp.Pool({ cluster: { redis: redis.url, root, prefix } });
        try {
          const outcome = lossPool.apply(spin, [60_000]).then(
            () => { throw new Error("the long task finished: its worker was not killed"); },
            (error: unknown) => {
              if (!(error instanceof mp.WorkerLostError)) throw error;
              return performance.now();
            },
          );
          await eventually(async () => (await heldTasks(redis.url, prefix)) === 1, "the victim holds the long task");
          const killedAt = performance.now();
          await killChild(victim.child);
          return (await outcome) - killedAt;
        } finally {
          await lossPool.terminate();
        }
      },
      async close() {
        pool.close();
        await pool.join();
        await closeRedisCommands();
        await Promise.all(started.map(({ child }) => killChild(child)));
      },
    };
  },
};

export default library;
