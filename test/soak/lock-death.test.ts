/**
 * Soak 4: Lock and RLock holders killed at random (p.kill()). API.md: "When the
 * worker or process that holds a Lock or RLock dies, the next acquirer recovers
 * it". Workers increment a counter under the lock forever; the soak kills one at
 * random, starts a replacement, and checks that the survivors keep making progress
 * and that the counter never lost an update (two holders were never inside at once).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { lockLoop } from "../fixtures/soak-tasks.ts";
import { eventually, memory, random, report, soakEnabled, soakMs, stashed, testTimeout, within, workers } from "../helpers/soak.ts";

const PROGRESS_MS = 5_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

if (soakEnabled) {
  test("Lock/RLock holders killed at random: the next acquirer recovers, counts stay consistent", testTimeout(), async () => {
    const rng = random("lock-death");
    const before = { ...workers(), stash: stashed(), ...memory() };
    const deadline = performance.now() + soakMs();
    const totals = { rounds: 0, kills: 0, killedInside: 0, increments: 0, stalls: 0, overlaps: 0, mainRecovered: 0 };
    const byKind: Record<string, number> = {};
    const problems: string[] = [];
    let nextId = 1;
    while (performance.now() < deadline) {
      totals.rounds++;
      const rlock = rng.next() < 0.5;
      const lock = rlock ? new mp.RLock() : new mp.Lock();
      // [inside: id of the holder, increments, overlaps, counter]
      const state = new Int32Array(new SharedArrayBuffer(16));
      const start = () => {
        const p = new mp.Process({ target: lockLoop, args: [lock, state, nextId++, rlock] });
        p.start();
        return { p, id: nextId - 1 };
      };
      const team = [start(), start(), start()];
      let roundKills = 0;
      const roundEnd = Math.min(deadline, performance.now() + 4_000);
      while (performance.now() < roundEnd) {
        await sleep(rng.int(10, 150));
        const slot = rng.int(0, team.length - 1);
        const victim = team[slot]!;
        victim.p.kill();
        assert.ok(await within(victim.p.join().then(() => true), 10_000, false), "a killed worker exits");
        roundKills++;
        if (Atomics.load(state, 0) === victim.id) totals.killedInside++;
        team[slot] = start();
        const mark = Atomics.load(state, 1);
        if (!(await eventually(() => Atomics.load(state, 1) > mark, PROGRESS_MS))) {
          totals.stalls++;
          problems.push(`${rlock ? "RLock" : "Lock"} round ${totals.rounds}: no progress for ${PROGRESS_MS} ms after kill ${roundKills}`);
          break;
        }
      }
      for (const { p } of team) p.kill();
      for (const { p } of team) assert.ok(await within(p.join().then(() => true), 10_000, false), "a killed worker exits");
      roundKills += team.length;
      // The main thread is the next acquirer now: it must get the lock even if the last holder died inside.
      const got = await within(lock.acquire({ timeout: PROGRESS_MS }), PROGRESS_MS + 1_000, false);
      if (got) {
        totals.mainRecovered++;
        lock.release();
      } else {
        problems.push(`${rlock ? "RLock" : "Lock"} round ${totals.rounds}: the main thread could not acquire it after every holder died`);
      }
      const increments = Atomics.load(state, 1);
      const counter = Atomics.load(state, 3);
      totals.increments += increments;
      totals.overlaps += Atomics.load(state, 2);
      totals.kills += roundKills;
      byKind[rlock ? "RLock" : "Lock"] = (byKind[rlock ? "RLock" : "Lock"] ?? 0) + increments;
      // A holder killed between writing the counter and counting its increment leaves counter one ahead.
      if (counter < increments || counter - increments > roundKills) {
        problems.push(`${rlock ? "RLock" : "Lock"} round ${totals.rounds}: counter ${counter} vs ${increments} increments with ${roundKills} kills (lost updates)`);
      }
    }
    const liveLeft = await eventually(() => workers().live === before.live, 5_000);
    const after = { ...workers(), stash: stashed(), ...memory() };
    report("lock-death", {
      seed: rng.seed, seconds: soakMs() / 1000, ...totals, incrementsByKind: byKind,
      workersStarted: after.started - before.started, liveAfter: after.live - before.live,
      stash: [before.stash, after.stash], rssMb: [before.rssMb, after.rssMb], problems: problems.slice(0, 10),
    });
    assert.deepEqual(problems, [], `seed ${rng.seed}`);
    assert.equal(totals.overlaps, 0, "never two holders inside at once");
    assert.ok(totals.killedInside > 0, "some holders died inside the lock (otherwise the soak tested nothing)");
    assert.ok(liveLeft, "no worker thread left");
  });
}
