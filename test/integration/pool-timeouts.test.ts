import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { waitUntil } from "../helpers/wait.ts";
import { square } from "../fixtures/square.ts";
import { meetAll } from "../fixtures/soak-tasks.ts";
import { blockThen, countAndReturn, sleepThen, spinForever, timed } from "../fixtures/sleep.ts";

const T = { timeout: 60_000 };

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("{ timeout }: an overdue task rejects with TimeoutError, its worker is replaced, the pool goes on", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const started = performance.now();
    await assert.rejects(pool.apply(spinForever, [], { timeout: 300 }), (error: unknown) => {
      assert.ok(error instanceof mp.TimeoutError);
      assert.match((error as Error).message, /300 ms/);
      assert.equal((error as mp.TimeoutError).timeout, 300);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 290 && took < 10_000, `timed out after ${took} ms`);
    assert.equal(await pool.apply(square, [7], { timeout: 5_000 }), 49);
    // The replacement starts in its own time (seconds on a loaded machine); wait until it is ready.
    await waitUntil(() => pool.stats().idle === 2, "the replacement worker is ready");
    const runs = await Promise.all([0, 1].map(() => pool.applyAsync(timed, [10]).get()));
    assert.equal(new Set(runs.map((r) => r.ident)).size, 2, "two workers again after the replacement");
    // They run at once: each waits at a barrier of two, which only two tasks running together pass.
    // (Not start and end times: on a loaded machine the replacement's first import of a task
    // module alone can take longer than a task.)
    const barrier = new ctx.Barrier(2);
    const met = await Promise.all([0, 1].map(() => pool.apply(meetAll, [barrier, 30_000])));
    assert.deepEqual(met.sort(), [0, 1], "two tasks at the barrier at once");
    assert.deepEqual(await pool.map(square, [1, 2, 3], { timeout: 5_000, chunkSize: 1 }), [1, 4, 9]);
  });

  test("{ timeout } counts from the task's start, not from the call", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    // Each task runs 250 ms; queued behind each other, the last one starts ~750 ms after the call.
    const results = [0, 1, 2, 3].map((i) => pool.applyAsync(blockThen, [250, i], { timeout: 2_000 }));
    assert.deepEqual(await Promise.all(results.map((r) => r.get())), [0, 1, 2, 3]);
  });

  test("{ timeout } on map fails the call with TimeoutError", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    await assert.rejects(pool.starmap(blockThen, [[10, 1], [20_000, 2], [10, 3]], { chunkSize: 1, timeout: 300 }), mp.TimeoutError);
    const it = pool.imap((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [10, 20_000, 10], { timeout: 300 });
    assert.equal((await it.next()).value, 10);
    await assert.rejects(it.next(), mp.TimeoutError);
    assert.equal((await it.next()).value, 10);
    assert.equal(await pool.apply(square, [3]), 9);
  });

  test("{ signal }: aborting drops the call's queued tasks and rejects with the signal's reason", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    const counter = ctx.RawArray("i", 1);
    const busy = pool.applyAsync(sleepThen, [300, "busy"]);
    const controller = new AbortController();
    const queued = [1, 2, 3].map((x) => pool.applyAsync(countAndReturn, [counter, x], { signal: controller.signal }));
    const mapped = pool.starmapAsync(countAndReturn, [[counter, 4], [counter, 5]], { signal: controller.signal });
    const reason = new Error("stop it");
    controller.abort(reason);
    for (const result of [...queued, mapped]) {
      assert.equal(result.ready(), true, "rejected at once");
      await assert.rejects(result.get(), (error: unknown) => error === reason);
    }
    assert.equal(await busy.get(), "busy");
    assert.equal(await pool.apply(square, [2]), 4);
    assert.equal(Atomics.load(counter, 0), 0, "the dropped tasks never ran");
  });

  test("{ signal } already aborted rejects at once; imap rejects with the reason", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    const aborted = AbortSignal.abort(new RangeError("already"));
    await assert.rejects(pool.apply(square, [1], { signal: aborted }), { name: "RangeError", message: "already" });
    await assert.rejects(pool.map(square, [1], { signal: aborted }), RangeError);
    await assert.rejects(pool.imap(square, [1], { signal: aborted }).next(), RangeError);
    const controller = new AbortController();
    function* forever() {
      for (let i = 0; ; i++) yield i;
    }
    const it = pool.imap(square, forever(), { signal: controller.signal });
    assert.equal((await it.next()).value, 0);
    controller.abort();
    let error: unknown;
    try {
      for (;;) if ((await it.next()).done) break;
    } catch (e) {
      error = e;
    }
    assert.ok(error instanceof Error && error.name === "AbortError");
    assert.equal(await pool.apply(square, [5]), 25);
  });
});
