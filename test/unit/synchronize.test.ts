/**
 * Single-thread behaviour of the synchronization primitives: the parts of
 * CPython's _TestLock, _TestSemaphore, _TestCondition, _TestEvent and _TestBarrier
 * that need no second worker (cross-worker cases: test/integration/sync.test.ts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mp from "multiproc";

const T = { timeout: 20_000 };
const TIMEOUT1 = 100; // CPython's TIMEOUT1 is 0.1 s

async function elapsed<R>(fn: () => R | Promise<R>): Promise<[R, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, performance.now() - start];
}

function assertTimeNear(ms: number, expected: number): void {
  assert.ok(ms >= expected - 15, `took ${ms.toFixed(1)} ms, expected about ${expected}`);
  assert.ok(ms < expected + 2_000, `took ${ms.toFixed(1)} ms, expected about ${expected}`);
}

/** `wait` (a call given TIMEOUT1) gives up: it returns false after about TIMEOUT1. */
async function assertTimesOut(wait: () => boolean | Promise<boolean>): Promise<void> {
  const [got, ms] = await elapsed(wait);
  assert.equal(got, false);
  assertTimeNear(ms, TIMEOUT1);
}

describe("Lock", () => {
  test("acquire, non-blocking acquire fails while held, release (test_lock)", T, async () => {
    const lock = new mp.Lock();
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.acquire({ block: false }), false);
    assert.equal(lock.acquireSync({ block: false }), false);
    assert.equal(lock.release(), undefined);
    assert.throws(() => lock.release(), { code: "ERR_MP_LOCK_NOT_HELD", message: /not acquired/ });
  });

  test("acquireSync / timeout returns false after about the timeout", T, async () => {
    const lock = new mp.Lock();
    assert.equal(lock.acquireSync(), true);
    await assertTimesOut(() => lock.acquire({ timeout: TIMEOUT1 }));
    await assertTimesOut(() => lock.acquireSync({ timeout: TIMEOUT1 }));
    lock.release();
  });

  test("acquireSync without timeout on a lock this worker holds throws instead of deadlocking", T, () => {
    const lock = new mp.Lock();
    lock.acquireSync();
    assert.throws(() => lock.acquireSync(), { code: "ERR_MP_DEADLOCK" });
    lock.release();
  });

  test("an async waiter gets the lock when another task of the same worker releases it", T, async () => {
    const lock = new mp.Lock();
    await lock.acquire();
    const waiting = lock.acquire();
    await new Promise((resolve) => setTimeout(resolve, 20));
    lock.release();
    assert.equal(await waiting, true);
    lock.release();
  });

  test("withLock releases on return and on throw (test_lock_context)", T, async () => {
    const lock = new mp.Lock();
    assert.equal(await lock.withLock(() => 42), 42);
    assert.equal(await lock.withLock(async () => "async"), "async");
    await assert.rejects(lock.withLock(() => { throw new Error("boom"); }), /boom/);
    assert.equal(lock.acquireSync({ block: false }), true);
    lock.release();
  });

  test("bad options are rejected with the option named", T, async () => {
    const lock = new mp.Lock();
    await assert.rejects(lock.acquire({ timeout: "1" as unknown as number }), /`timeout`/);
    assert.throws(() => lock.acquireSync({ block: 1 as unknown as boolean }), /`block`/);
  });
});

describe("RLock", () => {
  test("re-entrant acquire and matching releases (test_rlock)", T, async () => {
    const lock = new mp.RLock();
    assert.equal(await lock.acquire(), true);
    assert.equal(await lock.acquire(), true);
    assert.equal(lock.acquireSync(), true);
    lock.release();
    lock.release();
    lock.release();
    assert.throws(() => lock.release(), { code: "ERR_MP_LOCK_NOT_HELD" });
  });

  test("withLock nests", T, async () => {
    const lock = new mp.RLock();
    const result = await lock.withLock(() => lock.withLock(() => "inner"));
    assert.equal(result, "inner");
    assert.throws(() => lock.release());
  });
});

