/**
 * W3, the CPU-bound speed-up, for every Node library of one table in one process,
 * the libraries taking turns round by round.
 *
 * Measured one library per child process (as W1, W2, W4 and W5 are), the libraries met
 * the machine minutes apart, and on a shared machine a core's speed drifts by tens of
 * percent within a minute: one round ranged from 1.0 to 2.5 here, for every library
 * alike, so which library "won" depended on when its child ran. Taking turns, every
 * library meets the same drift. Each pooled run is divided by the mean of the sequential
 * runs just before and just after it, so a drift within one round cancels out too.
 * Python keeps its own W3 (python/pool_bench.py): it is no W3 goal, and its sequential
 * run alone takes 10 s.
 */
import type { Plan } from "../lib/plan.ts";
import { median, type Measure } from "../lib/timing.ts";
import type { BenchPool, PoolLibrary } from "./suite.ts";
import { fib } from "./workers/tasks.mjs";

function sequentialMs(plan: Plan): number {
  const start = performance.now();
  for (let i = 0; i < plan.fibTasks; i++) fib(plan.fibN);
  return performance.now() - start;
}

async function pooledMs(pool: BenchPool, plan: Plan): Promise<number> {
  const start = performance.now();
  const results = await Promise.all(Array.from({ length: plan.fibTasks }, () => pool.fib(plan.fibN)));
  const ms = performance.now() - start;
  const expected = fib(plan.fibN);
  if (results.some((value) => value !== expected)) throw new Error(`fib(${plan.fibN}): expected ${expected} from every task`);
  return ms;
}

/** W3 of each library, by name; each library's pool runs every round, in a turn that moves by one each round. */
export async function runSpeedUps(libraries: readonly PoolLibrary[], plan: Plan): Promise<Record<string, Measure>> {
  const pools: BenchPool[] = [];
  try {
    for (const library of libraries) {
      const pool = await library.open(plan.workers);
      pools.push(pool);
      // Every worker has run fib before the first timed round.
      await Promise.all(Array.from({ length: plan.workers * 4 }, () => pool.fib(20)));
    }
    const speedUps: number[][] = libraries.map(() => []);
    let before = sequentialMs(plan);
    for (let round = 0; round < plan.fibRounds; round++) {
      for (let turn = 0; turn < pools.length; turn++) {
        const which = (round + turn) % pools.length;
        const pooled = await pooledMs(pools[which]!, plan);
        const after = sequentialMs(plan);
        speedUps[which]!.push((before + after) / 2 / pooled);
        before = after;
      }
    }
    return Object.fromEntries(
      libraries.map((library, i) => [library.name, { value: median(speedUps[i]!), unit: "x sequential", better: "higher", samples: speedUps[i]! }]),
    );
  } finally {
    await Promise.allSettled(pools.map((pool) => pool.close()));
  }
}
