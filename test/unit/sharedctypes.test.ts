/** Value, RawValue, Array, RawArray in one thread: typecodes, conversions, indexing (CPython's _TestValue/_TestArray basics). */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as mp from "multiproc";

const T = { timeout: 20_000 };

describe("Value", () => {
  test("typecodes and initial values (test_value)", T, () => {
    const cases: [mp.Typecode, unknown, unknown][] = [
      ["i", 25, 250], ["d", 3.625, -4.25], ["h", -232, 234], ["q", 2n ** 33n, 2n ** 34n], ["c", "x", "y"],
      ["b", -1, 127], ["B", 255, 0], ["H", 65535, 1], ["I", 4294967295, 7], ["L", 2n ** 64n - 1n, 0n], ["f", 0.5, 1.5],
    ];
    for (const [code, initial, next] of cases) {
      const v = mp.Value(code, initial as never);
      assert.equal(v.value, initial, `typecode ${code}`);
      v.value = next as never;
      assert.equal(v.value, next, `typecode ${code}`);
      const raw = mp.RawValue(code, initial as never);
      assert.equal(raw.value, initial, `raw typecode ${code}`);
    }
  });

  test("defaults to zero", T, () => {
    assert.equal(mp.Value("i").value, 0);
    assert.equal(mp.Value("q").value, 0n);
    assert.equal(mp.Value("d").value, 0);
    assert.equal(mp.Value("c").value, "\0");
  });

  test("a wrong typecode throws a TypeError listing the valid ones", T, () => {
    assert.throws(() => mp.Value("x" as mp.Typecode), { name: "TypeError", message: /b, B, h, H, i, I, l, q, L, Q, f, d, c/ });
    assert.throws(() => mp.Array("u" as mp.Typecode, 3), TypeError);
    assert.throws(() => mp.RawArray("z" as mp.Typecode, 3), TypeError);
  });

  test("wrong value types throw", T, () => {
    const v = mp.Value("i", 0);
    assert.throws(() => { v.value = 1.5; }, TypeError);
    assert.throws(() => { (v as { value: unknown }).value = "1"; }, TypeError);
    const q = mp.Value("q", 0n);
    assert.throws(() => { (q as { value: unknown }).value = 1.5; }, TypeError);
    q.value = 5 as unknown as bigint; // a safe integer number is accepted for 64-bit types
    assert.equal(q.value, 5n);
  });

  test("getLock, withLock, lock options (test_getobj_getlock)", T, async () => {
    const v = mp.Value("i", 5);
    assert.ok(v.getLock() instanceof mp.RLock);
    await v.withLock(() => { v.value += 1; });
    assert.equal(v.value, 6);
    assert.equal(v.getObj().value, 6);

    const lock = new mp.Lock();
    const shared = mp.Value("i", 1, { lock });
    assert.equal(shared.getLock(), lock);

    const raw = mp.Value("i", 3, { lock: false });
    assert.equal("getLock" in raw, false);
    assert.equal(raw.value, 3);
    assert.throws(() => mp.Value("i", 0, { lock: "yes" as unknown as boolean }), TypeError);
  });
});

describe("Array", () => {
  test("indexing, negative indexes, length, iteration, slices (test_array)", T, () => {
    const seq = [680, 626, 934, 821, 150, 233, 548, 982, 714, 831];
    const arr = mp.Array("i", seq);
    assert.equal(arr.length, seq.length);
    assert.equal(arr[3], seq[3]);
    assert.equal(arr[-1], 831);
    assert.deepEqual([...arr], seq);
    assert.deepEqual(arr.slice(2, 5), seq.slice(2, 5));
    assert.deepEqual(arr.toArray(), seq);
    arr[3] = 1;
    arr[-2] = 2;
    assert.equal(arr[3], 1);
    assert.equal(arr[8], 2);
    assert.throws(() => arr[10], RangeError);
    assert.throws(() => { arr[10] = 1; }, RangeError);
    assert.equal(3 in arr, true);
    assert.equal(10 in arr, false);
    assert.deepEqual(Object.keys(arr).slice(0, 3), ["0", "1", "2"]);
  });

  test("a size gives zeros (test_array_from_size)", T, () => {
    const arr = mp.Array("d", 5);
    assert.deepEqual(arr.toArray(), [0, 0, 0, 0, 0]);
    const big = mp.Array("q", 2);
    assert.deepEqual(big.toArray(), [0n, 0n]);
  });

  test("a char array from a string, with .value (test_array_accepts_long / c arrays)", T, () => {
    const arr = mp.Array("c", "hello");
    assert.equal(arr.length, 5);
    assert.equal(arr[0], "h");
    arr[0] = "j";
    assert.equal(arr.value, "jello");
  });

  test("getLock, withLock, getObj (test_getobj_getlock_obj)", T, async () => {
    const arr = mp.Array("i", 3);
    assert.ok(arr.getLock() instanceof mp.RLock);
    await arr.withLock(() => { arr[0] += 5; });
    assert.equal(arr[0], 5);
    assert.ok(arr.getObj() instanceof Int32Array);
    assert.equal(arr.getObj().buffer instanceof SharedArrayBuffer, true);
    const raw = mp.Array("i", 3, { lock: false });
    assert.ok(raw instanceof Int32Array);
  });

  test("RawArray is a typed array over shared memory", T, () => {
    const raw = mp.RawArray("d", [1, 2, 3]);
    assert.ok(raw instanceof Float64Array);
    assert.ok(raw.buffer instanceof SharedArrayBuffer);
    assert.deepEqual([...raw], [1, 2, 3]);
    assert.ok(mp.RawArray("Q", 2) instanceof BigUint64Array);
    assert.ok(mp.RawArray("c", "ab") instanceof Uint8Array);
    assert.throws(() => mp.RawArray("i", -1), RangeError);
  });
});
