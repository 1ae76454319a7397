import assert from "node:assert/strict";
import { test } from "node:test";
import { chunkCount, defaultChunkSize, readAheadWindow } from "../../src/pool/chunking.ts";

/** CPython: chunksize, extra = divmod(len(iterable), len(self._pool) * 4); if extra: chunksize += 1 */
function cpython(length: number, processes: number): number {
  if (length === 0) return 0;
  const size = Math.floor(length / (processes * 4));
  return length % (processes * 4) ? size + 1 : size;
}

test("map's default chunk size is CPython's", { timeout: 5_000 }, () => {
  assert.equal(defaultChunkSize(0, 4), 0);
  assert.equal(defaultChunkSize(1, 4), 1);
  assert.equal(defaultChunkSize(10, 4), 1);
  assert.equal(defaultChunkSize(16, 4), 1);
  assert.equal(defaultChunkSize(17, 4), 2);
  assert.equal(defaultChunkSize(100, 4), 7);
  assert.equal(defaultChunkSize(1000, 2), 125);
  assert.equal(defaultChunkSize(1001, 2), 126);
  for (let processes = 1; processes <= 9; processes++) {
    for (let length = 0; length <= 500; length++) assert.equal(defaultChunkSize(length, processes), cpython(length, processes));
  }
});

test("chunk counts and the imap window", { timeout: 5_000 }, () => {
  assert.equal(chunkCount(0, 0), 0);
  assert.equal(chunkCount(10, 3), 4);
  assert.equal(chunkCount(9, 3), 3);
  assert.ok(readAheadWindow(1) >= 2);
  assert.equal(readAheadWindow(4), 16);
});
