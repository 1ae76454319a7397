/**
 * Soak 5: leak check. 10,000 rounds each create a Value, a Lock and a Queue,
 * send them through queues (to this thread and, every tenth round, to a worker
 * that uses them), and drop them. After a full GC the native stash (buffers kept
 * alive for messages in transit) must be back at its baseline and RSS growth must
 * stay bounded. A second phase drops 1,000 queues that still hold library objects:
 * a ring owns the stash tickets of its unread items (native allocate/stash with an
 * owner), so the stash returns to its baseline once GC frees the rings.
 *
 * RSS and glibc: each Queue's ring is 1 MiB. Rings come from mmap (native
 * `allocate`) and are unmapped when freed, so RSS measures live memory whatever
 * glibc's mmap threshold (with `new SharedArrayBuffer`, freed rings stayed in the
 * malloc heap and RSS reached ~1.5 GB unless MALLOC_MMAP_THRESHOLD_ was set).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { useObjects } from "../fixtures/soak-tasks.ts";
import { collect, eventually, memory, report, soakEnabled, soakMs, stashed, testTimeout, within, workers } from "../helpers/soak.ts";

const ROUNDS = 10_000;

/**
 * Creates `count` queues that each hold a Value and a Lock, and drops them. A
 * function of its own: an async function's suspended frame keeps its last loop
 * variables reachable, which would keep the last queue alive.
 */
function dropFullQueues(count: number): void {
  for (let i = 0; i < count; i++) {
    const queue = new mp.Queue<unknown>();
    queue.putNowait({ value: mp.Value("i", i), lock: new mp.Lock() });
  }
}

if (soakEnabled) {
  test("10,000 Values/Locks/Queues created, sent and dropped: the stash returns to baseline, RSS is bounded", testTimeout(120_000), async () => {
    await collect();
    const before = { ...workers(), stash: stashed(), ...memory() };
    const started = performance.now();
    const toWorker = new mp.Queue<unknown>();
    const fromWorker = new mp.Queue<number>();
    const viaWorker = Math.floor(ROUNDS / 10);
    const worker = new mp.Process({ target: useObjects, args: [toWorker, fromWorker, viaWorker] });
    worker.start();
    const local = new mp.Queue<unknown>();
    const rssSamples: number[] = [];
    let peakStash = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const value = mp.Value("i", i);
      const lock = new mp.Lock();
      const queue = new mp.Queue<number>();
      // Through a queue and back in this thread: the copy shares the original's memory.
      local.putNowait({ value, lock, queue, i });
      const copy = local.getNowait() as { value: mp.SynchronizedValue<"i">; lock: mp.Lock; queue: mp.Queue<number>; i: number };
      assert.equal(copy.value.value, i);
      assert.ok(copy.lock.acquireSync({ block: false }));
      assert.equal(lock.acquireSync({ block: false }), false, "the copy's lock is the original's");
      copy.lock.release();
      copy.queue.putNowait(i);
      assert.equal(queue.getNowait(), i);
      if (i % 10 === 0) {
        toWorker.putNowait({ value, lock, queue });
        // The worker adds 1 under the lock and puts the value on `queue`.
        assert.equal(await queue.get({ timeout: 10_000 }), i + 1);
        await fromWorker.get({ timeout: 10_000 });
        assert.equal(value.value, i + 1);
      }
      peakStash = Math.max(peakStash, stashed());
      if (i % 1000 === 999) {
        await collect();
        rssSamples.push(memory().rssMb);
      }
    }
    assert.ok(await within(worker.join().then(() => true), 10_000, false), "the worker finished");
    assert.equal(worker.exitCode, 0);
    toWorker.close();
    fromWorker.close();
    local.close();
    await collect();
    const afterClean = { ...workers(), stash: stashed(), ...memory() };
    const cleanSeconds = (performance.now() - started) / 1000;

    // Phase 2: queues dropped while they still hold library objects (nobody will ever get them).
    const DROPPED = 1_000;
    dropFullQueues(DROPPED);
    // Freeing a ring's memory follows the GC that finds it dead (a concurrent sweep): collect until the stash is back.
    const deadline = performance.now() + 10_000;
    do await collect();
    while (stashed() !== before.stash && performance.now() < deadline);
    const afterDropped = { stash: stashed(), ...memory() };
    const liveLeft = await eventually(() => workers().live === before.live, 5_000);

    report("leaks", {
      rounds: ROUNDS, roundsThroughWorker: viaWorker, seconds: Math.round(cleanSeconds * 10) / 10,
      stash: { baseline: before.stash, peak: peakStash, afterGc: afterClean.stash, afterDroppingFullQueues: afterDropped.stash, droppedFullQueues: DROPPED },
      rssMb: { before: before.rssMb, samples: rssSamples, afterGc: afterClean.rssMb, afterDroppingFullQueues: afterDropped.rssMb },
      heapUsedMb: { before: before.heapUsedMb, afterGc: afterClean.heapUsedMb }, externalMb: { before: before.externalMb, afterGc: afterClean.externalMb },
      mallocMmapThreshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? "glibc default (dynamic)",
      liveWorkersAfter: afterClean.live - before.live, soakSecondsKnob: soakMs() / 1000,
    });
    assert.equal(afterClean.stash, before.stash, "the native stash returns to its baseline");
    assert.equal(afterDropped.stash, before.stash, "the unread items of dropped queues are freed with them");
    const growth = afterClean.rssMb - before.rssMb;
    assert.ok(growth < 150, `RSS grew by ${growth} MB over ${ROUNDS} rounds`);
    // A leak of every round keeps growing; a bounded run levels off in its second half.
    const growthSecondHalf = rssSamples[rssSamples.length - 1]! - rssSamples[Math.floor(rssSamples.length / 2)]!;
    assert.ok(growthSecondHalf < 60, `RSS grew by ${growthSecondHalf} MB in the second half`);
    assert.ok(liveLeft, "no worker thread left");
  });
}
