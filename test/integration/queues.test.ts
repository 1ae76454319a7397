import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import * as w from "../fixtures/queue-workers.ts";
import { settle } from "../helpers/gc.ts";
import { native } from "../../src/util/native.ts";

const T = { timeout: 60_000 };

async function startAll(processes: mp.Process[]): Promise<void> {
  for (const p of processes) p.start();
}

async function joinAll(processes: mp.Process[]): Promise<void> {
  for (const p of processes) {
    await p.join();
    assert.equal(p.exitCode, 0, `${p.name} exited with ${p.exitCode}`);
  }
}

test("put/get keep FIFO order and round-trip plain and structured values", T, async () => {
  const q = new mp.Queue<unknown>();
  const values: unknown[] = [
    1, -0, 2.5, NaN, "héllo ☃", "x".repeat(100), "\ud800 lone", null, undefined, true,
    [1, [2, [3]], { a: null }], { nested: { list: [1, "two"] } }, new Map([[1, { a: 2 }]]), new Set(["a"]),
    new Date(0), 12n, new Uint8Array([1, 2, 3]), new Float64Array([1.5]), Buffer.from("buf"), /re/g,
    { ["__proto__"]: 5 },
  ];
  for (const value of values) await q.put(value);
  assert.equal(q.qsize(), values.length);
  for (const value of values) assert.deepEqual(await q.get(), value);
  // As with postMessage, a null-prototype object arrives as a plain object.
  await q.put(Object.assign(Object.create(null) as object, { x: 1 }));
  assert.deepEqual(await q.get(), { x: 1 });
  // Repeated references and cycles survive (they go through V8's serializer).
  const shared = { s: 1 };
  const cyclic: { self?: unknown; a: unknown; b: unknown } = { a: shared, b: shared };
  cyclic.self = cyclic;
  q.putSync(cyclic);
  const back = q.getSync() as typeof cyclic;
  assert.equal(back.self, back);
  assert.equal(back.a, back.b);
  const holes = [1, , 3];
  q.putSync(holes);
  assert.equal(1 in (q.getSync() as unknown[]), false);
});

test("qsize, empty and full follow puts and gets (CPython test_qsize)", T, async () => {
  const q = new mp.Queue<number>(2);
  assert.equal(q.qsize(), 0);
  assert.equal(q.empty(), true);
  q.putNowait(1);
  assert.equal(q.qsize(), 1);
  await q.put(5);
  assert.equal(q.qsize(), 2);
  assert.equal(q.full(), true);
  assert.equal(q.getNowait(), 1);
  assert.equal(q.qsize(), 1);
  assert.equal(q.full(), false);
  await q.get();
  assert.equal(q.qsize(), 0);
  assert.equal(q.empty(), true);
  assert.equal(new mp.Queue().full(), false);
});

test("a bounded queue refuses and times out puts (CPython test_put)", T, async () => {
  const q = new mp.Queue<number>(6);
  await q.put(1);
  await q.put(2, { block: true });
  await q.put(3, { block: true, timeout: null });
  await q.put(4, { block: false });
  q.putSync(5, { block: false, timeout: null });
  q.putNowait(6);
  assert.equal(q.full(), true);
  let started = performance.now();
  await assert.rejects(q.put(7, { block: false }), mp.Full);
  assert.throws(() => q.putNowait(7), mp.Full);
  await assert.rejects(q.put(7, { block: false, timeout: 1000 }), mp.Full);
  assert.ok(performance.now() - started < 500);
  started = performance.now();
  await assert.rejects(q.put(7, { timeout: 200 }), mp.Full);
  let elapsed = performance.now() - started;
  assert.ok(elapsed >= 150 && elapsed < 5_000, `put waited ${elapsed} ms`);
  started = performance.now();
  assert.throws(() => q.putSync(7, { timeout: 100 }), mp.Full);
  elapsed = performance.now() - started;
  assert.ok(elapsed >= 75 && elapsed < 5_000, `putSync waited ${elapsed} ms`);
  // The failed puts left nothing behind.
  for (let i = 1; i <= 6; i++) assert.equal(q.getNowait(), i);
  assert.equal(q.empty(), true);
});

