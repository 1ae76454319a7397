/**
 * Cost as work grows (issue 11, item 4), on both contexts, beside the Python twin
 * (bench/python/scaling_bench.py; change both together):
 *
 *   imapItemsPerSec / imapRssGrowthMiB    imap(inc) over a generator of 10,000,000 numbers
 *                                         (quick: 500,000), chunkSize 10,000, every result read;
 *                                         the growth is the peak resident memory during the run
 *                                         over the memory before it (sampled every 10 ms)
 *   mapItemsPerSec                        map(inc) over 1,000,000 numbers in an array (W2), for
 *                                         imap's throughput beside it
 *   w1At20kTasksPerSec / w1At200kTasksPerSec   W1 (apply(inc) submitted at once) at 20,000 and at
 *                                         200,000 tasks (quick: 2,000 and 20,000)
 *   w3SpeedUp8WorkersOver2                W3's speed-up with 8 workers divided by W3's with 2, on
 *                                         this 2-core machine (1 = nothing lost to the extra workers)
 *
 * The same keys with the suffix "Processes" are the process context. Python's imap hands its
 * input to a task handler thread, which reads it as fast as the workers' input pipe takes the
 * pickled chunks: a blocking pipe bounds it (measured here: a few MiB for 10M items).
 */
import * as mp from "multiproc";
import { fib, inc } from "../macro/workers/tasks.mjs";

mp.registerModule(new URL("../macro/workers/tasks.mjs", import.meta.url));

const CHUNK = 10_000;

function* numbers(count: number): Generator<number> {
  for (let i = 0; i < count; i++) yield i;
}

/** Peak resident memory above the level at the start, in MiB, while `body` runs. */
async function rssGrowth<T>(body: () => Promise<T>): Promise<{ value: T; growthMiB: number }> {
  const before = process.memoryUsage.rss();
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 10);
  try {
    const value = await body();
    peak = Math.max(peak, process.memoryUsage.rss());
    return { value, growthMiB: (peak - before) / 2 ** 20 };
  } finally {
    clearInterval(sampler);
  }
}

async function tasksPerSecond(pool: mp.Pool, count: number): Promise<number> {
  const xs = Array.from({ length: count }, (_, i) => i);
  const start = performance.now();
  await Promise.all(xs.map((x) => pool.apply(inc, [x])));
  return count / ((performance.now() - start) / 1000);
}

/** W3's speed-up on `pool`: each pooled run against the sequential run just before it; the median of 3. */
async function speedUp(pool: mp.Pool, tasks: number, n: number): Promise<number> {
  const ratios: number[] = [];
  for (let round = 0; round < 3; round++) {
    let start = performance.now();
    for (let i = 0; i < tasks; i++) fib(n);
    const sequential = performance.now() - start;
    start = performance.now();
    await Promise.all(Array.from({ length: tasks }, () => pool.apply(fib, [n])));
    ratios.push(sequential / (performance.now() - start));
  }
  return ratios.sort((a, b) => a - b)[1]!;
}

async function measure(context: mp.StartMethod, quick: boolean): Promise<Record<string, number>> {
  const suffix = context === "process" ? "Processes" : "";
  const out: Record<string, number> = {};
  const imapItems = quick ? 500_000 : 10_000_000;
  const fibTasks = quick ? 40 : 200;
  const fibN = quick ? 24 : 27;
  {
    await using pool = new mp.Pool({ processes: 2, context });
    await pool.map(inc, Array.from({ length: 20_000 }, (_, i) => i), { chunkSize: 1_000 }); // warm-up
    const mapInput = Array.from({ length: 1_000_000 }, (_, i) => i);
    let start = performance.now();
    await pool.map(inc, mapInput, { chunkSize: CHUNK });
    out[`mapItemsPerSec${suffix}`] = Math.round(1_000_000 / ((performance.now() - start) / 1000));
    start = performance.now();
    const { value: last, growthMiB } = await rssGrowth(async () => {
      let latest = -1;
      for await (const value of pool.imap(inc, numbers(imapItems), { chunkSize: CHUNK })) latest = value;
      return latest;
    });
    if (last !== imapItems) throw new Error(`imap's last result was ${last}, expected ${imapItems}`);
    out[`imapItemsPerSec${suffix}`] = Math.round(imapItems / ((performance.now() - start) / 1000));
    out[`imapRssGrowthMiB${suffix}`] = Number(growthMiB.toFixed(1));
    const small = quick ? 2_000 : 20_000;
    await tasksPerSecond(pool, small); // warm-up
    out[`w1At20kTasksPerSec${suffix}`] = Math.round(await tasksPerSecond(pool, small));
    out[`w1At200kTasksPerSec${suffix}`] = Math.round(await tasksPerSecond(pool, small * 10));
    const two = await speedUp(pool, fibTasks, fibN);
    await using eight = new mp.Pool({ processes: 8, context });
    await Promise.all(Array.from({ length: 16 }, () => eight.apply(fib, [10]))); // started and warm
    out[`w3SpeedUp8WorkersOver2${suffix}`] = Number(((await speedUp(eight, fibTasks, fibN)) / two).toFixed(3));
  }
  return out;
}

export async function run(opts: { durationMs: number }): Promise<Record<string, number>> {
  // The quick run gives 300 ms per micro benchmark; a full run 2000 (see bench/lib/plan.ts).
  const quick = opts.durationMs < 1_000;
  return { ...(await measure("thread", quick)), ...(await measure("process", quick)) };
}

if (mp.isMainProcess() && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ durationMs: Number(process.env.MP_BENCH_MICRO_MS ?? 2000) }), null, 2));
}
