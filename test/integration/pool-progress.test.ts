/** Observability (issue 12, item 7): `onProgress(done, total)` on map and imap calls, and stats().perWorker, on both worker kinds. */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { square } from "../fixtures/square.ts";

const T = { timeout: 60_000 };

forEachContext((context) => {
  test("onProgress: map reports items done as chunks finish, up to the total; imap too", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const seen: [number, number | undefined][] = [];
    const items = Array.from({ length: 100 }, (_, i) => i);
    const out = await pool.map(square, items, { chunkSize: 10, onProgress: (done, total) => seen.push([done, total]) });
    assert.deepEqual(out, items.map((x) => x * x));
    assert.equal(seen.length, 10, "once per chunk");
    assert.deepEqual(seen.map(([done]) => done), [10, 20, 30, 40, 50, 60, 70, 80, 90, 100], "done only grows");
    assert.ok(seen.every(([, total]) => total === 100));

    const imapSeen: [number, number | undefined][] = [];
    const got: number[] = [];
    for await (const value of pool.imap(square, items, { chunkSize: 25, onProgress: (done, total) => imapSeen.push([done, total]) })) got.push(value);
    assert.equal(got.length, 100);
    assert.deepEqual(imapSeen.at(-1), [100, 100]);
    function* generated(): Generator<number> {
      yield* [1, 2, 3];
    }
    let last: [number, number | undefined] | undefined;
    for await (const _ of pool.imapUnordered(square, generated(), { onProgress: (done, total) => (last = [done, total]) })) void _;
    assert.deepEqual(last, [3, undefined], "an input that is not an array has no total");
  });

  test("onProgress: a hook that throws fails the call with its error; the pool goes on", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const boom = new Error("progress hook failed");
    await assert.rejects(
      pool.map(square, [1, 2, 3, 4], { chunkSize: 1, onProgress: () => {
        throw boom;
      } }),
      (error: unknown) => error === boom,
    );
    assert.throws(() => pool.mapAsync(square, [1], { onProgress: 5 as never }), /`onProgress` to be a function/);
    assert.deepEqual(await pool.map(square, [3]), [9]);
  });

  test("stats().perWorker: each worker's name, the tasks it holds and the ones it finished", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    await pool.map(square, Array.from({ length: 40 }, (_, i) => i), { chunkSize: 1 });
    const { perWorker, completed } = pool.stats();
    assert.equal(perWorker.length, 2);
    for (const worker of perWorker) {
      assert.match(worker.name, /^PoolWorker-\d+$/);
      assert.equal(worker.running, 0);
    }
    assert.equal(perWorker.reduce((sum, worker) => sum + worker.done, 0), completed);
    assert.equal(completed, 40);
  });
});