test("gets refuse and time out with Empty (CPython test_get, test_timeout)", T, async () => {
  const q = new mp.Queue<number>();
  let started = performance.now();
  await assert.rejects(q.get({ block: false }), mp.Empty);
  await assert.rejects(q.get({ block: false, timeout: 1000 }), mp.Empty);
  assert.throws(() => q.getNowait(), mp.Empty);
  assert.ok(performance.now() - started < 500);
  started = performance.now();
  await assert.rejects(q.get({ timeout: 200 }), mp.Empty);
  let elapsed = performance.now() - started;
  assert.ok(elapsed >= 150 && elapsed < 5_000, `get waited ${elapsed} ms`);
  started = performance.now();
  assert.throws(() => q.getSync({ timeout: 100 }), mp.Empty);
  elapsed = performance.now() - started;
  assert.ok(elapsed >= 75 && elapsed < 5_000, `getSync waited ${elapsed} ms`);
  await assert.rejects(q.get({ timeout: -1 }), RangeError);
});

test("an uncloneable item fails at the call, names its path, and the queue goes on", T, async () => {
  const q = new mp.Queue<unknown>();
  await assert.rejects(q.put({ ok: 1, bad: [1, () => 2] }), (error: Error) => {
    assert.ok(error instanceof TypeError);
    assert.match(error.message, /obj\.bad\[1\]/);
    return true;
  });
  assert.throws(() => q.putSync({ s: Symbol("x") }), /obj\.s/);
  assert.equal(q.qsize(), 0);
  await q.put("still works");
  assert.equal(await q.get(), "still works");
});

test("close() stops this handle (CPython test_closed_queue_put_get_exceptions)", T, async () => {
  for (const q of [new mp.Queue(), new mp.JoinableQueue()]) {
    q.close();
    await assert.rejects(q.put("foo"), /is closed/);
    await assert.rejects(q.get(), /is closed/);
    assert.throws(() => q.putNowait("foo"), /is closed/);
  }
  assert.throws(() => new mp.Queue(-1), /Expected `maxSize` to be an integer >= 0/);
  assert.throws(() => new mp.Queue(1.5), RangeError);
});

test("an unbounded queue takes far more than its ring holds, in order, with nobody reading", T, async () => {
  const q = new mp.Queue<{ i: number; pad: string }>();
  const pad = "p".repeat(200);
  for (let i = 0; i < 30_000; i++) q.putSync({ i, pad }); // ~6.5 MB through a 1 MiB ring
  assert.equal(q.qsize(), 30_000);
  for (let i = 0; i < 30_000; i++) assert.equal(q.getSync().i, i);
  assert.equal(q.empty(), true);
});

test("a 10 MiB message goes through a queue in both directions", T, async () => {
  const q = new mp.Queue<unknown>();
  const out = new mp.Queue<unknown>();
  const big = new Uint8Array(10 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4096) big[i] = i & 0xff;
  const text = "t".repeat(10 * 1024 * 1024);
  const p = new mp.Process({ target: w.relay, args: [q, out, 2] });
  p.start();
  await q.put({ big });
  await q.put(text);
  const back = (await out.get()) as { big: Uint8Array };
  assert.equal(back.big.length, big.length);
  assert.deepEqual(back.big, big);
  assert.equal(await out.get(), text);
  await joinAll([p]);
});

