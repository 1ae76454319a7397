import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { square, whoAmI } from "../fixtures/square.ts";
import { sleepThen, slowSquare } from "../fixtures/sleep.ts";
import { hogMemory } from "../fixtures/crash.ts";
import { dieOnFirstStart, holdOneStart } from "../fixtures/init.ts";
import { within } from "../helpers/wait.ts";

const T = { timeout: 60_000 };

forEachContext((context) => {
  test("close() lets queued work finish; join() waits for it", T, async () => {
    const pool = new mp.Pool({ processes: 2, context });
    const results = [1, 2, 3, 4, 5].map((x) => pool.applyAsync(slowSquare, [x, 100]));
    pool.close();
    await pool.join();
    for (const result of results) assert.equal(result.ready(), true);
    assert.deepEqual(await Promise.all(results.map((r) => r.get())), [1, 4, 9, 16, 25]);
  });

  test("join() before close() or terminate() rejects; close() twice is harmless", T, async () => {
    const pool = new mp.Pool({ processes: 1, context });
    await assert.rejects(pool.join(), /still running.*close\(\) or terminate\(\)/);
    pool.close();
    pool.close();
    await pool.join();
    await pool.join();
  });

  test("submitting after close() or terminate() fails (CPython test_context)", T, async () => {
    for (const stop of ["close", "terminate"] as const) {
      const pool = new mp.Pool({ processes: 1, context });
      if (stop === "close") pool.close();
      else await pool.terminate();
      await assert.rejects(pool.apply(square, [1]), /not running/);
      await assert.rejects(pool.map(square, [1]), /not running/);
      await assert.rejects(pool.starmap(square, [[1]]), /not running/);
      assert.throws(() => pool.applyAsync(square, [1]), /not running/);
      assert.throws(() => pool.mapAsync(square, [1]), /not running/);
      assert.throws(() => pool.starmapAsync(square, [[1]]), /not running/);
      assert.throws(() => pool.imap(square, [1]), /not running/);
      assert.throws(() => pool.imapUnordered(square, [1]), /not running/);
      await pool.join();
    }
  });

  test("terminate() rejects pending results at once and resolves when every worker exited (CPython test_terminate)", T, async () => {
    const pool = new mp.Pool({ processes: 3, context });
    const started = performance.now();
    const many = pool.mapAsync((ms: number) => new Promise((r) => setTimeout(r, ms)), Array(10_000).fill(60_000), { chunkSize: 1 });
    const one = pool.applyAsync(sleepThen, [60_000, 1]);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await pool.terminate();
    await pool.join();
    assert.ok(performance.now() - started < 20_000);
    await assert.rejects(many.get(), /terminated/);
    await assert.rejects(one.get(), /terminated/);
    assert.equal(one.ready(), true);
  });

  test("`await using` closes and joins the pool (CPython test_enter)", T, async () => {
    let escaped: mp.Pool | undefined;
    {
      await using pool = new mp.Pool({ processes: 2, context });
      escaped = pool;
      assert.deepEqual(await pool.map(square, [1, 2]), [1, 4]);
    }
    assert.throws(() => escaped.applyAsync(square, [1]), /not running/);
    await escaped.join();
  });

  test("maxTasksPerChild replaces workers and no result is lost (CPython test_pool_worker_lifetime)", T, async () => {
    await using pool = new mp.Pool({ processes: 3, context, maxTasksPerChild: 10 });
    const results = [...Array(100).keys()].map((i) => pool.applyAsync(whoAmI));
    const seen = await Promise.all(results.map((r) => r.get()));
    const workers = new Set(seen.map((s) => s.ident));
    assert.ok(workers.size >= 10, `100 tasks ran on ${workers.size} workers`);
    const counts = new Map<number, number>();
    for (const { ident } of seen) counts.set(ident, (counts.get(ident) ?? 0) + 1);
    for (const count of counts.values()) assert.ok(count <= 10, "a worker ran more than maxTasksPerChild tasks");
    assert.deepEqual(await pool.map(square, [...Array(50).keys()], { chunkSize: 1 }), [...Array(50).keys()].map(square));
  });

  test("closing a pool whose workers have limited lifetimes does not hang join() (CPython early_close)", T, async () => {
    const pool = new mp.Pool({ processes: 3, context, maxTasksPerChild: 1 });
    const results = [0, 1, 2, 3, 4, 5].map((i) => pool.applyAsync(slowSquare, [i, 300]));
    pool.close();
    await pool.join();
    assert.deepEqual(await Promise.all(results.map((r) => r.get())), [0, 1, 4, 9, 16, 25]);
  });

  test("a forgotten pool does not keep the program alive", T, async () => {
    const script = fileURLToPath(new URL("../fixtures/forgotten-pool.ts", import.meta.url));
    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        ["--conditions=multiproc-source", "--import", "tsx", script],
        { timeout: 30_000 },
        (error, out, err) => (error ? reject(Object.assign(error, { stderr: err })) : resolve({ stdout: out })),
      );
    });
    assert.deepEqual(JSON.parse(stdout), { result: 42, listed: [2, 4, 6] });
  });

  test("a program without the isMainProcess() guard gets an error naming it, not workers without end (issue 7.3)", T, async () => {
    const script = fileURLToPath(new URL("../fixtures/unguarded-main.ts", import.meta.url));
    for (const kind of ["pool", "process"]) {
      const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        execFile(
          process.execPath,
          ["--conditions=multiproc-source", "--import", "tsx", script],
          { timeout: 50_000, env: { ...process.env, MULTIPROC_UNGUARDED: `${kind}:${context}` } },
          (error, out, err) => (error ? reject(Object.assign(error, { stdout: out, stderr: err })) : resolve({ stdout: out, stderr: err })),
        );
      });
      const lines = stdout.trim().split("\n").map((line) => JSON.parse(line) as { where: string; error?: string; exitCode?: number });
      assert.equal(lines.length, 1, `only the main process got as far as printing: ${stdout}`);
      assert.equal(lines[0]!.where, "MainProcess");
      if (kind === "pool") {
        assert.match(lines[0]!.error ?? "", /A Pool was created in worker PoolWorker-\d+ while it was still importing .*unguarded-main\.ts/);
        assert.match(lines[0]!.error ?? "", /if \(mp\.isMainProcess\(\)\) \{/);
      } else {
        assert.equal(lines[0]!.exitCode, 1);
        assert.match(stderr, /Process Process-[\d:]+ was started in worker Process-\d+ while it was still importing/);
        assert.match(stderr, /if \(mp\.isMainProcess\(\)\) \{/);
      }
    }
  });

  test("resourceLimits reach each worker: one that runs out of memory is lost, the pool goes on", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context, resourceLimits: { maxOldGenerationSizeMb: 24, maxYoungGenerationSizeMb: 4 } });
    await assert.rejects(pool.apply(hogMemory), (error: unknown) => {
      assert.ok(error instanceof mp.WorkerLostError);
      assert.match((error as Error).message, /memory/i);
      return true;
    });
    assert.equal(await pool.apply(square, [6]), 36);
  });

  test("a task sent to a worker still starting is taken back by a worker that is ready first", T, async () => {
    const control = mp.getContext(context).RawArray("i", 2);
    await using pool = new mp.Pool({ processes: 2, context, initializer: holdOneStart, initArgs: [control] });
    const answer = pool.apply(square, [7]);
    // No worker is ready yet: the task went to one that is starting. Hold that one in its start-up.
    const holder = pool.stats().perWorker.find((worker) => worker.running === 1);
    assert.ok(holder, `the task went to no starting worker: ${JSON.stringify(pool.stats().perWorker)}`);
    Atomics.store(control, 0, Number(/(\d+)$/.exec(holder.name)![1]));
    try {
      // The holder stays in its start-up until `finally`: the answer can come only from the other worker.
      assert.equal(await within(answer, 30_000, "not answered within 30 s while its first worker was still starting"), 49);
    } finally {
      Atomics.store(control, 1, 1);
    }
    assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
  });

  test("a worker that dies starting gives its unstarted task to its replacement, not a WorkerLostError", T, async () => {
    const starts = mp.getContext(context).RawArray("i", 1);
    await using pool = new mp.Pool({ processes: 1, context, initializer: dieOnFirstStart, initArgs: [starts] });
    const answer = pool.apply(square, [8]);
    assert.equal(pool.stats().perWorker[0]?.running, 1, "the task went to the worker still starting");
    assert.equal(await answer, 64);
    assert.equal(Atomics.load(starts, 0), 2, "the first worker died, its replacement ran the task");
    assert.equal(pool.stats().failed, 0);
  });
});
