/** Acceptance: Lock, RLock, Semaphore, BoundedSemaphore, Event, Condition, Barrier (CPython _TestLock, _TestSemaphore, _TestCondition, _TestEvent, _TestBarrier). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import {
  acquireAndExit, barrierWait, releaseFromWorker, barrierWaitSync, condWait, condWaitFor, condWaitSync, holdLock, lockedIncrement,
  lockedIncrementAsync, semWork, setAfter, waitEvent, waitEventSync,
} from "./fixtures/sync-workers.ts";

const T = { timeout: 40_000 };

async function runAll(procs: mp.Process[]): Promise<void> {
  for (const p of procs) p.start();
  for (const p of procs) await p.join();
  for (const p of procs) assert.equal(p.exitCode, 0, `${p.name} exit code`);
}

async function elapsedOf<R>(fn: () => Promise<R>): Promise<[R, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, performance.now() - t0];
}

test("Lock: acquire/release, non-blocking and timeout (test_lock)", T, async () => {
  const lock = new mp.Lock();
  assert.equal(await lock.acquire(), true);
  assert.equal(await lock.acquire({ block: false }), false);
  assert.equal(lock.acquireSync({ block: false }), false);
  const [r, ms] = await elapsedOf(() => lock.acquire({ timeout: 200 }));
  assert.equal(r, false);
  assert.ok(ms >= 150 && ms < 5_000, `elapsed ${ms}`);
  assert.equal(lock.acquireSync({ timeout: 50 }), false);
  lock.release();
  assert.throws(() => lock.release()); // Python: ValueError, released too many times
  assert.equal(lock.acquireSync(), true);
  lock.release();
});

test("Lock: withLock returns the result and releases on throw", T, async () => {
  const lock = new mp.Lock();
  assert.equal(await lock.withLock(() => 5), 5);
  assert.equal(await lock.withLock(async () => 6), 6);
  await assert.rejects(lock.withLock(() => {
    throw new Error("inside");
  }), /inside/);
  assert.equal(await lock.acquire({ block: false }), true);
  lock.release();
});

test("Lock: a waiting acquire() is woken by release()", T, async () => {
  const lock = new mp.Lock();
  await lock.acquire();
  const waiting = lock.acquire({ timeout: 10_000 });
  setTimeout(() => lock.release(), 50);
  assert.equal(await waiting, true);
  lock.release();
});

test("Lock: mutual exclusion across 3 workers (sync and async)", T, async () => {
  const lock = new mp.Lock();
  const view = mp.RawArray("i", 1);
  await runAll([0, 1, 2].map(() => new mp.Process({ target: lockedIncrement, args: [lock, view, 2_000], context: "thread" })));
  assert.equal(view[0], 6_000);
  view[0] = 0;
  await runAll([0, 1].map(() => new mp.Process({ target: lockedIncrementAsync, args: [lock, view, 300] })));
  assert.equal(view[0], 600);
});

test("Lock held by a worker blocks the main thread until released", T, async () => {
  const lock = new mp.Lock();
  const held = new mp.Event();
  const release = new mp.Event();
  const p = new mp.Process({ target: holdLock, args: [lock, held, release] });
  p.start();
  assert.equal(await held.wait(20_000), true);
  assert.equal(await lock.acquire({ block: false }), false);
  const acquiring = lock.acquire({ timeout: 20_000 });
  release.set();
  assert.equal(await acquiring, true);
  lock.release();
  await p.join();
});

test("a Lock whose owner died is recovered by the next acquirer", T, async () => {
  const lock = new mp.Lock();
  const p = new mp.Process({ target: acquireAndExit, args: [lock] });
  p.start();
  await p.join();
  assert.equal(await lock.acquire({ timeout: 10_000 }), true);
  lock.release();
});

test("an RLock whose owner died is recovered by the next acquirer", T, async () => {
  const lock = new mp.RLock();
  const p = new mp.Process({ target: acquireAndExit, args: [lock as unknown as mp.Lock] });
  p.start();
  await p.join();
  assert.equal(await lock.acquire({ timeout: 10_000 }), true);
  lock.release();
  const cond = new mp.Condition();
  const q = new mp.Process({ target: acquireAndExit, args: [cond as unknown as mp.Lock] });
  q.start();
  await q.join();
  assert.equal(await cond.acquire({ timeout: 10_000 }), true);
  cond.release();
});

test("RLock: reentrant; release by non-owner and over-release throw (test_rlock)", T, async () => {
  const lock = new mp.RLock();
  assert.equal(await lock.acquire(), true);
  assert.equal(await lock.acquire(), true);
  assert.equal(lock.acquireSync(), true);
  lock.release();
  lock.release();
  lock.release();
  assert.throws(() => lock.release());
  const view = mp.RawArray("i", 1);
  await runAll([0, 1].map(() => new mp.Process({ target: lockedIncrement, args: [lock, view, 1_000] })));
  assert.equal(view[0], 2_000);
});

test("RLock: a worker cannot acquire while main holds it", T, async () => {
  const lock = new mp.RLock();
  await lock.acquire();
  const q = new mp.Queue<boolean>();
  const { tryAcquire } = await import("./fixtures/sync-workers.ts");
  await using pool = new mp.Pool(1);
  assert.equal(await pool.apply(tryAcquire, [lock as unknown as mp.Lock]), false);
  lock.release();
  assert.equal(await pool.apply(tryAcquire, [lock as unknown as mp.Lock]), true);
  q.close();
});

test("Semaphore: getValue, acquire/release, non-blocking, timeout (test_semaphore, test_timeout)", T, async () => {
  const sem = new mp.Semaphore(2);
  assert.equal(sem.getValue(), 2);
  assert.equal(await sem.acquire(), true);
  assert.equal(sem.getValue(), 1);
  assert.equal(sem.acquireSync(), true);
  assert.equal(sem.getValue(), 0);
  assert.equal(await sem.acquire({ block: false }), false);
  const [r, ms] = await elapsedOf(() => sem.acquire({ timeout: 200 }));
  assert.equal(r, false);
  assert.ok(ms >= 150, `elapsed ${ms}`);
  sem.release();
  sem.release();
  sem.release(); // unbounded: may go above the initial value
  assert.equal(sem.getValue(), 3);
  assert.equal(new mp.Semaphore().getValue(), 1);
  assert.equal(new mp.Semaphore(0).getValue(), 0);
  assert.throws(() => new mp.Semaphore(-1), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
  assert.equal(await sem.withLock(() => sem.getValue()), 2);
  assert.equal(sem.getValue(), 3);
});

test("BoundedSemaphore: release above the initial value throws (test_bounded_semaphore)", T, async () => {
  const sem = new mp.BoundedSemaphore(2);
  await sem.acquire();
  sem.release();
  assert.equal(sem.getValue(), 2);
  assert.throws(() => sem.release()); // Python: ValueError
  assert.equal(sem.getValue(), 2);
  assert.equal(new mp.BoundedSemaphore().getValue(), 1);
});

test("Semaphore limits concurrency across workers", T, async () => {
  const sem = new mp.Semaphore(2);
  const view = mp.RawArray("i", 2);
  await runAll([0, 1, 2, 3, 4].map(() => new mp.Process({ target: semWork, args: [sem, view, 100] })));
  assert.equal(view[1], 2);
  assert.equal(sem.getValue(), 2);
});

test("Event: set/clear/isSet/wait (test_event)", T, async () => {
  const ev = new mp.Event();
  assert.equal(ev.isSet(), false);
  const [r, ms] = await elapsedOf(() => ev.wait(150));
  assert.equal(r, false);
  assert.ok(ms >= 100, `elapsed ${ms}`);
  assert.equal(ev.waitSync(10), false);
  ev.set();
  assert.equal(ev.isSet(), true);
  assert.equal(await ev.wait(), true);
  assert.equal(await ev.wait(0), true);
  assert.equal(ev.waitSync(), true);
  ev.clear();
  assert.equal(ev.isSet(), false);
  assert.equal(await ev.wait(0), false);
});

test("Event set in a worker wakes the main thread; workers wait on main's set", T, async () => {
  const ev = new mp.Event();
  const p = new mp.Process({ target: setAfter, args: [ev, 100] });
  p.start();
  assert.equal(await ev.wait(20_000), true);
  await p.join();
  const ev2 = new mp.Event();
  const out = new mp.Queue<boolean>();
  const ps = [
    new mp.Process({ target: waitEvent, args: [ev2, 20_000, out] }),
    new mp.Process({ target: waitEventSync, args: [ev2, out] }),
    new mp.Process({ target: waitEvent, args: [new mp.Event(), 100, out] }),
  ];
  for (const x of ps) x.start();
  assert.equal(await out.get({ timeout: 20_000 }), false); // the 100 ms one times out first
  ev2.set();
  assert.equal(await out.get({ timeout: 20_000 }), true);
  assert.equal(await out.get({ timeout: 20_000 }), true);
  for (const x of ps) await x.join();
  out.close();
});

test("Condition: wait without the lock throws; wait(timeout) returns false (test_timeout)", T, async () => {
  const cond = new mp.Condition();
  await assert.rejects(async () => cond.wait(10));
  assert.throws(() => cond.notify());
  await cond.acquire();
  const [r, ms] = await elapsedOf(() => cond.wait(150));
  assert.equal(r, false);
  assert.ok(ms >= 100, `elapsed ${ms}`);
  cond.release();
  await cond.withLock(() => cond.notifyAll());
});

test("Condition: notify, notify(n), notifyAll across workers (test_notify, test_notify_all, test_notify_n)", T, async () => {
  const cond = new mp.Condition();
  const sleeping = new mp.Semaphore(0);
  const woken = new mp.Semaphore(0);
  const ps = [condWait, condWait, condWaitSync, condWaitSync].map((fn) => new mp.Process({ target: fn, args: [cond, sleeping, woken] }));
  for (const p of ps) p.start();
  for (let i = 0; i < 4; i++) assert.equal(await sleeping.acquire({ timeout: 20_000 }), true);
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(woken.getValue(), 0);
  await cond.acquire();
  cond.notify();
  cond.release();
  assert.equal(await woken.acquire({ timeout: 20_000 }), true);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(woken.getValue(), 0);
  await cond.withLock(() => cond.notify(2));
  assert.equal(await woken.acquire({ timeout: 20_000 }), true);
  assert.equal(await woken.acquire({ timeout: 20_000 }), true);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(woken.getValue(), 0);
  await cond.withLock(() => cond.notifyAll());
  assert.equal(await woken.acquire({ timeout: 20_000 }), true);
  for (const p of ps) await p.join();
  for (const p of ps) assert.equal(p.exitCode, 0);
});

test("Condition: waitFor with a predicate across a worker (test_waitfor)", T, async () => {
  const cond = new mp.Condition(new mp.Lock());
  const view = mp.RawArray("i", 1);
  const out = new mp.Queue<string>();
  const p = new mp.Process({ target: condWaitFor, args: [cond, view, 5, out] });
  p.start();
  assert.equal(await out.get({ timeout: 20_000 }), "waiting");
  for (let i = 0; i < 5; i++) {
    await cond.withLock(() => {
      Atomics.add(view, 0, 1);
      cond.notify();
    });
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(await out.get({ timeout: 20_000 }), "ok 5");
  await p.join();
  // waitFor timeout: returns the predicate's last value
  await cond.acquire();
  const [r, ms] = await elapsedOf(() => cond.waitFor(() => false, 150));
  assert.equal(r, false);
  assert.ok(ms >= 100);
  assert.equal(await cond.waitFor(() => true, 10), true);
  cond.release();
  out.close();
});

test("Condition over an RLock held twice waits and restores the recursion level", T, async () => {
  const lock = new mp.RLock();
  const cond = new mp.Condition(lock);
  await cond.acquire();
  await cond.acquire();
  assert.equal(await cond.wait(50), false);
  cond.release();
  cond.release();
  assert.throws(() => lock.release());
});

test("Barrier: wait returns distinct indices, action runs once, parties/nWaiting/broken (test_barrier, test_action)", T, async () => {
  let actions = 0;
  const b = new mp.Barrier(3, { action: () => actions++ });
  assert.equal(b.parties, 3);
  assert.equal(b.nWaiting, 0);
  assert.equal(b.broken, false);
  const waits = [b.wait(), b.wait()];
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(b.nWaiting, 2);
  waits.push(b.wait());
  const idx = await Promise.all(waits);
  assert.deepEqual([...idx].sort(), [0, 1, 2]);
  assert.equal(actions, 1);
  assert.equal(b.nWaiting, 0);
  assert.throws(() => new mp.Barrier(0), (e: unknown) => e instanceof RangeError || e instanceof TypeError);
});

test("Barrier across 3 workers and the main thread", T, async () => {
  const b = new mp.Barrier(4);
  const out = new mp.Queue<unknown>();
  const ps = [barrierWait, barrierWait, barrierWaitSync].map((fn) => new mp.Process({ target: fn, args: [b, out] }));
  for (const p of ps) p.start();
  const mine = await b.wait(20_000);
  const others = [await out.get({ timeout: 20_000 }), await out.get({ timeout: 20_000 }), await out.get({ timeout: 20_000 })];
  assert.deepEqual([mine, ...others].sort(), [0, 1, 2, 3]);
  for (const p of ps) await p.join();
  out.close();
});

test("Barrier: timeout breaks it; abort and reset (test_timeout, test_abort, test_reset)", T, async () => {
  const b = new mp.Barrier(2);
  await assert.rejects(b.wait(100), mp.BrokenBarrierError);
  assert.equal(b.broken, true);
  await assert.rejects(b.wait(), mp.BrokenBarrierError);
  b.reset();
  assert.equal(b.broken, false);
  const out = new mp.Queue<unknown>();
  const p = new mp.Process({ target: barrierWait, args: [b, out] });
  p.start();
  await new Promise((r) => setTimeout(r, 300));
  b.abort();
  assert.equal(await out.get({ timeout: 20_000 }), "BrokenBarrierError");
  assert.equal(b.broken, true);
  await p.join();
  b.reset();
  // default timeout from the constructor
  const bt = new mp.Barrier(2, { timeout: 100 });
  await assert.rejects(bt.wait(), mp.BrokenBarrierError);
  assert.throws(() => bt.waitSync(), mp.BrokenBarrierError);
  out.close();
});

test("Barrier: reset while a party waits breaks that wait (test_reset)", T, async () => {
  const b = new mp.Barrier(2);
  const w = b.wait(10_000);
  await new Promise((r) => setTimeout(r, 50));
  b.reset();
  await assert.rejects(w, mp.BrokenBarrierError);
  assert.equal(b.broken, false);
  const both = await Promise.all([b.wait(5_000), b.wait(5_000)]);
  assert.deepEqual(both.sort(), [0, 1]);
});

test("Barrier: an action that throws breaks the barrier (test_action_exception)", T, async () => {
  const b = new mp.Barrier(2, {
    action: () => {
      throw new Error("action failed");
    },
  });
  const results = await Promise.allSettled([b.wait(5_000), b.wait(5_000)]);
  assert.ok(results.every((r) => r.status === "rejected"));
  assert.equal(b.broken, true);
});

test("release from another worker: a Lock may be released (Python semaphore), an RLock may not", T, async () => {
  await using pool = new mp.Pool(1);
  const rlock = new mp.RLock();
  await rlock.acquire();
  assert.notEqual(await pool.apply(releaseFromWorker, [rlock as unknown as mp.Lock]), "ok");
  rlock.release();
  const sem = new mp.Semaphore(0);
  assert.equal(await pool.apply(releaseFromWorker, [sem]), "ok");
  assert.equal(sem.getValue(), 1);
});