test("a queue's mmap'ed ring carries library objects, spilled and big frames from a worker, and is freed with what it owns", T, async () => {
  const counts = () => ({ stashed: native().stashed(), allocations: native().allocations() });
  await settle(() => false, 100);
  const before = counts();
  const COUNT = 300;
  const run = async () => {
    const read = new mp.Queue<{ i: number; value: mp.SynchronizedValue<"i">; pad: string; big?: Uint8Array }>();
    const unread = new mp.Queue<unknown>();
    assert.equal(native().allocations(), before.allocations + 2, "each ring is a native allocation");
    const p = new mp.Process({ target: w.putShared, args: [read, COUNT] });
    const q = new mp.Process({ target: w.putShared, args: [unread, COUNT] });
    await startAll([p, q]);
    await joinAll([p, q]);
    // The workers are gone; what they put is in rings (and spill segments) made by this thread.
    assert.ok(native().stashed() >= before.stashed + 2 * COUNT);
    for (let i = 0; i < COUNT; i++) {
      const item = await read.get();
      assert.equal(item.i, i);
      assert.equal(item.value.value, i);
      assert.equal(item.pad.length, 10_000);
      if (i % 50 === 0) assert.deepEqual(item.big, new Uint8Array(400_000).fill(i & 0xff));
    }
    assert.equal(unread.qsize(), COUNT);
  };
  await run();
  assert.ok(
    await settle(() => native().stashed() <= before.stashed && native().allocations() <= before.allocations),
    JSON.stringify({ before, after: counts() }),
  );
});

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("4 producers x 25,000 items, 3 consumers: every item once, each producer in order", T, async () => {
    const PRODUCERS = 4;
    const CONSUMERS = 3;
    const COUNT = 25_000;
    const q = new ctx.Queue<unknown>();
    const results = new ctx.Queue<number[]>();
    const consumers = Array.from({ length: CONSUMERS }, () => new mp.Process({ target: w.consume, args: [q, results], context }));
    const producers = Array.from({ length: PRODUCERS }, (_, i) => new mp.Process({ target: w.produce, args: [q, i, COUNT], context }));
    await startAll([...consumers, ...producers]);
    await joinAll(producers);
    for (let i = 0; i < CONSUMERS; i++) await q.put(null);
    const seen = Array.from({ length: PRODUCERS }, () => new Uint8Array(COUNT));
    let total = 0;
    for (let c = 0; c < CONSUMERS; c++) {
      const pairs = await results.get({ timeout: 30_000 });
      const last = new Array<number>(PRODUCERS).fill(-1);
      for (let i = 0; i < pairs.length; i += 2) {
        const producer = pairs[i]!;
        const seq = pairs[i + 1]!;
        assert.ok(seq > last[producer]!, `consumer ${c} saw producer ${producer} out of order`);
        last[producer] = seq;
        assert.equal(seen[producer]![seq], 0, `item ${producer}/${seq} read twice`);
        seen[producer]![seq] = 1;
        total++;
      }
    }
    assert.equal(total, PRODUCERS * COUNT);
    await joinAll(consumers);
  });

  test("maxSize blocks a producer worker until the main thread gets", T, async () => {
    const q = new ctx.Queue<unknown>(3);
    const p = new mp.Process({ target: w.produce, args: [q, 0, 10], context });
    p.start();
    // The producer fills the queue and then waits: qsize never passes maxSize.
    while (q.qsize() < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(q.qsize(), 3);
    assert.equal(p.isAlive(), true);
    for (let seq = 0; seq < 10; seq++) {
      assert.ok(q.qsize() <= 3);
      assert.deepEqual(await q.get({ timeout: 10_000 }), { producer: 0, seq });
    }
    await joinAll([p]);
  });

  test("a worker's getSync and the main thread's async put work together", T, async () => {
    const input = new ctx.Queue<unknown>();
    const out = new ctx.Queue<unknown>();
    const p = new mp.Process({ target: w.relay, args: [input, out, 1000], context });
    p.start();
    for (let i = 0; i < 1000; i++) {
      await input.put({ i });
      if (i % 100 === 99) for (let j = i - 99; j <= i; j++) assert.deepEqual(await out.get(), { i: j });
    }
    await joinAll([p]);
  });

  test("items put before a worker starts are read with the worker's (CPython test_fork)", T, async () => {
    const q = new ctx.Queue<number>();
    for (let i = 0; i < 10; i++) await q.put(i);
    const p = new mp.Process({ target: w.putRange, args: [q, 10, 20], context });
    p.start();
    for (let i = 0; i < 20; i++) assert.equal(await q.get({ timeout: 10_000 }), i);
    await assert.rejects(q.get({ block: false }), mp.Empty);
    await joinAll([p]);
  });

  test("library objects in a message arrive as the same shared object", T, async () => {
    const q = new ctx.Queue<unknown>();
    const inner = new ctx.Queue<unknown>();
    const [a, b] = ctx.Pipe();
    const lock = new ctx.Lock();
    assert.equal(lock.acquireSync(), true);
    const p = new mp.Process({ target: w.useSentObjects, args: [q], context });
    p.start();
    await q.put({ inner, conn: b, lock });
    b.close();
    assert.equal(await inner.get({ timeout: 10_000 }), "from the worker's copy of inner");
    assert.equal(await a.recv(), "from the worker's copy of b");
    assert.equal(await inner.get({ timeout: 10_000 }), "lock is held elsewhere");
    lock.release();
    await joinAll([p]);
    await assert.rejects(a.recv(), mp.EOFError);
    a.close();
  });

  test("JoinableQueue: join waits for the last taskDone (CPython test_task_done)", T, async () => {
    const tasks = new ctx.JoinableQueue<number | null>();
    const results = new ctx.Queue<number>();
    const workers = Array.from({ length: 3 }, () => new mp.Process({ target: w.doubleTasks, args: [tasks, results], context }));
    await startAll(workers);
    for (let i = 0; i < 200; i++) await tasks.put(i);
    await tasks.join();
    assert.equal(results.qsize(), 200);
    for (const _ of workers) await tasks.put(null);
    await tasks.join();
    await joinAll(workers);
    let sum = 0;
    for (let i = 0; i < 200; i++) sum += await results.get();
    assert.equal(sum, 199 * 200);
  });

  test("SimpleQueue across workers", T, async () => {
    const q = new ctx.SimpleQueue<unknown>();
    const out = new ctx.SimpleQueue<unknown>();
    const p = new mp.Process({ target: w.simpleEcho, args: [q, out, 100], context });
    p.start();
    for (let i = 0; i < 100; i++) await q.put({ i });
    for (let i = 0; i < 100; i++) assert.deepEqual(await out.get(), { i });
    assert.equal(out.empty(), true);
    await joinAll([p]);
  });
});

