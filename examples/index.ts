/**
 * `npm start`: runs the Python programs multiproc was built from, ported, one after
 * another, and says what each one shows. Each example is its own program, run
 * as a child process against the built library (as you would run it yourself),
 * so one that fails does not hide the rest.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

interface Example {
  file: string;
  /** What the program is, in the user's words. */
  title: string;
  /** What its output shows. */
  shows: string;
}

const examples: Example[] = [
  {
    file: "pool-apply-vs-async.ts",
    title: "apply blocks, applyAsync overlaps (Pool.apply vs Pool.apply_async)",
    shows: "apply runs tasks one after another (start/end pairs never overlap); applyAsync overlaps up to `processes` of them.",
  },
  {
    file: "pool-process-pids.ts",
    title: "a pool of four workers, each task printing its pid",
    shows: "on OS processes four different pids take turns (threads share one pid and differ by name); results come back in order.",
  },
  {
    file: "pool-map-imap.ts",
    title: "map, imap and imapUnordered of a square function",
    shows: "map returns results in order; imap yields them in order as they come; imapUnordered in completion order.",
  },
  {
    file: "pool-timeout.ts",
    title: "get(timeout) gives up on a slow task (AsyncResult.get(timeout=1))",
    shows: "get(1000) on a 10-second task rejects with mp.TimeoutError after about one second.",
  },
  {
    file: "value-array.ts",
    title: "a shared Value and Array changed by two processes",
    shows: "two processes one after the other change the same shared memory: 2 / [0..90], then 3 / [0..900].",
  },
  {
    file: "lock-print.ts",
    title: "ten processes printing under one Lock",
    shows: "each process holds the lock while it prints, so lines never interleave.",
  },
  {
    file: "queue-consumers.ts",
    title: "consumers draining a JoinableQueue until a poison pill",
    shows: "Consumer subclasses of mp.Process drain a JoinableQueue; join() waits for the last taskDone(); results come back through a Queue.",
  },
  {
    file: "pipe-send.ts",
    title: "a child sending a value through a Pipe",
    shows: "a child sends a value through a Pipe and the parent receives it intact.",
  },
  {
    file: "queue-pipe-events.ts",
    title: "two processes exchanging data through a Queue, a Pipe, two Events and a Manager",
    shows: "producer and consumer hand data over a Queue, talk both ways over a Pipe, signal each other with Events, and each writes the manager's dict and list.",
  },
  {
    file: "manager-dict-list.ts",
    title: "a Manager's dict and list filled by a child process",
    shows: "the child's writes to the manager's dict and list are seen by the parent: key1..key5 -> val1..val5 and [11..15].",
  },
];

const here = fileURLToPath(new URL(".", import.meta.url));
/** Every example runs on worker threads first, then on OS processes (real pids). */
const kinds = [
  { context: "thread", label: "on worker threads" },
  { context: "process", label: "on OS processes" },
] as const;
const runs = examples.flatMap((example) => kinds.map((kind) => ({ example, ...kind })));
let failures = 0;
for (const [i, { example, context, label }] of runs.entries()) {
  const path = `${here}${example.file}`;
  console.log(`\n=== ${i + 1}/${runs.length} ${example.title}, ${label} (examples/${example.file} ${context})`);
  console.log(`    shows: ${example.shows}\n`);
  if (!existsSync(path)) {
    console.log(`    (not available in this version: ${example.file} is missing)`);
    failures++;
    continue;
  }
  const run = spawnSync(process.execPath, [...process.execArgv, path, context], { stdio: "inherit", timeout: 60_000 });
  if (run.status !== 0) {
    failures++;
    const how = run.error?.message.includes("ETIMEDOUT") ? "did not finish within 60 s and was stopped" : `exited with ${run.status ?? run.signal}`;
    console.log(`    !! ${example.file} ${context} ${how}`);
  }
}
console.log(`\n${runs.length - failures} of ${runs.length} example runs succeeded.`);
process.exitCode = failures ? 1 : 0;
