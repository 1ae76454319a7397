/**
 * `npm start`: runs the mission's seed programs, ported, one after another, and
 * says what each one shows. Each example is its own program (run as a child
 * process, as you would run it yourself), so one that fails does not hide the rest.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Example {
  file: string;
  seed: string;
  shows: string;
}

const examples: Example[] = [
  {
    file: "pool-apply-vs-async.ts",
    seed: "seeds 000 and 002: Pool.apply vs Pool.apply_async",
    shows: "apply runs tasks one after another (start/end pairs never overlap); applyAsync overlaps up to `processes` of them.",
  },
  {
    file: "pool-process-pids.ts",
    seed: "seed 002: apply_async on Pool(processes=4), printing os.getpid() in each task",
    shows: 'with { context: "process" } the workers are OS processes: four different pids take turns, results come back in order.',
  },
  {
    file: "pool-map-imap.ts",
    seed: "seed 004: map, imap, imap_unordered of a square function",
    shows: "map returns results in order; imap yields them in order as they come; imapUnordered in completion order.",
  },
  {
    file: "pool-timeout.ts",
    seed: "seed 004: apply_async(time.sleep, (10,)).get(timeout=1)",
    shows: "get(1000) on a 10-second task rejects with mp.TimeoutError after about one second.",
  },
  {
    file: "value-array.ts",
    seed: "seed 003: Value('i', 1) and Array('i', range(10)) changed by two processes",
    shows: "two processes one after the other change the same shared memory: 2 / [0..90], then 3 / [0..900].",
  },
  {
    file: "lock-print.ts",
    seed: "seed 004: ten processes printing under one Lock",
    shows: "each process holds the lock while it prints, so lines never interleave.",
  },
  {
    file: "queue-consumers.ts",
    seed: "seed 003: JoinableQueue consumers computing a * b until a poison pill",
    shows: "Consumer subclasses of mp.Process drain a JoinableQueue; join() waits for the last taskDone(); results come back through a Queue.",
  },
  {
    file: "pipe-send.ts",
    seed: "seed 003: Pipe sending [42, None, 'hello']",
    shows: "a child sends a value through a Pipe and the parent receives it intact.",
  },
  {
    file: "queue-pipe-events.ts",
    seed: "seed 001: two processes exchanging data through a Queue, a Pipe and two Events",
    shows: "producer and consumer hand data over a Queue, talk both ways over a Pipe and signal each other with Events.",
  },
];

const here = fileURLToPath(new URL(".", import.meta.url));
let failures = 0;
for (const [i, example] of examples.entries()) {
  const path = `${here}${example.file}`;
  console.log(`\n=== ${i + 1}/${examples.length} ${example.file} — ${example.seed}`);
  console.log(`    shows: ${example.shows}\n`);
  if (!existsSync(path)) {
    console.log(`    (not available in this version: ${example.file} is missing)`);
    failures++;
    continue;
  }
  const run = spawnSync(process.execPath, [...process.execArgv, path], { stdio: "inherit", timeout: 60_000 });
  if (run.status !== 0) {
    failures++;
    console.log(`    !! ${example.file} exited with ${run.status ?? run.signal}`);
  }
}
console.log(`\n${examples.length - failures} of ${examples.length} examples ran successfully.`);
process.exitCode = failures ? 1 : 0;
