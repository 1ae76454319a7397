/**
 * Shared pieces of the soak suites (test/soak/, opt-in with MULTIPROC_SOAK=1).
 *
 * - `soakEnabled`: each soak file registers its tests only when it is true, so the
 *   default suite sees no test at all (never a skipped one).
 * - Worker accounting: every worker_threads Worker the library starts is counted
 *   here. process.getActiveResourcesInfo() does not list Workers on Node 20, so the
 *   helper swaps worker_threads.Worker for a counting subclass and syncs the ESM
 *   bindings (the library's `import { Worker }` is a live binding of the builtin).
 *   It must be installed before the first worker starts: `installWorkerCounter()`
 *   runs when this module loads, which is before any test body runs.
 * - `report(name, numbers)`: one JSON line per scenario on stdout, so runs can be
 *   compared (STYLE.md: soak reports numbers, not only pass/fail).
 */
import { readdirSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { Worker as NodeWorker, WorkerOptions } from "node:worker_threads";
import { native } from "../../src/util/native.ts";

export const soakEnabled = process.env.MULTIPROC_SOAK === "1";

/** How long each randomized scenario runs, in ms (MULTIPROC_SOAK_SECONDS, default 30). */
export function soakMs(): number {
  const seconds = Number(process.env.MULTIPROC_SOAK_SECONDS ?? 30);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError(`Expected MULTIPROC_SOAK_SECONDS to be a number > 0, got \`${process.env.MULTIPROC_SOAK_SECONDS}\``);
  }
  return seconds * 1000;
}

/** A node:test timeout for a scenario that runs `soakMs()` plus `extraMs` of setup and teardown. */
export function testTimeout(extraMs = 60_000): { timeout: number } {
  return { timeout: soakMs() + extraMs };
}

const counts = { live: 0, started: 0, exited: 0 };

function installWorkerCounter(): void {
  const require = createRequire(import.meta.url);
  const threads = require("node:worker_threads") as { Worker: typeof NodeWorker };
  const Base = threads.Worker;
  if ((Base as { multiprocSoakCounted?: boolean }).multiprocSoakCounted) return;
  class CountingWorker extends Base {
    static multiprocSoakCounted = true;
    constructor(filename: string | URL, options?: WorkerOptions) {
      super(filename, options);
      counts.live++;
      counts.started++;
      this.once("exit", () => {
        counts.live--;
        counts.exited++;
      });
    }
  }
  threads.Worker = CountingWorker;
  syncBuiltinESMExports();
}
installWorkerCounter();

/** Worker threads started and not yet exited (as seen by their "exit" event), plus totals. */
export function workers(): { live: number; started: number; exited: number } {
  return { ...counts };
}

/** OS threads of this process (main, libuv, V8 platform and one per live worker). */
export function osThreads(): number {
  return readdirSync("/proc/self/task").length;
}

/** Native stash tickets not yet taken (buffers kept alive for messages in transit). */
export function stashed(): number {
  return native().stashed();
}

/**
 * A full-GC function without `--expose-gc` on the command line: the library passes
 * the parent's execArgv to its workers, and Node refuses V8 flags there
 * (ERR_WORKER_INVALID_EXEC_ARGV), so `node --expose-gc` cannot start a Pool.
 */
const fullGc: () => void = (() => {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed) return exposed;
  setFlagsFromString("--expose-gc");
  return runInNewContext("gc") as () => void;
})();

/** Full GC, a few passes so FinalizationRegistry callbacks run. */
export async function collect(): Promise<void> {
  const gc = fullGc;
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export function memory(): { rssMb: number; heapUsedMb: number; externalMb: number } {
  const m = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), externalMb: mb(m.external) };
}

/** Prints one scenario's numbers as a JSON line. */
export function report(scenario: string, numbers: Record<string, unknown>): void {
  process.stdout.write(`SOAK ${JSON.stringify({ scenario, node: process.version, ...numbers })}\n`);
}

/** A seeded PRNG (mulberry32), so a failing run can be replayed with MULTIPROC_SOAK_SEED. */
export function random(label: string): { seed: number; next: () => number; int: (lo: number, hi: number) => number } {
  const seed = Number(process.env.MULTIPROC_SOAK_SEED ?? Math.floor(Math.random() * 2 ** 31));
  let state = (seed ^ hash(label)) >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return { seed, next, int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)) };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

// Nothing in a soak may hang: its waits go through within().
export { within } from "./wait.ts";

/** Waits until `predicate()` holds, checking on each turn of a short timer; false after `ms`. */
export async function eventually(predicate: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!predicate()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return true;
}
