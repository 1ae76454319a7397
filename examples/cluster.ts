/**
 * A Pool on a cluster (README, "On several machines"): the same calls as a local pool, run
 * by the workers that `multiproc worker` started, on this machine or any other that
 * reaches the same Redis.
 *
 *   redis-server --port 6379 --save '' &
 *   node dist/cli.js worker --redis redis://127.0.0.1:6379 --module examples/cluster-tasks.ts --processes 2 &
 *   node --import tsx examples/cluster.ts redis://127.0.0.1:6379
 */
import * as mp from "multiproc";
import { countPrimes, whereAmI } from "./cluster-tasks.ts";

const redis = process.argv[2] ?? "redis://127.0.0.1:6379";

await using pool = new mp.Pool({ cluster: { redis } });
console.log(await pool.map(whereAmI, [1, 2, 3, 4, 5, 6], { chunkSize: 1 }));
const limits = [200_000, 300_000, 400_000, 500_000];
const started = performance.now();
const counts = await pool.map(countPrimes, limits, { chunkSize: 1 });
console.log(`primes below ${limits.join(", ")}: ${counts.join(", ")} (${Math.round(performance.now() - started)} ms)`);
console.log(pool.stats());
