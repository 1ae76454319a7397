/**
 * Soak 1: a pool under random worker death. Randomized batches of tasks that
 * return, throw, reject, call process.exit, crash asynchronously or overrun their
 * per-call timeout. Every task must settle exactly once with the outcome its kind
 * implies, the pool must keep `processes` workers, nothing may hang, and
 * close() + join() must leave no worker thread behind.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import * as mp from "multiproc";
import { chaos, meetAll, type ChaosKind } from "../fixtures/soak-tasks.ts";
import { eventually, memory, osThreads, random, report, soakEnabled, soakMs, stashed, testTimeout, within, workers } from "../helpers/soak.ts";

if (soakEnabled) {
  test("pool under random worker death: every task settles once, correctly; the pool keeps its workers", testTimeout(), async () => {
    const processes = 4;
    const rng = random("pool-chaos");
    const kinds: [ChaosKind, number][] = [["ok", 50], ["asyncOk", 15], ["throw", 8], ["reject", 7], ["exit", 6], ["crash", 6], ["hang", 4]];
    const totalWeight = kinds.reduce((sum, [, w]) => sum + w, 0);
    const pick = (): ChaosKind => {
      let r = rng.next() * totalWeight;
      for (const [kind, weight] of kinds) if ((r -= weight) < 0) return kind;
      return "ok";
    };
    const before = { ...workers(), threads: osThreads(), stash: stashed(), ...memory() };
    const pool = new mp.Pool({ processes });
    const outcomes: Record<string, number> = {};
    const count = (key: string) => (outcomes[key] = (outcomes[key] ?? 0) + 1);
    let tasks = 0;
    let batches = 0;
    let collateralLosses = 0;
    let capacityChecks = 0;
    const problems: string[] = [];
    const deadline = performance.now() + soakMs();

    while (performance.now() < deadline) {
      batches++;
      const batch = Array.from({ length: rng.int(10, 40) }, () => {
        const id = tasks++;
        const kind = pick();
        // A task with a timeout is never pipelined behind another one, so its outcome is exact;
        // a task without one may be queued on a worker that another task kills (collateral loss).
        const withTimeout = kind === "hang" || rng.next() < 0.5;
        const timeout = kind === "hang" ? rng.int(50, 300) : 20_000;
        let calls = 0;
        let how = "";
        const result = pool.applyAsync(chaos, [kind, id, rng.int(0, 20)], {
          ...(withTimeout ? { timeout } : {}),
          callback: () => {
            calls++;
            how = "callback";
          },
          errorCallback: () => {
            calls++;
            how = "errorCallback";
          },
        });
        return { id, kind, withTimeout, result, calls: () => calls, how: () => how };
      });
      const settled = await within(Promise.allSettled(batch.map((t) => t.result.get())), 60_000, "hung" as const);
      if (settled === "hung") {
        const pending = batch.filter((t) => !t.result.ready()).map((t) => `${t.id}:${t.kind}`);
        assert.fail(`batch ${batches} did not settle in 60 s; pending tasks ${pending.join(", ")} (seed ${rng.seed})`);
      }
      for (const [i, outcome] of settled.entries()) {
        const task = batch[i]!;
        if (task.calls() !== 1) problems.push(`task ${task.id} (${task.kind}) ran its callbacks ${task.calls()} times`);
        const error = outcome.status === "rejected" ? (outcome.reason as Error) : undefined;
        const expect = (ok: boolean, what: string) => {
          if (ok) return count(task.kind);
          if (!task.withTimeout && error instanceof mp.WorkerLostError) {
            collateralLosses++;
            return count(`${task.kind}:collateral-loss`);
          }
          problems.push(`task ${task.id} (${task.kind}, timeout ${task.withTimeout}) expected ${what}, got ${
            outcome.status === "fulfilled" ? `value ${JSON.stringify(outcome.value)}` : `${error?.name}: ${error?.message}`}`);
        };
        switch (task.kind) {
          case "ok":
          case "asyncOk":
            expect(outcome.status === "fulfilled" && outcome.value === task.id * 2, `${task.id * 2}`);
            if (task.how() !== (outcome.status === "fulfilled" ? "callback" : "errorCallback")) problems.push(`task ${task.id}: wrong callback`);
            break;
          case "throw":
          case "reject":
            expect(error instanceof RangeError && error.message === `task ${task.id} failed`, "its RangeError");
            break;
          case "exit":
          case "crash":
            expect(error instanceof mp.WorkerLostError, "WorkerLostError");
            break;
          case "hang":
            expect(error instanceof mp.TimeoutError, "TimeoutError");
            break;
        }
      }
      // Every tenth batch: `processes` tasks that only finish if `processes` workers run at once.
      if (batches % 10 === 0) {
        capacityChecks++;
        const barrier = new mp.Barrier(processes);
        const meet = Array.from({ length: processes }, () => pool.apply(meetAll, [barrier, 20_000], { timeout: 30_000 }));
        const indexes = await Promise.all(meet);
        assert.deepEqual([...indexes].sort(), Array.from({ length: processes }, (_, i) => i), "all workers met at the barrier");
      }
    }

    // Replacements settle: the pool holds exactly `processes` live workers again.
    const steady = await eventually(() => workers().live - before.live === processes, 10_000);
    const liveBeforeClose = workers().live - before.live;
    pool.close();
    const joined = await within(pool.join().then(() => "joined" as const), 30_000, "hung" as const);
    const liveAfterJoin = workers().live - before.live;
    const drained = await eventually(() => workers().live === before.live, 5_000);
    const after = { ...workers(), threads: osThreads(), stash: stashed(), ...memory() };
    report("pool-chaos", {
      seed: rng.seed, seconds: soakMs() / 1000, processes, batches, tasks, outcomes, collateralLosses, capacityChecks,
      workersStarted: after.started - before.started, workersReplaced: after.started - before.started - processes,
      liveBeforeClose, liveAfterJoin, liveAfterDrain: after.live - before.live,
      osThreads: [before.threads, after.threads], stash: [before.stash, after.stash],
      rssMb: [before.rssMb, after.rssMb], heapUsedMb: [before.heapUsedMb, after.heapUsedMb], problems: problems.slice(0, 20),
    });
    assert.deepEqual(problems, [], `wrong outcomes (seed ${rng.seed})`);
    assert.ok(steady, `the pool holds ${liveBeforeClose} live workers, expected ${processes}`);
    assert.equal(joined, "joined", "close() + join() finished");
    assert.equal(liveAfterJoin, 0, "no worker thread is left once join() resolves");
    assert.ok(drained);
    assert.equal(after.stash, before.stash, "no stash ticket left behind");
  });
}
