import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { timesFactor } from "../fixtures/unregistered.ts";
import { add, identity, mul, square, squareAsync, toInt, whoAmI } from "../fixtures/square.ts";
import { sleepThen, timed } from "../fixtures/sleep.ts";
import { greet, initGreeting, initGreetingAsync } from "../fixtures/init.ts";
import { makeBytes, sumBytes } from "../fixtures/transfer.ts";

const T = { timeout: 60_000 };

/** The largest number of [start, end] intervals that overlap at one instant. */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals.flatMap(({ start, end }) => [
    [start, 1],
    [end, -1],
  ]);
  events.sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
  let current = 0;
  let max = 0;
  for (const [, delta] of events) max = Math.max(max, (current += delta!));
  return max;
}

async function* countTo(n: number): AsyncGenerator<number> {
  for (let i = 0; i < n; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    yield i;
  }
}

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("apply returns the result (CPython test_apply)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    assert.equal(await pool.apply(square, [5]), 25);
    assert.equal(await pool.apply(add, [1, 2, 3]), 6);
    assert.equal(await pool.apply(add), 0);
    assert.equal(await pool.apply(squareAsync, [7]), 49);
  });

  test("map and starmap keep the input order (CPython test_map, test_starmap)", T, async () => {
    await using pool = new mp.Pool({ processes: 4, context });
    const ten = [...Array(10).keys()];
    const hundred = [...Array(100).keys()];
    assert.deepEqual(await pool.map(square, ten), ten.map(square));
    assert.deepEqual(await pool.map(square, hundred, { chunkSize: 20 }), hundred.map(square));
    assert.deepEqual(await pool.map(square, hundred, { chunkSize: 7 }), hundred.map(square));
    const tuples = ten.map((i): [number, number] => [i, 9 - i]);
    assert.deepEqual(await pool.starmap(mul, tuples), tuples.map(([a, b]) => a * b));
    const tuples100 = hundred.map((i): [number, number] => [i, 99 - i]);
    assert.deepEqual(await pool.starmap(mul, tuples100, { chunkSize: 20 }), tuples100.map(([a, b]) => a * b));
    assert.deepEqual(await pool.starmapAsync(mul, tuples100).get(), tuples100.map(([a, b]) => a * b));
    assert.deepEqual(await pool.mapAsync(square, ten).get(), ten.map(square));
    assert.deepEqual(await pool.map(squareAsync, ten), ten.map(square));
  });

  test("map accepts any Iterable and AsyncIterable", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    assert.deepEqual(await pool.map(square, new Set([1, 2, 3])), [1, 4, 9]);
    assert.deepEqual(await pool.map(identity, "abc"), ["a", "b", "c"]);
    function* gen() {
      yield 4;
      yield 5;
    }
    assert.deepEqual(await pool.map(square, gen()), [16, 25]);
    assert.deepEqual(await pool.map(square, countTo(20)), [...Array(20).keys()].map(square));
    assert.deepEqual(
      await pool.starmap(mul, (async function* () {
        yield [2, 3] as [number, number];
        yield [4, 5] as [number, number];
      })()),
      [6, 20],
    );
  });

  test("empty iterables give empty results (CPython test_empty_iterable, test_map_chunksize)", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    assert.deepEqual(await pool.map(square, []), []);
    assert.deepEqual(await pool.mapAsync(square, [], { chunkSize: 1 }).get(1000), []);
    assert.deepEqual(await pool.map(square, countTo(0)), []);
    const fromImap: number[] = [];
    for await (const x of pool.imap(square, [])) fromImap.push(x);
    assert.deepEqual(fromImap, []);
    const fromUnordered: number[] = [];
    for await (const x of pool.imapUnordered(square, [])) fromUnordered.push(x);
    assert.deepEqual(fromUnordered, []);
    let called: unknown;
    await pool.mapAsync(square, [] as number[], { callback: (r: number[]) => void (called = r) }).wait();
    assert.deepEqual(called, []);
  });

  test("mapAsync callbacks run once in the main thread (CPython test_map_async_callbacks)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const calls: unknown[] = [];
    const record = { callback: (r: number[]) => void calls.push(r), errorCallback: (e: Error) => void calls.push(e) };
    await pool.mapAsync(toInt, ["1", "2"], record).wait();
    assert.deepEqual(calls, [[1, 2]]);
    await pool.mapAsync(toInt, ["a"], record).wait();
    assert.equal(calls.length, 2);
    assert.ok(calls[1] instanceof TypeError);
  });

  test("applyAsync callbacks and errorCallback (CPython test_async_error_callback)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    let value: number | undefined;
    const result = pool.applyAsync(square, [9], { callback: (v) => (value = v) });
    assert.equal(await result, 81);
    assert.equal(value, 81);
    let caught: Error | undefined;
    const failing = pool.applyAsync(toInt, ["x"], { errorCallback: (e) => (caught = e) });
    await assert.rejects(failing.get(), TypeError);
    assert.ok(caught instanceof TypeError);
    assert.match(caught.message, /invalid literal/);
  });

  test("AsyncResult: get, get(timeout), wait, ready, successful, then (CPython test_async, test_async_timeout)", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const slow = pool.applyAsync(sleepThen<string>, [400, "done"]);
    assert.equal(slow.ready(), false);
    assert.throws(() => slow.successful(), /not ready/);
    const started = performance.now();
    await assert.rejects(slow.get(50), (error: unknown) => {
      assert.ok(error instanceof mp.TimeoutError);
      assert.match((error as Error).message, /50 ms/);
      return true;
    });
    assert.ok(performance.now() - started < 390, "get(50) waited for the task");
    await slow.wait(10);
    assert.equal(slow.ready(), false);
    assert.equal(await slow.get(), "done");
    assert.ok(performance.now() - started >= 350);
    assert.equal(slow.ready(), true);
    assert.equal(slow.successful(), true);
    await slow.wait();
    assert.equal(await slow.then((v) => v.toUpperCase()), "DONE");
    const bad = pool.applyAsync(toInt, ["nope"]);
    await bad.wait();
    assert.equal(bad.ready(), true);
    assert.equal(bad.successful(), false);
    await assert.rejects(Promise.resolve(bad), TypeError);
  });

  test("apply runs tasks one after another; applyAsync overlaps up to `processes`", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const sequential = [];
    for (let i = 0; i < 4; i++) sequential.push(await pool.apply(timed, [150]));
    assert.equal(maxOverlap(sequential), 1);
    const overlapped = await Promise.all([...Array(6)].map(() => pool.applyAsync(timed, [300]).get()));
    assert.equal(maxOverlap(overlapped), 2);
    assert.equal(new Set(overlapped.map((r) => r.ident)).size, 2);
  });

  test("workers are named PoolWorker-N and all start with the pool (CPython test_make_pool)", T, async () => {
    await using pool = new mp.Pool({ processes: 3, context });
    const seen = await Promise.all([...Array(3)].map(() => pool.applyAsync(sleepThen, [300, 0]).then(() => 0)));
    assert.equal(seen.length, 3);
    const names = await pool.map(whoAmI, [...Array(30).keys()], { chunkSize: 1 });
    for (const { name } of names) assert.match(name, /^PoolWorker-\d+$/);
    const timings = await Promise.all([...Array(3)].map(() => pool.applyAsync(timed, [300]).get()));
    assert.equal(new Set(timings.map((t) => t.ident)).size, 3);
  });

  test("processes defaults to mp.cpuCount()", T, async () => {
    assert.equal(mp.cpuCount(), availableParallelism());
    await using pool = new mp.Pool({ context });
    const n = mp.cpuCount();
    const timings = await Promise.all([...Array(n)].map(() => pool.applyAsync(timed, [300]).get()));
    assert.equal(new Set(timings.map((t) => t.ident)).size, n);
  });

  test("invalid options name the option", T, () => {
    assert.throws(() => new mp.Pool(0), { name: "RangeError", message: "Expected `processes` to be an integer >= 1, got `0` (number)" });
    assert.throws(() => new mp.Pool(-1), RangeError);
    assert.throws(() => new mp.Pool({ processes: 1.5 }), /`processes`/);
    assert.throws(() => new mp.Pool({ processes: "2" as unknown as number }), { name: "TypeError", message: /`processes`.*"2"` \(string\)/ });
    for (const value of [0, -1, 0.5, "12"]) {
      assert.throws(() => new mp.Pool({ processes: 1, maxTasksPerChild: value as number }), /`maxTasksPerChild`/);
    }
    assert.throws(() => new mp.Pool({ processes: 1, initializer: 3 as unknown as () => void }), /`initializer`/);
    assert.throws(() => new mp.Pool({ processes: 1, initArgs: "x" as unknown as unknown[] }), /`initArgs`/);
    assert.throws(() => new mp.Pool({ processes: 1, context: "fork" as "thread" }), /`context`/);
    assert.throws(() => new mp.Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: -1 } }), /resourceLimits.maxOldGenerationSizeMb/);
    assert.throws(() => new mp.Pool({ processes: 1, initArgs: [() => 1] }), /initArgs\[0\]/);
  });

  test("processes above the cap are refused at once, and maxProcesses raises the cap (issue 7.8)", T, async () => {
    assert.throws(() => new mp.Pool({ processes: 1e9, context }), {
      name: "RangeError",
      message: /Expected `processes` to be at most 256 .*got `1000000000` \(number\).*maxProcesses: 1000000000/,
    });
    assert.throws(() => new mp.Pool({ processes: 257, context }), RangeError);
    assert.throws(() => new mp.Pool({ processes: 3, maxProcesses: 2, context }), /at most 2 \(`maxProcesses`\)/);
    assert.throws(() => new mp.Pool({ processes: 1, maxProcesses: 0, context }), /`maxProcesses`/);
    await using pool = new mp.Pool({ processes: 3, maxProcesses: 3, context });
    assert.equal(pool.stats().workers, 3);
    assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
  });

  test("invalid call arguments name the argument", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    assert.throws(() => pool.imap(square, [1], { chunkSize: 0 }), { name: "RangeError", message: /`chunkSize`.*`0`/ });
    await assert.rejects(pool.map(square, [1], { chunkSize: 0 }), /`chunkSize`/);
    await assert.rejects(pool.map(square, 5 as unknown as number[]), /`iterable`/);
    await assert.rejects(pool.apply(square, 5 as unknown as [number]), /`args`/);
    await assert.rejects(pool.apply(square, [1], { timeout: -5 }), /`timeout`/);
    assert.throws(() => pool.applyAsync(square, [1], { callback: 1 as unknown as () => void }), /`callback`/);
    assert.throws(() => pool.applyAsync(5 as unknown as () => void), /`fn`/);
    await assert.rejects(pool.applyAsync(square, [1]).get(-1), { name: "RangeError", message: /`timeout`/ });
  });

  test("the initializer runs once per worker, before tasks; it may be async", T, async () => {
    const counter = ctx.RawArray("i", 1);
    {
      await using pool = new mp.Pool({ processes: 2, context, initializer: initGreeting, initArgs: ["hello", counter] });
      const replies = await pool.map(greet, ["a", "b", "c", "d", "e", "f"], { chunkSize: 1 });
      for (const reply of replies) assert.match(reply, /^hello, \w \(init ran 1x here\)$/);
    }
    assert.equal(Atomics.load(counter, 0), 2);
    await using pool = new mp.Pool({ processes: 1, context, initializer: initGreetingAsync, initArgs: ["hi"] });
    assert.match(await pool.apply(greet, ["z"]), /^hi, z/);
  });

  test("a function that is not exported goes as source text", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    assert.equal(await pool.apply((a: number, b: number) => a - b, [10, 3]), 7);
    assert.deepEqual(await pool.map((x: number) => x + 1, [1, 2, 3]), [2, 3, 4]);
    assert.equal(await pool.apply(Math.max, [1, 8, 3]), 8);
    assert.equal(await pool.apply(async function twice(x: number) { return 2 * x; }, [21]), 42);
  });

  test("a source-text function that uses a closure variable fails with a message saying to export it", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    const factor = 3;
    await assert.rejects(pool.apply((x: number) => x * factor, [2]), (error: unknown) => {
      assert.ok(error instanceof ReferenceError);
      assert.match(error.message, /factor/);
      assert.match(error.message, /[Ee]xport it/);
      return true;
    });
    assert.equal(await pool.apply(square, [3]), 9, "the pool goes on");
  });

  test("a function exported from a module that is not known: the error names the module and how to make it known (issue 7.7)", T, async () => {
    const module = new URL("../fixtures/unregistered.ts", import.meta.url).href;
    {
      await using pool = new mp.Pool({ processes: 1, context });
      await assert.rejects(pool.apply(timesFactor, [2]), (error: unknown) => {
        assert.ok(error instanceof ReferenceError);
        assert.match(error.message, /factor is not defined/);
        assert.ok(error.message.includes(`It is exported by ${module}, which is not a known module`), error.message);
        assert.match(error.message, /list that module in the `modules` option or call mp\.registerModule\(import\.meta\.url\) in it/);
        return true;
      });
    }
    // The advice is true: with the module listed, the same call works.
    await using pool = new mp.Pool({ processes: 1, context, modules: [module] });
    assert.equal(await pool.apply(timesFactor, [2]), 6);
  });

  test("transfer moves ArrayBuffers to the worker; mp.transfer moves the result back", T, async () => {
    await using pool = new mp.Pool({ processes: 1, context });
    const buffer = new Uint8Array(1024).fill(2).buffer;
    assert.equal(await pool.apply(sumBytes, [buffer], { transfer: [buffer] }), 2048);
    assert.equal(buffer.byteLength, 0, "the buffer was moved, not copied");
    const copied = new Uint8Array(8).fill(1).buffer;
    assert.equal(await pool.apply(sumBytes, [copied]), 8);
    assert.equal(copied.byteLength, 8);
    const bytes = await pool.apply(makeBytes, [4096, 7]);
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes.length, 4096);
    assert.equal(bytes[4095], 7);
    const many = await pool.starmap(makeBytes, [[2, 1], [3, 2]]);
    assert.deepEqual(many.map((b) => [...b]), [[1, 1], [2, 2, 2]]);
  });

  test("library objects travel in arguments and stay shared", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const { countAndReturn } = await import("../fixtures/sleep.ts");
    const counter = ctx.RawArray("i", 1);
    const results = await pool.starmap(countAndReturn, [...Array(10).keys()].map((i): [Int32Array, number] => [counter, i]), { chunkSize: 3 });
    assert.deepEqual(results, [...Array(10).keys()]);
    assert.equal(Atomics.load(counter, 0), 10);
  });
});
