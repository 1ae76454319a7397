/** SharedMemory and ShareableList in one thread (CPython's _TestSharedMemory basics). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mp from "multiproc";

const T = { timeout: 20_000 };

describe("SharedMemory", () => {
  test("create, attach by name, close, unlink (test_shared_memory_basics)", T, () => {
    const sms = new mp.SharedMemory({ name: "test01_tsmb", create: true, size: 512 });
    try {
      assert.equal(sms.name, "test01_tsmb");
      assert.ok(sms.size >= 512);
      assert.ok(sms.buf.length >= 512);
      sms.buf[0] = 42;
      const also = new mp.SharedMemory({ name: "test01_tsmb" });
      assert.equal(also.buf[0], 42);
      also.buf[1] = 7;
      assert.equal(sms.buf[1], 7);
      assert.equal(also.size, sms.size);
      also.close();
      assert.throws(() => also.buf, /closed/);
      assert.throws(() => new mp.SharedMemory({ name: "test01_tsmb", create: true, size: 512 }), { code: "EEXIST" });
    } finally {
      sms.unlink();
      sms.close();
    }
    assert.throws(() => new mp.SharedMemory({ name: "test01_tsmb" }), { code: "ENOENT" });
    assert.throws(() => sms.unlink(), { code: "ENOENT" });
  });

  test("generated names look like Python's psm_xxxxxxxx", T, () => {
    const shm = new mp.SharedMemory({ create: true, size: 16 });
    try {
      assert.match(shm.name, /^psm_[0-9a-f]{8}$/);
    } finally {
      shm.unlink();
    }
  });

  test("invalid sizes and names (test_shared_memory_basics: size=-1 / 0)", T, () => {
    assert.throws(() => new mp.SharedMemory({ create: true, size: -1 }), RangeError);
    assert.throws(() => new mp.SharedMemory({ create: true, size: 0 }), RangeError);
    assert.throws(() => new mp.SharedMemory({}), TypeError);
    assert.throws(() => new mp.SharedMemory({ name: "psm_definitely_missing" }), { code: "ENOENT" });
  });

  test("a bad size is named as the problem, and names that would leave the shm namespace are refused (issue 7.7)", T, () => {
    // Python checks the size first: SharedMemory(size=-1) is a ValueError about the size, not about the name.
    assert.throws(() => new mp.SharedMemory({ size: -1 }), { name: "RangeError", message: /`size`.*>= 0, got `-1`/ });
    assert.throws(() => new mp.SharedMemory({ size: 1.5, create: true }), /`size`/);
    assert.throws(() => new mp.SharedMemory({ size: "8" as unknown as number, create: true }), { name: "TypeError", message: /`size`/ });
    for (const name of ["a/b", "/psm_x", "..", "../../etc/passwd", "x..y", "nul\0", "n".repeat(255)]) {
      assert.throws(() => new mp.SharedMemory({ name, create: true, size: 8 }), { name: "RangeError", message: /Invalid SharedMemory name/ }, name);
      assert.throws(() => new mp.SharedMemory({ name }), /Invalid SharedMemory name/, name);
    }
    const ok = new mp.SharedMemory({ name: "psm_ok.name-1", create: true, size: 8 });
    ok.close();
    ok.unlink();
  });
});

describe("ShareableList", () => {
  test("values, types, replacement, count/index (test_shared_memory_ShareableList_basics)", T, () => {
    const sl = new mp.ShareableList<mp.ShareableValue>(["howdy", new Uint8Array([72, 111]), 2n ** 40n, 3.5, 42, true, null, -7]);
    try {
      assert.equal(sl.length, 8);
      assert.equal(sl[0], "howdy");
      assert.deepEqual(sl[1], new Uint8Array([72, 111]));
      assert.equal(sl[2], 2n ** 40n);
      assert.equal(sl[3], 3.5);
      assert.equal(sl[4], 42);
      assert.equal(sl[5], true);
      assert.equal(sl[6], null);
      assert.equal(sl[-1], -7);
      assert.equal(sl.index(42), 4);
      assert.equal(sl.count(42), 1);
      assert.equal(sl.count("nope"), 0);
      assert.throws(() => sl.index("nope"), RangeError);
      sl[4] = "shorter"; // any type fits in an 8-byte slot if its bytes do
      assert.equal(sl[4], "shorter");
      sl[0] = "hi";
      assert.equal(sl[0], "hi");
      assert.throws(() => { sl[0] = "a string far too long for the slot"; }, /exceed/);
      assert.throws(() => { sl[9] = 1; }, RangeError);
      assert.throws(() => { sl[1] = {} as unknown as null; }, TypeError);
      assert.deepEqual(sl.toArray().slice(2, 4), [2n ** 40n, 3.5]);

      const attached = new mp.ShareableList(sl.shm.name);
      assert.equal(attached.length, 8);
      assert.equal(attached[0], "hi");
      attached[3] = 99.25;
      assert.equal(sl[3], 99.25);
      attached.shm.close();
    } finally {
      sl.shm.close();
      sl.shm.unlink();
    }
  });

  test("an empty list (test_shared_memory_ShareableList_zero_length_content)", T, () => {
    const sl = new mp.ShareableList([]);
    try {
      assert.equal(sl.length, 0);
      assert.deepEqual([...sl], []);
    } finally {
      sl.shm.unlink();
    }
  });
});