describe("Semaphore", () => {
  test("counts down and up (test_semaphore)", T, async () => {
    const sem = new mp.Semaphore(2);
    assert.equal(await sem.acquire(), true);
    assert.equal(sem.getValue(), 1);
    assert.equal(sem.acquireSync(), true);
    assert.equal(sem.getValue(), 0);
    assert.equal(await sem.acquire({ block: false }), false);
    assert.equal(sem.getValue(), 0);
    sem.release();
    assert.equal(sem.getValue(), 1);
    sem.release();
    assert.equal(sem.getValue(), 2);
    sem.release(); // an unbounded semaphore may go above its initial value
    assert.equal(sem.getValue(), 3);
  });

  test("BoundedSemaphore throws when released above its initial value (test_bounded_semaphore)", T, async () => {
    const sem = new mp.BoundedSemaphore(2);
    await sem.acquire();
    sem.release();
    assert.throws(() => sem.release(), { name: "RangeError", message: /released too many times/ });
    assert.equal(sem.getValue(), 2);
  });

  test("timeouts (test_timeout)", T, async () => {
    const sem = new mp.Semaphore(0);
    assert.equal(await sem.acquire({ block: false }), false);
    assert.equal(await sem.acquire({ block: false, timeout: null }), false);
    assert.equal(await sem.acquire({ block: false, timeout: TIMEOUT1 }), false);
    await assertTimesOut(() => sem.acquire({ timeout: TIMEOUT1 }));
    await assertTimesOut(() => sem.acquireSync({ timeout: TIMEOUT1 }));
    const [got0, ms0] = await elapsed(() => sem.acquire({ timeout: -5 }));
    assert.equal(got0, false);
    assert.ok(ms0 < 1_000);
  });

  test("an async waiter wakes on release", T, async () => {
    const sem = new mp.Semaphore(0);
    const waiting = sem.acquire();
    setTimeout(() => sem.release(), 10);
    assert.equal(await waiting, true);
    assert.equal(sem.getValue(), 0);
  });

  test("withLock gives the unit back on throw", T, async () => {
    const sem = new mp.Semaphore(1);
    await assert.rejects(sem.withLock(() => { throw new Error("x"); }));
    assert.equal(sem.getValue(), 1);
  });

  test("rejects a negative initial value", T, () => {
    assert.throws(() => new mp.Semaphore(-1), { name: "RangeError", message: /`value`/ });
  });
});

describe("Event", () => {
  test("set, clear, isSet, wait (test_event)", T, async () => {
    const event = new mp.Event();
    assert.equal(event.isSet(), false);
    assert.equal(await event.wait(0), false);
    await assertTimesOut(() => event.wait(TIMEOUT1));
    await assertTimesOut(() => event.waitSync(TIMEOUT1));
    event.set();
    assert.equal(event.isSet(), true);
    assert.equal(await event.wait(), true);
    assert.equal(event.waitSync(), true);
    assert.equal(await event.wait(TIMEOUT1), true);
    event.clear();
    assert.equal(event.isSet(), false);
    const later = event.wait();
    setTimeout(() => event.set(), 20);
    assert.equal(await later, true);
  });
});

