/** Acceptance: Queue, JoinableQueue, SimpleQueue (CPython _TestQueue, _TestSimpleQueue). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { consumeSum, joinableWorker, produce, produceAsync, simpleEcho, simpleEchoAsync } from "./fixtures/queue-workers.ts";

const T = { timeout: 40_000 };

async function elapsedOf<R>(fn: () => Promise<R>): Promise<[R, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

test("Queue: FIFO, qsize/empty/full, Full and Empty (test_put, test_get)", T, async () => {
  const q = new mp.Queue<number>(6);
  assert.equal(q.empty(), true);
  assert.equal(q.full(), false);
  q.putNowait(1);
  await q.put(2);
  await q.put(3, { block: true });
  await q.put(4, { block: true, timeout: 1_000 });
  await q.put(5, { block: false });
  q.putSync(6);
  assert.equal(q.qsize(), 6);
  assert.equal(q.full(), true);
  assert.equal(q.empty(), false);
  assert.throws(() => q.putNowait(7), mp.Full);
  await assert.rejects(q.put(7, { block: false }), mp.Full);
  const [, ms] = await elapsedOf(() => assert.rejects(q.put(7, { timeout: 150 }), mp.Full));
  assert.ok(ms >= 100, `elapsed ${ms}`);
  assert.throws(() => q.putSync(7, { timeout: 50 }), mp.Full);
  assert.throws(() => q.putSync(7, { block: false }), mp.Full);
  assert.equal(q.getNowait(), 1);
  assert.equal(await q.get(), 2);
  assert.equal(await q.get({ block: true }), 3);
  assert.equal(await q.get({ block: true, timeout: 1_000 }), 4);
  assert.equal(await q.get({ block: false }), 5);
  assert.equal(q.getSync(), 6);
  assert.equal(q.empty(), true);
  assert.equal(q.qsize(), 0);
  assert.throws(() => q.getNowait(), mp.Empty);
  await assert.rejects(q.get({ block: false }), mp.Empty);
  const [, ms2] = await elapsedOf(() => assert.rejects(q.get({ timeout: 150 }), mp.Empty));
  assert.ok(ms2 >= 100, `elapsed ${ms2}`);
  assert.throws(() => q.getSync({ timeout: 50 }), mp.Empty);
  q.close();
});

test("Queue: maxSize validation and the unbounded default", T, async () => {
  const q = new mp.Queue<number>();
  for (let i = 0; i < 10_000; i++) q.putNowait(i);
  assert.equal(q.qsize(), 10_000);
  assert.equal(q.full(), false);
  let sum = 0;
  for (let i = 0; i < 10_000; i++) sum += q.getNowait();
  assert.equal(sum, (9_999 * 10_000) / 2);
  q.close();
  assert.throws(() => new mp.Queue(-1), RangeError);
  assert.throws(() => new mp.Queue(1.5), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
});

test("Queue: a blocked put is released by a get, a blocked get by a put", T, async () => {
  const q = new mp.Queue<string>(1);
  q.putNowait("a");
  const putting = q.put("b", { timeout: 10_000 });
  setTimeout(() => q.getNowait(), 50);
  await putting;
  assert.equal(q.getNowait(), "b");
  const getting = q.get({ timeout: 10_000 });
  setTimeout(() => q.putNowait("c"), 50);
  assert.equal(await getting, "c");
  q.close();
});

test("Queue: carries structured-clone values", T, async () => {
  const q = new mp.Queue<unknown>();
  const values: unknown[] = [
    null, undefined, 0, -1.5, "x".repeat(100_000), 2n ** 70n, [1, [2, [3]]], { a: { b: "c" } },
    new Map([["k", 1]]), new Set([1, 2]), new Date(0), /re/g, new Uint8Array([1, 2, 3]), new Error("e"),
  ];
  for (const v of values) await q.put(v);
  for (const v of values) {
    const got = await q.get();
    if (v instanceof Error) assert.equal((got as Error).message, "e");
    else assert.deepEqual(got, v);
  }
  q.close();
});

test("Queue: putting an uncloneable value throws a TypeError at the call", T, async () => {
  const q = new mp.Queue<unknown>();
  await assert.rejects(async () => q.put({ f: () => 1 }), TypeError);
  assert.throws(() => q.putNowait(Symbol("s")), TypeError);
  assert.equal(q.empty(), true);
  q.close();
});

test("Queue across workers: many producers, one consumer (test_fork)", T, async () => {
  const q = new mp.Queue<number | null>(10);
  const out = new mp.Queue<number>();
  const consumer = new mp.Process({ target: consumeSum, args: [q, out], context: "thread" });
  consumer.start();
  const producers = [0, 1, 2].map((k) => new mp.Process({
    target: k === 2 ? produceAsync : produce,
    args: [q, Array.from({ length: 100 }, (_, i) => i + k * 100)],
  }));
  for (const p of producers) p.start();
  for (const p of producers) await p.join();
  await q.put(null);
  assert.equal(await out.get({ timeout: 20_000 }), (299 * 300) / 2);
  await consumer.join();
  assert.equal(consumer.exitCode, 0);
  q.close();
  out.close();
});

test("Queue: a worker's puts arrive in order", T, async () => {
  const q = new mp.Queue<unknown>();
  const items = Array.from({ length: 500 }, (_, i) => ({ i, s: "v".repeat(i % 17) }));
  const p = new mp.Process({ target: produce, args: [q, items] });
  p.start();
  for (const item of items) assert.deepEqual(await q.get({ timeout: 20_000 }), item);
  await p.join();
  q.close();
});

test("JoinableQueue: taskDone/join across workers (test_task_done)", T, async () => {
  const q = new mp.JoinableQueue<number | null>();
  const view = mp.RawArray("i", 1);
  const workers = [0, 1].map(() => new mp.Process({ target: joinableWorker, args: [q, view] }));
  for (const w of workers) w.start();
  for (let i = 1; i <= 20; i++) await q.put(i);
  await q.join();
  assert.equal(Atomics.load(view, 0), 210);
  for (const _ of workers) await q.put(null);
  q.joinSync();
  for (const w of workers) await w.join();
  q.close();
});

test("JoinableQueue: taskDone too many times throws; join on an empty queue returns (test_task_done)", T, async () => {
  const q = new mp.JoinableQueue<number>(2);
  await q.join();
  assert.throws(() => q.taskDone()); // Python: ValueError task_done() called too many times
  await q.put(1);
  const joined = q.join();
  let done = false;
  void joined.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(done, false);
  assert.equal(await q.get(), 1);
  q.taskDone();
  await joined;
  assert.equal(q.full(), false);
  q.close();
});

test("SimpleQueue: put/get/getSync/empty/close across a worker (test_empty, _TestSimpleQueue)", T, async () => {
  const inq = new mp.SimpleQueue<unknown>();
  const outq = new mp.SimpleQueue<unknown>();
  assert.equal(inq.empty(), true);
  for (const fn of [simpleEcho, simpleEchoAsync]) {
    const p = new mp.Process({ target: fn, args: [inq, outq] });
    p.start();
    await inq.put({ a: 1 });
    await inq.put([2]);
    assert.deepEqual(await outq.get(), { a: 1 });
    assert.deepEqual(await outq.get(), [2]);
    await inq.put("stop");
    await p.join();
    assert.equal(p.exitCode, 0);
  }
  await outq.put(5);
  assert.equal(outq.empty(), false);
  assert.equal(outq.getSync(), 5);
  assert.equal(outq.empty(), true);
  inq.close();
  outq.close();
});

test("Queue: operations after close() throw (Python ValueError: Queue is closed)", T, async () => {
  const q = new mp.Queue<number>();
  q.close();
  q.close(); // idempotent
  await assert.rejects(async () => q.put(1));
  assert.throws(() => q.putNowait(1));
  const s = new mp.SimpleQueue<number>();
  s.close();
  await assert.rejects(async () => s.put(1));
});
