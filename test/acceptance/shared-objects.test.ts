/** Acceptance: library objects passed to workers, returned, and sent through queues and pipes stay the same shared object. */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { getFromQueueAndUse, makeEventAndSet, makeQueue, roundTrip, useAll } from "./fixtures/identity-workers.ts";

const T = { timeout: 40_000 };

function makeBag() {
  const [left, right] = mp.Pipe();
  return {
    bag: {
      lock: new mp.Lock(),
      ev: new mp.Event(),
      sem: new mp.Semaphore(0),
      q: new mp.Queue<string>(),
      value: mp.Value("i", 0),
      arr: mp.Array("i", 3),
      raw: mp.RawArray("d", 2),
      shm: new mp.SharedMemory({ create: true, size: 4 }),
      conn: right,
    },
    left,
  };
}

async function checkBag(bag: ReturnType<typeof makeBag>["bag"], left: mp.Connection, result: string, ownerAlive: boolean): Promise<void> {
  assert.equal(result, "lock was free");
  // The worker's acquire holds main's lock while the worker lives; once it has exited, the next acquirer recovers it.
  assert.equal(await bag.lock.acquire({ block: false }), !ownerAlive);
  assert.equal(bag.ev.isSet(), true);
  assert.equal(bag.sem.getValue(), 1);
  assert.equal(await bag.q.get({ timeout: 10_000 }), "from worker");
  assert.equal(bag.value.value, 123);
  assert.equal(bag.arr[0], 7);
  assert.equal(bag.raw[1], 2.5);
  assert.equal(bag.shm.buf[0], 200);
  assert.equal(await left.recv(), "hello via pipe");
}

function cleanup(bag: ReturnType<typeof makeBag>["bag"], left: mp.Connection): void {
  bag.q.close();
  bag.shm.close();
  bag.shm.unlink();
  bag.conn.close();
  left.close();
}

test("objects passed as Pool args are the same shared objects (thread context)", T, async () => {
  const { bag, left } = makeBag();
  await using pool = new mp.Pool({ processes: 1, context: "thread" });
  await checkBag(bag, left, await pool.apply(useAll, [bag]), true);
  cleanup(bag, left);
});

test("objects passed as Process args are the same shared objects (default context)", T, async () => {
  const { bag, left } = makeBag();
  const out = new mp.Queue<string>();
  const p = new mp.Process({ target: useAll, args: [bag] });
  p.start();
  await p.join();
  assert.equal(p.exitCode, 0);
  await checkBag(bag, left, "lock was free", false);
  out.close();
  cleanup(bag, left);
});

test("objects sent through a Queue are the same shared objects", T, async () => {
  const q = new mp.Queue<{ ev: mp.Event; lock: mp.Lock; value: { value: number } }>();
  const ev = new mp.Event();
  const lock = new mp.Lock();
  const value = mp.Value("i", 0);
  const p = new mp.Process({ target: getFromQueueAndUse, args: [q] });
  p.start();
  await q.put({ ev, lock, value });
  assert.equal(await ev.wait(20_000), true);
  assert.equal(value.value, 77);
  await p.join();
  q.close();
});

test("objects sent through a Pipe are the same shared objects", T, async () => {
  const [a, b] = mp.Pipe();
  const ev = new mp.Event();
  a.send({ ev });
  const got = (await b.recv()) as { ev: mp.Event };
  got.ev.set();
  assert.equal(ev.isSet(), true);
  a.close();
  b.close();
});

test("objects returned from a worker round-trip to the same shared object", T, async () => {
  await using pool = new mp.Pool(1);
  const ev = new mp.Event();
  const back = await pool.apply(roundTrip, [ev]);
  assert.ok(back instanceof mp.Event);
  back.set();
  assert.equal(ev.isSet(), true);
  const v = mp.Value("d", 1.5);
  const vBack = await pool.apply(roundTrip, [v]);
  vBack.value = 3.25;
  assert.equal(v.value, 3.25);
  const made = await pool.apply(makeEventAndSet);
  assert.ok(made instanceof mp.Event);
  assert.equal(made.isSet(), true);
  const q = await pool.apply(makeQueue);
  assert.ok(q instanceof mp.Queue);
  assert.equal(await q.get({ timeout: 5_000 }), "made in worker");
  q.close();
});

test("sharing one object through several paths keeps one state", T, async () => {
  await using pool = new mp.Pool(2);
  const sem = new mp.Semaphore(0);
  const objs = await pool.map(roundTrip, [sem, sem, sem]);
  for (const s of objs) s.release();
  assert.equal(sem.getValue(), 3);
  assert.equal(objs[0]!.getValue(), 3);
});
