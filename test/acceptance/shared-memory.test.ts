/** Acceptance: SharedMemory and ShareableList (CPython _TestSharedMemory). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { editList, writeShm, writeShmObject } from "./fixtures/shared-workers.ts";

const T = { timeout: 30_000 };

test("SharedMemory: create, name, size, buf; attach by name sees the same bytes (test_shared_memory_basics)", T, () => {
  const shm = new mp.SharedMemory({ create: true, size: 512 });
  try {
    assert.equal(typeof shm.name, "string");
    assert.ok(shm.name.length > 0);
    assert.ok(shm.size >= 512);
    assert.ok(shm.buf instanceof Uint8Array);
    assert.equal(shm.buf.length, shm.size);
    shm.buf[0] = 42;
    shm.buf[511] = 7;
    const other = new mp.SharedMemory({ name: shm.name });
    assert.equal(other.size, shm.size);
    assert.equal(other.buf[0], 42);
    other.buf[1] = 9;
    assert.equal(shm.buf[1], 9);
    other.close();
  } finally {
    shm.close();
    shm.unlink();
  }
});

test("SharedMemory: a chosen name; creating it twice fails; opening a missing one fails (test_shared_memory_basics)", T, () => {
  const name = `acc_${process.pid}_${Date.now()}`;
  const shm = new mp.SharedMemory({ name, create: true, size: 16 });
  try {
    assert.equal(shm.name, name);
    assert.throws(() => new mp.SharedMemory({ name, create: true, size: 16 })); // FileExistsError
  } finally {
    shm.close();
    shm.unlink();
  }
  assert.throws(() => new mp.SharedMemory({ name })); // FileNotFoundError after unlink
  assert.throws(() => new mp.SharedMemory({ name: `missing_${process.pid}` }));
});

test("SharedMemory: invalid creation (test_invalid_shared_memory_cration)", T, () => {
  assert.throws(() => new mp.SharedMemory({ create: true, size: -2 }), RangeError);
  assert.throws(() => new mp.SharedMemory({ create: true, size: 0 }), RangeError);
  assert.throws(() => new mp.SharedMemory({ create: true }), RangeError);
});

test("SharedMemory across workers: by name and by object (test_shared_memory_across_processes)", T, async () => {
  const shm = new mp.SharedMemory({ create: true, size: 8 });
  try {
    const p = new mp.Process({ target: writeShm, args: [shm.name, [1, 2, 3]] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.deepEqual([...shm.buf.subarray(0, 3)], [1, 2, 3]);
    await using pool = new mp.Pool(1);
    await pool.apply(writeShmObject, [shm, [9, 8]]);
    assert.deepEqual([...shm.buf.subarray(0, 3)], [9, 8, 3]);
  } finally {
    shm.close();
    shm.unlink();
  }
});

test("ShareableList: values, types, length, set, count, index, format (test_shared_memory_ShareableList_basics)", T, () => {
  const sl = new mp.ShareableList([1, 2.5, "howdy", true, null, -3, "howdy"]);
  try {
    assert.equal(sl.length, 7);
    assert.equal(sl[0], 1);
    assert.equal(sl[1], 2.5);
    assert.equal(sl[2], "howdy");
    assert.equal(sl[3], true);
    assert.equal(sl[4], null);
    assert.equal(sl[-1], "howdy");
    assert.equal(sl.count("howdy"), 2);
    assert.equal(sl.index(-3), 5);
    assert.throws(() => sl.index("nope")); // Python: ValueError
    sl[0] = 5;
    assert.equal(sl[0], 5);
    sl[2] = "hi";
    assert.equal(sl[2], "hi");
    assert.throws(() => {
      sl[2] = "a string far longer than the storage that was allocated for it";
    }); // Python: ValueError exceeds available storage
    assert.throws(() => sl[7], RangeError); // Python: IndexError
    const other = new mp.ShareableList(sl.shm.name);
    assert.equal(other[0], 5);
    assert.equal(other.length, 7);
    other.shm.close();
  } finally {
    sl.shm.close();
    sl.shm.unlink();
  }
});

test("ShareableList: edited by a worker through its name", T, async () => {
  const sl = new mp.ShareableList([1, "xxxx"]);
  try {
    const p = new mp.Process({ target: editList, args: [sl.shm.name] });
    p.start();
    await p.join();
    assert.equal(p.exitCode, 0);
    assert.equal(sl[0], 99);
    assert.equal(sl[1], "hi");
  } finally {
    sl.shm.close();
    sl.shm.unlink();
  }
});
