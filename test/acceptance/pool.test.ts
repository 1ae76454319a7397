/** Acceptance: Pool (API.md "Pool", CPython _TestPool semantics). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import {
  busy, byteLength, countAndReturn, exitWorker, getInitValue, hogMemory, identity, initializer, initializerAsync,
  initThrows, makeBuffer, meetAt, mul, raiseOnFive, raiseRangeWithProps, raiseTypeError, returnsUncloneable, sleepMs,
  sqr, sqrAsync, identOf, whoAmI,
} from "./fixtures/pool-tasks.ts";

const T = { timeout: 60_000 };
const range = (n: number) => [...Array(n).keys()];
const sq = (x: number) => x * x;

class SayWhenError extends Error {}
function* exceptionThrowingGenerator(total: number, when: number): Generator<number> {
  if (when === -1) throw new SayWhenError("Somebody said when");
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError("Somebody said when");
    yield i;
  }
}

async function throwsOrRejects(fn: () => unknown, check?: (e: unknown) => boolean): Promise<void> {
  let err: unknown;
  let threw = false;
  try {
    await fn();
  } catch (e) {
    threw = true;
    err = e;
  }
  assert.ok(threw, "expected a throw or a rejection");
  if (check) assert.ok(check(err), `unexpected error: ${String(err)}`);
}

test("apply (test_apply), default context", T, async () => {
  await using pool = new mp.Pool(2);
  assert.equal(await pool.apply(sqr, [5]), 25);
  assert.equal(await pool.apply(mul, [3, 4]), 12);
  assert.equal(await pool.apply(sqrAsync, [6]), 36);
  assert.deepEqual(await pool.apply(identity, [{ a: [1, 2n, new Map([[1, 2]])] }]), { a: [1, 2n, new Map([[1, 2]])] });
});

test("map / starmap / mapAsync / starmapAsync (test_map, test_starmap, test_map_async)", T, async () => {
  await using pool = new mp.Pool({ processes: 4, context: "thread" });
  assert.deepEqual(await pool.map(sqr, range(10)), range(10).map(sq));
  assert.deepEqual(await pool.map(sqr, range(100), { chunkSize: 20 }), range(100).map(sq));
  const tuples = range(10).map((i): [number, number] => [i, i * 2]);
  assert.deepEqual(await pool.starmap(mul, tuples), tuples.map(([a, b]) => a * b));
  assert.deepEqual(await pool.starmap(mul, tuples, { chunkSize: 3 }), tuples.map(([a, b]) => a * b));
  assert.deepEqual(await pool.mapAsync(sqr, range(10)).get(), range(10).map(sq));
  assert.deepEqual(await pool.starmapAsync(mul, tuples, { chunkSize: 3 }).get(), tuples.map(([a, b]) => a * b));
});

test("map accepts any Iterable and AsyncIterable", T, async () => {
  await using pool = new mp.Pool(2);
  assert.deepEqual(await pool.map(sqr, new Set([1, 2, 3])), [1, 4, 9]);
  async function* gen() {
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setImmediate(r));
      yield i;
    }
  }
  assert.deepEqual(await pool.map(sqr, gen()), [0, 1, 4, 9, 16]);
  const out: number[] = [];
  for await (const x of pool.imap(sqr, gen())) out.push(x);
  assert.deepEqual(out, [0, 1, 4, 9, 16]);
});

test("mapAsync callbacks (test_map_async_callbacks)", T, async () => {
  await using pool = new mp.Pool(2);
  const calls: unknown[] = [];
  await pool.mapAsync(sqr, [1], { callback: (r) => calls.push(r), errorCallback: (e) => calls.push(e) }).wait();
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0], [1]);
  await pool.mapAsync(raiseTypeError, ["a"], { callback: (r) => calls.push(r), errorCallback: (e) => calls.push(e) }).wait();
  assert.equal(calls.length, 2);
  assert.ok(calls[1] instanceof TypeError);
});

test("applyAsync callback and errorCallback run before get() resolves", T, async () => {
  await using pool = new mp.Pool(2);
  let got: unknown;
  const r = pool.applyAsync(sqr, [3], { callback: (v) => (got = v) });
  assert.equal(await r.get(), 9);
  assert.equal(got, 9);
  let err: unknown;
  const r2 = pool.applyAsync(raiseTypeError, ["bad"], { errorCallback: (e) => (err = e) });
  await r2.wait();
  assert.ok(err instanceof TypeError);
  assert.equal(r2.successful(), false);
  await assert.rejects(r2.get(), TypeError);
});

test("map on an empty list with chunkSize 1 does not stall (test_map_chunksize, test_empty_iterable)", T, async () => {
  await using pool = new mp.Pool(1);
  assert.deepEqual(await pool.mapAsync(sqr, [], { chunkSize: 1 }).get(5_000), []);
  assert.deepEqual(await pool.map(sqr, []), []);
  const a: number[] = [];
  for await (const x of pool.imap(sqr, [])) a.push(x);
  for await (const x of pool.imapUnordered(sqr, [])) a.push(x);
  assert.deepEqual(a, []);
  assert.deepEqual(await pool.starmap(mul, []), []);
});

test("map rejects with the iterable's own error (test_map_handle_iterable_exception)", T, async () => {
  await using pool = new mp.Pool(2);
  await assert.rejects(pool.map(sqr, exceptionThrowingGenerator(1, -1), { chunkSize: 1 }), SayWhenError);
  await assert.rejects(pool.map(sqr, exceptionThrowingGenerator(1, 0), { chunkSize: 1 }), SayWhenError);
  await assert.rejects(pool.map(sqr, exceptionThrowingGenerator(10, 3), { chunkSize: 1 }), SayWhenError);
  // the pool still works
  assert.deepEqual(await pool.map(sqr, [2]), [4]);
});

test("applyAsync get() resolves after the task's time (test_async)", T, async () => {
  await using pool = new mp.Pool(2);
  const res = pool.applyAsync(sqr, [7, 300]);
  const t0 = performance.now();
  assert.equal(await res.get(), 49);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 200, `elapsed ${elapsed}`);
});

test("AsyncResult.get(timeout) rejects with mp.TimeoutError (test_async_timeout)", T, async () => {
  const pool = new mp.Pool(3);
  const res = pool.applyAsync(sleepMs, [2_000]);
  const t0 = performance.now();
  await assert.rejects(res.get(200), (e: unknown) => e instanceof mp.TimeoutError && e instanceof mp.ProcessError);
  const elapsed = performance.now() - t0;
  assert.ok(elapsed >= 150 && elapsed < 1_800, `elapsed ${elapsed}`);
  // the result still arrives later
  assert.equal(res.ready(), false);
  assert.throws(() => res.successful()); // Python: ValueError if not ready
  assert.equal(await res.get(), 2_000);
  assert.equal(res.ready(), true);
  assert.equal(res.successful(), true);
  await pool.terminate();
  await pool.join();
});

test("AsyncResult.wait(timeout) resolves without the result and is PromiseLike", T, async () => {
  await using pool = new mp.Pool(2);
  const res = pool.applyAsync(sleepMs, [600]);
  const t0 = performance.now();
  const w = await res.wait(100);
  assert.equal(w, undefined);
  assert.ok(performance.now() - t0 < 550);
  assert.equal(res.ready(), false);
  assert.equal(await res, 600); // PromiseLike
  const failing = pool.applyAsync(raiseTypeError, ["x"]);
  await assert.rejects(Promise.resolve(failing), TypeError);
});

test("imap in order, next() and exhaustion (test_imap)", T, async () => {
  await using pool = new mp.Pool(4);
  const all: number[] = [];
  for await (const x of pool.imap(sqr, range(10))) all.push(x);
  assert.deepEqual(all, range(10).map(sq));
  const it = pool.imap(sqr, range(10));
  for (let i = 0; i < 10; i++) assert.deepEqual(await it.next(), { done: false, value: i * i });
  assert.equal((await it.next()).done, true);
  const big = pool.imap(sqr, range(1000), { chunkSize: 100 });
  for (let i = 0; i < 1000; i++) assert.equal((await big.next()).value, i * i);
  assert.equal((await big.next()).done, true);
  assert.equal(big[Symbol.asyncIterator](), big);
});

test("imap raises the iterable's error at its position (test_imap_handle_iterable_exception)", T, async () => {
  await using pool = new mp.Pool(4);
  let it = pool.imap(sqr, exceptionThrowingGenerator(1, -1), { chunkSize: 1 });
  await assert.rejects(it.next(), SayWhenError);
  it = pool.imap(sqr, exceptionThrowingGenerator(1, -1), { chunkSize: 1 });
  await assert.rejects(it.next(), SayWhenError);
  it = pool.imap(sqr, exceptionThrowingGenerator(10, 3), { chunkSize: 1 });
  for (let i = 0; i < 3; i++) assert.equal((await it.next()).value, i * i);
  await assert.rejects(it.next(), SayWhenError);
  it = pool.imap(sqr, exceptionThrowingGenerator(20, 7), { chunkSize: 2 });
  for (let i = 0; i < 6; i++) assert.equal((await it.next()).value, i * i);
  await assert.rejects(it.next(), SayWhenError);
  it = pool.imap(sqr, exceptionThrowingGenerator(20, 7), { chunkSize: 4 });
  for (let i = 0; i < 4; i++) assert.equal((await it.next()).value, i * i);
  await assert.rejects(it.next(), SayWhenError);
});

test("imapUnordered yields all results (test_imap_unordered + iterable exception)", T, async () => {
  await using pool = new mp.Pool(4);
  const a: number[] = [];
  for await (const x of pool.imapUnordered(sqr, range(10))) a.push(x);
  assert.deepEqual(a.sort((x, y) => x - y), range(10).map(sq));
  const b: number[] = [];
  for await (const x of pool.imapUnordered(sqr, range(1000), { chunkSize: 100 })) b.push(x);
  assert.deepEqual(b.sort((x, y) => x - y), range(1000).map(sq));
  const it = pool.imapUnordered(sqr, exceptionThrowingGenerator(10, 3), { chunkSize: 1 });
  await assert.rejects(async () => {
    for (let i = 0; i < 10; i++) {
      const { value, done } = await it.next();
      assert.ok(!done);
      assert.ok([0, 1, 4].includes(value));
    }
  }, SayWhenError);
});

test("imapUnordered yields results as they finish", T, async () => {
  await using pool = new mp.Pool(2);
  const order: number[] = [];
  for await (const x of pool.imapUnordered(sleepMs, [1_500, 50])) order.push(x);
  assert.deepEqual(order, [50, 1_500]);
});

test("IMapIterator.next(timeout) rejects with mp.TimeoutError", T, async () => {
  await using pool = new mp.Pool(2);
  const it = pool.imap(sleepMs, [1_000]);
  await assert.rejects(it.next(100), mp.TimeoutError);
  assert.deepEqual(await it.next(), { done: false, value: 1_000 });
  assert.equal((await it.next()).done, true);
});

test("imap does not read the whole input ahead; break releases the window and join() completes", T, async () => {
  const pool = new mp.Pool(2);
  let produced = 0;
  function* infinite() {
    for (let i = 0; ; i++) {
      produced++;
      yield i;
    }
  }
  const got: number[] = [];
  for await (const x of pool.imap(sqr, infinite())) {
    got.push(x);
    if (got.length === 5) break;
  }
  assert.deepEqual(got, [0, 1, 4, 9, 16]);
  await new Promise((r) => setTimeout(r, 200));
  assert.ok(produced < 10_000, `read ${produced} items ahead`);
  pool.close();
  await pool.join();
});

test("closing a pool with an unconsumed imap does not deadlock join(); results stay readable", T, async () => {
  const pool = new mp.Pool(2);
  const it = pool.imap(sqr, range(1_000));
  assert.equal((await it.next()).value, 0);
  pool.close();
  await pool.join();
  let n = 1;
  for await (const x of it) assert.equal(x, n * n++);
  assert.equal(n, 1_000);
});

test("terminating a pool with an infinite imap does not deadlock join()", T, async () => {
  const pool = new mp.Pool(2);
  function* infinite() {
    for (let i = 0; ; i++) yield i;
  }
  const it = pool.imap(sqr, infinite());
  assert.equal((await it.next()).value, 0);
  await pool.terminate();
  await pool.join();
});

test("Pool(processes) validation (test_make_pool, test_pool_maxtasksperchild_invalid)", T, async () => {
  assert.throws(() => new mp.Pool(-1), RangeError);
  assert.throws(() => new mp.Pool(0), RangeError);
  assert.throws(() => new mp.Pool({ processes: 1.5 }), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
  assert.throws(() => new mp.Pool({ processes: 1, maxTasksPerChild: 0 }), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
  assert.throws(() => new mp.Pool({ processes: 1, maxTasksPerChild: -1 }), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
  assert.throws(() => new mp.Pool({ processes: 1, context: "fork" as never }), (e: unknown) => e instanceof Error);
});

test("Pool(3) really runs 3 tasks at once", T, async () => {
  await using pool = new mp.Pool(3);
  const barrier = new mp.Barrier(3);
  const idx = await pool.map(meetAt, [barrier, barrier, barrier], { chunkSize: 1 });
  assert.deepEqual([...idx].sort(), [0, 1, 2]);
});

test("default processes is cpuCount()", T, async () => {
  await using pool = new mp.Pool();
  const n = mp.cpuCount();
  const barrier = new mp.Barrier(n);
  const idx = await pool.map(meetAt, Array(n).fill(barrier), { chunkSize: 1 });
  assert.equal(idx.length, n);
});

test("terminate stops long tasks and join returns (test_terminate)", T, async () => {
  const pool = new mp.Pool(3);
  const res = pool.mapAsync(busy, Array(1_000).fill(60_000), { chunkSize: 1 });
  res.get().catch(() => {});
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  await pool.terminate();
  await pool.join();
  assert.ok(performance.now() - t0 < 10_000);
});

test("await using closes and joins; using the pool afterwards throws (test_context, test_enter)", T, async () => {
  let ref!: mp.Pool;
  {
    await using pool = new mp.Pool(2);
    ref = pool;
    assert.deepEqual(await pool.mapAsync(sqr, range(10)).get(), range(10).map(sq));
  }
  await ref.join();
  assert.throws(() => ref.mapAsync(sqr, [1]));
  assert.throws(() => ref.applyAsync(sqr, [1]));
  assert.throws(() => ref.imap(sqr, [1]));
  assert.throws(() => ref.imapUnordered(sqr, [1]));
  assert.throws(() => ref.starmapAsync(mul, [[1, 2]]));
  await throwsOrRejects(() => ref.apply(sqr, [1]));
  await throwsOrRejects(() => ref.map(sqr, [1]));
  await throwsOrRejects(() => ref.starmap(mul, [[1, 2]]));
});

test("submitting after terminate throws; join before close throws", T, async () => {
  const pool = new mp.Pool(1);
  await throwsOrRejects(() => pool.join());
  await pool.terminate();
  assert.throws(() => pool.applyAsync(sqr, [1]));
  await pool.join();
});

test("close() lets queued work finish before join() returns", T, async () => {
  const pool = new mp.Pool(2);
  const res = pool.mapAsync(sleepMs, [100, 100, 100, 100], { chunkSize: 1 });
  pool.close();
  await pool.join();
  assert.equal(res.ready(), true);
  assert.deepEqual(await res.get(), [100, 100, 100, 100]);
});

test("task errors keep class, message, own properties, cause and worker stack (test_traceback)", T, async () => {
  await using pool = new mp.Pool(1);
  const err = await pool.apply(raiseRangeWithProps, ["boom"]).then(
    () => assert.fail("should reject"),
    (e: unknown) => e as RangeError & { code: string; extra: number },
  );
  assert.ok(err instanceof RangeError);
  assert.equal(err.message, "boom");
  assert.equal(err.code, "E_CUSTOM");
  assert.equal(err.extra, 42);
  assert.ok(err.cause instanceof Error);
  assert.equal((err.cause as Error).message, "the cause");
  assert.match(String(err.stack), /raiseRangeWithProps/);
  await assert.rejects(pool.apply(raiseTypeError, ["t"]), (e: unknown) => e instanceof TypeError && e.message === "t");
});

test("map fails with the task's error, and waits for all jobs (test_map_no_failfast)", T, async () => {
  const pool = new mp.Pool(2);
  await assert.rejects(pool.map(raiseOnFive, range(10), { chunkSize: 1 }), (e: unknown) => e instanceof RangeError && /five 5/.test(e.message));
  pool.close();
  await pool.join();
});

test("uncloneable argument fails at the call, uncloneable result fails the task; pool goes on", T, async () => {
  await using pool = new mp.Pool(1);
  await throwsOrRejects(() => pool.apply(identity, [() => 1]));
  await assert.rejects(pool.apply(returnsUncloneable));
  assert.equal(await pool.apply(sqr, [3]), 9);
});

test("initializer and initArgs run in every worker (test_pool_initializer)", T, async () => {
  await using pool = new mp.Pool({ processes: 2, initializer, initArgs: [1, "two"] });
  const values = await pool.map(getInitValue, [0, 1, 2, 3], { chunkSize: 1 });
  for (const v of values) assert.deepEqual(v, [1, "two"]);
  await using pool2 = new mp.Pool({ processes: 1, initializer: initializerAsync, initArgs: [9] });
  assert.deepEqual(await pool2.apply(getInitValue), ["async", 9]);
});

test("a throwing initializer rejects calls with the start-up error and does not loop", T, async () => {
  const pool = new mp.Pool({ processes: 1, initializer: initThrows });
  await assert.rejects(pool.apply(sqr, [2]), /init failed on purpose/);
  await assert.rejects(pool.apply(sqr, [3]), /init failed on purpose/);
  pool.close();
  await pool.join();
});

test("maxTasksPerChild replaces workers (test_pool_worker_lifetime)", T, async () => {
  await using pool = new mp.Pool({ processes: 3, maxTasksPerChild: 10 });
  const results = range(100).map((i) => pool.applyAsync(sqr, [i]));
  const ids = new Set<number>();
  for (let i = 0; i < 100; i++) assert.equal(await results[i]!.get(), i * i);
  for (let i = 0; i < 30; i++) ids.add(await pool.apply(identOf));
  const ids2 = await pool.map(identOf, range(60), { chunkSize: 1 });
  for (const id of ids2) ids.add(id);
  assert.ok(ids.size > 3, `only ${ids.size} distinct workers`);
});

test("maxTasksPerChild=1 with early close finishes all tasks (test_pool_worker_lifetime_early_close)", T, async () => {
  const pool = new mp.Pool({ processes: 1, maxTasksPerChild: 1 });
  const results = [0, 1, 2, 3, 4, 5].map((i) => pool.applyAsync(sqr, [i, 20]));
  pool.close();
  await pool.join();
  for (let i = 0; i < 6; i++) assert.equal(await results[i]!.get(), i * i);
});

test("a worker that exits fails exactly its task with WorkerLostError; the pool goes on", T, async () => {
  await using pool = new mp.Pool({ processes: 2, context: "thread" });
  const ok = pool.applyAsync(sleepMs, [300]);
  await assert.rejects(pool.apply(exitWorker, [3]), (e: unknown) => e instanceof mp.WorkerLostError && e instanceof mp.ProcessError);
  assert.equal(await ok.get(), 300);
  assert.deepEqual(await pool.map(sqr, range(6)), range(6).map(sq));
});

test("a worker out of memory fails its task with WorkerLostError (resourceLimits)", T, async () => {
  await using pool = new mp.Pool({ processes: 1, resourceLimits: { maxOldGenerationSizeMb: 32, maxYoungGenerationSizeMb: 8 } });
  assert.equal(await pool.apply(sqr, [4]), 16);
  await assert.rejects(pool.apply(hogMemory), mp.WorkerLostError);
  assert.equal(await pool.apply(sqr, [5]), 25);
});

test("signal drops queued tasks and rejects with the signal's reason", T, async () => {
  await using pool = new mp.Pool(1);
  const counter = mp.RawArray("i", 1);
  const blocker = pool.apply(sleepMs, [400]);
  const ac = new AbortController();
  const p = pool.starmap(countAndReturn, [[counter, 1], [counter, 2], [counter, 3]], { signal: ac.signal });
  const mapped = pool.mapAsync(sqr, [1, 2, 3], { chunkSize: 1 });
  const reason = new Error("stop it");
  ac.abort(reason);
  await assert.rejects(p, (e: unknown) => e === reason);
  assert.equal(await blocker, 400);
  assert.deepEqual(await mapped.get(), [1, 4, 9]);
  assert.equal(Atomics.load(counter, 0), 0);
  // already-aborted signal
  await assert.rejects(pool.apply(sqr, [1], { signal: AbortSignal.abort(reason) }), (e: unknown) => e === reason);
});

test("signal on apply and imap", T, async () => {
  await using pool = new mp.Pool(1);
  const blocker = pool.apply(sleepMs, [300]);
  const ac = new AbortController();
  const a = pool.apply(sqr, [2], { signal: ac.signal });
  const it = pool.imap(sqr, [1, 2, 3], { signal: ac.signal });
  ac.abort();
  await assert.rejects(a, (e: unknown) => (e as Error).name === "AbortError");
  await assert.rejects(it.next(), (e: unknown) => (e as Error).name === "AbortError");
  await blocker;
});

test("timeout kills an overdue task's worker with mp.TimeoutError and the pool goes on", T, async () => {
  await using pool = new mp.Pool(1);
  const t0 = performance.now();
  await assert.rejects(pool.apply(busy, [30_000], { timeout: 300 }), mp.TimeoutError);
  assert.ok(performance.now() - t0 < 10_000);
  assert.equal(await pool.apply(sqr, [7]), 49);
  // timeout counts from when the task starts, not when it is queued
  const first = pool.apply(busy, [400]);
  const second = pool.apply(busy, [100], { timeout: 1_500 });
  assert.equal(await first, 400);
  assert.equal(await second, 100);
  await assert.rejects(pool.map(busy, [10, 30_000], { timeout: 500, chunkSize: 1 }), mp.TimeoutError);
});

test("transfer moves ArrayBuffers in and mp.transfer moves results out", T, async () => {
  await using pool = new mp.Pool(1);
  const buf = new ArrayBuffer(1024);
  assert.equal(await pool.apply(byteLength, [buf], { transfer: [buf] }), 1024);
  assert.equal(buf.byteLength, 0);
  const r = pool.applyAsync(byteLength, [new ArrayBuffer(8)]);
  assert.equal(await r.get(), 8);
  const out = (await pool.apply(makeBuffer, [16])) as ArrayBuffer;
  assert.ok(out instanceof ArrayBuffer);
  assert.equal(out.byteLength, 16);
  assert.equal(new Uint8Array(out)[3], 7);
});

test("pool workers are not the main process and are daemons", T, async () => {
  await using pool = new mp.Pool(1);
  const me = await pool.apply(whoAmI);
  assert.equal(me.isMain, false);
  assert.notEqual(me.name, "MainProcess");
  assert.equal(me.daemon, true);
});

test("functions defined inline are sent by source", T, async () => {
  await using pool = new mp.Pool(1);
  assert.deepEqual(await pool.map((x: number) => x + 1, [1, 2, 3]), [2, 3, 4]);
  const k = 10;
  await assert.rejects(pool.apply((x: number) => x + k, [1]), /export/i);
});
