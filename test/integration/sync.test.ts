/**
 * Synchronization primitives across real workers (CPython's _TestLock,
 * _TestSemaphore, _TestCondition, _TestEvent, _TestBarrier with processes).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import * as w from "../fixtures/sync-workers.ts";
import { slowModuleAction } from "../fixtures/slow-action.ts";

const T = { timeout: 60_000 };

async function runAll(processes: mp.Process[]): Promise<void> {
  for (const p of processes) p.start();
  for (const p of processes) await p.join();
  for (const p of processes) assert.equal(p.exitCode, 0, `${p.name} exited with ${p.exitCode}`);
}

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  const spawn = (target: (...args: never[]) => unknown, args: unknown[]) =>
    new mp.Process({ target: target as (...a: unknown[]) => unknown, args, context });

  test("4 workers x 100,000 locked increments of a Value give exactly 400,000", T, async () => {
    const value = ctx.Value("i", 0);
    await runAll([0, 1, 2, 3].map(() => spawn(w.incrementLocked, [value, 100_000])));
    assert.equal(value.value, 400_000);
  });

  test("async lock users in workers and the main thread count exactly", T, async () => {
    const value = ctx.Value("i", 0);
    const workers = [0, 1].map(() => spawn(w.incrementLockedAsync, [value, 5_000]));
    for (const p of workers) p.start();
    await w.incrementLockedAsync(value, 5_000);
    for (const p of workers) await p.join();
    assert.equal(value.value, 15_000);
  });

  test("a Condition bounded buffer moves 10,000 items between 2 producers and 2 consumers", T, async () => {
    const lock = new ctx.Lock();
    const total = 10_000;
    const buffer: w.BoundedBuffer = {
      lock,
      notEmpty: new ctx.Condition(lock),
      notFull: new ctx.Condition(lock),
      ring: ctx.RawArray("i", 16),
      state: ctx.RawArray("i", 4),
      seen: ctx.RawArray("i", total),
      total,
    };
    await runAll([
      spawn(w.produce, [buffer, 0, total / 2]),
      spawn(w.produce, [buffer, total / 2, total]),
      spawn(w.consume, [buffer]),
      spawn(w.consumeAsync, [buffer]),
    ]);
    const wrong = [...buffer.seen].map((n, item) => [item, n]).filter(([, n]) => n !== 1);
    assert.deepEqual(wrong, [], "every item consumed exactly once");
    assert.equal(buffer.state[3], total);
  });

  test("a Barrier received as an argument has its action loaded before the target runs: waitSync at once works", T, async () => {
    const barrier = new ctx.Barrier(2, { action: slowModuleAction });
    const child = spawn(w.waitBarrierSync, [barrier]);
    child.start();
    await barrier.wait(20_000);
    await child.join();
    assert.equal(child.exitCode, 0, "waitSync did not find the action still loading");
  });

  test("a Barrier runs 100 rounds with its action called once per round, before release", T, async () => {
    const counter = new ctx.SharedMemory({ name: w.ACTION_COUNTER, create: true, size: 4 });
    try {
      const parties = 3;
      const rounds = 100;
      const barrier = new ctx.Barrier(parties, { action: w.countAction });
      const arrivals = ctx.RawArray("i", rounds * parties);
      const errors = ctx.RawArray("i", 1);
      await runAll([
        spawn(w.barrierRounds, [barrier, rounds, arrivals, errors]),
        spawn(w.barrierRounds, [barrier, rounds, arrivals, errors]),
        spawn(w.barrierRounds, [barrier, rounds, arrivals, errors, true]),
      ]);
      assert.equal(new Int32Array(counter.buf.buffer)[0], rounds, "action calls");
      assert.ok(arrivals.every((n) => n === 1), "each round hands out indexes 0..parties-1 once");
      assert.equal(errors[0], 0, "no party was released before the action ran");
      assert.equal(barrier.broken, false);
    } finally {
      counter.unlink();
    }
  });

  test("a lock held by a worker: acquire times out in the main thread, then succeeds after release", T, async () => {
    const lock = new ctx.Lock();
    const held = new ctx.Event();
    const release = new ctx.Event();
    const p = spawn(w.holdLockUntil, [lock, held, release]);
    p.start();
    assert.equal(await held.wait(20_000), true);
    let start = performance.now();
    assert.equal(await lock.acquire({ timeout: 200 }), false);
    let ms = performance.now() - start;
    assert.ok(ms >= 180 && ms < 5_000, `timed out after ${ms} ms`);
    start = performance.now();
    assert.equal(await lock.acquire({ block: false }), false);
    assert.throws(() => lock.release(), { code: "ERR_MP_LOCK_NOT_OWNED" });
    const acquiring = lock.acquire({ timeout: 20_000 });
    release.set();
    assert.equal(await acquiring, true);
    ms = performance.now() - start;
    lock.release();
    await p.join();
    assert.equal(p.exitCode, 0);
  });

  for (const how of ["exit", "throw", "return", "hang"] as const) {
    test(`a Lock whose holder dies (${how}) is recovered by the next acquirer`, T, async () => {
      const lock = new ctx.Lock();
      const held = new ctx.Event();
      const p = spawn(w.holdLockThenDie, [lock, held, how]);
      p.start();
      assert.equal(await held.wait(20_000), true);
      const waiting = lock.acquire({ timeout: 20_000 }); // blocked while the holder lives
      if (how === "hang") p.terminate();
      await p.join();
      assert.equal(await waiting, true);
      lock.release();
      assert.equal(lock.acquireSync({ block: false }), true);
      lock.release();
    });
  }

  test("a Lock whose holder was killed is taken over by a non-blocking acquire too", T, async () => {
    const lock = new ctx.Lock();
    const held = new ctx.Event();
    const p = spawn(w.holdLockThenDie, [lock, held, "hang"]);
    p.start();
    assert.equal(await held.wait(20_000), true);
    assert.equal(await lock.acquire({ block: false }), false, "held by a live worker");
    p.kill();
    await p.join();
    assert.equal(await lock.acquire({ block: false }), true, "the dead holder's lock is recovered at once");
    lock.release();
  });

  test("an RLock held by a worker killed while holding it is recovered", T, async () => {
    const lock = new ctx.RLock();
    const held = new ctx.Event();
    const p = spawn(w.holdLockThenDie, [lock, held, "hang"]);
    p.start();
    assert.equal(await held.wait(20_000), true);
    p.kill();
    await p.join();
    assert.equal(await lock.acquire({ timeout: 20_000 }), true);
    assert.equal(await lock.acquire({ timeout: 20_000 }), true);
    lock.release();
    lock.release();
  });

  test("Semaphore(2) lets two workers in at a time (test_semaphore across workers)", T, async () => {
    const sem = new ctx.Semaphore(2);
    const gate = new ctx.Event();
    const got = ctx.RawArray("i", 3);
    const workers = [0, 1, 2].map((slot) => spawn(w.takeUnits, [sem, gate, got, slot]));
    for (const p of workers) p.start();
    // Two get a unit; the third blocks until the gate opens and one gives its unit back.
    while (Atomics.load(got, 0) + Atomics.load(got, 1) + Atomics.load(got, 2) < 2) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got[0] + got[1] + got[2], 2);
    assert.equal(sem.getValue(), 0);
    gate.set();
    for (const p of workers) await p.join();
    assert.deepEqual([...got], [1, 1, 1]);
    assert.equal(sem.getValue(), 2);
  });

  test("Condition notify wakes one worker, notifyAll the rest (test_notify, test_notify_all)", T, async () => {
    const cond = new ctx.Condition();
    const sleeping = new ctx.Semaphore(0);
    const woken = ctx.RawArray("i", 2);
    const workers = [0, 1, 2].map(() => spawn(w.conditionWaiter, [cond, sleeping, woken, null]));
    for (const p of workers) p.start();
    for (let i = 0; i < 3; i++) assert.equal(await sleeping.acquire({ timeout: 20_000 }), true);
    await new Promise((r) => setTimeout(r, 100)); // let them reach wait()
    assert.equal(woken[0], 0);
    await cond.withLock(() => cond.notify());
    while (Atomics.load(woken, 0) < 1) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(woken[0], 1, "notify() woke exactly one");
    await cond.withLock(() => cond.notifyAll());
    for (const p of workers) await p.join();
    assert.deepEqual([...woken], [3, 0]);
  });

  test("Condition wait(timeout) in workers returns false (test_timeout)", T, async () => {
    const cond = new ctx.Condition();
    const sleeping = new ctx.Semaphore(0);
    const woken = ctx.RawArray("i", 2);
    const workers = [0, 1].map(() => spawn(w.conditionWaiter, [cond, sleeping, woken, 100]));
    await runAll(workers);
    assert.deepEqual([...woken], [0, 2]);
  });

  test("Event ping-pong between the main thread and a worker", T, async () => {
    const ping = new ctx.Event();
    const pong = new ctx.Event();
    const p = spawn(w.pingPong, [ping, pong, 200]);
    p.start();
    for (let i = 0; i < 200; i++) {
      ping.set();
      assert.equal(await pong.wait(20_000), true);
      pong.clear();
    }
    await p.join();
    assert.equal(p.exitCode, 0);
  });

  test("threads blocked in waitSync/acquireSync use no CPU (no polling)", T, async () => {
    const started = new ctx.Event();
    const never = new ctx.Event();
    const lock = new ctx.Lock();
    await lock.acquire();
    const sem = new ctx.Semaphore(0);
    const p = spawn(w.blockIdle, [started, never, lock, sem, 400]);
    p.start();
    assert.equal(await started.wait(20_000), true);
    const before = process.cpuUsage();
    const wall = performance.now();
    await p.join();
    const elapsed = performance.now() - wall;
    const used = process.cpuUsage(before);
    const cpuMs = (used.user + used.system) / 1000;
    lock.release();
    assert.equal(p.exitCode, 0);
    assert.ok(elapsed >= 1_000, `waited ${elapsed} ms`);
    // A polling wait would burn about `elapsed` ms of CPU; allow generous noise (worker teardown, GC).
    assert.ok(cpuMs < elapsed * 0.5, `used ${cpuMs.toFixed(0)} ms of CPU over ${elapsed.toFixed(0)} ms of waiting`);
  });

  test("primitives made in a worker come back through a queue as the same shared objects", T, async () => {
    const out = new ctx.Queue<{ event: mp.Event; value: mp.SynchronizedValue<"i">; shm: mp.SharedMemory }>();
    const p = spawn(w.sendBack, [out]);
    p.start();
    const { event, value, shm } = await out.get({ timeout: 20_000 });
    try {
      assert.ok(event instanceof mp.Event);
      assert.equal(value.value, 7);
      assert.equal(shm.buf[0], 9);
      event.set();
      await p.join();
      assert.equal(p.exitCode, 0);
      assert.equal(value.value, 8);
      assert.equal(event.isSet(), false);
    } finally {
      shm.unlink();
      out.close();
    }
  });
});

test("a Lock held by a program's first worker thread, killed, is recovered (that worker was the first to load the addon)", T, async () => {
  const script = fileURLToPath(new URL("../fixtures/first-worker-lock.ts", import.meta.url));
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ["--conditions=multiproc-source", "--import", "tsx", script], { timeout: 50_000 }, (error, out, err) =>
      error ? reject(Object.assign(error, { stdout: out, stderr: err })) : resolve(out),
    );
  });
  assert.deepEqual(JSON.parse(stdout), { recovered: true });
});
