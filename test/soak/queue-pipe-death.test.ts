/**
 * Soak 3: Queue and Pipe while their producers and consumers are terminated at
 * random moments. Survivors (and replacements) must keep moving messages; no
 * message may arrive twice; a message is lost only when its consumer dies with it.
 *
 * Known limitation, measured here rather than hidden: the ring's producer and
 * consumer mutexes are not recovered when their holder dies, so a worker killed
 * inside the ring's critical section leaves the queue stuck for everyone. The
 * soak detects that with a progress deadline (it never waits forever), reports
 * it as `stuck`, and goes on with a fresh queue.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { consumeIds, produceIds, receiveCounting, sendCounting } from "../fixtures/soak-tasks.ts";
import { collect, eventually, memory, random, report, soakEnabled, soakMs, stashed, testTimeout, within, workers } from "../helpers/soak.ts";

const CAP = 16 * 1024 * 1024;
const PROGRESS_MS = 3_000;

const i32 = (n: number) => new Int32Array(new SharedArrayBuffer(4 * n));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function stop(p: mp.Process, how: "terminate" | "kill" = "terminate"): Promise<boolean> {
  if (p.exitCode === null) p[how]();
  return (await within(p.join().then(() => true), 10_000, false)) === true;
}

if (soakEnabled) {
  test("Queue: producers and consumers terminated at random; survivors keep moving messages", testTimeout(90_000), async () => {
    const rng = random("queue-death");
    await collect();
    const before = { ...workers(), stash: stashed(), ...memory() };
    const next = i32(1);
    const put = i32(1);
    const got = i32(1);
    const seen = new Uint8Array(new SharedArrayBuffer(CAP));
    const deadline = performance.now() + soakMs();
    const stuck: { epoch: number; victim: string; afterKills: number; qsize: number }[] = [];
    let kills = { producer: 0, consumer: 0 };
    let epoch = 0;
    let drained = 0;
    let unjoinable = 0;

    while (performance.now() < deadline) {
      epoch++;
      const queue = new mp.Queue<number>();
      const stopFlag = i32(1);
      const start = (role: "producer" | "consumer") => {
        const p = role === "producer"
          ? new mp.Process({ target: produceIds, args: [queue, next, put, stopFlag, CAP] })
          : new mp.Process({ target: consumeIds, args: [queue, seen, got] });
        p.start();
        return p;
      };
      const team = { producer: [start("producer"), start("producer")], consumer: [start("consumer"), start("consumer")] };
      let killsThisEpoch = 0;
      let healthy = true;
      while (healthy && performance.now() < deadline) {
        await sleep(rng.int(20, 300));
        const role = rng.next() < 0.5 ? "producer" : "consumer";
        const slot = rng.int(0, 1);
        if (!(await stop(team[role][slot]!))) unjoinable++;
        kills[role]++;
        killsThisEpoch++;
        team[role][slot] = start(role);
        // Progress: the consumers take new messages within PROGRESS_MS.
        const mark = Atomics.load(got, 0);
        if (!(await eventually(() => Atomics.load(got, 0) > mark + 100 || Atomics.load(next, 0) >= CAP, PROGRESS_MS))) {
          stuck.push({ epoch, victim: role, afterKills: killsThisEpoch, qsize: queue.qsize() });
          healthy = false;
        }
      }
      // Wind down: producers stop, consumers get one pill each, the rest is drained here.
      Atomics.store(stopFlag, 0, 1);
      for (const p of team.producer) if (!(await stop(p).then(() => true))) unjoinable++;
      if (healthy) {
        for (let i = 0; i < team.consumer.length; i++) {
          if ((await within(queue.put(-1, { timeout: 5_000 }).then(() => true), 6_000, false)) === false) healthy = false;
        }
        for (const p of team.consumer) {
          if ((await within(p.join().then(() => true), 10_000, false)) === false) {
            healthy = false;
            await stop(p, "kill");
          }
        }
        for (;;) {
          let id: number;
          try {
            id = queue.getNowait();
          } catch (error) {
            if (error instanceof mp.Empty) break;
            throw error;
          }
          if (id >= 0) {
            Atomics.add(seen, id, 1);
            drained++;
          }
        }
      } else {
        for (const p of team.consumer) await stop(p, "kill");
      }
      queue.close();
    }

    const ids = Math.min(Atomics.load(next, 0), CAP);
    let duplicates = 0;
    let received = 0;
    for (let id = 0; id < ids; id++) {
      if (seen[id]! > 1) duplicates++;
      if (seen[id]! > 0) received++;
    }
    await collect();
    const liveLeft = await eventually(() => workers().live === before.live, 5_000);
    const after = { ...workers(), stash: stashed(), ...memory() };
    const lost = Atomics.load(put, 0) - received;
    report("queue-death", {
      seed: rng.seed, seconds: soakMs() / 1000, epochs: epoch, messagesPut: Atomics.load(put, 0), messagesMoved: Atomics.load(got, 0),
      drainedByMain: drained, duplicates, lostWithKilledConsumers: lost, kills, stuck, unjoinable,
      workersStarted: after.started - before.started, liveAfter: after.live - before.live, stash: [before.stash, after.stash],
      rssMb: [before.rssMb, after.rssMb], heapUsedMb: [before.heapUsedMb, after.heapUsedMb],
    });
    assert.equal(duplicates, 0, "no message arrives twice");
    // A put that returned just before its producer died is not counted in `put`; a consumer killed
    // between getSync and its count loses that message: each kill accounts for at most one of each.
    assert.ok(lost <= kills.consumer && lost >= -kills.producer, `lost ${lost} messages with ${kills.consumer} consumer kills`);
    assert.ok(Atomics.load(got, 0) > 0, "messages moved");
    assert.equal(unjoinable, 0, "every terminated worker exited");
    assert.ok(liveLeft, "no worker thread left");
  });

  test("Pipe: the sender or the receiver terminated at random; the other end sees EOF or EPIPE", testTimeout(90_000), async () => {
    const rng = random("pipe-death");
    await collect();
    const before = { ...workers(), stash: stashed(), ...memory() };
    const deadline = performance.now() + soakMs();
    let rounds = 0;
    let moved = 0;
    let orderBreaks = 0;
    const outcomes: Record<string, number> = {};
    const stuckRounds: { round: number; victim: string; received: number; sent: number }[] = [];
    while (performance.now() < deadline) {
      rounds++;
      const [a, b] = mp.Pipe(false);
      const sent = i32(1);
      const got = i32(3);
      const stopFlag = i32(1);
      const sender = new mp.Process({ target: sendCounting, args: [b, sent, stopFlag] });
      const receiver = new mp.Process({ target: receiveCounting, args: [a, got] });
      sender.start();
      receiver.start();
      a.close();
      b.close();
      await eventually(() => Atomics.load(got, 0) > 0, 10_000);
      await sleep(rng.int(10, 200));
      const victim = rng.next() < 0.5 ? "sender" : "receiver";
      const survivor = victim === "sender" ? receiver : sender;
      await stop(victim === "sender" ? sender : receiver);
      // The survivor must notice: the receiver reads what is left and gets EOFError;
      // the sender's next send throws EPIPE and its target ends (exit code 1).
      const noticed = (await within(survivor.join().then(() => true), PROGRESS_MS, false)) === true;
      const key = `${victim}-killed:${noticed ? (victim === "sender" ? (Atomics.load(got, 2) ? "receiver-saw-EOF" : "receiver-ended-without-EOF") : `sender-exit-${survivor.exitCode}`) : "survivor-stuck"}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (!noticed) {
        stuckRounds.push({ round: rounds, victim, received: Atomics.load(got, 0), sent: Atomics.load(sent, 0) });
        Atomics.store(stopFlag, 0, 1);
        await stop(survivor, "kill");
      }
      moved += Atomics.load(got, 0);
      orderBreaks += Atomics.load(got, 1);
    }
    await collect();
    const liveLeft = await eventually(() => workers().live === before.live, 5_000);
    const after = { ...workers(), stash: stashed(), ...memory() };
    report("pipe-death", {
      seed: rng.seed, seconds: soakMs() / 1000, rounds, messagesMoved: moved, orderBreaks, outcomes, stuck: stuckRounds.slice(0, 10),
      stuckCount: stuckRounds.length, workersStarted: after.started - before.started, liveAfter: after.live - before.live,
      stash: [before.stash, after.stash], rssMb: [before.rssMb, after.rssMb],
    });
    assert.equal(orderBreaks, 0, "a pipe delivers in order, without gaps or repeats");
    assert.ok(moved > 0);
    // A dead worker's pipe ends are released by the thread that sees it die (src/util/thread-death.ts):
    // the survivor always notices, the receiver by EOFError after draining, the sender by EPIPE (exit code 1).
    assert.equal(stuckRounds.length, 0, `survivors stuck in ${stuckRounds.length} of ${rounds} rounds: ${JSON.stringify(stuckRounds.slice(0, 3))}`);
    for (const key of Object.keys(outcomes)) {
      assert.ok(key === "sender-killed:receiver-saw-EOF" || key === "receiver-killed:sender-exit-1", `unexpected outcome ${key}`);
    }
    assert.equal(after.stash, before.stash, "no stashed memory left behind (unread data of dead receivers is dropped)");
    assert.ok(liveLeft, "no worker thread left");
  });
}
