/** Acceptance: Value, RawValue, Array, RawArray for every typecode (CPython _TestValue, _TestArray). */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { addToValue, doubleArray, readValue, setValue, sumArray } from "./fixtures/shared-workers.ts";

const T = { timeout: 40_000 };

type Code = "b" | "B" | "h" | "H" | "i" | "I" | "l" | "q" | "L" | "Q" | "f" | "d" | "c";
const CASES: { code: Code; zero: unknown; sample: unknown; ctor: Function; wrapIn?: unknown; wrapOut?: unknown }[] = [
  { code: "b", zero: 0, sample: -7, ctor: Int8Array, wrapIn: 200, wrapOut: -56 },
  { code: "B", zero: 0, sample: 250, ctor: Uint8Array, wrapIn: 257, wrapOut: 1 },
  { code: "h", zero: 0, sample: -30_000, ctor: Int16Array, wrapIn: 40_000, wrapOut: -25_536 },
  { code: "H", zero: 0, sample: 65_000, ctor: Uint16Array, wrapIn: -1, wrapOut: 65_535 },
  { code: "i", zero: 0, sample: -2_000_000_000, ctor: Int32Array, wrapIn: 2 ** 31, wrapOut: -(2 ** 31) },
  { code: "I", zero: 0, sample: 4_000_000_000, ctor: Uint32Array, wrapIn: -1, wrapOut: 2 ** 32 - 1 },
  { code: "l", zero: 0n, sample: -(2n ** 62n), ctor: BigInt64Array, wrapIn: 2n ** 63n, wrapOut: -(2n ** 63n) },
  { code: "q", zero: 0n, sample: 2n ** 62n, ctor: BigInt64Array },
  { code: "L", zero: 0n, sample: 2n ** 64n - 1n, ctor: BigUint64Array, wrapIn: -1n, wrapOut: 2n ** 64n - 1n },
  { code: "Q", zero: 0n, sample: 12345678901234567890n, ctor: BigUint64Array },
  { code: "f", zero: 0, sample: Math.fround(0.1), ctor: Float32Array, wrapIn: 0.1, wrapOut: Math.fround(0.1) },
  { code: "d", zero: 0, sample: 0.1, ctor: Float64Array },
];

test("Value: every numeric typecode, default zero, initial value, C wrap-around (test_value)", T, () => {
  for (const c of CASES) {
    assert.equal(mp.Value(c.code).value, c.zero, `${c.code} default`);
    const v = mp.Value(c.code, c.sample as never);
    assert.equal(v.value, c.sample, `${c.code} initial`);
    (v as { value: unknown }).value = c.zero;
    assert.equal(v.value, c.zero, `${c.code} set`);
    if (c.wrapIn !== undefined) {
      (v as { value: unknown }).value = c.wrapIn;
      assert.equal(v.value, c.wrapOut, `${c.code} wraps like C`);
    }
    const raw = mp.RawValue(c.code, c.sample as never);
    assert.equal(raw.value, c.sample, `${c.code} RawValue`);
  }
});

test("Value('c') holds one byte as a one-character string", T, () => {
  const v = mp.Value("c", "x");
  assert.equal(v.value, "x");
  v.value = "y";
  assert.equal(v.value, "y");
  assert.equal(mp.RawValue("c").value, "\x00");
});

test("Value: invalid typecode is a TypeError naming it", T, () => {
  assert.throws(() => mp.Value("z" as never), (e: unknown) => e instanceof TypeError && /typecode/.test((e as Error).message));
  assert.throws(() => mp.RawArray("x" as never, 2), TypeError);
});

test("Value: getLock/withLock; lock: false gives a raw value; RawValue has no lock (test_getobj_getlock)", T, async () => {
  const v = mp.Value("i", 1);
  const lock = v.getLock();
  assert.equal(await lock.acquire(), true);
  lock.release();
  assert.equal(await v.withLock(() => v.value + 1), 2);
  const raw = mp.Value("i", 3, { lock: false });
  assert.equal(raw.value, 3);
  assert.equal((raw as unknown as { getLock?: unknown }).getLock, undefined);
  assert.equal((mp.RawValue("i") as unknown as { getLock?: unknown }).getLock, undefined);
});

