/** Wire forms: every synchronization and shared-memory object survives encode/decode as the same shared object. */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { decodeFromWire, decodeMessage, encodeForWire, encodeMessage } from "../../src/wire/serialize.ts";

const T = { timeout: 20_000 };

function viaBytes<V>(value: V): V {
  const { payload, wired } = encodeMessage(value);
  return decodeMessage(payload, wired) as V;
}

function viaClone<V>(value: V): V {
  const { value: encoded } = encodeForWire(value);
  return decodeFromWire(structuredClone(encoded)) as V;
}

for (const [how, copy] of [["byte transport", viaBytes], ["structured clone", viaClone]] as const) {
  test(`objects travel by ${how} and stay shared`, T, async () => {
    const lock = new mp.Lock();
    const rlock = new mp.RLock();
    const sem = new mp.BoundedSemaphore(3);
    const event = new mp.Event();
    const cond = new mp.Condition(lock);
    const barrier = new mp.Barrier(2, { timeout: 5_000 });
    const value = mp.Value("d", 1.5);
    const raw = mp.RawValue("q", 5n);
    const arr = mp.Array("i", [1, 2, 3]);
    const rawArr = mp.RawArray("H", [7, 8]);
    const shm = new mp.SharedMemory({ create: true, size: 8 });
    const list = new mp.ShareableList([1, "a"]);
    try {
      const got = copy({ lock, rlock, sem, event, cond, barrier, value, raw, arr, rawArr, shm, list });

      assert.ok(got.lock instanceof mp.Lock && got.lock !== lock);
      await lock.acquire();
      assert.equal(await got.lock.acquire({ block: false }), false);
      got.lock.release(); // same worker: the owner is this thread
      assert.ok(got.rlock instanceof mp.RLock);
      await rlock.acquire();
      got.rlock.release();
      assert.ok(got.sem instanceof mp.BoundedSemaphore);
      await sem.acquire();
      assert.equal(got.sem.getValue(), 2);
      got.sem.release();
      assert.throws(() => got.sem.release(), RangeError);
      event.set();
      assert.equal(got.event.isSet(), true);
      await got.cond.acquire();
      assert.equal(await lock.acquire({ block: false }), false, "the Condition's lock is the same lock");
      got.cond.release();
      assert.equal(got.barrier.parties, 2);
      const both = await Promise.all([barrier.wait(), got.barrier.wait()]);
      assert.deepEqual(both.sort(), [0, 1]);
      got.value.value = 2.5;
      assert.equal(value.value, 2.5);
      assert.ok(got.value.getLock() instanceof mp.RLock);
      got.raw.value = 6n;
      assert.equal(raw.value, 6n);
      got.arr[1] = 20;
      assert.equal(arr[1], 20);
      got.rawArr[0] = 70;
      assert.equal(rawArr[0], 70);
      got.shm.buf[0] = 1;
      assert.equal(shm.buf[0], 1);
      assert.equal(got.shm.name, shm.name);
      got.list[1] = "b";
      assert.equal(list[1], "b");
    } finally {
      shm.unlink();
      list.shm.unlink();
    }
  });
}
