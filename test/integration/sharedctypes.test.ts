/** Value / Array / RawArray changed by workers (CPython's _TestValue, _TestArray with processes). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import * as w from "../fixtures/sync-workers.ts";

const T = { timeout: 60_000 };

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("a worker changes Values, a synchronized Array and a RawArray in place (test_value, test_array)", T, async () => {
    const values = [ctx.Value("i", 25), ctx.Value("d", 3.625), ctx.Value("h", -232), ctx.Value("q", 2n ** 33n), ctx.Value("c", "x")];
    const arr = ctx.Array("i", [1, 2, 3, 4]);
    const raw = ctx.RawArray("d", [0.5, 1.5]);
    const text = new ctx.SharedMemory({ create: true, size: 4 });
    const list = new ctx.ShareableList(["original", 41]);
    try {
      const p = new mp.Process({ target: w.doubleValues, args: [values, arr, raw, text, list], context });
      p.start();
      await p.join();
      assert.equal(p.exitCode, 0);
      assert.deepEqual(values.map((v) => v.value), [50, 7.25, -464, 2n ** 34n, "z"]);
      assert.deepEqual(arr.toArray(), [2, 4, 6, 8]);
      assert.deepEqual([...raw], [1, 3]);
      assert.equal(text.buf[0], 0x58);
      assert.deepEqual(list.toArray(), ["changed", 42]);
    } finally {
      text.unlink();
      list.shm.unlink();
    }
  });

  test("Value and Array keep their own lock across workers (getLock is the same shared lock)", T, async () => {
    const lock = new ctx.Lock();
    const value = ctx.Value("i", 0, { lock });
    const held = new ctx.Event();
    const release = new ctx.Event();
    const p = new mp.Process({ target: w.holdLockUntil, args: [value.getLock(), held, release], context });
    p.start();
    assert.equal(await held.wait(20_000), true);
    assert.equal(await lock.acquire({ block: false }), false, "the worker holds the Value's lock");
    release.set();
    await p.join();
    assert.equal(await value.acquire({ timeout: 20_000 }), true);
    value.release();
  });
});
