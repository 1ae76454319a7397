import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { square } from "../fixtures/square.ts";
import {
  recordOrThrowAt, rejectAsync, squareOrThrowAt, throwCustom, throwLibraryError, throwRangeError, throwString, throwTypeError, throwWithDetails,
} from "../fixtures/raise.ts";
import { crashLater, exitWith, returnUncloneable, uncloneableAt } from "../fixtures/crash.ts";
import { sleepThen } from "../fixtures/sleep.ts";
import { initFails } from "../fixtures/init.ts";
import { InsufficientFunds, overLimit, withdraw, wrapped } from "../fixtures/bank.ts";

const T = { timeout: 60_000 };
const throwOnImport = new URL("../fixtures/throw-on-import.ts", import.meta.url);

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("a task's error keeps its class, message, own properties, cause and both stacks (CPython test_traceback)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    await assert.rejects(pool.apply(throwTypeError, ["bad type"]), { name: "TypeError", message: "bad type" });
    await assert.rejects(pool.apply(throwRangeError, ["bad range"]), RangeError);
    await assert.rejects(pool.apply(rejectAsync, ["async bad"]), { name: "RangeError", message: "async bad" });
    const error = await pool.apply(throwWithDetails).catch((e: unknown) => e as Error & { code: string; info: unknown });
    assert.ok(error instanceof Error);
    assert.equal(error.message, "with details");
    assert.equal(error.code, "E_DETAILS");
    assert.deepEqual(error.info, { a: 1, list: [1, 2] });
    assert.ok(error.cause instanceof TypeError);
    assert.equal((error.cause as Error).message, "the cause");
    assert.match(error.stack!, /pool-errors\.test\.ts/, "the caller's stack");
    // A worker thread is named by its thread id and the shared pid, an OS process by its own pid.
    assert.match(error.stack!, context === "thread" ? /raised in PoolWorker-\d+ \(thread \d+, pid \d+\)/ : /raised in PoolWorker-\d+ \(pid \d+\)/);
    assert.match(error.stack!, /throwWithDetails/, "the worker's stack");
    // A caller that never awaits (a plain .then) still learns where and in what the error was raised.
    const unawaited = await new Promise<Error>((resolve) => void pool.apply(throwWithDetails).then(undefined, resolve));
    assert.match(unawaited.stack!, /raised in PoolWorker-\d+/);
    assert.match(unawaited.stack!, /throwWithDetails/);
  });

  test("library error classes and custom class names survive", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    await assert.rejects(pool.apply(throwLibraryError), (error: unknown) => {
      assert.ok(error instanceof mp.TimeoutError);
      assert.equal((error as mp.TimeoutError).timeout, 5);
      return true;
    });
    await assert.rejects(pool.apply(throwCustom), { name: "CustomError", message: "custom" });
    await assert.rejects(pool.apply(throwString), { message: "a plain string" });
  });

  test("map fails with the first error; the pool goes on (CPython test_map_no_failfast)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    await assert.rejects(pool.map(squareOrThrowAt.bind(null, 3), [0, 1, 2, 3, 4]), TypeError); // bound functions cannot be sent
    await assert.rejects(pool.starmap(squareOrThrowAt, [0, 1, 2, 3, 4].map((x): [number, number] => [3, x])), {
      name: "RangeError",
      message: "bad item 3",
    });
    assert.deepEqual(await pool.map(square, [1, 2]), [1, 4]);
  });

  test("an error class exported by a task module is rebuilt as that class; others as their nearest built-in class (issue 7.5)", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    await assert.rejects(pool.apply(withdraw, [10, 50]), (error: unknown) => {
      assert.ok(error instanceof InsufficientFunds, `got ${Object.prototype.toString.call(error)} ${(error as Error).name}`);
      assert.ok(error instanceof Error);
      assert.equal(error.name, "InsufficientFunds");
      assert.equal(error.message, "needed 50, have 10");
      assert.equal(error.needed, 50);
      assert.equal(error.balance, 10);
      assert.equal(error.shortfall(), 40, "its methods work");
      assert.match(error.stack!, /withdraw/, "the worker's stack");
      return true;
    });
    await assert.rejects(pool.apply(overLimit), (error: unknown) => {
      assert.ok(error instanceof RangeError, "a class no module exports becomes its nearest built-in class");
      assert.equal((error as Error).name, "PrivateLimit");
      return true;
    });
    await assert.rejects(pool.apply(wrapped), (error: unknown) => {
      assert.ok((error as Error).cause instanceof InsufficientFunds, "a cause of that class too");
      return true;
    });
    await assert.rejects(pool.starmap(withdraw, [[5, 1], [5, 9]], { chunkSize: 1 }), InsufficientFunds);
    assert.equal(await pool.apply(withdraw, [5, 2]), 3);
  });

  test("a failing map still runs every task of the call; close() + join() waits for them (issue 7.9, bpo-23992)", T, async () => {
    const dir = mkdtempSync(join(tmpdir(), "multiproc-no-failfast-"));
    try {
      const pool = new mp.Pool({ processes: 1, context });
      const items = [...Array(10).keys()];
      const failing = pool.starmap(recordOrThrowAt, items.map((x): [string, number, number] => [dir, 0, x]), { chunkSize: 1 });
      await assert.rejects(failing, { name: "RangeError", message: "bad item 0" });
      pool.close();
      await pool.join();
      assert.deepEqual(readdirSync(dir).map(Number).sort((a, b) => a - b), items, "every task ran");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an error thrown by map's input rejects the call (CPython test_map_handle_iterable_exception)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    class SayWhenError extends Error {}
    function* throwingAt(total: number, when: number) {
      for (let i = 0; i < total; i++) {
        if (i === when) throw new SayWhenError("Somebody said when");
        yield i;
      }
    }
    await assert.rejects(pool.map(square, throwingAt(1, 0), { chunkSize: 1 }), SayWhenError);
    await assert.rejects(pool.map(square, throwingAt(10, 3), { chunkSize: 1 }), SayWhenError);
    async function* asyncThrowing() {
      yield 1;
      throw new SayWhenError("async input");
    }
    await assert.rejects(pool.map(square, asyncThrowing()), SayWhenError);
    assert.deepEqual(await pool.map(square, [3]), [9]);
  });

  test("a worker that exits mid-task fails exactly that task with WorkerLostError; a replacement finishes the rest", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const others = [1, 2, 3, 4, 5, 6].map((x) => pool.applyAsync(sleepThen, [50, x]));
    const lost = pool.applyAsync(exitWith, [7]);
    await assert.rejects(lost.get(), (error: unknown) => {
      assert.ok(error instanceof mp.WorkerLostError);
      const lostError = error as mp.WorkerLostError;
      assert.match(lostError.message, /PoolWorker-\d+.*exited with code 7/);
      assert.equal(lostError.exitCode, 7);
      if (context === "thread") assert.equal(lostError.pid, process.pid, "a worker thread's pid is its process's");
      else assert.notEqual(lostError.pid, process.pid, "an OS process has a pid of its own");
      assert.equal(lostError.signal, null);
      return true;
    });
    assert.deepEqual(await Promise.all(others.map((r) => r.get())), [1, 2, 3, 4, 5, 6]);
    // a crash (uncaught exception) too
    await assert.rejects(pool.apply(crashLater), (error: unknown) => {
      assert.ok(error instanceof mp.WorkerLostError);
      assert.match((error as Error).message, /exited with code 1.*uncaught in the worker/);
      return true;
    });
    assert.deepEqual(await pool.map(square, [1, 2, 3, 4], { chunkSize: 1 }), [1, 4, 9, 16]);
  });

  test("a map whose chunk loses its worker rejects with WorkerLostError", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    await assert.rejects(pool.starmap(exitWith, [[3]]), mp.WorkerLostError);
    assert.deepEqual(await pool.map(square, [5]), [25]);
  });

  test("an argument that cannot be cloned fails that task with a TypeError naming its path", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    await assert.rejects(pool.apply(square, [{ deep: { fn: () => 1 } }] as unknown as [number]), (error: unknown) => {
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /args\[0\]\.deep\.fn/);
      return true;
    });
    await assert.rejects(pool.map(square, [1, 2, 3, { f: Symbol("x") }] as unknown as number[], { chunkSize: 2 }), /iterable\[3\]\.f/);
    assert.equal(await pool.apply(square, [4]), 16, "the pool goes on");
  });

  test("a result that cannot be cloned fails that task with a TypeError naming its path (CPython test_unpickleable_result)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    for (let i = 0; i < 10; i++) {
      let seen: Error | undefined;
      const result = pool.applyAsync(returnUncloneable, [], { errorCallback: (e) => (seen = e) });
      await assert.rejects(result.get(), (error: unknown) => {
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /result\.nested\.fn/);
        return true;
      });
      assert.ok(seen instanceof TypeError);
    }
    await assert.rejects(pool.starmap(uncloneableAt, [0, 1, 2, 3].map((x): [number, number] => [2, x])), /results\[2\]/);
    assert.equal(await pool.apply(square, [4]), 16);
  });

  test("workers whose module throws on import do not restart in a loop; calls reject with that error", T, async () => {
    const pool = new mp.Pool({ processes: 2, context, modules: [throwOnImport] });
    await assert.rejects(pool.apply(square, [2]), /refuses to load in a worker/);
    await assert.rejects(pool.map(square, [1, 2]), /refuses to load in a worker/);
    await assert.rejects(pool.applyAsync(square, [1]).get(), /refuses to load/);
    await assert.rejects(pool.imap(square, [1]).next(), /refuses to load/);
    pool.close();
    await pool.join();
  });

  test("an initializer that throws stops the pool from restarting workers; calls reject with its error", T, async () => {
    const counter = ctx.RawArray("i", 1);
    const pool = new mp.Pool({ processes: 2, context, initializer: initFails, initArgs: [counter] });
    const pending = pool.apply(square, [3]);
    await assert.rejects(pending, { name: "RangeError", message: "initializer failed on purpose" });
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(Atomics.load(counter, 0) <= 2, `the initializer ran ${Atomics.load(counter, 0)} times`);
    await assert.rejects(pool.apply(square, [3]), RangeError);
    pool.close();
    await pool.join();
    assert.throws(() => pool.applyAsync(square, [1]), /not running/);
  });
});
