/**
 * Manager proxy micro benchmarks (a SyncManager's server in its own OS process).
 *
 *   dictGetRoundTripsPerSec         await d.get(k) per second, one client
 *   dictSetRoundTripsPerSec         await d.set(k, v) per second, one client
 *   listAppendPerSec                await l.append(i) per second, one client
 *   dictGetRoundTrips4WorkersPerSec d.get round trips per second, summed over 4 OS-process workers at once
 *   listAppend4WorkersPerSec        l.append per second, summed over 4 OS-process workers on one list
 *
 * Twin: bench/python/manager_bench.py (multiprocessing.Manager's DictProxy and ListProxy, same keys).
 * Run alone: node --conditions=multiproc-source --import tsx bench/micro/manager.ts
 */
import * as mp from "multiproc";

mp.registerModule(import.meta.url);

type Op = "get" | "set" | "append";

async function loop(op: Op, d: mp.DictProxy<string, number>, l: mp.ListProxy<number>, durationMs: number): Promise<[number, number]> {
  const started = performance.now();
  let ops = 0;
  let elapsed = 0;
  do {
    for (let i = 0; i < 256; i++) {
      if (op === "get") await d.get("k");
      else if (op === "set") await d.set("k", i);
      else await l.append(i);
    }
    ops += 256;
    elapsed = performance.now() - started;
  } while (elapsed < durationMs);
  return [ops, elapsed];
}

/** One of the 4 workers: waits for the others at the barrier, runs `op` for `durationMs`, reports [ops, ms]. */
export async function worker(
  op: Op, d: mp.DictProxy<string, number>, l: mp.ListProxy<number>, durationMs: number, start: mp.Barrier, out: mp.Queue<[number, number]>,
): Promise<void> {
  await d.get("k"); // connected before the clock starts
  await start.wait();
  out.putSync(await loop(op, d, l, durationMs));
}

async function fourWorkers(op: Op, d: mp.DictProxy<string, number>, l: mp.ListProxy<number>, durationMs: number): Promise<number> {
  const ctx = mp.getContext("process");
  const start = new ctx.Barrier(4);
  const out = new ctx.Queue<[number, number]>();
  const workers = [0, 1, 2, 3].map(() => new ctx.Process({ target: worker, args: [op, d, l, durationMs, start, out] }));
  for (const w of workers) w.start();
  let total = 0;
  for (let i = 0; i < workers.length; i++) {
    const [ops, ms] = await out.get();
    total += ops / (ms / 1000);
  }
  for (const w of workers) await w.join();
  out.close();
  return Math.round(total);
}

export async function run(opts: { durationMs: number }): Promise<Record<string, number>> {
  const ms = Math.max(100, Math.min(opts.durationMs, 2_500));
  await using manager = await mp.Manager();
  const d = manager.dict<string, number>({ k: 1 });
  const l = manager.list<number>();
  await loop("get", d, l, 100); // warm-up
  const rate = ([ops, elapsed]: [number, number]) => Math.round(ops / (elapsed / 1000));
  return {
    dictGetRoundTripsPerSec: rate(await loop("get", d, l, ms)),
    dictSetRoundTripsPerSec: rate(await loop("set", d, l, ms)),
    listAppendPerSec: rate(await loop("append", d, l, ms)),
    dictGetRoundTrips4WorkersPerSec: await fourWorkers("get", d, l, ms),
    listAppend4WorkersPerSec: await fourWorkers("append", d, l, ms),
  };
}

if (mp.isMainProcess() && import.meta.url === `file://${process.argv[1]}`) {
  console.log(JSON.stringify(await run({ durationMs: Number(process.env.MP_BENCH_MICRO_MS ?? 1000) }), null, 2));
}
