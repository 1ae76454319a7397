import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { square } from "../fixtures/square.ts";

const T = { timeout: 30_000 };

test("start methods: thread is the default, both are listed", T, () => {
  assert.equal(mp.getStartMethod(), "thread");
  assert.deepEqual(mp.getAllStartMethods(), ["thread", "process"]);
  assert.throws(() => mp.getContext("fork" as never), /Expected `method` to be "thread" or "process", got "fork"/);
});

test("a context binds Pool and Process to its start method", T, async () => {
  const ctx = mp.getContext("thread");
  assert.equal(ctx.getStartMethod(), "thread");
  assert.equal(mp.getContext("thread"), ctx, "contexts are cached");
  await using pool = new ctx.Pool(2);
  assert.deepEqual(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
  const view = new Int32Array(new SharedArrayBuffer(4));
  const p = new ctx.Process({ target: Atomics.store, args: [view, 0, 11] });
  p.start();
  await p.join();
  assert.equal(view[0], 11);
  const lock = new ctx.Lock();
  assert.equal(await lock.acquire(), true);
  lock.release();
  assert.equal(ctx.Value("i", 3).value, 3);
});

test("the process context starts OS processes and refuses thread-context shared memory with the fix", T, async () => {
  const ctx = mp.getContext("process");
  const p = new ctx.Process({ target: square, args: [3] });
  p.start();
  assert.notEqual(p.pid, process.pid);
  await p.join();
  assert.equal(p.exitCode, 0);
  const shared = new ctx.Process({ target: square, args: [new mp.Lock()] });
  assert.throws(() => shared.start(), /make it in OS shared memory instead: `const ctx = mp\.getContext\("process"\)`, then `new ctx\.Lock\(\.\.\.\)`/);
  const lock = new ctx.Lock();
  const fixed = new ctx.Process({ target: square, args: [lock as unknown as number] });
  fixed.start();
  await fixed.join();
  assert.equal(fixed.exitCode, 0, "a Lock of the process context crosses");
});
