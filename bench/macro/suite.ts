/**
 * The pool measures W1-W5 (bench/README.md), written once over a small adapter that
 * each library implements (bench/macro/<library>.ts). Every library gets the same
 * workload, the same warm-up and the same number of repetitions.
 */
import { readFileSync } from "node:fs";
import type { Plan } from "../lib/plan.ts";
import { duration, median, rate, timeRuns, type Measure } from "../lib/timing.ts";

/** A started pool of one library, reduced to what the measures need. */
export interface BenchPool {
  /** inc(x) as one task of its own. */
  inc(x: number): Promise<number>;
  /** inc over every item in chunks of `chunkSize`: the library's map, or one task per chunk when it has none. */
  map(xs: number[], chunkSize: number): Promise<number[]>;
  /** fib(n) as one task. */
  fib(n: number): Promise<number>;
  /** The sum of `values`, sent to the worker by copy. */
  sum(values: Float64Array): Promise<number>;
  /** spin(ms) as one task. */
  spin(ms: number): Promise<number>;
  /** Shuts the pool down and resolves when its workers are gone. */
  close(): Promise<void>;
}

export interface PoolLibrary {
  name: string;
  version: string;
  /** "thread" (worker_threads) or "process" (OS child processes): which table the library is in. */
  kind: "thread" | "process";
  /** How W2 runs on this library, for the report. */
  mapHow: string;
  /** Where the pool's settings differ from the library's defaults, and why. */
  settings: string;
  open(workers: number): Promise<BenchPool>;
  /** The same pool with its tasks in a TypeScript module (W5 under tsx); multiproc only. */
  openTypeScript?(workers: number): Promise<Pick<BenchPool, "inc" | "close">>;
}

export interface PoolResult {
  library: string;
  version: string;
  kind: PoolLibrary["kind"];
  mapHow: string;
  settings: string;
  measures: Record<string, Measure>;
}

/** The worker module every library loads (piscina and tinypool take it as is). */
export const tasksUrl = new URL("./workers/tasks.mjs", import.meta.url);

/**
 * Imports a peer library from bench/node_modules. The specifier is a variable on
 * purpose: the root `tsc --noEmit` covers bench/ and must pass in a clone where
 * bench's own packages are not installed yet, so each adapter states the few
 * signatures it uses instead of importing the peer's types.
 */
export async function importPeer<T>(name: string): Promise<{ module: T; version: string }> {
  const module = (await import(name)) as T;
  const manifest = new URL(`../node_modules/${name}/package.json`, import.meta.url);
  const { version } = JSON.parse(readFileSync(manifest, "utf8")) as { version: string };
  return { module, version };
}

/** What mapInChunks does, for the report. */
export const CHUNKED_MAP = "no map: one task (incAll) per chunk of 10,000 items";

/** W2 for a library without a map: one task per chunk, answers joined in order. */
export function mapInChunks(runChunk: (part: number[]) => Promise<unknown>) {
  return async (xs: number[], chunkSize: number): Promise<number[]> => {
    const parts: number[][] = [];
    for (let i = 0; i < xs.length; i += chunkSize) parts.push(xs.slice(i, i + chunkSize));
    const done = (await Promise.all(parts.map(runChunk))) as number[][];
    return done.flat();
  };
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function check(what: string, actual: unknown, expected: unknown): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}

/** Runs every worker at least once and checks the answers, so no timed run pays for a cold start. */
async function warmUp(pool: BenchPool, plan: Plan): Promise<void> {
  const xs = range(plan.warmupTasks);
  const results = await Promise.all(xs.map((x) => pool.inc(x)));
  check("inc warm-up", results[xs.length - 1], xs.length);
  const mapped = await pool.map(range(plan.warmupTasks), plan.mapChunkSize);
  check("map warm-up length", mapped.length, plan.warmupTasks);
  check("map warm-up last item", mapped[mapped.length - 1], plan.warmupTasks);
  check("fib warm-up", await pool.fib(10), 55);
  await Promise.all(range(plan.workers * 2).map(() => pool.spin(1)));
}

/**
 * timeRuns after one untimed run of the same body. W1, W2 and W4 measure a pool in its
 * steady state, as a program that keeps one pool sees it: without that run, multiproc's
 * and poolifier's W1 rose over five repetitions (77k to 254k and 46k to 79k tasks/s here),
 * as V8 optimized their code and their heaps grew, and the first W4 run of every pool
 * page-faulted memory that later runs reuse. The JSON report keeps every timed sample.
 */
async function steadyRuns(repeat: number, body: () => Promise<unknown>): Promise<number[]> {
  await body();
  return timeRuns(repeat, body);
}

/** W5: from the constructor until one task has answered, then through a full shutdown. */
async function coldStart(open: () => Promise<Pick<BenchPool, "inc" | "close">>, repeat: number): Promise<number[]> {
  return timeRuns(repeat, async () => {
    const fresh = await open();
    check("cold start", await fresh.inc(1), 2);
    await fresh.close();
  });
}

export async function runPoolSuite(library: PoolLibrary, plan: Plan): Promise<PoolResult> {
  const measures: Record<string, Measure> = {};
  // W5 first, while the pool's workers have run nothing. One untimed start before it loads
  // what every library loads once per program, whichever pool comes first. For multiproc
  // the .js and .ts task modules take turns, so neither is favoured by the order.
  const open = () => library.open(plan.workers);
  const openTypeScript = library.openTypeScript?.bind(library, plan.workers);
  await coldStart(open, 1);
  const js: number[] = [];
  const ts: number[] = [];
  for (let i = 0; i < plan.repeat; i++) {
    js.push(...(await coldStart(open, 1)));
    if (openTypeScript) ts.push(...(await coldStart(openTypeScript, 1)));
  }
  measures.w5ColdStart = duration(js);
  if (openTypeScript) measures.w5ColdStartTypeScript = duration(ts);
  const tinyInput = range(plan.tinyTasks);
  const mapInput = range(plan.mapItems);
  const payload = Float64Array.from({ length: plan.bulkBytes / 8 }, (_, i) => i % 1024);
  const payloadSum = payload.reduce((a, b) => a + b, 0);
  const pool = await library.open(plan.workers);
  try {
    await warmUp(pool, plan);
    measures.w1TinyTasks = rate(plan.tinyTasks, await steadyRuns(plan.repeat, () => Promise.all(tinyInput.map((x) => pool.inc(x)))), "tasks/s");
    measures.w2Map = rate(
      plan.mapItems,
      await steadyRuns(plan.repeat, async () => check("map last item", (await pool.map(mapInput, plan.mapChunkSize))[plan.mapItems - 1], plan.mapItems)),
      "items/s",
    );
    // W3 runs for every library of a table in one process, taking turns (speed-up.ts).
    measures.w4BulkCopy = rate(
      plan.bulkTasks * (plan.bulkBytes / 2 ** 20),
      await steadyRuns(plan.repeat, async () => {
        const sums = await Promise.all(range(plan.bulkTasks).map(() => pool.sum(payload)));
        check("sum", sums[sums.length - 1], payloadSum);
      }),
      "MiB/s",
    );
  } finally {
    await pool.close();
  }
  return {
    library: library.name,
    version: library.version,
    kind: library.kind,
    mapHow: library.mapHow,
    settings: library.settings,
    measures,
  };
}
