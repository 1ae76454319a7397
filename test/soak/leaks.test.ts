/**
 * Soak 5: leak check. 10,000 rounds each create a Value, a Lock and a Queue,
 * send them through queues (to this thread and, every tenth round, to a worker
 * that uses them), and drop them. After a full GC the native stash (buffers kept
 * alive for messages in transit) must be back at its baseline and RSS growth must
 * stay bounded. A second phase drops queues that still hold library objects,
 * and reports what that leaves in the stash (not asserted: such tickets are never
 * discarded today, a dropped Queue does not discard the tickets of its unread items).
 *
 * RSS and glibc: each Queue's ring is 1 MiB. With glibc's default dynamic mmap
 * threshold, freed 1 MiB buffers raise the threshold, later rings come from the
 * malloc heap and freed ones stay resident: RSS climbs to ~1.5 GB for 10,000
 * queues although heap, external memory and the stash are flat. `npm run soak`
 * sets MALLOC_MMAP_THRESHOLD_=131072 so RSS measures live memory (~+50 MB);
 * the report records the setting.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { useObjects } from "../fixtures/soak-tasks.ts";
import { collect, eventually, memory, report, soakEnabled, soakMs, stashed, testTimeout, within, workers } from "../helpers/soak.ts";

const ROUNDS = 10_000;

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
    for (let i = 0; i < DROPPED; i++) {
      const queue = new mp.Queue<unknown>();
      queue.putNowait({ value: mp.Value("i", i), lock: new mp.Lock() });
    }
    await collect();
    await eventually(() => false, 200);
    await collect();
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
    // Live memory is bounded only when RSS measures it (see the header); otherwise allow glibc's retention.
    const liveRss = process.env.MALLOC_MMAP_THRESHOLD_ !== undefined;
    const growth = afterClean.rssMb - before.rssMb;
    assert.ok(growth < (liveRss ? 150 : 3_000), `RSS grew by ${growth} MB over ${ROUNDS} rounds`);
    // A leak of every round keeps growing; a bounded run levels off in its second half.
    const growthSecondHalf = rssSamples[rssSamples.length - 1]! - rssSamples[Math.floor(rssSamples.length / 2)]!;
    assert.ok(growthSecondHalf < (liveRss ? 60 : 600), `RSS grew by ${growthSecondHalf} MB in the second half`);
    assert.ok(liveLeft, "no worker thread left");
  });
}