test("JoinableQueue counts tasks; taskDone() too often throws; join/joinSync return at zero", T, async () => {
  const q = new mp.JoinableQueue<number>();
  assert.throws(() => q.taskDone(), /taskDone\(\) called too many times/);
  await q.join();
  q.joinSync();
  await q.put(1);
  await q.put(2);
  let joined = false;
  const joining = q.join().then(() => (joined = true));
  await q.get();
  q.taskDone();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.equal(joined, false);
  await q.get();
  q.taskDone();
  await joining;
  assert.equal(joined, true);
  assert.throws(() => q.taskDone(), /too many times/);
  // A failed put does not leave a task behind.
  const bounded = new mp.JoinableQueue<number>(1);
  bounded.putNowait(1);
  assert.throws(() => bounded.putNowait(2), mp.Full);
  bounded.getNowait();
  bounded.taskDone();
  await bounded.join();
});

test("SimpleQueue: put, get, getSync, empty, close", T, async () => {
  const q = new mp.SimpleQueue<string>();
  assert.equal(q.empty(), true);
  await q.put("a");
  await q.put("b");
  assert.equal(q.empty(), false);
  assert.equal(await q.get(), "a");
  assert.equal(q.getSync(), "b");
  q.close();
  await assert.rejects(q.put("c"), /is closed/);
});
