import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { forEachContext } from "../helpers/contexts.ts";
import { square } from "../fixtures/square.ts";
import { squareUnlessThree } from "../fixtures/raise.ts";
import { zeroFinishesLast } from "../fixtures/sleep.ts";

const T = { timeout: 60_000 };
const range = (n: number) => [...Array(n).keys()];

class SayWhenError extends Error {}
function* throwingAt(total: number, when: number) {
  if (when === -1) throw new SayWhenError("Somebody said when");
  for (let i = 0; i < total; i++) {
    if (i === when) throw new SayWhenError("Somebody said when");
    yield i;
  }
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of iterable) out.push(x);
  return out;
}

forEachContext((context) => {
  test("imap yields results in order (CPython test_imap)", T, async () => {
    await using pool = new mp.Pool({ processes: 4, context });
    assert.deepEqual(await collect(pool.imap(square, range(10))), range(10).map(square));
    const it = pool.imap(square, range(10));
    for (let i = 0; i < 10; i++) assert.deepEqual(await it.next(), { done: false, value: i * i });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    assert.deepEqual(await it.next(), { done: true, value: undefined });
    const chunked = pool.imap(square, range(1000), { chunkSize: 100 });
    for (let i = 0; i < 1000; i++) assert.equal((await chunked.next()).value, i * i);
    assert.equal((await chunked.next()).done, true);
    assert.deepEqual(await collect(pool.imap(square, [])), []);
  });

  test("imapUnordered yields every result, as they finish (CPython test_imap_unordered)", T, async () => {
    await using pool = new mp.Pool({ processes: 4, context });
    assert.deepEqual((await collect(pool.imapUnordered(square, range(10)))).sort((a, b) => a - b), range(10).map(square));
    const many = await collect(pool.imapUnordered(square, range(1000), { chunkSize: 100 }));
    assert.deepEqual(many.sort((a, b) => a - b), range(1000).map(square));
    // a slow first item comes last
    const order = await collect(pool.imapUnordered((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [800, 10]));
    assert.deepEqual(order, [10, 800]);
  });

  test("imap raises the input's error at its place (CPython test_imap_handle_iterable_exception)", T, async () => {
    await using pool = new mp.Pool({ processes: 4, context });
    await assert.rejects(pool.imap(square, throwingAt(1, -1), { chunkSize: 1 }).next(), SayWhenError);
    await assert.rejects(pool.imap(square, throwingAt(1, -1), { chunkSize: 1 }).next(), SayWhenError);
    let it = pool.imap(square, throwingAt(10, 3), { chunkSize: 1 });
    for (let i = 0; i < 3; i++) assert.equal((await it.next()).value, i * i);
    await assert.rejects(it.next(), SayWhenError);
    assert.equal((await it.next()).done, true);
    it = pool.imap(square, throwingAt(20, 7), { chunkSize: 2 });
    for (let i = 0; i < 6; i++) assert.equal((await it.next()).value, i * i);
    await assert.rejects(it.next(), SayWhenError);
    it = pool.imap(square, throwingAt(20, 7), { chunkSize: 4 });
    for (let i = 0; i < 4; i++) assert.equal((await it.next()).value, i * i);
    await assert.rejects(it.next(), SayWhenError);
  });

  test("imapUnordered raises the input's error (CPython test_imap_unordered_handle_iterable_exception)", T, async () => {
    await using pool = new mp.Pool({ processes: 4, context });
    await assert.rejects(pool.imapUnordered(square, throwingAt(1, -1), { chunkSize: 1 }).next(), SayWhenError);
    for (const [total, when, chunkSize] of [[10, 3, 1], [20, 7, 2]] as const) {
      const expected = range(total).map(square);
      await assert.rejects(async () => {
        for await (const value of pool.imapUnordered(square, throwingAt(total, when), { chunkSize })) {
          const index = expected.indexOf(value);
          assert.ok(index >= 0);
          expected.splice(index, 1);
        }
      }, SayWhenError);
    }
  });

  test("a task's error is raised at its place and iteration may go on", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const it = pool.imap(squareUnlessThree, range(6));
    for (let i = 0; i < 3; i++) assert.equal((await it.next()).value, i * i);
    await assert.rejects(it.next(), { name: "RangeError", message: "three is not allowed" });
    assert.equal((await it.next()).value, 16);
    assert.equal((await it.next()).value, 25);
    assert.equal((await it.next()).done, true);
  });

  test("next(timeout) rejects with TimeoutError when nothing arrives in time; the result is not lost", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const it = pool.imap(square, []);
    assert.equal((await it.next(10)).done, true);
    const slow = pool.imap((x: number) => new Promise((r) => setTimeout(() => r(x * 10), 500)), [1, 2]);
    await assert.rejects(slow.next(50), (error: unknown) => {
      assert.ok(error instanceof mp.TimeoutError);
      assert.match((error as Error).message, /50 ms/);
      return true;
    });
    assert.deepEqual(await slow.next(5000), { done: false, value: 10 });
    assert.deepEqual(await slow.next(), { done: false, value: 20 });
  });

  test("imap streams a 10-million-item generator with a bounded read-ahead", { timeout: 180_000 }, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    const total = 10_000_000;
    const chunkSize = 20_000;
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    function* numbers() {
      for (let i = 0; i < total; i++) {
        produced++;
        maxAhead = Math.max(maxAhead, produced - consumed);
        yield i % 1000;
      }
    }
    let sum = 0;
    for await (const value of pool.imap(square, numbers(), { chunkSize })) {
      consumed++;
      sum += value;
    }
    assert.equal(consumed, total);
    let expected = 0;
    for (let i = 0; i < 1000; i++) expected += i * i;
    assert.equal(sum, expected * (total / 1000));
    assert.ok(maxAhead <= 32 * chunkSize, `read ${maxAhead} items ahead of the consumer`);
  });

  test("imap reads ahead only a bounded number of chunks, from sync and async inputs", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    for (const makeInput of [
      (counter: { n: number }) =>
        (function* () {
          for (;;) {
            counter.n++;
            yield counter.n;
          }
        })(),
      (counter: { n: number }) =>
        (async function* () {
          for (;;) {
            counter.n++;
            yield counter.n;
          }
        })(),
    ]) {
      const counter = { n: 0 };
      let finished = false;
      const input = makeInput(counter);
      const wrapped = {
        [Symbol.iterator]: undefined,
        [Symbol.asyncIterator]: () => ({
          next: () => Promise.resolve(input.next()),
          return: () => {
            finished = true;
            return Promise.resolve({ done: true as const, value: undefined });
          },
        }),
      } as unknown as AsyncIterable<number>;
      const it = pool.imap(square, wrapped, { chunkSize: 3 });
      for (let i = 1; i <= 20; i++) assert.equal((await it.next()).value, i * i);
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.ok(counter.n <= 20 + 16 * 3, `read ${counter.n} items for 20 consumed`);
      await it.return();
      assert.equal(finished, true, "return() closes the input");
    }
  });

  test("breaking out of imap releases the window: close() and join() do not deadlock", T, async () => {
    const pool = new mp.Pool({ processes: 2, context });
    let closed = false;
    function* forever() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    for await (const value of pool.imap(square, forever())) {
      if (value >= 25) break;
    }
    assert.equal(closed, true);
    pool.close();
    await pool.join();
  });

  test("close() releases the window of an unconsumed imap: join() waits for the work, not the consumer", T, async () => {
    const pool = new mp.Pool({ processes: 2, context });
    let read = 0;
    function* hundred() {
      for (let i = 0; i < 100; i++) {
        read++;
        yield i;
      }
    }
    const it = pool.imap(square, hundred());
    assert.equal((await it.next()).value, 0);
    assert.ok(read < 100);
    pool.close();
    await pool.join();
    assert.equal(read, 100, "close() lets the whole input run, as in CPython");
    const rest = await collect(it);
    assert.deepEqual(rest, range(100).slice(1).map(square));
  });

  test("terminate() rejects a waiting imap consumer and stops reading its input", T, async () => {
    const pool = new mp.Pool({ processes: 2, context });
    const it = pool.imap((ms: number) => new Promise((r) => setTimeout(r, ms)), [20_000]);
    const slow = pool.imap((ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), [20_000, 20_000, 20_000]);
    const waiting = assert.rejects(slow.next(), /terminated/);
    await pool.terminate();
    await waiting;
    await assert.rejects(it.next(), /terminated/);
    await pool.join();
  });

  test("imap accepts AsyncIterable input", T, async () => {
    await using pool = new mp.Pool({ processes: 2, context });
    async function* gen() {
      for (let i = 0; i < 30; i++) {
        if (i % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        yield i;
      }
    }
    assert.deepEqual(await collect(pool.imap(square, gen(), { chunkSize: 4 })), range(30).map(square));
    assert.deepEqual((await collect(pool.imapUnordered(square, gen()))).sort((a, b) => a - b), range(30).map(square));
  });

  test("imap whose input ends while a result is taken, the last chunk first in line (issue 7.1)", T, async () => {
    // 8 items = the read-ahead window of Pool(2): taking chunk 0, which lands last,
    // reads the end of the input, which used to drain the only waiter from inside the drain.
    await using pool = new mp.Pool({ processes: 2, context });
    assert.deepEqual(await collect(pool.imap(zeroFinishesLast, range(8))), range(8));
    const unordered = await collect(pool.imapUnordered(zeroFinishesLast, range(8)));
    assert.deepEqual(unordered.sort((a, b) => a - b), range(8));
    assert.equal(unordered.length, 8);
  });
});
