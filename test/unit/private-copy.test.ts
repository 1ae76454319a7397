import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { native } from "../../src/util/native.ts";
import { settle } from "../helpers/gc.ts";

const T = { timeout: 30_000 };

function pattern(length: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 31 + seed) & 0xff;
  return bytes;
}

test("privateCopy: every byte of any length and alignment, in a buffer of exactly that length", T, () => {
  // Lengths around the 128-byte steps of the streamed copy and the size classes; sources at odd offsets.
  for (const length of [1, 127, 128, 129, 65_536, 65_537, 100_000, 131_072 + 77, (1 << 20) - 1]) {
    const backing = pattern(length + 5, length);
    const source = backing.subarray(3, 3 + length);
    const copy = native().privateCopy(source);
    assert.ok(copy instanceof ArrayBuffer);
    assert.equal(copy.byteLength, length);
    assert.deepEqual(new Uint8Array(copy), source, `length ${length}`);
  }
  assert.equal(native().privateCopy(new ArrayBuffer(0)).byteLength, 0);
  const shared = new Float64Array(new SharedArrayBuffer(80_000)).fill(2.5);
  assert.deepEqual(new Float64Array(native().privateCopy(shared)), shared, "a SharedArrayBuffer view is copied out too");
  assert.throws(() => native().privateCopy(42 as never), /privateCopy expects an ArrayBuffer/);
});

test("privateCopy: a block dropped in a worker thread it was transferred to is reused, and unmapped once idle", T, async () => {
  const worker = new Worker(
    `const { parentPort } = require("node:worker_threads");
     parentPort.on("message", (array) => parentPort.postMessage(array.reduce((a, b) => a + b, 0)));`,
    { eval: true },
  );
  try {
    // No block in use anywhere (the first test's copies collected), so none is freed behind the counts read below.
    assert.ok(await settle(() => native().privateBlocks()[0] === 0), "the first test's copies are freed");
    const source = new Float64Array(128 * 1024).fill(1);
    for (let i = 0; i < 8; i++) {
      const copy = new Float64Array(native().privateCopy(source));
      const sum = new Promise((resolve) => worker.once("message", resolve));
      worker.postMessage(copy, [copy.buffer]);
      assert.equal(copy.length, 0, "transferred: the caller's view is detached");
      assert.equal(await sum, source.length);
    }
    // The worker still holds the arrays until its GC; terminating it frees them all.
    await worker.terminate();
    assert.ok(await settle(() => native().privateBlocks()[0] === 0), `blocks still in use: ${native().privateBlocks()[0]}`);
    const [, free] = native().privateBlocks();
    assert.ok(free >= 1, "the blocks wait for reuse");
    const again = native().privateCopy(source);
    const [inUse, freeAfter] = native().privateBlocks();
    assert.equal(inUse, 1);
    // One fewer (or fewer still, if the sweeper unmapped some meanwhile on a very slow machine).
    assert.ok(freeAfter <= free - 1, "the next copy of that size takes a free block");
    assert.equal(new Float64Array(again)[12345], 1);
    // Idle for two seconds, every free block is unmapped (the sweeper looks once a second).
    assert.ok(await settle(() => native().privateBlocks()[1] === 0, 20_000), `free blocks left: ${native().privateBlocks()[1]}`);
  } finally {
    await worker.terminate();
  }
});
