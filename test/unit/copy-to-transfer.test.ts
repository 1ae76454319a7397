import assert from "node:assert/strict";
import { test } from "node:test";
import { copiesToTransfer } from "../../src/wire/copy-to-transfer.ts";

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
