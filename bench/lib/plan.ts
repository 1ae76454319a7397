/**
 * What one benchmark run does: every knob comes from an environment variable,
 * is validated here once, and travels to child runs (Node and Python) as the
 * JSON in MP_BENCH_PLAN, so every library runs exactly the same workload.
 */

export interface Plan {
  /** Pool size for every library (MP_BENCH_WORKERS). */
  workers: number;
  /** Timed repetitions of each measure; the report keeps the median (MP_BENCH_REPEAT). */
  repeat: number;
  quick: boolean;
  /** W1: concurrent calls of a trivial function. */
  tinyTasks: number;
  /** W2: items given to one map call, and its chunk size. */
  mapItems: number;
  mapChunkSize: number;
  /** W3: how many fib(fibN) tasks. */
  fibTasks: number;
  fibN: number;
  /**
   * W3 rounds (a pooled run between two sequential runs) of each Node library, taking turns
   * (macro/speed-up.ts), whose median is reported. More than
   * `repeat`: one round's speed-up ranged 1.1-2.5 here on a shared machine, for every library.
   * Python keeps `repeat` rounds (python/pool_bench.py): its sequential run alone takes 10 s.
   */
  fibRounds: number;
  /** W4: how many tasks each get a Float64Array of bulkBytes by copy. */
  bulkTasks: number;
  bulkBytes: number;
  /** Tiny tasks run on each pool before timing starts. */
  warmupTasks: number;
  /** Duration handed to each micro benchmark, in ms (MP_BENCH_MICRO_MS). */
  microMs: number;
  /** Libraries to run (MP_BENCH_ONLY, comma-separated); all when empty. */
  only: string[];
  /** Python interpreter (MP_BENCH_PYTHON). */
  python: string;
  /** A child run (one library, or Python) is killed after this many ms (MP_BENCH_TIMEOUT_MS). */
  timeoutMs: number;
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`Expected \`${name}\` to be an integer >= ${min}, got \`${raw}\` (string). Unset it to use ${fallback}.`);
  }
  return value;
}

export function readPlan(env: Env = process.env): Plan {
  const quick = env.MP_BENCH_QUICK === "1" || env.MP_BENCH_QUICK === "true";
  return {
    workers: integer(env, "MP_BENCH_WORKERS", 2, 1),
    repeat: integer(env, "MP_BENCH_REPEAT", quick ? 1 : 5, 1),
    quick,
    tinyTasks: quick ? 2_000 : 20_000,
    mapItems: quick ? 100_000 : 1_000_000,
    mapChunkSize: 10_000,
    fibTasks: quick ? 40 : 200,
    fibN: quick ? 24 : 27,
    fibRounds: quick ? 1 : Math.max(21, integer(env, "MP_BENCH_REPEAT", 5, 1)),
    bulkTasks: quick ? 50 : 500,
    bulkBytes: 2 ** 20,
    warmupTasks: quick ? 200 : 2_000,
    microMs: integer(env, "MP_BENCH_MICRO_MS", quick ? 300 : 2_000, 10),
    only: (env.MP_BENCH_ONLY ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    python: env.MP_BENCH_PYTHON || "python3",
    timeoutMs: integer(env, "MP_BENCH_TIMEOUT_MS", quick ? 30_000 : 300_000, 1_000),
  };
}

/** The plan a child run was given, or the one the environment describes when run by hand. */
export function planFromEnv(env: Env = process.env): Plan {
  return env.MP_BENCH_PLAN ? (JSON.parse(env.MP_BENCH_PLAN) as Plan) : readPlan(env);
}
