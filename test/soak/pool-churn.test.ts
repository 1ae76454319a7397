/**
 * Soak 2: maxTasksPerChild churn. Pools whose workers retire after 1-3 tasks run
 * many tiny tasks (apply, map with small chunks, imapUnordered); every result must
 * be right, and the main thread's heap must not grow with the number of workers
 * started and retired.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { triple } from "../fixtures/soak-tasks.ts";
import { collect, eventually, memory, osThreads, random, report, soakEnabled, soakMs, stashed, testTimeout, within, workers } from "../helpers/soak.ts";

if (soakEnabled) {
  test("maxTasksPerChild 1-3 churn: results stay correct and the heap stays flat", testTimeout(), async () => {
    const rng = random("pool-churn");
    await collect();
    const before = { ...workers(), threads: osThreads(), stash: stashed(), ...memory() };
    const deadline = performance.now() + soakMs();
    let items = 0;
    let tasks = 0;
    let pools = 0;
    const perMaxTasks: Record<number, number> = {};
    const heapSamples: number[] = [];
    while (performance.now() < deadline) {
      const maxTasksPerChild = rng.int(1, 3);
      const processes = rng.int(1, 3);
      pools++;
      const pool = new mp.Pool({ processes, maxTasksPerChild });
      // A pool runs until the deadline or for about 3 s, then the next one takes other settings.
      const poolDeadline = Math.min(deadline, performance.now() + 3_000);
      while (performance.now() < poolDeadline) {
        const n = rng.int(20, 400);
        const xs = Array.from({ length: n }, (_, i) => items + i);
        const chunkSize = rng.int(1, 40);
        const how = rng.int(0, 2);
        let got: number[];
        if (how === 0) {
          got = await within(pool.map(triple, xs, { chunkSize }), 60_000, null) ?? assert.fail("map hung");
          tasks += Math.ceil(n / chunkSize);
        } else if (how === 1) {
          const few = xs.slice(0, 8);
          got = await within(Promise.all(few.map((x) => pool.apply(triple, [x]))), 60_000, null) ?? assert.fail("apply hung");
          xs.length = few.length;
          tasks += few.length;
        } else {
          got = [];
          const run = (async () => {
            for await (const y of pool.imapUnordered(triple, xs, { chunkSize })) got.push(y);
          })();
          if ((await within(run.then(() => true), 60_000, false)) === false) assert.fail("imapUnordered hung");
          got.sort((a, b) => a - b);
          tasks += Math.ceil(n / chunkSize);
        }
        assert.deepEqual(got, xs.map((x) => x * 3), `results of ${["map", "apply", "imapUnordered"][how]} (seed ${rng.seed})`);
        items += xs.length;
        perMaxTasks[maxTasksPerChild] = (perMaxTasks[maxTasksPerChild] ?? 0) + xs.length;
      }
      pool.close();
      assert.equal(await within(pool.join().then(() => "joined"), 30_000, "hung"), "joined", "join() after churn");
      if (pools % 3 === 0) {
        await collect();
        heapSamples.push(memory().heapUsedMb);
      }
    }
    const drained = await eventually(() => workers().live === before.live, 5_000);
    await collect();
    const after = { ...workers(), threads: osThreads(), stash: stashed(), ...memory() };
    const started = after.started - before.started;
    report("pool-churn", {
      seed: rng.seed, seconds: soakMs() / 1000, pools, items, tasks, itemsPerMaxTasksPerChild: perMaxTasks,
      workersStarted: started, workersPerSecond: Math.round((started / (soakMs() / 1000)) * 10) / 10,
      liveAfter: after.live - before.live, osThreads: [before.threads, after.threads], stash: [before.stash, after.stash],
      heapUsedMb: [before.heapUsedMb, after.heapUsedMb], heapSamplesMb: heapSamples, rssMb: [before.rssMb, after.rssMb],
      externalMb: [before.externalMb, after.externalMb],
    });
    assert.ok(drained, "every worker exited");
    assert.ok(started >= pools, "workers were started");
    assert.equal(after.stash, before.stash, "no stash ticket left behind");
    assert.ok(after.heapUsedMb - before.heapUsedMb < 20, `heap grew by ${after.heapUsedMb - before.heapUsedMb} MB after ${started} workers`);
  });
}
