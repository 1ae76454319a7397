import assert from "node:assert/strict";
import { test } from "node:test";
import { copiesToTransfer, warmCopies } from "../../src/wire/copy-to-transfer.ts";
import { native } from "../../src/util/native.ts";

const T = { timeout: 10_000 };

test("big typed arrays and ArrayBuffers become copies to transfer; the originals stay as they were", T, () => {
  const big = new Float64Array(1024).map((_, i) => i);
  const raw = new ArrayBuffer(4096);
  const small = new Int32Array(4);
  const items = [[big, small, "x"], raw, big, 7];
  const moved = copiesToTransfer(items, 1024);
  assert.ok(moved);
  const [args, rawCopy, again] = moved.items as [unknown[], ArrayBuffer, Float64Array];
  assert.notEqual(args[0], big, "a copy, not the caller's array");
  assert.ok(args[0] instanceof Float64Array);
  assert.deepEqual(args[0], big);
  assert.equal(args[1], small, "small arrays are left to postMessage");
  assert.equal(again, args[0], "the same array met twice is one copy, as structured clone keeps one object");
  assert.notEqual(rawCopy, raw);
  assert.equal(rawCopy.byteLength, 4096);
  assert.equal(moved.transfer.length, 2);
  // Transferring the copies leaves the caller's objects whole.
  structuredClone(moved.items, { transfer: moved.transfer });
  assert.equal(big.length, 1024);
  assert.equal(raw.byteLength, 4096);
  assert.deepEqual(items[0], [big, small, "x"], "the items given are not changed");
});

test("nothing to copy: null; shared memory is never copied", T, () => {
  assert.equal(copiesToTransfer([1, "a", [new Uint8Array(8)]], 1024), null);
  assert.equal(copiesToTransfer([new Float64Array(new SharedArrayBuffer(8192))], 1024), null);
  assert.equal(copiesToTransfer([Buffer.alloc(8192)], 1024), null, "a Buffer keeps postMessage's own handling");
});

test("a copy holds exactly the array's elements in a buffer of its own size, for a view into a bigger buffer too", T, () => {
  const backing = new ArrayBuffer(64 * 1024);
  new Uint8Array(backing).forEach((_, i, a) => (a[i] = i & 0xff));
  const view = new Int16Array(backing, 1000, 2048);
  const big = new BigInt64Array(512).map((_, i) => BigInt(i) * -3n);
  const moved = copiesToTransfer([view, big, backing], 1024);
  assert.ok(moved);
  const [viewCopy, bigCopy, backingCopy] = moved.items as [Int16Array, BigInt64Array, ArrayBuffer];
  assert.ok(viewCopy instanceof Int16Array);
  assert.equal(viewCopy.byteOffset, 0);
  assert.equal(viewCopy.buffer.byteLength, view.byteLength, "the copy's buffer is its own size, not the backing buffer's");
  assert.deepEqual(viewCopy, view);
  assert.deepEqual(bigCopy, big);
  assert.deepEqual(new Uint8Array(backingCopy), new Uint8Array(backing));
});

test("warmCopies reads the big arrays of a task's items, any kind of item beside them, and changes nothing", T, () => {
  const big = new Float64Array(128 * 1024).map((_, i) => i);
  const raw = new ArrayBuffer(200_000);
  const items = [[big, 1, "x", null], raw, new Float64Array(new SharedArrayBuffer(80_000)), { big }, 7, undefined, new Uint8Array(10)];
  const before = structuredClone(items);
  warmCopies(items);
  assert.deepEqual(items, before);
  assert.equal(big[12345], 12345);
  assert.throws(() => native().warm(5 as never), /warm expects/);
});
