/**
 * The four pool measures, written once over a small adapter that each library
 * implements (bench/macro/<library>.ts). Every library gets the same workload,
 * the same warm-up and the same number of repetitions.
 */
import { readFileSync } from "node:fs";
import { pythonChunkSize, type Plan } from "../lib/plan.ts";
import { duration, rate, timeRuns, type Measure } from "../lib/timing.ts";

/** A started pool of one library, reduced to what the measures need. */
export interface BenchPool {
  /** inc(x) as one task of its own. */
  inc(x: number): Promise<number>;
  /** inc over every item: the library's map, or chunks when it has none (see PoolLibrary.mapHow). */
  map(xs: number[]): Promise<number[]>;
  /** spin(ms) as one task. */
  spin(ms: number): Promise<number>;
  /** Shuts the pool down and resolves when its workers are gone. */
  close(): Promise<void>;
}

export interface PoolLibrary {
  name: string;
  version: string;
  /** How measure 2 runs on this library, for the report. */
  mapHow: string;
  /** Where the pool's settings differ from the library's defaults, and why. */
  settings: string;
  open(workers: number): Promise<BenchPool>;
}

export interface PoolResult {
  library: string;
  version: string;
  mapHow: string;
  settings: string;
  measures: {
    tinyTasks: Measure;
    map: Measure;
    cpuBound: Measure;
    startupShutdown: Measure;
  };
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
export const CHUNKED_MAP = "no map: chunks of Python's default chunksize, one task (incAll) per chunk";

/**
 * Measure 2 for a library without a map: cuts the items into chunks of Python's
 * default chunksize, as pool.map does before sending them, runs one task per chunk
 * and joins the answers in order.
 */
export function mapInChunks(workers: number, runChunk: (part: number[]) => Promise<unknown>) {
  return async (xs: number[]): Promise<number[]> => {
    const size = pythonChunkSize(xs.length, workers);
    const parts: number[][] = [];
    for (let i = 0; i < xs.length; i += size) parts.push(xs.slice(i, i + size));
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
  const mapped = await pool.map(range(plan.warmupTasks));
  check("map warm-up length", mapped.length, plan.warmupTasks);
  check("map warm-up last item", mapped[mapped.length - 1], plan.warmupTasks);
  await Promise.all(range(plan.workers * 2).map(() => pool.spin(1)));
}

export async function runPoolSuite(library: PoolLibrary, plan: Plan): Promise<PoolResult> {
  const tinyInput = range(plan.tinyTasks);
  const mapInput = range(plan.mapItems);
  const pool = await library.open(plan.workers);
  let tinyTasks: Measure, map: Measure, cpuBound: Measure;
  try {
    await warmUp(pool, plan);
    tinyTasks = rate(
      plan.tinyTasks,
      await timeRuns(plan.repeat, () => Promise.all(tinyInput.map((x) => pool.inc(x)))),
      "tasks/s",
    );
    map = rate(plan.mapItems, await timeRuns(plan.repeat, () => pool.map(mapInput)), "items/s");
    cpuBound = duration(
      await timeRuns(plan.repeat, () => Promise.all(range(plan.cpuTasks).map(() => pool.spin(plan.cpuTaskMs)))),
    );
  } finally {
    await pool.close();
  }
  // Startup: from the constructor until `workers` tiny tasks have answered, then through a full shutdown.
  const startupShutdown = duration(
    await timeRuns(plan.repeat, async () => {
      const fresh = await library.open(plan.workers);
      await Promise.all(range(plan.workers).map((x) => fresh.inc(x)));
      await fresh.close();
    }),
  );
  return {
    library: library.name,
    version: library.version,
    mapHow: library.mapHow,
    settings: library.settings,
    measures: { tinyTasks, map, cpuBound, startupShutdown },
  };
}
