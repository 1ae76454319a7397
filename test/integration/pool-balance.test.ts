/**
 * No worker idles while a task waits behind another worker, whatever the task lengths
 * (issue 11, item 1): a pool warmed up on tiny tasks pipelines the next ones behind
 * busy workers, and must not leave them there when those turn out to be long.
 *
 * The tasks block their thread (Atomics.wait) rather than spin, so their lengths hold on
 * a machine whose cores are busy with other work; the checks compare when tasks ran with
 * margins of hundreds of milliseconds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { waitUntil } from "../helpers/wait.ts";
import { blockTimed } from "../fixtures/sleep.ts";
import { square } from "../fixtures/square.ts";

const T = { timeout: 60_000 };

/**
 * Tiny tasks until the pool's estimate of a task's length is tiny too (what makes it
 * pipeline), with every worker started: on a loaded machine one may still be starting
 * when the others have run them all, and a worker that joins late is not what is tested.
 */
async function warmUp(pool: mp.Pool, workers: number): Promise<void> {
  await waitUntil(() => pool.stats().idle === workers, `all ${workers} workers are ready`);
  for (let round = 0; round < 5; round++) {
    await Promise.all(Array.from({ length: 500 }, (_, i) => pool.apply(square, [i])));
  }
  await waitUntil(() => pool.stats().idle === workers, `all ${workers} workers are idle again`);
}

forEachContext((context) => {
  test("after tiny tasks, nine 300 ms tasks on three workers run three at a time", T, async () => {
    await using pool = new mp.Pool({ processes: 3, context });
    await warmUp(pool, 3);
    const runs = await Promise.all(Array.from({ length: 9 }, () => pool.apply(blockTimed, [300])));
    const starts = runs.map((run) => run.start).sort((a, b) => a - b);
    // Three at a time: three waves, the last one starting about 600 ms after the first.
    // Four behind one worker would start the last at 900 ms or later.
    assert.ok(starts[8]! - starts[0]! < 800, `the last task started ${Math.round(starts[8]! - starts[0]!)} ms after the first`);
    const byWorker = new Map<number, number>();
    for (const run of runs) byWorker.set(run.ident, (byWorker.get(run.ident) ?? 0) + 1);
    assert.deepEqual([...byWorker.values()].sort(), [3, 3, 3], "three tasks per worker");
  });

  test("tasks pipelined behind a long task are taken by the workers that become idle", T, async () => {
    await using pool = new mp.Pool({ processes: 3, context });
    await warmUp(pool, 3);
    // Submitted together: the long task first, so tasks are pipelined behind it before its length is known.
    const long = pool.apply(blockTimed, [2_000]);
    const short = Array.from({ length: 8 }, () => pool.apply(blockTimed, [150]));
    const [longRun, shortRuns] = await Promise.all([long, Promise.all(short)]);
    // The short tasks take 8 x 150 ms = 1.2 s of work on two idle workers, 600 ms each: all of them
    // end long before the 2 s task, unless some waited behind it.
    for (const run of shortRuns) {
      assert.ok(run.end < longRun.end - 500, `a short task ended ${Math.round(run.end - longRun.start)} ms after the long one started (it ended at ${Math.round(longRun.end - longRun.start)} ms)`);
      assert.notEqual(run.ident, longRun.ident, "no short task ran on the long task's worker after it");
    }
  });
});