test("Value: increments from 2 workers under withLock are exact", T, async () => {
  const v = mp.Value("i", 0);
  const ps = [0, 1].map(() => new mp.Process({ target: addToValue, args: [v, 500], context: "thread" }));
  for (const p of ps) p.start();
  for (const p of ps) await p.join();
  assert.equal(v.value, 1_000);
});

test("Value and RawValue of every typecode are shared with workers", T, async () => {
  await using pool = new mp.Pool(1);
  for (const c of [...CASES, { code: "c" as Code, sample: "z", zero: "\x00" }]) {
    const v = mp.Value(c.code, c.sample as never);
    assert.equal(await pool.apply(readValue, [v]), c.sample, `${c.code} read in worker`);
    await pool.apply(setValue, [v, c.zero]);
    assert.equal(v.value, c.zero, `${c.code} written by worker`);
    const raw = mp.RawValue(c.code, c.zero as never);
    await pool.apply(setValue, [raw, c.sample]);
    assert.equal(raw.value, c.sample, `${c.code} RawValue written by worker`);
  }
});

test("Array: size or values, indexing, negative index, length, iteration, bounds (test_array)", T, () => {
  for (const c of CASES) {
    const a = mp.Array(c.code, 3);
    assert.equal(a.length, 3);
    assert.deepEqual([...a], [c.zero, c.zero, c.zero], `${c.code} zeroed`);
    a[1] = c.sample as never;
    assert.equal(a[1], c.sample);
    assert.equal(a[-2], c.sample, `${c.code} negative index`);
    const b = mp.Array(c.code, [c.sample, c.zero] as never);
    assert.equal(b.length, 2);
    assert.deepEqual([...b], [c.sample, c.zero]);
  }
  const a = mp.Array("i", [1, 2, 3]);
  assert.throws(() => a[3], RangeError); // Python: IndexError
  assert.throws(() => {
    a[3] = 1;
  }, RangeError);
  assert.deepEqual([...mp.Array("c", 2)], ["\x00", "\x00"]);
});

test("Array: getLock/withLock; lock: false", T, async () => {
  const a = mp.Array("d", [1, 2]);
  assert.equal(await a.withLock(() => a[0]! + a[1]!), 3);
  assert.equal(await a.getLock().acquire({ block: false }), true);
  a.getLock().release();
  const r = mp.Array("d", [1, 2], { lock: false });
  assert.equal(r[1], 2);
});

test("RawArray is a typed array over shared memory (every typecode)", T, () => {
  for (const c of CASES) {
    const r = mp.RawArray(c.code, 4);
    assert.ok(r instanceof (c.ctor as new () => unknown), `${c.code} is ${c.ctor.name}`);
    assert.ok(r.buffer instanceof SharedArrayBuffer, `${c.code} over a SharedArrayBuffer`);
    assert.equal(r.length, 4);
    const r2 = mp.RawArray(c.code, [c.sample, c.zero] as never);
    assert.equal(r2[0], c.sample);
  }
  const rc = mp.RawArray("c", 2);
  assert.ok(rc instanceof Uint8Array);
});

test("Array and RawArray are shared with workers", T, async () => {
  const a = mp.Array("i", [1, 2, 3, 4]);
  const raw = mp.RawArray("d", [0.5, 1.5]);
  const big = mp.Array("q", [1n, 2n]);
  const p = new mp.Process({ target: doubleArray, args: [a] });
  p.start();
  await p.join();
  assert.deepEqual([...a], [2, 4, 6, 8]);
  await using pool = new mp.Pool({ processes: 1, context: "thread" });
  await pool.apply(doubleArray, [raw]);
  assert.deepEqual([...raw], [1, 3]);
  assert.equal(await pool.apply(sumArray, [a]), 20);
  assert.equal(await pool.apply(readValue, [{ value: big[1] }]), 2n);
});
