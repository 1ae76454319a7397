/** SharedMemory and ShareableList across workers (CPython's _TestSharedMemory with processes). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import * as w from "../fixtures/sync-workers.ts";

const T = { timeout: 60_000 };

forEachContext((context) => {
  // Objects of the context under test: the "process" context's live in OS shared memory.
  const ctx = mp.getContext(context);
  test("a worker attaches a block and a ShareableList by name (test_shared_memory_across_processes)", T, async () => {
    const shm = new ctx.SharedMemory({ create: true, size: 16 });
    const list = new ctx.ShareableList([1, "two", null]);
    try {
      const p = new mp.Process({ target: w.attachByName, args: [shm.name, list.shm.name], context });
      p.start();
      await p.join();
      assert.equal(p.exitCode, 0);
      assert.deepEqual([...shm.buf.subarray(0, 3)], [1, 2, 3]);
      assert.equal(list[0], 2024);
    } finally {
      shm.close();
      shm.unlink();
      list.shm.close();
      list.shm.unlink();
    }
  });

  test("an unlinked block cannot be attached by name any more", T, async () => {
    const shm = new ctx.SharedMemory({ create: true, size: 16 });
    shm.unlink();
    const p = new mp.Process({ target: w.attachByName, args: [shm.name, "psm_missing"], context });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 1); // ENOENT in the worker
  });
});
