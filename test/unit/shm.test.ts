/** OS shared memory (src/memory/shm.ts), OS-shared regions, and the futex wait core, in one thread. */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { createShm, isOsShared, openShm, unlinkShm } from "../../src/memory/shm.ts";
import { SharedRegion } from "../../src/memory/region.ts";
import { atomicsWaitCore, futexWaitCore, waitCore } from "../../src/memory/wait.ts";
import { native } from "../../src/util/native.ts";

const T = { timeout: 20_000 };

describe("OS shared memory", () => {
  test("create gives a zero-filled SharedArrayBuffer under a fresh /mp-<root pid>-<pid>-... name", T, () => {
    const a = createShm(100);
    const b = createShm(100);
    try {
      assert.ok(a.buffer instanceof SharedArrayBuffer);
      assert.equal(a.buffer.byteLength, 100);
      assert.ok(new Uint8Array(a.buffer).every((byte) => byte === 0));
      assert.match(a.name, new RegExp(`^/mp-${process.pid}-${process.pid}-\\d+-[0-9a-f]{8}$`));
      assert.notEqual(a.name, b.name);
    } finally {
      unlinkShm(a.name);
      unlinkShm(b.name);
    }
  });

  test("open by name maps the same memory, and twice in one thread is the same buffer", T, () => {
    const { name, buffer } = createShm(64);
    try {
      assert.equal(openShm(name), buffer);
      // Mapped afresh by the addon (not through the cache): another mapping, same memory.
      const other = native().shmOpen(name);
      assert.notEqual(other, buffer);
      assert.equal(other.byteLength, 64);
      Atomics.store(new Int32Array(buffer), 3, 1234);
      assert.equal(Atomics.load(new Int32Array(other), 3), 1234);
    } finally {
      unlinkShm(name);
    }
  });

  test("unlink removes the name, the mapping stays valid; errors carry errno codes", T, () => {
    const { name, buffer } = createShm(16);
    assert.equal(unlinkShm(name), true);
    assert.equal(unlinkShm(name), false);
    assert.throws(() => native().shmOpen(name), { code: "ENOENT" });
    new Int32Array(buffer)[0] = 7;
    assert.equal(new Int32Array(buffer)[0], 7);
    const taken = createShm(8);
    try {
      assert.throws(() => native().shmCreate(taken.name, 8), { code: "EEXIST" });
    } finally {
      unlinkShm(taken.name);
    }
    assert.throws(() => createShm(-1), RangeError);
    assert.throws(() => openShm("no-slash"), TypeError);
  });

  test("a zero-byte object can be created and opened", T, () => {
    const { name, buffer } = createShm(0);
    try {
      assert.equal(buffer.byteLength, 0);
      assert.equal(native().shmOpen(name).byteLength, 0);
    } finally {
      unlinkShm(name);
    }
  });
});

describe("SharedRegion with { shared: \"os\" }", () => {
  test("handle() is { kind: 'shm', name, size } and open(handle) gives the same buffer", T, () => {
    const region = SharedRegion.create(32, { shared: "os" });
    const handle = region.handle();
    try {
      assert.equal(region.shared, "os");
      assert.equal(handle.kind, "shm");
      assert.deepEqual(structuredClone(handle), handle); // plain data: crosses a process boundary
      const again = SharedRegion.open(handle);
      assert.equal(again.buffer, region.buffer);
      assert.equal(again.byteLength, 32);
      assert.ok(isOsShared(region.buffer));
      assert.equal(SharedRegion.create(32).shared, "thread");
      assert.equal(isOsShared(SharedRegion.create(32).buffer), false);
    } finally {
      if (handle.kind === "shm") unlinkShm(handle.name);
    }
  });

  test("create rejects an unknown `shared` option", T, () => {
    assert.throws(() => SharedRegion.create(8, { shared: "disk" as "os" }), /Expected `shared` to be "thread" or "os"/);
  });
});

describe("futex wait core", () => {
  const region = SharedRegion.create(16, { shared: "os" });
  const view = region.int32();

  test("futexWait: not-equal at once, timed-out after about the timeout", T, () => {
    assert.equal(native().futexWait(view, 0, 1, 1000), "not-equal");
    const started = performance.now();
    assert.equal(native().futexWait(view, 0, 0, 50), "timed-out");
    const took = performance.now() - started;
    assert.ok(took >= 45 && took < 2_000, `timed out after ${took} ms`);
    assert.equal(native().futexWait(view, 0, 0, 0), "timed-out");
    assert.equal(futexWaitCore.waitSync(view, 0, 0, 10), "timed-out");
  });

  test("futex misuse throws naming the rule", T, () => {
    assert.throws(() => native().futexWait(new Float64Array(2) as unknown as Int32Array, 0, 0, 0), /Int32Array/);
    assert.throws(() => native().futexWake(view, 4, undefined), /`index` to be an integer in \[0, 4\)/);
    assert.throws(() => native().futexWaitAsync(view, -1, 0, undefined), RangeError);
  });

  test("futexWaitAsync settles at once when it need not sleep, and on a wake otherwise", T, async () => {
    assert.equal(await native().futexWaitAsync(view, 1, 5, undefined), "not-equal");
    assert.equal(await native().futexWaitAsync(view, 1, 0, 0), "timed-out");
    assert.equal(await native().futexWaitAsync(view, 1, 0, 30), "timed-out");
    const woken = native().futexWaitAsync(view, 1, 0, undefined);
    const also = native().futexWaitAsync(view, 1, 0, undefined);
    assert.equal(native().futexPending(), 2);
    // Wait until both native threads are asleep on the word, then wake them.
    let woke = 0;
    while (woke < 2) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      woke += native().futexWake(view, 1, undefined);
    }
    assert.deepEqual(await Promise.all([woken, also]), ["ok", "ok"]);
    assert.equal(native().futexPending(), 0);
  });

  test("waitCore dispatches OS-shared views to the futex and other views to Atomics", T, async () => {
    // An Atomics waiter is not woken by a futex wake and vice versa, so the pairing is observable.
    const plain = SharedRegion.create(8).int32();
    const atomicsWait = waitCore.waitAsync(plain, 0, 0, 5_000);
    assert.equal(native().futexWake(plain, 0, undefined), 0);
    assert.equal(waitCore.notify(plain, 0), 1);
    assert.equal(await atomicsWait, "ok");

    const futexWait = waitCore.waitAsync(view, 2, 0, 5_000);
    let woke = 0;
    while (woke === 0) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(atomicsWaitCore.notify(view, 2), 0);
      woke = waitCore.notify(view, 2, 1);
    }
    assert.equal(await futexWait, "ok");
    assert.equal(waitCore.waitSync(view, 2, 1), "not-equal");
    assert.equal(waitCore.waitSync(view, 2, 0, 5), "timed-out");
  });

  after(() => {
    const handle = region.handle();
    if (handle.kind === "shm") unlinkShm(handle.name);
  });
});