describe("Condition", () => {
  test("wait without holding the lock throws", T, async () => {
    const cond = new mp.Condition();
    await assert.rejects(cond.wait(10), { code: "ERR_MP_LOCK_NOT_HELD" });
    assert.throws(() => cond.waitSync(10), { code: "ERR_MP_LOCK_NOT_HELD" });
    assert.throws(() => cond.notify(), { code: "ERR_MP_LOCK_NOT_HELD" });
    assert.throws(() => cond.notifyAll(), { code: "ERR_MP_LOCK_NOT_HELD" });
  });

  test("wait(timeout) returns false after about the timeout, holding the lock again (test_timeout)", T, async () => {
    const cond = new mp.Condition();
    await cond.acquire();
    await assertTimesOut(() => cond.wait(TIMEOUT1));
    await assertTimesOut(() => cond.waitSync(TIMEOUT1));
    cond.release();
    assert.throws(() => cond.release());
  });

  test("an async waiter is woken by notify from another task (Lock)", T, async () => {
    const cond = new mp.Condition(new mp.Lock());
    let ready = false;
    const waiter = cond.withLock(async () => {
      while (!ready) await cond.wait();
      return "woken";
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await cond.withLock(() => {
      ready = true;
      cond.notify();
    });
    assert.equal(await waiter, "woken");
  });

  test("notify(n) wakes at most n waiters; notifyAll the rest (test_notify_n)", T, async () => {
    const cond = new mp.Condition(new mp.Lock());
    let woken = 0;
    const waiters = Array.from({ length: 5 }, () =>
      cond.withLock(async () => {
        const got = await cond.wait(10_000);
        woken++;
        return got;
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await cond.withLock(() => cond.notify(2));
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(woken, 2);
    await cond.withLock(() => cond.notifyAll());
    assert.deepEqual(await Promise.all(waiters), [true, true, true, true, true]);
    assert.equal(woken, 5);
  });

  test("waitFor (test_waitfor, test_waitfor_timeout)", T, async () => {
    const cond = new mp.Condition();
    await cond.acquire();
    assert.equal(await cond.waitFor(() => true), true);
    await assertTimesOut(() => cond.waitFor(() => false, TIMEOUT1));
    assert.equal(cond.waitForSync(() => 1, 10), true);
    cond.release();
  });

  test("rejects a lock that is not an mp.Lock/RLock", T, () => {
    assert.throws(() => new mp.Condition({} as unknown as mp.Lock), TypeError);
  });
});

describe("Barrier", () => {
  test("a one-party barrier passes at once with index 0", T, async () => {
    const barrier = new mp.Barrier(1);
    assert.equal(await barrier.wait(), 0);
    assert.equal(barrier.waitSync(), 0);
    assert.equal(barrier.parties, 1);
  });

  test("async parties of one worker get distinct indexes and the action runs once per round", T, async () => {
    let calls = 0;
    const barrier = new mp.Barrier(3, { action: () => calls++ });
    for (let round = 0; round < 5; round++) {
      const indexes = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
      assert.deepEqual([...indexes].sort(), [0, 1, 2]);
      assert.equal(calls, round + 1);
    }
    assert.equal(barrier.nWaiting, 0);
  });

  test("a timeout breaks the barrier (test_timeout, test_default_timeout)", T, async () => {
    const barrier = new mp.Barrier(2);
    const [outcome, ms] = await elapsed(() => barrier.wait(TIMEOUT1).then(() => "passed", (e: unknown) => e));
    assert.ok(outcome instanceof mp.BrokenBarrierError);
    assertTimeNear(ms, TIMEOUT1);
    assert.equal(barrier.broken, true);
    await assert.rejects(barrier.wait(), mp.BrokenBarrierError);
    barrier.reset();
    assert.equal(barrier.broken, false);

    const withDefault = new mp.Barrier(2, { timeout: TIMEOUT1 });
    assert.throws(() => withDefault.waitSync(), mp.BrokenBarrierError);
    assert.equal(withDefault.broken, true);
  });

  test("abort breaks waiting parties; reset repairs (test_abort, test_reset)", T, async () => {
    const barrier = new mp.Barrier(3);
    const first = barrier.wait().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(barrier.nWaiting, 1);
    barrier.abort();
    assert.ok((await first) instanceof mp.BrokenBarrierError);
    assert.equal(barrier.broken, true);
    barrier.reset();
    const second = barrier.wait().catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 20));
    barrier.reset(); // a reset while a party waits breaks that party's wait
    assert.ok((await second) instanceof mp.BrokenBarrierError);
    assert.equal(barrier.broken, false);
    const indexes = await Promise.all([barrier.wait(), barrier.wait(), barrier.wait()]);
    assert.deepEqual([...indexes].sort(), [0, 1, 2]);
  });

  test("an action that throws breaks the barrier (test_action)", T, async () => {
    const barrier = new mp.Barrier(2, { action: () => { throw new Error("action failed"); } });
    const results = await Promise.allSettled([barrier.wait(), barrier.wait()]);
    const reasons = results.map((r) => (r.status === "rejected" ? r.reason : null));
    assert.ok(reasons.some((e) => e instanceof Error && e.message === "action failed"));
    assert.ok(reasons.some((e) => e instanceof mp.BrokenBarrierError));
    assert.equal(barrier.broken, true);
  });

  test("rejects bad parties", T, () => {
    assert.throws(() => new mp.Barrier(0), { name: "RangeError", message: /`parties`/ });
  });
});
